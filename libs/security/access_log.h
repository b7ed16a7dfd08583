// The access audit trail of a query replica: every read of patient data,
// allowed or refused, with who (certificate identity), their role, the
// method, the patient, the time and the purpose of use they declared.
//
// Kept durably in its own small RocksDB (DIR, beside the view store), with
// values encrypted like the rest of the replica's data. Entries are keyed by
// time, so a listing is in time order and pages resume after the last key.
//
// Thread safety: Record and List are safe from any thread.
#ifndef HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_
#define HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/v1/admin.pb.h"
#include "libs/base/clock.h"
#include "libs/index/kv_store.h"

namespace hisbridge::security {

class AccessLog {
 public:
  static absl::StatusOr<std::unique_ptr<AccessLog>> Open(const std::string& dir,
                                                         std::shared_ptr<const index::ValueCipher> cipher,
                                                         Clock* clock = RealClock());

  // One entry per patient id (one entry with an empty patient id when the
  // call named none, e.g. a refused search). Time is filled in here.
  absl::Status Record(const hisbridge::v1::AccessLogEntry& entry, const std::vector<std::string>& patient_ids);

  // Entries matching the request's filters (who, patient_id: exact; from,
  // to: RFC 3339, inclusive), oldest first; page_size defaults to 100, at
  // most 1000; next_page_token resumes. A page also ends after 100,000
  // entries examined, so a page may hold fewer entries than asked for
  // while next_page_token is still set.
  absl::StatusOr<hisbridge::v1::ListAccessLogResponse> List(const hisbridge::v1::ListAccessLogRequest& request) const;

  int64_t written() const { return written_.load(); }

 private:
  AccessLog(std::unique_ptr<index::KvStore> store, Clock* clock) : store_(std::move(store)), clock_(clock) {}
  std::unique_ptr<index::KvStore> store_;
  Clock* clock_;
  int entries_ = 0;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<int64_t> written_{0};
};

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_ACCESS_LOG_H_
