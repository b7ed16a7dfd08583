// Reads and trims serialized hisbridge.v1.Patient views without parsing
// them, so the query role can answer GetPatient and LookupBySource with the
// bytes it stored.
//
// A Patient view with its clinical events is tens of kilobytes; parsing it
// and serializing it again would dominate the cost of a lookup. These
// helpers walk the top-level fields of the wire format only: the header
// fields (patient_id, status, merged_into) are read in place, and the
// events (field 9) can be cut out by copying the other fields' bytes.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_
#define HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/v1/patient.pb.h"

namespace hisbridge::view {

struct PatientHeader {
  std::string patient_id;
  int64_t version = 0;
  hisbridge::v1::PatientStatus status = hisbridge::v1::PATIENT_STATUS_UNSPECIFIED;
  std::string merged_into;
};

// The header fields of a serialized Patient. DATA_LOSS when the bytes are
// not a well-formed message.
absl::StatusOr<PatientHeader> ReadPatientHeader(absl::string_view serialized);

// The same Patient without its `events` (field 9), still serialized.
// DATA_LOSS when the bytes are not a well-formed message.
absl::StatusOr<std::string> StripPatientEvents(absl::string_view serialized);

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_
