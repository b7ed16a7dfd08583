#include "libs/base/time_format.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hisbridge {

namespace {

absl::Status Malformed(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat("must be an RFC 3339 time like 2026-03-01T08:30:00+08:00; got \"", text, "\""));
}

bool Digits(absl::string_view text, size_t pos, size_t count, int* out) {
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (i >= text.size() || !absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

// Written by hand rather than with absl::ParseTime: every record's
// event_time goes through here (ingest, the linkers, the batch command), and
// the general parser costs more than the rest of validation together.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (text.size() < 20 || !Digits(text, 0, 4, &year) || text[4] != '-' || !Digits(text, 5, 2, &month) ||
      text[7] != '-' || !Digits(text, 8, 2, &day) ||
      !(text[10] == 'T' || text[10] == 't' || text[10] == ' ') || !Digits(text, 11, 2, &hour) || text[13] != ':' ||
      !Digits(text, 14, 2, &minute) || text[16] != ':' || !Digits(text, 17, 2, &second)) {
    return Malformed(text);
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100000000;
    while (pos < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
      if (scale > 0) nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return Malformed(text);
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!Digits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !Digits(text, pos + 4, 2, &om)) {
      return Malformed(text);
    }
    if (oh > 23 || om > 59) return absl::InvalidArgumentError(absl::StrCat("UTC offset out of range: \"", text, "\""));
    offset_seconds = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("must end in a UTC offset such as +08:00 or Z; got \"", text, "\""));
  }
  if (pos != text.size()) return Malformed(text);
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return absl::InvalidArgumentError(absl::StrCat("not a real RFC 3339 time: \"", text, "\""));
  }
  // A leap second is read as the last second of its minute.
  if (second == 60) second = 59;
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
                          offset_seconds;
  return absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace hisbridge
