#include "libs/fhir/fhir_time.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "libs/base/time_format.h"

namespace hisbridge::fhir {
namespace {

bool Digits(absl::string_view s, size_t pos, size_t n, int* value) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
  return kDays[month - 1];
}

// Parses a date prefix; returns its length (4, 7 or 10) or 0.
size_t DatePrefix(absl::string_view s) {
  int year = 0, month = 0, day = 0;
  if (!Digits(s, 0, 4, &year) || year == 0) return 0;
  if (s.size() == 4 || s[4] != '-') return 4;
  if (!Digits(s, 5, 2, &month) || month < 1 || month > 12) return 0;
  if (s.size() == 7 || s[7] != '-') return 7;
  if (!Digits(s, 8, 2, &day) || day < 1 || day > DaysInMonth(year, month)) return 0;
  return 10;
}

// hh:mm:ss[.f+] at pos; returns the end or 0.
size_t TimeAt(absl::string_view s, size_t pos) {
  int h = 0, m = 0, sec = 0;
  if (!Digits(s, pos, 2, &h) || h > 23) return 0;
  if (pos + 2 >= s.size() || s[pos + 2] != ':') return 0;
  if (!Digits(s, pos + 3, 2, &m) || m > 59) return 0;
  if (pos + 5 >= s.size() || s[pos + 5] != ':') return 0;
  if (!Digits(s, pos + 6, 2, &sec) || sec > 60) return 0;
  size_t end = pos + 8;
  if (end < s.size() && s[end] == '.') {
    size_t k = end + 1;
    while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
    if (k == end + 1) return 0;
    end = k;
  }
  return end;
}

bool ZoneAt(absl::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z') return pos + 1 == s.size();
  if (s[pos] != '+' && s[pos] != '-') return false;
  int h = 0, m = 0;
  if (s.size() != pos + 6 || !Digits(s, pos + 1, 2, &h) || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &m)) {
    return false;
  }
  return m <= 59 && (h < 14 || (h == 14 && m == 0));
}

// 0: not a dateTime; 1: partial date; 2: full date; 3: with time and zone.
int DateTimeKind(absl::string_view s) {
  const size_t date = DatePrefix(s);
  if (date == 0) return 0;
  if (date == s.size()) return date == 10 ? 2 : 1;
  if (date != 10 || s[10] != 'T') return 0;
  const size_t time = TimeAt(s, 11);
  if (time == 0 || !ZoneAt(s, time)) return 0;
  return 3;
}

}  // namespace

bool IsFhirDate(absl::string_view value) { return !value.empty() && DatePrefix(value) == value.size(); }

bool IsFhirDateTime(absl::string_view value) { return DateTimeKind(value) != 0; }

bool IsFhirInstant(absl::string_view value) { return DateTimeKind(value) == 3; }

bool IsFhirTime(absl::string_view value) { return TimeAt(value, 0) == value.size() && !value.empty(); }

absl::StatusOr<std::string> FhirDateTimeToRfc3339(absl::string_view value, absl::TimeZone default_zone) {
  switch (DateTimeKind(value)) {
    case 3: return std::string(value);
    case 2: {
      absl::CivilDay day;
      if (!absl::ParseCivilTime(value, &day)) break;
      // Written in the zone itself: "2026-03-01T00:00:00+08:00" reads as
      // the day it was, unlike the same instant in UTC.
      return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::FromCivil(day, default_zone), default_zone);
    }
    case 1:
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", value, "\" gives only a year or month; the time of a clinical event needs at least the day"));
    default: break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", value, "\" is not a FHIR dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a zone, e.g. "
      "2026-03-01T08:30:00+08:00)"));
}

std::string Rfc3339ToFhirInstant(absl::string_view value) {
  if (IsFhirInstant(value)) return std::string(value);
  auto t = ParseRfc3339(value);
  if (!t.ok()) return "";
  const std::string formatted = FormatRfc3339(*t);
  return IsFhirInstant(formatted) ? formatted : "";
}

}  // namespace hisbridge::fhir
