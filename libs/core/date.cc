#include "libs/core/date.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

constexpr int kEarliestYear = 1850;
constexpr int kMaxAgeYears = 120;

struct Parsed {
  bool ok = false;
  int year = 0, month = 0, day = 0;
  bool standard = false;
};

// Splits into up to three digit groups. Separators: - / . and 年 月 日 号;
// anything after the day that looks like a time ("T08:30", " 00:00:00") is
// ignored.
Parsed ParseShape(absl::string_view text) {
  Parsed p;
  int groups[3] = {0, 0, 0};
  size_t lengths[3] = {0, 0, 0};
  int count = 0;
  size_t pos = 0;
  bool in_group = false;
  char32_t separators[3] = {0, 0, 0};
  while (pos < text.size()) {
    char32_t cp;
    if (!DecodeUtf8(text, &pos, &cp)) return p;
    if (cp >= '0' && cp <= '9') {
      if (!in_group) {
        if (count == 3) return p;
        ++count;
        in_group = true;
      }
      if (lengths[count - 1] >= 14) return p;
      groups[count - 1] = lengths[count - 1] < 9
                              ? groups[count - 1] * 10 + static_cast<int>(cp - '0')
                              : groups[count - 1];
      ++lengths[count - 1];
      continue;
    }
    in_group = false;
    const bool date_separator = cp == '-' || cp == '/' || cp == '.' || cp == U'年' || cp == U'月';
    const bool end_marker = cp == U'日' || cp == U'号';
    if (date_separator && count >= 1 && count <= 2 && separators[count - 1] == 0) {
      separators[count - 1] = cp;
      continue;
    }
    if (end_marker && count == 3) {
      separators[2] = cp;
      continue;
    }
    // A time part after a complete date.
    if ((cp == ' ' || cp == 'T' || cp == 't') && (count == 3 || (count == 1 && lengths[0] == 8)))
      break;
    return p;
  }
  if (count == 0) return p;
  if (count == 1) {
    const int v = groups[0];
    switch (lengths[0]) {
      case 4:
        p.year = v;
        break;  // 1985
      case 6:
        p.year = v / 100, p.month = v % 100;
        break;  // 198503
      case 8:
        p.year = v / 10000, p.month = v / 100 % 100, p.day = v % 100;
        break;
      default: {
        // 14-digit timestamps (YYYYMMDDhhmmss): the date is the first 8.
        if (lengths[0] != 12 && lengths[0] != 14) return p;
        size_t start = text.find_first_of("0123456789");
        const absl::string_view d = text.substr(start, 8);
        p.year = std::atoi(std::string(d.substr(0, 4)).c_str());
        p.month = std::atoi(std::string(d.substr(4, 2)).c_str());
        p.day = std::atoi(std::string(d.substr(6, 2)).c_str());
      }
    }
    // A bare year may be followed by 年; nothing else may follow one group.
    if (separators[0] != 0 && !(separators[0] == U'年' && lengths[0] == 4)) return p;
    p.ok = true;
    return p;
  }
  if (lengths[0] != 4 || lengths[1] > 2 || (count == 3 && lengths[2] > 2)) return p;
  p.year = groups[0];
  p.month = groups[1];
  p.day = count == 3 ? groups[2] : 0;
  p.standard = count == 3 && separators[0] == '-' && separators[1] == '-' && lengths[1] == 2 &&
               lengths[2] == 2 && text.size() == 10;
  p.ok = true;
  return p;
}

bool IsDefaultValue(int y, int m, int d) {
  return (y == 1900 && m == 1 && d == 1) || (y == 1899 && m == 12 && (d == 30 || d == 31)) ||
         (y == 1753 && m == 1 && d == 1) || (y == 1800 && m == 1 && d == 1) ||
         (y == 1 && m == 1 && d == 1) || (y == 9999 && m == 12 && d == 31);
}

}  // namespace

