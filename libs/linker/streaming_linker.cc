#include "libs/linker/streaming_linker.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/index/patient_index.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "libs/linker/state_store.h"
#include "libs/linker/view_builder.h"

namespace hisbridge::linker {
namespace {

// Patient ids are "<region>-P<seq>"; the region is what precedes "-P".
std::string RegionOfPatient(const std::string& patient_id) {
  const size_t dash = patient_id.rfind("-P");
  return dash == std::string::npos ? "" : patient_id.substr(0, dash);
}

constexpr absl::Duration kPublishTimeout = absl::Seconds(30);

}  // namespace

class StreamingLinker::Loop : public kafka::AssignmentListener {
 public:
  Loop(const StreamingLinkerOptions& options, const LinkEngine* engine, const records::FacilityDirectory* facilities,
       std::atomic<bool>* stop_requested)
      : options_(options), engine_(engine), facilities_(facilities), stop_requested_(stop_requested) {}

  // The consumer goes first, while everything its revoke callback touches
  // is still alive. It commits nothing: a clean Run() has committed, and
  // after a failure nothing more may be written.
  ~Loop() override {
    failed_ = true;
    consumer_.reset();
  }

  absl::Status Open() {
    index::KvStoreOptions kv;
    kv.sync_writes = options_.sync_writes;
    kv.cipher = options_.cipher;
    // Offsets and the blocking index (keyed tokens, empty values) hold
    // nothing personal: no need to seal them.
    kv.plaintext_families = {"offsets", "blocking"};
    kv.write_faults = options_.index_write_faults;
    HB_ASSIGN_OR_RETURN(index_, index::PatientIndex::Open(options_.data_dir, kv));
    store_ = std::make_unique<StateStore>(index_.get(), engine_);
    views_ = std::make_unique<ViewBuilder>(facilities_, &engine_->options(), index_.get());
    HB_RETURN_IF_ERROR(store_->LoadPendingOutbox(&pending_));
    // Not publishing: the entries stay in the index for whoever serves it.
    if (!options_.publish) pending_.clear();
    kafka::ProducerOptions producer_options;
    producer_options.block_when_full = true;
    HB_ASSIGN_OR_RETURN(producer_, kafka::Producer::Create(options_.kafka, producer_options));
    kafka::ConsumerOptions consumer_options;
    // A replay never touches the linkers' consumer group.
    consumer_options.group_id = replaying() ? "" : options_.group_id;
    consumer_options.group_instance_id = replaying() ? "" : options_.group_instance_id;
    consumer_options.session_timeout = options_.session_timeout;
    consumer_options.max_poll_messages = options_.max_batch_inputs;
    HB_ASSIGN_OR_RETURN(consumer_, kafka::Consumer::Create(options_.kafka, consumer_options));
    if (options_.publish) {
      HB_ASSIGN_OR_RETURN(views_partitions_, producer_->PartitionCount(options_.topics.views, absl::Seconds(10)));
    }
    if (!replaying()) return consumer_->Subscribe({options_.topics.inbox}, this);
    std::vector<kafka::TopicPartition> partitions;
    for (const auto& [partition, end] : options_.replay_until) partitions.push_back({options_.topics.inbox, partition, 0});
    HB_RETURN_IF_ERROR(OnAssigned(&partitions));
    return consumer_->Assign(partitions);
  }

  // Runs until stopped or failed.
  absl::Status Run() {
    absl::Status s = Consume();
    if (!s.ok()) {
      // Memory may be ahead of disk (a failed commit): leave the group
      // without committing anything more; a restart reloads the index.
      failed_ = true;
      consumer_->Close();
    }
    return s;
  }

