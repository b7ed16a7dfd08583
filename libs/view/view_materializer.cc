#include "libs/view/view_materializer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/kafka/consumer.h"

namespace hisbridge::view {

ViewMaterializer::ViewMaterializer(ViewMaterializerOptions options) : options_(std::move(options)) {}

ViewMaterializer::~ViewMaterializer() { Stop(); }

absl::Status ViewMaterializer::Start() {
  HB_ASSIGN_OR_RETURN(store_, ViewStore::Open(options_.data_dir));
  HB_ASSIGN_OR_RETURN(watermarks_, store_->LoadWatermarks());
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  timer_ = std::thread([this] { RunTimer(); });
  return absl::OkStatus();
}

void ViewMaterializer::Stop() {
  stop_ = true;
  timer_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (timer_.joinable()) timer_.join();
  // Whoever still waits gets a definite answer.
  std::list<Waiter> waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters.swap(waiters_);
  }
  for (Waiter& w : waiters) w.done(false);
}

absl::Status ViewMaterializer::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void ViewMaterializer::Run() {
  auto fail = [this](const absl::Status& s) {
    log::Error("view materializer stopped", {{"error", s}});
    std::lock_guard<std::mutex> lock(mu_);
    status_ = s;
  };
  kafka::ConsumerOptions consumer_options;
  consumer_options.report_end_of_partition = false;
  auto consumer = kafka::Consumer::Create(options_.kafka, consumer_options);
  if (!consumer.ok()) return fail(consumer.status());
  // The views topic may not exist yet while the linker starts; keep asking.
  absl::StatusOr<int> partitions = absl::UnavailableError("not asked yet");
  while (!stop_ && !partitions.ok()) {
    partitions = (*consumer)->PartitionCount(options_.topics.views, absl::Seconds(5));
    if (!partitions.ok()) absl::SleepFor(absl::Milliseconds(200));
  }
  if (stop_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    views_partitions_ = *partitions;
  }
  auto offsets = store_->LoadOffsets();
  if (!offsets.ok()) return fail(offsets.status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_offsets_ = *offsets;
  }
  std::vector<kafka::TopicPartition> assignment;
  for (int p = 0; p < *partitions; ++p) {
    auto it = offsets->find(p);
    // A compacted topic has gaps by design; an empty replica reads it from
    // the beginning to catch up.
    assignment.push_back({options_.topics.views, p, it == offsets->end() ? kafka::TopicPartition::kBeginning : it->second});
  }
  absl::Status s = (*consumer)->Assign(assignment);
  if (!s.ok()) return fail(s);
  log::Info("query replica following views", {{"partitions", *partitions}, {"topic", options_.topics.views}});

  kafka::PollResult polled;
  hisbridge::v1::ViewMessage message;
  while (!stop_) {
    s = (*consumer)->Poll(absl::Milliseconds(100), &polled);
    if (!s.ok()) return fail(s);
    if (polled.messages.empty()) continue;
    ViewStore::Batch batch = store_->NewBatch();
    std::map<int32_t, int64_t> next_offsets;
    WatermarkMap new_watermarks;
    int64_t applied = 0;
    for (const kafka::Message& m : polled.messages) {
      next_offsets[m.partition] = m.offset + 1;
      if (m.tombstone || !message.ParseFromString(m.value)) continue;
      if (message.has_patient()) {
        auto put = batch.PutPatient(message.patient());
        if (!put.ok()) return fail(put.status());
        applied += *put ? 1 : 0;
      } else if (message.has_watermark()) {
        const auto key = std::make_pair(message.watermark().inbox_partition(), m.partition);
        int64_t& wm = new_watermarks[key];
        wm = std::max(wm, message.watermark().next_offset());
        batch.SetWatermark(key.first, key.second, wm);
      }
    }
    for (const auto& [p, next] : next_offsets) batch.SetNextOffset(p, next);
    s = store_->Commit(&batch);
    if (!s.ok()) return fail(s);
    applied_views_ += applied;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [key, wm] : new_watermarks) {
        int64_t& current = watermarks_[key];
        current = std::max(current, wm);
      }
      for (const auto& [p, next] : next_offsets) applied_offsets_[p] = next;
    }
    WakeWaiters();
  }
  (*consumer)->Close();
}

bool ViewMaterializer::ReflectsLocked(const std::vector<hisbridge::v1::LogPosition>& positions) const {
  for (const auto& pos : positions) {
    if (!pos.topic().empty() && pos.topic() != options_.topics.inbox) continue;
    if (views_partitions_ == 0) return false;
    for (int v = 0; v < views_partitions_; ++v) {
      auto it = watermarks_.find({pos.partition(), v});
      if (it == watermarks_.end() || it->second <= pos.offset()) return false;
    }
  }
  return true;
}

bool ViewMaterializer::Reflects(const std::vector<hisbridge::v1::LogPosition>& positions) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ReflectsLocked(positions);
}

std::map<int32_t, int64_t> ViewMaterializer::CoveredInboxOffsets() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<int32_t, std::map<int32_t, int64_t>> by_inbox;
  for (const auto& [key, wm] : watermarks_) by_inbox[key.first][key.second] = wm;
  std::map<int32_t, int64_t> out;
  for (const auto& [inbox, per_view] : by_inbox) {
    if (static_cast<int>(per_view.size()) < views_partitions_) continue;
    int64_t low = INT64_MAX;
    for (const auto& [v, wm] : per_view) low = std::min(low, wm);
    out[inbox] = low;
  }
  return out;
}

std::map<int32_t, int64_t> ViewMaterializer::AppliedOffsets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_offsets_;
}

void ViewMaterializer::WaitFor(std::vector<hisbridge::v1::LogPosition> positions, absl::Time deadline,
                               std::function<void(bool)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ReflectsLocked(positions)) {
      if (stop_) {
        // Fall through to answer "not reached" below.
      } else {
        waiters_.push_back({std::move(positions), deadline, std::move(done)});
        timer_cv_.notify_all();
        return;
      }
    } else {
      positions.clear();
    }
  }
  done(positions.empty());
}

void ViewMaterializer::WakeWaiters() {
  std::vector<std::function<void(bool)>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (ReflectsLocked(it->positions)) {
        ready.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : ready) done(true);
}

void ViewMaterializer::RunTimer() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    absl::Time next = absl::InfiniteFuture();
    for (const Waiter& w : waiters_) next = std::min(next, w.deadline);
    if (next == absl::InfiniteFuture()) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(500));
    } else {
      const absl::Duration wait = std::max(absl::ZeroDuration(), next - absl::Now());
      timer_cv_.wait_for(lock, absl::ToChronoMilliseconds(wait) + std::chrono::milliseconds(1));
    }
    std::vector<std::function<void(bool)>> expired;
    const absl::Time now = absl::Now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline <= now) {
        expired.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& done : expired) done(false);
      lock.lock();
    }
  }
}

}  // namespace hisbridge::view