absl::string_view DateStatusName(DateStatus status) {
  switch (status) {
    case DateStatus::kValid:
      return "valid";
    case DateStatus::kEmpty:
      return "empty";
    case DateStatus::kBadFormat:
      return "bad_format";
    case DateStatus::kImpossible:
      return "impossible";
    case DateStatus::kDefaultValue:
      return "default_value";
    case DateStatus::kFuture:
      return "future";
    case DateStatus::kTooOld:
      return "too_old";
  }
  return "bad_format";
}

BirthDate ParseBirthDate(absl::string_view raw, absl::CivilDay today) {
  BirthDate result;
  std::string folded;
  if (!NormalizeNfkc(raw, &folded)) {
    result.status = DateStatus::kBadFormat;
    return result;
  }
  absl::string_view text = folded;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return result;
  const Parsed p = ParseShape(text);
  if (!p.ok) {
    result.status = DateStatus::kBadFormat;
    return result;
  }
  result.year = p.year;
  result.month = p.month;
  result.day = p.day;
  result.standard_format = p.standard;
  if (IsDefaultValue(p.year, p.month, p.day)) {
    result.status = DateStatus::kDefaultValue;
    return result;
  }
  // Month 0 makes the day meaningless too ("1985-00-15").
  if (p.month == 0) result.day = 0;
  if (p.year < kEarliestYear || result.month > 12 || result.day > 31) {
    result.status = DateStatus::kImpossible;
    return result;
  }
  if (result.month == 0) {
    result.precision = DatePrecision::kYear;
    result.date = absl::CivilDay(p.year, 1, 1);
  } else if (result.day == 0) {
    result.precision = DatePrecision::kMonth;
    result.date = absl::CivilDay(p.year, result.month, 1);
  } else {
    const absl::CivilDay day(p.year, result.month, result.day);
    if (day.year() != p.year || day.month() != result.month || day.day() != result.day) {
      result.status = DateStatus::kImpossible;
      return result;
    }
    result.precision = DatePrecision::kDay;
    result.date = day;
  }
  if (result.date > today) {
    result.status = DateStatus::kFuture;
    return result;
  }
  if (today.year() - p.year > kMaxAgeYears) {
    result.status = DateStatus::kTooOld;
    return result;
  }
  result.status = DateStatus::kValid;
  return result;
}

std::string DescribeBirthDateProblem(const BirthDate& d, absl::string_view raw) {
  // Quote at most 64 bytes, cut on a character boundary.
  size_t cut = std::min<size_t>(raw.size(), 64);
  while (cut < raw.size() && cut > 0 && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80)
    --cut;
  const std::string shown =
      IsValidUtf8(raw) ? absl::StrCat("\"", raw.substr(0, cut), cut < raw.size() ? "...\"" : "\"")
                       : "the value";
  switch (d.status) {
    case DateStatus::kValid:
      if (d.precision == DatePrecision::kYear)
        return absl::StrCat("birth date ", shown, " gives only the year");
      if (d.precision == DatePrecision::kMonth) {
        return absl::StrCat("birth date ", shown, " gives only the year and month");
      }
      return "";
    case DateStatus::kEmpty:
      return "birth date is empty";
    case DateStatus::kBadFormat:
      return IsValidUtf8(raw)
                 ? absl::StrCat("birth date ", shown,
                                " is not a date in a known form (YYYY-MM-DD, YYYYMMDD, "
                                "YYYY/M/D, YYYY.M.D, YYYY年M月D日)")
                 : "birth date is not valid UTF-8";
    case DateStatus::kImpossible:
      if (d.year < kEarliestYear)
        return absl::StrCat("birth date ", shown, " has year ", d.year, ", before ", kEarliestYear);
      if (d.month > 12)
        return absl::StrCat("birth date ", shown, " has month ", d.month, ", which does not exist");
      return absl::StrCat("birth date ", shown, " is not a real calendar date");
    case DateStatus::kDefaultValue:
      return absl::StrCat("birth date ", shown,
                          " is a common system default, not a real birth date");
    case DateStatus::kFuture:
      return absl::StrCat("birth date ", shown, " is in the future");
    case DateStatus::kTooOld:
      return absl::StrCat("birth date ", shown, " would make the patient older than ", kMaxAgeYears,
                          " years");
  }
  return "";
}

