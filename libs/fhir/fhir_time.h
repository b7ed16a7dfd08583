// FHIR R4 date, dateTime, instant and time values.
//
//   date      YYYY, YYYY-MM or YYYY-MM-DD
//   dateTime  a date, or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)
//             (a time needs seconds and a zone)
//   instant   a dateTime with seconds and zone (never partial)
//   time      hh:mm:ss[.fff]
//
// Checks follow the regular expressions of the FHIR datatypes page, plus
// real calendar days (no 2026-02-30). Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_FHIR_FHIR_TIME_H_
#define HISBRIDGE_LIBS_FHIR_FHIR_TIME_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hisbridge::fhir {

bool IsFhirDate(absl::string_view value);
bool IsFhirDateTime(absl::string_view value);
bool IsFhirInstant(absl::string_view value);
bool IsFhirTime(absl::string_view value);

// A dateTime or instant as an RFC 3339 time for a record's event_time. A
// full date means its midnight in `default_zone` (a clinic that records
// only the day of a visit); a year or month alone is too imprecise and is
// INVALID_ARGUMENT, as is anything that is not a FHIR dateTime.
absl::StatusOr<std::string> FhirDateTimeToRfc3339(absl::string_view value, absl::TimeZone default_zone);

// An RFC 3339 time (as the county records carry) as a FHIR instant; empty
// when it cannot be read.
std::string Rfc3339ToFhirInstant(absl::string_view value);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_FHIR_TIME_H_
