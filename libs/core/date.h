// Birth dates as HIS exports write them.
//
//   "1985-03-02", "1985-3-2", "19850302", "1985/3/2", "1985.3.2",
//   "1985年3月2日", "1985-03-02 00:00:00", "1985-03-02T00:00:00"
//   year-month: "1985-03", "1985年3月", "1985-03-00", "198503"
//   year only:  "1985", "1985年", "1985-00-00", "19850000"
//
// Day-first and month-first orders ("02/03/1985") and two-digit years are
// ambiguous and reported as kBadFormat rather than guessed. "today" is a
// parameter, never the wall clock, so replays classify identically.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_DATE_H_
#define HISBRIDGE_LIBS_CORE_DATE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace hisbridge::core {

enum class DatePrecision : uint8_t { kNone, kYear, kMonth, kDay };

// In the order ParseBirthDate checks them.
enum class DateStatus : uint8_t {
  kValid,
  kEmpty,
  kBadFormat,     // not a date in any accepted form (or invalid UTF-8)
  kImpossible,    // month 13, 30 February, year before 1850
  kDefaultValue,  // a HIS default, not a birth date: 1900-01-01, 1899-12-30/31, 1753-01-01, ...
  kFuture,        // after `today`
  kTooOld,        // more than 120 years before `today`
};

// Stable snake_case name: "valid", "bad_format", "default_value", ...
absl::string_view DateStatusName(DateStatus status);

struct BirthDate {
  DateStatus status = DateStatus::kEmpty;
  DatePrecision precision = DatePrecision::kNone;
  // The day for kDay; the first day of the month or year for coarser
  // precision. Meaningful when precision != kNone.
  absl::CivilDay date;
  int year = 0;
  int month = 0;  // 0 when unknown
  int day = 0;    // 0 when unknown
  // Written exactly as the county format's YYYY-MM-DD.
  bool standard_format = false;

  // Usable as matching evidence.
  bool ok() const { return status == DateStatus::kValid; }
};

BirthDate ParseBirthDate(absl::string_view raw, absl::CivilDay today);

// A specific English sentence for a problem ("month 13 does not exist"),
// "" for a valid full date.
std::string DescribeBirthDateProblem(const BirthDate& date, absl::string_view raw);

// How two birth dates relate, strongest first.
enum class DateMatch : uint8_t {
  kMissing,          // either is not ok()
  kExact,            // same day
  kDayMonthSwapped,  // 1985-03-02 / 1985-02-03
  kTypo,             // YYYYMMDD differ in one digit or two adjacent digits swapped
  kOneYearOff,       // same month and day, years one apart
  kWithin60Days,
  kSameMonth,  // one side known only to the month, and it agrees
  kSameYear,   // one side known only to the year, and it agrees
  kDifferent,
};

absl::string_view DateMatchName(DateMatch match);

DateMatch CompareBirthDates(const BirthDate& a, const BirthDate& b);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_DATE_H_
