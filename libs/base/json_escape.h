// JSON string escaping, shared by everything that writes JSON by hand: the
// structured log, record and link diagnostics, the FHIR writer.
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_BASE_JSON_ESCAPE_H_
#define HISBRIDGE_LIBS_BASE_JSON_ESCAPE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge {

// Appends `value` to `out` as the body of a JSON string (without quotes):
// quotes, backslashes and control characters escaped (\n \r \t \b \f, the
// rest as \u00XX); well-formed UTF-8 copied as it is; any byte that does
// not start a well-formed sequence (overlong, surrogate, beyond U+10FFFF,
// truncated) replaced by U+FFFD, so the output is always valid JSON.
void AppendJsonEscaped(absl::string_view value, std::string* out);

// `value` as a whole JSON string, quotes included.
std::string JsonQuoted(absl::string_view value);

// The length of the well-formed UTF-8 sequence starting at s[i] (1 for
// ASCII), or 0 when none starts there.
size_t Utf8SequenceLength(absl::string_view s, size_t i);

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_JSON_ESCAPE_H_