  absl::Status Consume() {
    kafka::PollResult polled;
    absl::Time batch_started = absl::InfiniteFuture();
    int batch_inputs = 0;
    while (!stop_requested_->load() && !ReplayDone()) {
      HB_RETURN_IF_ERROR(consumer_->Poll(absl::Milliseconds(50), &polled));
      HB_RETURN_IF_ERROR(revoke_error_);
      if (!polled.messages.empty() && batch_inputs == 0) batch_started = absl::Now();
      for (const kafka::Message& m : polled.messages) {
        HB_RETURN_IF_ERROR(ApplyMessage(m));
        ++batch_inputs;
      }
      const bool full = batch_inputs >= options_.max_batch_inputs;
      const bool due = batch_inputs > 0 && (polled.messages.empty() ||
                                            absl::Now() - batch_started >= options_.max_batch_delay);
      if (full || due || !pending_.empty()) {
        HB_RETURN_IF_ERROR(CommitAndPublish());
        batch_inputs = 0;
      }
    }
    HB_RETURN_IF_ERROR(CommitAndPublish());
    consumer_->Close();  // revokes through OnRevoked, which commits again (no-op)
    return revoke_error_;
  }

  // --- kafka::AssignmentListener (called inside Poll, on this thread) ---

  absl::Status OnAssigned(std::vector<kafka::TopicPartition>* partitions) override {
    for (kafka::TopicPartition& tp : *partitions) {
      std::map<std::string, std::unique_ptr<RegionState>> loaded;
      const absl::Time started = absl::Now();
      HB_RETURN_IF_ERROR(store_->LoadPartition(tp.partition, &loaded, &changes_));
      size_t records = 0;
      for (auto& [region, state] : loaded) {
        records += state->record_count();
        regions_[region] = std::move(state);
      }
      HB_ASSIGN_OR_RETURN(std::optional<int64_t> stored, index_->GetNextOffset(tp.topic, tp.partition));
      // Without stored state start at offset 0, not "beginning": if the
      // log no longer starts at 0 the consumer reports DATA_LOSS instead
      // of silently linking a partial history.
      tp.offset = stored.value_or(0);
      {
        std::lock_guard<std::mutex> lock(progress_mu_);
        next_offset_[tp.partition] = tp.offset;
        committed_[tp.partition] = tp.offset;
        assigned_.insert(tp.partition);
      }
      owned_partitions_.insert(tp.partition);
      log::Info("linker owns inbox partition",
                {{"partition", tp.partition}, {"resume_offset", tp.offset},
                 {"regions", static_cast<int64_t>(loaded.size())}, {"records", static_cast<int64_t>(records)},
                 {"load_ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
    }
    return absl::OkStatus();
  }

  void OnRevoked(const std::vector<kafka::TopicPartition>& partitions) override {
    // Persist everything applied so far before the partitions go to
    // another member (unless stopping on an error).
    absl::Status s = failed_ ? absl::OkStatus() : CommitAndPublish();
    if (!s.ok()) {
      log::Error("could not commit before giving up partitions", {{"error", s}});
      if (revoke_error_.ok()) revoke_error_ = s;
    }
    for (const kafka::TopicPartition& tp : partitions) {
      owned_partitions_.erase(tp.partition);
      {
        std::lock_guard<std::mutex> lock(progress_mu_);
        assigned_.erase(tp.partition);
      }
      for (auto it = regions_.begin(); it != regions_.end();) {
        it = it->second->inbox_partition() == tp.partition ? regions_.erase(it) : std::next(it);
      }
    }
  }

  std::map<int32_t, int64_t> Committed() const {
    std::lock_guard<std::mutex> lock(progress_mu_);
    return committed_;
  }
  std::set<int32_t> Assigned() const {
    std::lock_guard<std::mutex> lock(progress_mu_);
    return assigned_;
  }
  // RocksDB is safe to ask from any thread; index_ is set before the loop
  // thread starts and lives as long as the loop.
  index::KvStore::Stats IndexStats() const {
    return index_ != nullptr ? index_->GetStats() : index::KvStore::Stats{};
  }
  // A RocksDB checkpoint is safe alongside writes, and every batch is
  // atomic, so the copy is always a committed state with its offsets.
  absl::Status Checkpoint(const std::string& dir) const {
    if (index_ == nullptr) return absl::FailedPreconditionError("the linker's index is not open");
    return index_->Checkpoint(dir);
  }
  EngineCounters Counters() const {
    std::lock_guard<std::mutex> lock(progress_mu_);
    return counters_snapshot_;
  }

 private:
  bool replaying() const { return !options_.replay_until.empty(); }

  // Replay mode: every partition applied up to its end offset.
  bool ReplayDone() {
    if (!replaying()) return false;
    for (const auto& [partition, end] : options_.replay_until) {
      if (next_offset_[partition] < end) return false;
    }
    return true;
  }

  absl::Status ApplyMessage(const kafka::Message& m) {
    if (replaying()) {
      // Inputs that arrived after the replay's end are left to whoever
      // serves the index next (it resumes at the stored offsets).
      auto until = options_.replay_until.find(m.partition);
      if (until == options_.replay_until.end() || m.offset >= until->second) return absl::OkStatus();
    }
    int64_t& expected = next_offset_[m.partition];
    if (m.offset != expected) {
      return absl::DataLossError(absl::StrCat(
          "inbox partition ", m.partition, ": expected offset ", expected, " but the broker delivered ", m.offset,
          "; inputs in between are missing (deleted by retention?). Refusing to skip them: restore the data or "
          "run `hisbridge rebuild` from a complete log."));
    }
    hisbridge::v1::InboxEvent event;
    if (!event.ParseFromString(m.value)) {
      // Not ours to interpret, but never dropped silently: it stays in the
      // inbox log and is counted and logged loudly.
      log::Error("undecodable inbox message skipped",
                 {{"partition", m.partition}, {"offset", m.offset}, {"bytes", static_cast<int64_t>(m.value.size())}});
      ++undecodable_;
      ++expected;
      return absl::OkStatus();
    }
    const std::string region = event.region().empty() ? m.key : event.region();
    RegionState* state = nullptr;
    auto it = regions_.find(region);
    if (it != regions_.end()) {
      state = it->second.get();
      if (state->inbox_partition() != m.partition) {
        return absl::FailedPreconditionError(absl::StrCat(
            "region ", region, " was linked from inbox partition ", state->inbox_partition(), " but now arrives on ",
            m.partition, "; the inbox partition count changed. Run `hisbridge rebuild` to re-link from the log."));
      }
    } else {
      auto created = std::make_unique<RegionState>(region, m.partition);
      state = created.get();
      regions_[region] = std::move(created);
      changes_.For(state).meta = true;
    }
    InputPosition position{m.topic, m.partition, m.offset, m.timestamp};
    HB_RETURN_IF_ERROR(engine_->Apply(event, position, state, &changes_.For(state), &counters_));
    ++expected;
    dirty_partitions_.insert(m.partition);
    return absl::OkStatus();
  }

  absl::Status CommitAndPublish() {
    if (!changes_.empty() || !dirty_partitions_.empty()) {
      index::IndexBatch batch = index_->NewBatch();
      HB_RETURN_IF_ERROR(store_->AddChanges(changes_, &batch, &pending_));
      for (int32_t p : dirty_partitions_) {
        batch.SetNextOffset(options_.topics.inbox, p, next_offset_[p]);
        hisbridge::index::v1::OutboxEntry watermark;
        watermark.mutable_watermark()->set_inbox_partition(p);
        watermark.mutable_watermark()->set_next_offset(next_offset_[p]);
        store_->AddOutbox(std::move(watermark), &batch, &pending_);
      }
      absl::Status committed = index_->Commit(&batch);
      if (!committed.ok()) {
        // Memory is now ahead of disk; the only safe course is to stop and
        // reload from the index on restart.
        return absl::InternalError(absl::StrCat("patient index write failed; linker stops: ", committed.message()));
      }
      changes_.Clear();
      std::lock_guard<std::mutex> lock(progress_mu_);
      for (int32_t p : dirty_partitions_) committed_[p] = next_offset_[p];
      counters_snapshot_ = counters_;
      dirty_partitions_.clear();
    }
    if (!options_.publish) {
      pending_.clear();  // committed in the outbox; published by the next server
      return absl::OkStatus();
    }
    return Publish();
  }

  // Produces every pending outbox entry, waits for the broker, and deletes
  // the delivered ones. Undelivered entries stay for the next attempt.
  absl::Status Publish() {
    if (pending_.empty()) return absl::OkStatus();
    std::vector<absl::Status> results(pending_.size());
    std::atomic<size_t> remaining{pending_.size()};
    absl::Notification done;
    auto on_delivery = [&](size_t i) {
      return [&, i](const kafka::Delivery& d) {
        results[i] = d.status;
        if (--remaining == 0) done.Notify();
      };
    };
    std::string value;
    for (size_t i = 0; i < pending_.size(); ++i) {
      const auto& entry = pending_[i].entry;
      if (entry.has_watermark()) {
        hisbridge::v1::ViewMessage message;
        *message.mutable_watermark() = entry.watermark();
        message.SerializeToString(&value);
        // Every views partition gets the watermark, after the views it covers.
        auto fanout = std::make_shared<std::atomic<int>>(views_partitions_);
        auto first_error = std::make_shared<absl::Status>();
        auto fan_mu = std::make_shared<std::mutex>();
        auto cb = on_delivery(i);
        for (int v = 0; v < views_partitions_; ++v) {
          producer_->Produce(options_.topics.views, absl::StrCat("~watermark/", entry.watermark().inbox_partition()),
                             value,
                             [fanout, first_error, fan_mu, cb](const kafka::Delivery& d) {
                               {
                                 std::lock_guard<std::mutex> lock(*fan_mu);
                                 if (!d.status.ok() && first_error->ok()) *first_error = d.status;
                               }
                               if (--*fanout == 0) {
                                 kafka::Delivery merged = d;
                                 merged.status = *first_error;
                                 cb(merged);
                               }
                             },
                             v);
        }
      } else if (entry.has_change()) {
        entry.change().SerializeToString(&value);
        producer_->Produce(options_.topics.changes, entry.change().patient_id(), value, on_delivery(i));
      } else if (entry.has_review_item()) {
        hisbridge::v1::ViewMessage message;
        *message.mutable_review_item() = entry.review_item();
        message.SerializeToString(&value);
        producer_->Produce(options_.topics.views, absl::StrCat("~review/", entry.review_item().review_id()), value,
                           on_delivery(i));
      } else if (entry.has_command_result()) {
        hisbridge::v1::ViewMessage message;
        *message.mutable_command_result() = entry.command_result();
        message.SerializeToString(&value);
        producer_->Produce(options_.topics.views, absl::StrCat("~command/", entry.command_result().command_id()),
                           value, on_delivery(i));
      } else {
        const std::string& patient_id = entry.patient_id();
        auto region = regions_.find(RegionOfPatient(patient_id));
        PatientState* patient = region == regions_.end() ? nullptr : region->second->FindPatient(patient_id);
        if (patient == nullptr) {
          // The region moved to another linker; its new owner publishes.
          results[i] = absl::OkStatus();
          if (--remaining == 0) done.Notify();
          continue;
        }
        HB_ASSIGN_OR_RETURN(hisbridge::v1::Patient view, views_->Build(*region->second, *patient));
        hisbridge::v1::ViewMessage message;
        *message.mutable_patient() = std::move(view);
        message.SerializeToString(&value);
        producer_->Produce(options_.topics.views, patient_id, value, on_delivery(i));
      }
    }
    if (!done.WaitForNotificationWithTimeout(kPublishTimeout)) {
      // Callbacks still reference this frame: wait for them (the producer
      // fails them at its delivery timeout at the latest).
      done.WaitForNotification();
    }
    index::IndexBatch remove = index_->NewBatch();
    std::vector<PendingOutbox> failed;
    absl::Status first_failure;
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (results[i].ok()) {
        remove.DeleteOutbox(pending_[i].sequence);
      } else {
        if (first_failure.ok()) first_failure = results[i];
        failed.push_back(std::move(pending_[i]));
      }
    }
    absl::Status removed = index_->Commit(&remove);
    if (!removed.ok()) {
      // RocksDB refuses every write after a failed one: stop like a failed
      // state commit (the delivered entries are published again after a
      // restart; consumers drop the duplicates by version).
      return absl::InternalError(absl::StrCat("patient index write failed; linker stops: ", removed.message()));
    }
    pending_ = std::move(failed);
    if (!first_failure.ok()) {
      log::Warning("publishing views failed; will retry", {{"pending", static_cast<int64_t>(pending_.size())},
                                                          {"error", first_failure}});
      absl::SleepFor(absl::Milliseconds(500));
    }
    return absl::OkStatus();
  }

  const StreamingLinkerOptions& options_;
  const LinkEngine* engine_;
  const records::FacilityDirectory* facilities_;
  std::atomic<bool>* stop_requested_;

  std::unique_ptr<index::PatientIndex> index_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<ViewBuilder> views_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  int views_partitions_ = 1;

  std::map<std::string, std::unique_ptr<RegionState>> regions_;
  std::set<int32_t> owned_partitions_;
  std::map<int32_t, int64_t> next_offset_;
  std::set<int32_t> dirty_partitions_;
  ChangeSet changes_;
  std::vector<PendingOutbox> pending_;
  EngineCounters counters_;
  int64_t undecodable_ = 0;
  // A commit in OnRevoked failed; Consume() stops with it.
  absl::Status revoke_error_;
  // Stopping on an error (or destroyed): OnRevoked must not commit.
  bool failed_ = false;

  mutable std::mutex progress_mu_;
  std::map<int32_t, int64_t> committed_;
  std::set<int32_t> assigned_;
  EngineCounters counters_snapshot_;
};

StreamingLinker::StreamingLinker(StreamingLinkerOptions options, const LinkEngine* engine,
                                 const records::FacilityDirectory* facilities)
    : options_(std::move(options)), engine_(engine), facilities_(facilities) {}

StreamingLinker::~StreamingLinker() { Stop(); }

absl::Status StreamingLinker::Start() {
  loop_ = std::make_unique<Loop>(options_, engine_, facilities_, &stop_requested_);
  HB_RETURN_IF_ERROR(loop_->Open());
  running_ = true;
  thread_ = std::thread([this] {
    absl::Status s = loop_->Run();
    if (!s.ok()) log::Error("linker stopped", {{"error", s}});
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
    }
    running_ = false;
  });
  return absl::OkStatus();
}

void StreamingLinker::Stop() {
  stop_requested_ = true;
  if (thread_.joinable()) thread_.join();
  loop_.reset();
}

absl::Status StreamingLinker::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::map<int32_t, int64_t> StreamingLinker::CommittedOffsets() const {
  return loop_ ? loop_->Committed() : std::map<int32_t, int64_t>{};
}

std::set<int32_t> StreamingLinker::AssignedPartitions() const {
  return loop_ ? loop_->Assigned() : std::set<int32_t>{};
}

index::KvStore::Stats StreamingLinker::IndexStats() const {
  return loop_ ? loop_->IndexStats() : index::KvStore::Stats{};
}

absl::Status StreamingLinker::CheckpointIndex(const std::string& dir) const {
  if (loop_ == nullptr) return absl::FailedPreconditionError("the linker is not started");
  return loop_->Checkpoint(dir);
}

EngineCounters StreamingLinker::counters() const { return loop_ ? loop_->Counters() : EngineCounters{}; }

}  // namespace hisbridge::linker
