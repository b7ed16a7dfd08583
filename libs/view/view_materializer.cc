#include "libs/view/view_materializer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/kafka/consumer.h"

namespace hisbridge::view {

ViewMaterializer::ViewMaterializer(ViewMaterializerOptions options) : options_(std::move(options)) {}

ViewMaterializer::~ViewMaterializer() { Stop(); }

absl::Status ViewMaterializer::Start() {
  HB_ASSIGN_OR_RETURN(store_, ViewStore::Open(options_.data_dir, options_.store));
  HB_ASSIGN_OR_RETURN(watermarks_, store_->LoadWatermarks());
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  timer_ = std::thread([this] { RunTimer(); });
  return absl::OkStatus();
}

void ViewMaterializer::Stop() {
  {
    // Under the lock so a waiter registering now either sees stop_ or is
    // in the lists taken below.
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  timer_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (timer_.joinable()) timer_.join();
  // Whoever still waits gets a definite answer.
  std::list<Waiter> waiters;
  std::list<CommandWaiter> command_waiters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiters.swap(waiters_);
    command_waiters.swap(command_waiters_);
  }
  for (Waiter& w : waiters) w.done(false);
  for (CommandWaiter& w : command_waiters) w.done(std::nullopt);
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
  // The topics may not exist yet while the linker starts; keep asking.
  absl::StatusOr<int> views = absl::UnavailableError("not asked yet");
  absl::StatusOr<int> changes = absl::UnavailableError("not asked yet");
  while (!stop_ && !(views.ok() && changes.ok())) {
    if (!views.ok()) views = (*consumer)->PartitionCount(options_.topics.views, absl::Seconds(5));
    if (!changes.ok()) changes = (*consumer)->PartitionCount(options_.topics.changes, absl::Seconds(5));
    if (!views.ok() || !changes.ok()) absl::SleepFor(absl::Milliseconds(200));
  }
  if (stop_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    views_partitions_ = *views;
  }
  changes_partitions_ = *changes;
  auto offsets = store_->LoadOffsets();
  if (!offsets.ok()) return fail(offsets.status());
  auto change_offsets = store_->LoadChangeOffsets();
  if (!change_offsets.ok()) return fail(change_offsets.status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_offsets_ = *offsets;
  }
  std::vector<kafka::TopicPartition> assignment;
  for (int p = 0; p < *views; ++p) {
    auto it = offsets->find(p);
    // A compacted topic has gaps by design; an empty replica reads it from
    // the beginning to catch up.
    assignment.push_back({options_.topics.views, p, it == offsets->end() ? kafka::TopicPartition::kBeginning : it->second});
  }
  for (int p = 0; p < *changes; ++p) {
    auto it = change_offsets->find(p);
    assignment.push_back(
        {options_.topics.changes, p, it == change_offsets->end() ? kafka::TopicPartition::kBeginning : it->second});
  }
  absl::Status s = (*consumer)->Assign(assignment);
  if (!s.ok()) return fail(s);
  log::Info("query replica following views and changes",
            {{"views_partitions", *views}, {"changes_partitions", *changes}, {"topic", options_.topics.views}});

  kafka::PollResult polled;
  hisbridge::v1::ViewMessage message;
  while (!stop_) {
    s = (*consumer)->Poll(absl::Milliseconds(100), &polled);
    if (!s.ok()) return fail(s);
    if (polled.messages.empty()) continue;
    ViewStore::Batch batch = store_->NewBatch();
    std::map<int32_t, int64_t> next_offsets;
    std::map<int32_t, int64_t> next_change_offsets;
    WatermarkMap new_watermarks;
    std::map<std::string, hisbridge::v1::CommandResult> results;
    int64_t applied = 0;
    for (const kafka::Message& m : polled.messages) {
      if (m.topic == options_.topics.changes) {
        next_change_offsets[m.partition] = m.offset + 1;
        if (!m.tombstone) batch.PutChange(m.partition, m.offset, m.value);
        continue;
      }
      next_offsets[m.partition] = m.offset + 1;
      if (m.tombstone || !message.ParseFromString(m.value)) continue;
      switch (message.body_case()) {
        case hisbridge::v1::ViewMessage::kPatient: {
          auto put = batch.PutPatient(message.patient());
          if (!put.ok()) return fail(put.status());
          applied += *put ? 1 : 0;
          break;
        }
        case hisbridge::v1::ViewMessage::kWatermark: {
          const auto key = std::make_pair(message.watermark().inbox_partition(), m.partition);
          int64_t& wm = new_watermarks[key];
          wm = std::max(wm, message.watermark().next_offset());
          batch.SetWatermark(key.first, key.second, wm);
          break;
        }
        case hisbridge::v1::ViewMessage::kReviewItem: {
          s = batch.PutReviewItem(message.review_item());
          if (!s.ok()) return fail(s);
          break;
        }
        case hisbridge::v1::ViewMessage::kCommandResult:
          batch.PutCommandResult(message.command_result());
          results[message.command_result().command_id()] = message.command_result();
          break;
        case hisbridge::v1::ViewMessage::BODY_NOT_SET:
          break;
      }
    }
    for (const auto& [p, next] : next_offsets) batch.SetNextOffset(p, next);
    for (const auto& [p, next] : next_change_offsets) batch.SetChangesNextOffset(p, next);
    s = store_->Commit(&batch);
    if (!s.ok()) return fail(s);
    applied_views_ += applied;
    if (!next_change_offsets.empty()) ++changes_generation_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [key, wm] : new_watermarks) {
        int64_t& current = watermarks_[key];
        current = std::max(current, wm);
      }
      for (const auto& [p, next] : next_offsets) applied_offsets_[p] = next;
    }
    WakeWaiters(results);
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
  bool reached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reached = ReflectsLocked(positions);
    if (!reached && !stop_) {
      waiters_.push_back({std::move(positions), deadline, std::move(done)});
      timer_cv_.notify_all();
      return;
    }
  }
  done(reached);
}

