// The access audit trail of a query replica: every read of patient data,
// allowed or refused, with who (certificate identity), their role, the
// method, the patient, the time and the purpose of use they declared.
//
// Kept durably in its own small RocksDB (DIR, beside the view store), with
// values encrypted like the rest of the replica's data. Entries are keyed by
// time and a sequence number, so a listing is in the order the reads were
// recorded and pages resume after the last key.
//
// Writing. By default (AccessLogOptions::max_delay > 0) Record() only
// stamps the entries (time, sequence) and queues them; a writer thread
// serializes, seals and writes them in one RocksDB batch per max_delay
// (or sooner when many are queued). The order of the log is the order of
// the Record() calls. Flush() waits until every entry recorded before it is
// written; List() flushes first, so a listing shows every read recorded
// before it; destruction writes everything still queued, so a clean
// shutdown loses nothing. The trade-off: if the process dies (crash, OOM
// kill, power loss), the entries of the last max_delay may be missing,
// although their reads were answered. With max_delay = 0 every Record()
// writes its entries before it returns (before the read is answered): one
// RocksDB write per read, the behaviour before batching. See
// docs/security.md.
//
// Back-pressure: when the writer falls behind by max_pending entries,
// Record() queues nothing and returns RESOURCE_EXHAUSTED at once; the
// caller must then refuse the read (Authorizer::RecordAccess and the
// services do). Nothing queued is dropped, no caller blocks, and no read
// is served unrecorded.
//
// Thread safety: Record, Flush and List are safe from any thread.
#ifndef HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_
#define HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hisbridge/v1/admin.pb.h"
#include "libs/base/clock.h"
#include "libs/index/kv_store.h"

namespace hisbridge::security {

struct AccessLogOptions {
  // Longest time an entry waits in memory before it is written; 0 writes
  // each Record() synchronously.
  absl::Duration max_delay = absl::Milliseconds(5);
  // Queued entries beyond which Record() refuses new ones.
  size_t max_pending = 100000;
};

class AccessLog {
 public:
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& dir,
                                                         std::shared_ptr<const index::ValueCipher> cipher,
                                                         Clock* clock = RealClock());
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& dir,
                                                         std::shared_ptr<const index::ValueCipher> cipher,
                                                         const AccessLogOptions& options, Clock* clock = RealClock());
  // Writes what is still queued, then closes the store.
  ~AccessLog();

  // One entry per patient id (one entry with an empty patient id when the
  // call named none, e.g. a refused search). Time is filled in here.
  // RESOURCE_EXHAUSTED: the queue is full and these entries were not
  // taken (see above). With batching, any other error is that of the last
  // write (the log is failing), and these entries are queued.
  absl::Status Record(const hisbridge::v1::AccessLogEntry& entry, const std::vector<std::string>& patient_ids);
  absl::Status Record(hisbridge::v1::AccessLogEntry&& entry, std::vector<std::string>&& patient_ids);

  // Waits until every entry recorded before the call is written; the
  // status of the last write (OK unless the log is failing).
  absl::Status Flush() const;

  // Entries matching the request's filters (who: exact, the caller or the
  // one it read on behalf of; patient_id: exact; from,
  // to: RFC 3339, inclusive), oldest first; page_size defaults to 100, at
  // most 1000; next_page_token resumes. A page also ends after 100,000
  // entries examined, so a page may hold fewer entries than asked for
  // while next_page_token is still set. Flushes first.
  absl::StatusOr<hisbridge::v1::ListAccessLogResponse> List(const hisbridge::v1::ListAccessLogRequest& request) const;

  // Entries written to the store so far.
  int64_t written() const { return written_.load(); }

 private:
  // Entries of one Record() call, stamped, not yet written.
  struct Pending {
    hisbridge::v1::AccessLogEntry entry;  // without its time
    uint64_t micros = 0;  // the time
    uint64_t first_sequence = 0;
    std::vector<std::string> patient_ids;  // one empty id when none was named
  };

  AccessLog(std::unique_ptr<index::KvStore> store, const AccessLogOptions& options, Clock* clock);
  // Puts the entries of `pending` into `batch`.
  void AddTo(const Pending& pending, index::WriteBatch* batch) const;
  absl::Status WriteNow(const std::vector<Pending>& pending);
  void WriterLoop();

  std::unique_ptr<index::KvStore> store_;
  const AccessLogOptions options_;
  Clock* clock_;
  int entries_ = 0;
  std::atomic<int64_t> written_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable work_cv_;  // the writer waits on it
  mutable std::condition_variable done_cv_;  // Flush and back-pressure wait on it
  std::vector<Pending> pending_;
  size_t pending_entries_ = 0;
  absl::Time first_pending_at_;  // real time the oldest queued entry came
  uint64_t next_sequence_ = 0;     // of the next entry recorded
  uint64_t written_sequence_ = 0;  // every entry before it is written
  mutable int flush_waiters_ = 0;
  bool stopping_ = false;
  absl::Status write_status_;  // of the last write
  std::thread writer_;
};

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_
