// libFuzzer target for ParseBirthDate and CompareBirthDates.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/date.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const absl::CivilDay today(2026, 3, 1);
  const BirthDate d = ParseBirthDate(raw, today);
  if (d.ok()) {
    if (d.precision == DatePrecision::kNone || d.date > today) std::abort();
    if (d.precision == DatePrecision::kDay &&
        (d.date.year() != d.year || d.date.month() != d.month || d.date.day() != d.day)) {
      std::abort();
    }
    if (CompareBirthDates(d, d) != DateMatch::kExact && d.precision == DatePrecision::kDay)
      std::abort();
  }
  (void)DescribeBirthDateProblem(d, raw);
  const BirthDate a = ParseBirthDate(raw.substr(0, size / 2), today);
  const BirthDate b = ParseBirthDate(raw.substr(size / 2), today);
  if (CompareBirthDates(a, b) != CompareBirthDates(b, a)) std::abort();
  return 0;
}
