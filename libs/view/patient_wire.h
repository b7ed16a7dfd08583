// Reads and trims serialized hisbridge.v1.Patient views without parsing
// them, so the query role can answer GetPatient and LookupBySource with the
// bytes it stored.
//
// A Patient view with its clinical events is tens of kilobytes; parsing it
// and serializing it again would dominate the cost of a lookup. These
// helpers walk the top-level fields of the wire format only: the header
// fields (patient_id, status, merged_into) are read in place, the events
// (field 9) can be cut out by copying the other fields' bytes, and each
// event can be looked at through the few fields a timeline needs while its
// bytes are passed on untouched.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_
#define HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_

#include <cstdint>
#include <functional>
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

// What a timeline needs of one serialized ClinicalEvent, read in place:
// views into the serialized patient, valid as long as its bytes are.
struct EventFields {
  absl::string_view kind;
  absl::string_view facility_id;
  absl::string_view event_id;
  absl::string_view event_time;
  // Of the event's record (ClinicalEvent.record).
  absl::string_view encounter_type;
  absl::string_view referral_to;
  absl::string_view referral_from;
  // The whole serialized ClinicalEvent.
  absl::string_view serialized;
};

// Calls fn for every event of a serialized Patient, in order, and sets
// *without_events (when not null) to the Patient without them, as
// StripPatientEvents does. DATA_LOSS when the patient or one of its events
// is not a well-formed message.
absl::Status ForEachPatientEvent(absl::string_view serialized, std::string* without_events,
                                 const std::function<void(const EventFields&)>& fn);

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_PATIENT_WIRE_H_
