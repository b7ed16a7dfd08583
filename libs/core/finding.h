// Data-quality findings: what normalisation noticed about one field of one
// record, for the per-clinic quality report and the rejects topic.
//
// A value type. `field` and `code` always point to string literals with
// static storage duration, so findings can be copied and stored freely.
#ifndef HISBRIDGE_LIBS_CORE_FINDING_H_
#define HISBRIDGE_LIBS_CORE_FINDING_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

enum class Severity : uint8_t {
  kInfo,     // normalised silently but worth counting (full width, 15-digit id)
  kWarning,  // the value is doubtful or partly unusable (year-only date, junk phone)
  kError,    // the value is unusable (bad check digit, impossible date)
};

absl::string_view SeverityName(Severity severity);  // "info", "warning", "error"

struct Finding {
  // The record field, spelt as in the county format: "id_number", "birth_date".
  absl::string_view field;
  // Stable machine-readable rule "<field>.<rule>": "id_number.bad_check_digit",
  // "birth_date.future", "name.placeholder", "phone.junk". Listed in
  // docs/normalisation.md; never renamed.
  absl::string_view code;
  // A specific English sentence naming the value and the problem.
  std::string message;
  Severity severity = Severity::kWarning;
};

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_FINDING_H_
