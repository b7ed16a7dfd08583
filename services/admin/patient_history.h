// A patient's audit trail as the linker recorded it: the "audit" family of
// the patient index (libs/index/patient_index.h), written by the link
// engine in the same batch as the change it describes. Every automatic
// decision carries its model version, score and explanation; every steward
// action its actor and reason; every entry the inbox position that caused
// it. What AdminService.GetPatientHistory answers and `hisbridge history
// --data-dir` prints.
//
// Entries stay under the id of the patient they were written for, oldest
// first, and are never rewritten. A merged-away patient therefore keeps
// its own history (ending with its "merged" entry naming the survivor) and
// is read by its own id; the survivor's history holds the matching
// "merged" entry naming it. A history never mixes in another patient's
// entries (an entry does not say whose it is): follow other_patient_id.
//
// Thread safety: ReadPatientHistory is as safe as the index it reads
// (PatientIndex: any thread). LinkerHistoryReader serializes its calls.
#ifndef HISBRIDGE_SERVICES_ADMIN_PATIENT_HISTORY_H_
#define HISBRIDGE_SERVICES_ADMIN_PATIENT_HISTORY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/v1/admin.pb.h"
#include "libs/index/kv_store.h"
#include "libs/index/patient_index.h"

namespace hisbridge::admin {

// The county (region) code of a unified patient id "<region>-P<digits>"
// (what the linker assigns, e.g. "450321-P0000001" -> "450321").
// INVALID_ARGUMENT naming the rule for anything else.
absl::StatusOr<std::string> RegionOfPatientId(absl::string_view patient_id);

// A gRPC client accepts 4 MiB answers by default: histories larger than
// this are refused over gRPC rather than sent and dropped by the client.
inline constexpr size_t kMaxHistoryBytesOverGrpc = 3 << 20;

struct HistoryReadOptions {
  // The regions this reader answers for (a linker pod: the counties of the
  // inbox partitions it owns now). A region in the index that it does not
  // answer for is FAILED_PRECONDITION naming the region's inbox partition.
  // Null: every region of the index.
  std::function<bool(const hisbridge::index::v1::RegionMeta& region)> answers_for;
  // A history whose entries exceed this many bytes is RESOURCE_EXHAUSTED
  // (nothing is cut silently from an audit trail). 0: no limit.
  size_t max_bytes = 0;
};

// Every audit entry of `patient_id`, oldest first.
//   INVALID_ARGUMENT  not a patient id
//   NOT_FOUND         its region is not in this index, or the patient has
//                     no audit entry there (no such patient)
//   FAILED_PRECONDITION  the region is not one this reader answers for
//   RESOURCE_EXHAUSTED   larger than options.max_bytes
absl::StatusOr<hisbridge::v1::PatientHistory> ReadPatientHistory(const index::PatientIndex& index,
                                                                 absl::string_view patient_id,
                                                                 const HistoryReadOptions& options = {});

struct LinkerHistoryOptions {
  // The running linker's store (DATA_DIR/linker).
  std::string index_path;
  // The deployment's at-rest cipher; null for an unencrypted index.
  std::shared_ptr<const index::ValueCipher> cipher;
  // The inbox partitions this process links now: regions of other
  // partitions are refused (see HistoryReadOptions::answers_for), and an
  // empty set (joining the consumer group) is UNAVAILABLE. Null: every
  // region of the index.
  std::function<std::set<int32_t>()> owned_partitions;
  size_t max_bytes = kMaxHistoryBytesOverGrpc;
};

// The linker role's history source. Opens the linker's index read-only as
// a RocksDB secondary instance on first use (safe beside the writing
// linker; whole committed batches only) and keeps it; before each read it
// catches up with the linker, so a read after a steward command answered
// with wait_until_applied sees that command's entries. Blocks on RocksDB:
// call it off the gRPC threads.
class LinkerHistoryReader {
 public:
  explicit LinkerHistoryReader(LinkerHistoryOptions options);
  // Closes the secondary instance and removes its scratch directory.
  ~LinkerHistoryReader();
  LinkerHistoryReader(const LinkerHistoryReader&) = delete;
  LinkerHistoryReader& operator=(const LinkerHistoryReader&) = delete;

  // As ReadPatientHistory; UNAVAILABLE when the index cannot be opened or
  // caught up with (retried on the next call).
  absl::StatusOr<hisbridge::v1::PatientHistory> Read(const std::string& patient_id);

 private:
  absl::Status OpenLocked();

  const LinkerHistoryOptions options_;
  std::mutex mu_;
  std::string scratch_;
  std::unique_ptr<index::PatientIndex> index_;
};

}  // namespace hisbridge::admin

#endif  // HISBRIDGE_SERVICES_ADMIN_PATIENT_HISTORY_H_