absl::string_view DateMatchName(DateMatch match) {
  switch (match) {
    case DateMatch::kMissing:
      return "missing";
    case DateMatch::kExact:
      return "exact";
    case DateMatch::kDayMonthSwapped:
      return "day_month_swapped";
    case DateMatch::kTypo:
      return "typo";
    case DateMatch::kOneYearOff:
      return "one_year_off";
    case DateMatch::kWithin60Days:
      return "within_60_days";
    case DateMatch::kSameMonth:
      return "same_month";
    case DateMatch::kSameYear:
      return "same_year";
    case DateMatch::kDifferent:
      return "different";
  }
  return "different";
}

namespace {

// The date's eight digits YYYYMMDD, one per byte, first digit in the
// lowest byte (years outside 0..9999 wrap, which only makes such dates
// compare as different).
uint64_t PackedYyyymmdd(const BirthDate& d) {
  // Two digits at a time, from a table of 00..99 packed as bytes.
  static constexpr auto kPairs = [] {
    std::array<uint16_t, 100> pairs{};
    for (int v = 0; v < 100; ++v) pairs[v] = static_cast<uint16_t>((v / 10) | ((v % 10) << 8));
    return pairs;
  }();
  const int year = ((d.year % 10000) + 10000) % 10000;
  const int month = std::max(0, d.month % 100);
  const int day = std::max(0, d.day % 100);
  return static_cast<uint64_t>(kPairs[year / 100]) | static_cast<uint64_t>(kPairs[year % 100]) << 16 |
         static_cast<uint64_t>(kPairs[month]) << 32 | static_cast<uint64_t>(kPairs[day]) << 48;
}

// ClassifyIdDifference of the two dates' YYYYMMDD, on their packed digits:
// one differing digit, or two neighbouring digits swapped.
bool DigitsTypo(uint64_t x, uint64_t y) {
  const uint64_t diff = x ^ y;
  if (diff == 0) return false;
  const int first = __builtin_ctzll(diff) / 8;
  const int last = 7 - __builtin_clzll(diff) / 8;
  if (first == last) return true;
  if (last != first + 1) return false;
  const auto digit = [](uint64_t v, int i) { return (v >> (8 * i)) & 0xff; };
  return digit(x, first) == digit(y, last) && digit(x, last) == digit(y, first);
}

}  // namespace

DateMatch CompareBirthDates(const BirthDate& a, const BirthDate& b) {
  if (!a.ok() || !b.ok()) return DateMatch::kMissing;
  if (a.precision != DatePrecision::kDay || b.precision != DatePrecision::kDay) {
    if (a.year != b.year) return DateMatch::kDifferent;
    if (a.precision == DatePrecision::kYear || b.precision == DatePrecision::kYear)
      return DateMatch::kSameYear;
    return a.month == b.month ? DateMatch::kSameMonth : DateMatch::kDifferent;
  }
  if (a.date == b.date) return DateMatch::kExact;
  if (a.year == b.year && a.month == b.day && a.day == b.month) return DateMatch::kDayMonthSwapped;
  // The matcher compares dates for every candidate pair: digits packed
  // into a word, not written out and compared as strings.
  if (DigitsTypo(PackedYyyymmdd(a), PackedYyyymmdd(b))) return DateMatch::kTypo;
  if (a.month == b.month && a.day == b.day && std::abs(a.year - b.year) == 1)
    return DateMatch::kOneYearOff;
  if (std::abs(a.date - b.date) <= 60) return DateMatch::kWithin60Days;
  return DateMatch::kDifferent;
}

}  // namespace hisbridge::core
