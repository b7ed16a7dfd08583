#include "libs/base/time_format.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hisbridge {

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  // Shape check first so that errors say which part is wrong, and so that
  // absl::ParseTime's leniency (it accepts e.g. missing offsets with a
  // default zone) cannot let a zoneless local time through.
  if (text.size() < 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be an RFC 3339 time like 2026-03-01T08:30:00+08:00; got \"", text, "\""));
  }
  std::string normalized(text);
  if (normalized[10] == 't' || normalized[10] == ' ') normalized[10] = 'T';
  if (normalized.back() == 'z') normalized.back() = 'Z';
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(normalized[i]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("must be an RFC 3339 time like 2026-03-01T08:30:00+08:00; got \"", text, "\""));
    }
  }
  if (normalized[4] != '-' || normalized[7] != '-' || normalized[10] != 'T' || normalized[13] != ':' ||
      normalized[16] != ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("must be an RFC 3339 time like 2026-03-01T08:30:00+08:00; got \"", text, "\""));
  }
  const char last = normalized.back();
  const bool has_zone = last == 'Z' || (normalized.size() >= 25 && (normalized[normalized.size() - 6] == '+' ||
                                                                    normalized[normalized.size() - 6] == '-'));
  if (!has_zone) {
    return absl::InvalidArgumentError(
        absl::StrCat("must end in a UTC offset such as +08:00 or Z; got \"", text, "\""));
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, normalized, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("not a real RFC 3339 time (", err, "): \"", text, "\""));
  }
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace hisbridge
