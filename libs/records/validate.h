// The semantic rules of the county record format, applied to every record
// whatever channel it came through (JSON line, gRPC, HL7 v2, FHIR, CSV).
//
// A record is rejected only when it cannot be applied safely: an unknown
// kind or op, a missing identity (facility_id, record_id, event id), an
// unreadable event_time, a merge without its merged record, oversized or
// control-character identifiers. Everything about demographic *values*
// (odd sex codes, unparseable birth dates, bad id check digits) is a
// data-quality finding, not a rejection: a patient is never dropped because
// a clinic mistyped a phone number.
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_RECORDS_VALIDATE_H_
#define HISBRIDGE_LIBS_RECORDS_VALIDATE_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hisbridge/v1/ingest.pb.h"
#include "hisbridge/v1/records.pb.h"

namespace hisbridge::records {

enum class RecordKind { kUnknown, kPatient, kEncounter, kObservation, kMedication };
enum class RecordOp { kUnknown, kUpsert, kDelete, kMerge };

RecordKind ParseKind(absl::string_view kind);
RecordOp ParseOp(absl::string_view op);  // "" means upsert
absl::string_view KindName(RecordKind kind);

// The id of a clinical event (encounter_id, observation_id, medication_id);
// empty for patients.
const std::string& EventId(const hisbridge::v1::Record& record);

struct ValidationResult {
  std::vector<hisbridge::v1::FieldIssue> errors;
  std::vector<hisbridge::v1::FieldIssue> findings;
  // The reason of the first error; REJECT_REASON_UNSPECIFIED when valid.
  hisbridge::v1::RejectReason reason = hisbridge::v1::REJECT_REASON_UNSPECIFIED;
  // Parsed event_time when valid.
  absl::Time event_time;
  bool ok() const { return errors.empty(); }
};

// Longest accepted identifier (facility_id, record_id, event ids).
inline constexpr size_t kMaxIdentifierBytes = 64;
// Longest accepted free-text field.
inline constexpr size_t kMaxTextBytes = 4096;
inline constexpr int kMaxDiagnoses = 100;

ValidationResult ValidateRecord(const hisbridge::v1::Record& record);

}  // namespace hisbridge::records

#endif  // HISBRIDGE_LIBS_RECORDS_VALIDATE_H_
