// RFC 3339 timestamps as the county record format uses them.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_BASE_TIME_FORMAT_H_
#define HISBRIDGE_LIBS_BASE_TIME_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hisbridge {

// Parses "2026-03-01T08:30:00+08:00", "2026-03-01T00:30:00Z" and the same
// with fractional seconds. A lower-case 't'/'z' or a space instead of 'T' are
// accepted (RFC 3339 section 5.6 allows them). Anything else is
// INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

// Formats as RFC 3339 in UTC with milliseconds: "2026-03-01T00:30:00.000Z".
std::string FormatRfc3339(absl::Time t);

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_TIME_FORMAT_H_