void ViewMaterializer::WaitForCommand(std::string command_id, absl::Time deadline,
                                      std::function<void(std::optional<hisbridge::v1::CommandResult>)> done) {
  std::optional<hisbridge::v1::CommandResult> found;
  {
    // The store is asked under the lock: a result committed after this
    // look-up wakes the waiter registered here (WakeWaiters takes the lock
    // after the commit), so none is missed.
    std::lock_guard<std::mutex> lock(mu_);
    auto stored = store_->GetCommandResult(command_id);
    if (stored.ok() && stored->has_value()) {
      found = std::move(**stored);
    } else if (!stop_) {
      command_waiters_.push_back({std::move(command_id), deadline, std::move(done)});
      timer_cv_.notify_all();
      return;
    }
  }
  done(std::move(found));
}

void ViewMaterializer::WakeWaiters(const std::map<std::string, hisbridge::v1::CommandResult>& results) {
  std::vector<std::function<void(bool)>> ready;
  std::vector<std::pair<std::function<void(std::optional<hisbridge::v1::CommandResult>)>, hisbridge::v1::CommandResult>>
      applied;
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
    if (!results.empty()) {
      for (auto it = command_waiters_.begin(); it != command_waiters_.end();) {
        auto result = results.find(it->command_id);
        if (result != results.end()) {
          applied.emplace_back(std::move(it->done), result->second);
          it = command_waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& done : ready) done(true);
  for (auto& [done, result] : applied) done(std::move(result));
}

void ViewMaterializer::RunTimer() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    absl::Time next = absl::InfiniteFuture();
    for (const Waiter& w : waiters_) next = std::min(next, w.deadline);
    for (const CommandWaiter& w : command_waiters_) next = std::min(next, w.deadline);
    if (next == absl::InfiniteFuture()) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(500));
    } else {
      const absl::Duration wait = std::max(absl::ZeroDuration(), next - absl::Now());
      timer_cv_.wait_for(lock, absl::ToChronoMilliseconds(wait) + std::chrono::milliseconds(1));
    }
    std::vector<std::function<void(bool)>> expired;
    std::vector<std::function<void(std::optional<hisbridge::v1::CommandResult>)>> expired_commands;
    const absl::Time now = absl::Now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline <= now) {
        expired.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = command_waiters_.begin(); it != command_waiters_.end();) {
      if (it->deadline <= now) {
        expired_commands.push_back(std::move(it->done));
        it = command_waiters_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty() || !expired_commands.empty()) {
      lock.unlock();
      for (auto& done : expired) done(false);
      for (auto& done : expired_commands) done(std::nullopt);
      lock.lock();
    }
  }
}

}  // namespace hisbridge::view
