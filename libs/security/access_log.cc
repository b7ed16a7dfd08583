#include "libs/security/access_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"

namespace hisbridge::security {

using hisbridge::v1::AccessLogEntry;

namespace {
// Entries per RocksDB batch at most (a few hundred KB).
constexpr size_t kMaxBatchEntries = 1000;
}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& dir,
                                                           std::shared_ptr<const index::ValueCipher> cipher,
                                                           Clock* clock) {
  return Open(dir, std::move(cipher), AccessLogOptions(), clock);
}

absl::StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(const std::string& dir,
                                                           std::shared_ptr<const index::ValueCipher> cipher,
                                                           const AccessLogOptions& options, Clock* clock) {
  index::KvStoreOptions kv;
  kv.families = {"entries"};
  kv.block_cache_bytes = 8 << 20;
  kv.write_buffer_bytes = 8 << 20;
  kv.cipher = std::move(cipher);
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(dir, kv));
  return std::unique_ptr<AccessLog>(new AccessLog(std::move(store), options, clock));
}

AccessLog::AccessLog(std::unique_ptr<index::KvStore> store, const AccessLogOptions& options, Clock* clock)
    : store_(std::move(store)), options_(options), clock_(clock) {
  entries_ = store_->Family("entries");
  if (options_.max_delay > absl::ZeroDuration()) writer_ = std::thread([this] { WriterLoop(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void AccessLog::AddTo(const Pending& pending, index::WriteBatch* batch) const {
  AccessLogEntry e = pending.entry;
  e.set_time(FormatRfc3339(absl::FromUnixMicros(static_cast<int64_t>(pending.micros))));
  uint64_t sequence = pending.first_sequence;
  for (const std::string& id : pending.patient_ids) {
    e.set_patient_id(id);
    batch->Put(entries_, index::EncodeUint64(pending.micros) + index::EncodeUint64(sequence++), e.SerializeAsString());
  }
}

absl::Status AccessLog::WriteNow(const std::vector<Pending>& pending) {
  index::WriteBatch batch = store_->NewBatch();
  for (const Pending& p : pending) AddTo(p, &batch);
  const int64_t count = static_cast<int64_t>(batch.Count());
  HB_RETURN_IF_ERROR(store_->Write(&batch));
  written_ += count;
  return absl::OkStatus();
}

absl::Status AccessLog::Record(const AccessLogEntry& entry, const std::vector<std::string>& patient_ids) {
  return Record(AccessLogEntry(entry), std::vector<std::string>(patient_ids));
}

absl::Status AccessLog::Record(AccessLogEntry&& entry, std::vector<std::string>&& patient_ids) {
  // The caller's thread (a gRPC thread answering a read) only stamps and
  // queues; formatting, serializing and sealing happen in the writer.
  Pending p;
  p.entry = std::move(entry);
  p.patient_ids = std::move(patient_ids);
  if (p.patient_ids.empty()) p.patient_ids.emplace_back();
  const size_t count = p.patient_ids.size();
  std::unique_lock<std::mutex> lock(mu_);
  const bool batched = writer_.joinable() && !stopping_;
  if (batched && pending_entries_ >= options_.max_pending) {
    // The writer is behind (a slow or stalled disk). Waiting here would
    // block the gRPC thread answering the read, and with it every other
    // call; dropping the entry would serve a read nobody can audit. So the
    // entry is refused and its caller refuses the read.
    work_cv_.notify_one();
    return absl::ResourceExhaustedError(absl::StrCat(
        "the access log is behind: ", pending_entries_, " entries wait for its disk (at most ", options_.max_pending,
        "); reads are refused until it catches up, so that none goes unrecorded; try again shortly"));
  }
  // Time and sequence are taken under the lock, so the log's key order is
  // the order of the calls.
  p.micros = static_cast<uint64_t>(absl::ToUnixMicros(clock_->Now()));
  p.first_sequence = next_sequence_;
  next_sequence_ += count;
  if (!batched) {
    // Synchronous: written before the read is answered. The keys carry
    // the order; concurrent writes need not be serialized.
    lock.unlock();
    std::vector<Pending> one;
    one.push_back(std::move(p));
    return WriteNow(one);
  }
  const bool was_empty = pending_.empty();
  if (was_empty) first_pending_at_ = absl::Now();
  pending_.push_back(std::move(p));
  pending_entries_ += count;
  // The writer sleeps while nothing is queued; once woken it waits out
  // max_delay by itself, so only the first entry of a batch (or a full
  // one) wakes it.
  if (was_empty || pending_entries_ >= kMaxBatchEntries) work_cv_.notify_one();
  return write_status_;
}

absl::Status AccessLog::Flush() const {
  std::unique_lock<std::mutex> lock(mu_);
  if (!writer_.joinable() || stopping_) return write_status_;
  const uint64_t target = next_sequence_;
  ++flush_waiters_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [this, target] { return written_sequence_ >= target; });
  --flush_waiters_;
  return write_status_;
}

void AccessLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // stopping, and everything is written
    // Let the batch gather until the oldest entry has waited max_delay,
    // unless someone waits for it, the batch is full or the log closes.
    const absl::Time due = first_pending_at_ + options_.max_delay;
    while (!stopping_ && flush_waiters_ == 0 && pending_entries_ < kMaxBatchEntries &&
           pending_entries_ < options_.max_pending) {
      const absl::Duration left = due - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      work_cv_.wait_for(lock, absl::ToChronoNanoseconds(left));
    }
    std::vector<Pending> batch;
    batch.swap(pending_);
    pending_entries_ = 0;
    const uint64_t upto = next_sequence_;
    lock.unlock();
    // Serializing and sealing the entries happens here, off the callers'
    // threads.
    absl::Status s = WriteNow(batch);
    if (!s.ok()) {
      size_t lost = 0;
      for (const Pending& p : batch) lost += p.patient_ids.size();
      log::Error("cannot write the access log", {{"error", s}, {"entries", static_cast<int64_t>(lost)}});
    }
    lock.lock();
    write_status_ = s;
    written_sequence_ = upto;
    done_cv_.notify_all();
  }
}

absl::StatusOr<hisbridge::v1::ListAccessLogResponse> AccessLog::List(
    const hisbridge::v1::ListAccessLogRequest& request) const {
  // Every read recorded before this call is listed.
  (void)Flush();
  uint64_t from_micros = 0;
  uint64_t to_micros = UINT64_MAX;
  if (!request.from().empty()) {
    auto t = ParseRfc3339(request.from());
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("from: ", t.status().message()));
    from_micros = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(*t)));
  }
  if (!request.to().empty()) {
    auto t = ParseRfc3339(request.to());
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat("to: ", t.status().message()));
    to_micros = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(*t)));
  }
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
  const int page_size = request.page_size() == 0 ? 100 : std::min(request.page_size(), 1000);
  std::string start = index::EncodeUint64(from_micros);
  std::string after;
  if (!request.page_token().empty()) {
    after = absl::HexStringToBytes(request.page_token());
    if (after.size() != 16) return absl::InvalidArgumentError("page_token is not one this service returned");
    start = std::max(start, after);
  }
  hisbridge::v1::ListAccessLogResponse response;
  AccessLogEntry entry;
  absl::Status parse;
  std::string last_key;
  // A filter that matches little must not turn one call into a scan of
  // the whole log: past this many entries the page ends early.
  constexpr int kMaxScanned = 100000;
  int scanned = 0;
  HB_RETURN_IF_ERROR(store_->ScanFrom(entries_, "", start, [&](absl::string_view key, absl::string_view value) {
    if (key == after) return true;
    if (index::DecodeUint64(key.substr(0, 8)) > to_micros) return false;
    if (response.entries_size() >= page_size || ++scanned > kMaxScanned) {
      response.set_next_page_token(absl::BytesToHexString(last_key));
      return false;
    }
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse = absl::DataLossError("corrupt access log entry");
      return false;
    }
    last_key = std::string(key);
    if (!request.who().empty() && entry.who() != request.who() && entry.on_behalf_of() != request.who()) return true;
    if (!request.patient_id().empty() && entry.patient_id() != request.patient_id()) return true;
    *response.add_entries() = entry;
    return true;
  }));
  HB_RETURN_IF_ERROR(parse);
  return response;
}

}  // namespace hisbridge::security
