#include "libs/core/date.h"

#include <random>
#include <string>

#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/resident_id.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 3, 1);

TEST(ParseBirthDate, AcceptsEveryCommonSpelling) {
  for (const char* raw :
       {"1985-03-02", "1985-3-2", "19850302", "1985/3/2", "1985/03/02", "1985.3.2", "1985年3月2日",
        "1985年03月02日", "1985年3月2号", " 1985-03-02 ", "1985-03-02 00:00:00",
        "1985-03-02T08:30:00+08:00", "１９８５－０３－０２", "19850302000000", "19850302 083000"}) {
    const BirthDate d = ParseBirthDate(raw, kToday);
    EXPECT_TRUE(d.ok()) << raw << ": " << DateStatusName(d.status);
    EXPECT_EQ(d.precision, DatePrecision::kDay) << raw;
    EXPECT_EQ(d.date, absl::CivilDay(1985, 3, 2)) << raw;
  }
  EXPECT_TRUE(ParseBirthDate("1985-03-02", kToday).standard_format);
  EXPECT_FALSE(ParseBirthDate("1985-3-2", kToday).standard_format);
  EXPECT_FALSE(ParseBirthDate("19850302", kToday).standard_format);
}

TEST(ParseBirthDate, PartialDates) {
  for (const char* raw : {"1985", "1985年", "1985-00-00", "19850000", "1985-00-15"}) {
    const BirthDate d = ParseBirthDate(raw, kToday);
    EXPECT_TRUE(d.ok()) << raw;
    EXPECT_EQ(d.precision, DatePrecision::kYear) << raw;
    EXPECT_EQ(d.year, 1985) << raw;
    EXPECT_EQ(d.month, 0) << raw;
    EXPECT_THAT(DescribeBirthDateProblem(d, raw), HasSubstr("only the year")) << raw;
  }
  for (const char* raw : {"1985-03", "1985年3月", "1985-03-00", "198503", "1985/3"}) {
    const BirthDate d = ParseBirthDate(raw, kToday);
    EXPECT_TRUE(d.ok()) << raw;
    EXPECT_EQ(d.precision, DatePrecision::kMonth) << raw;
    EXPECT_EQ(d.month, 3) << raw;
  }
}

TEST(ParseBirthDate, ClassifiesProblems) {
  EXPECT_EQ(ParseBirthDate("", kToday).status, DateStatus::kEmpty);
  EXPECT_EQ(ParseBirthDate("   ", kToday).status, DateStatus::kEmpty);
  for (const char* raw :
       {"85-3-2", "02/03/1985", "3/2/1985", "1985-03-02-01", "abc", "一九八五年", "1985-",
        "1985--03", "1985-003-02", "\xff\xfe", "1985-03-02x", "19850302123"}) {
    EXPECT_EQ(ParseBirthDate(raw, kToday).status, DateStatus::kBadFormat) << raw;
  }
  for (const char* raw :
       {"1985-13-01", "1985-02-30", "1900-02-29", "1985-04-31", "1700-01-01", "19851301"}) {
    EXPECT_EQ(ParseBirthDate(raw, kToday).status, DateStatus::kImpossible) << raw;
  }
  EXPECT_TRUE(ParseBirthDate("2000-02-29", kToday).ok());
  EXPECT_TRUE(ParseBirthDate("1985年3月2", kToday).ok());  // 日 left out
  for (const char* raw :
       {"1900-01-01", "1899-12-30", "1899-12-31", "1753-01-01", "0001-01-01", "9999-12-31"}) {
    EXPECT_EQ(ParseBirthDate(raw, kToday).status, DateStatus::kDefaultValue) << raw;
  }
  EXPECT_EQ(ParseBirthDate("2026-03-02", kToday).status, DateStatus::kFuture);
  EXPECT_TRUE(ParseBirthDate("2026-03-01", kToday).ok());
  EXPECT_EQ(ParseBirthDate("2026-04", kToday).status, DateStatus::kFuture);
  EXPECT_EQ(ParseBirthDate("2027", kToday).status, DateStatus::kFuture);
  EXPECT_EQ(ParseBirthDate("1901-05-01", kToday).status, DateStatus::kTooOld);
  EXPECT_TRUE(ParseBirthDate("1910-05-01", kToday).ok());
  EXPECT_THAT(DescribeBirthDateProblem(ParseBirthDate("1985-13-01", kToday), "1985-13-01"),
              HasSubstr("month 13"));
  EXPECT_THAT(DescribeBirthDateProblem(ParseBirthDate("2030-01-01", kToday), "2030-01-01"),
              HasSubstr("future"));
}

TEST(DescribeBirthDateProblem, QuotesOnACharacterBoundary) {
  std::string raw = "1390";
  for (int i = 0; i < 30; ++i) raw += "晓";
  const std::string message = DescribeBirthDateProblem(ParseBirthDate(raw, kToday), raw);
  EXPECT_THAT(message, HasSubstr("...\""));
  EXPECT_TRUE(IsValidUtf8(message));
  EXPECT_EQ(DescribeBirthDateProblem(ParseBirthDate("\xff", kToday), "\xff"),
            "birth date is not valid UTF-8");
}

DateMatch Compare(const char* a, const char* b) {
  return CompareBirthDates(ParseBirthDate(a, kToday), ParseBirthDate(b, kToday));
}

TEST(CompareBirthDates, GradesRelations) {
  EXPECT_EQ(Compare("1985-03-02", "19850302"), DateMatch::kExact);
  EXPECT_EQ(Compare("1985-03-02", "1985-02-03"), DateMatch::kDayMonthSwapped);
  EXPECT_EQ(Compare("1985-03-02", "1985-03-12"), DateMatch::kTypo);
  EXPECT_EQ(Compare("1985-03-02", "1958-03-02"), DateMatch::kTypo);
  EXPECT_EQ(Compare("1985-03-12", "1986-03-12"), DateMatch::kTypo);  // one digit too
  EXPECT_EQ(Compare("1989-03-12", "1990-03-12"), DateMatch::kOneYearOff);
  EXPECT_EQ(Compare("1985-03-02", "1985-04-20"), DateMatch::kWithin60Days);
  EXPECT_EQ(Compare("1985-03-02", "1985-03"), DateMatch::kSameMonth);
  EXPECT_EQ(Compare("1985-03-02", "1985"), DateMatch::kSameYear);
  EXPECT_EQ(Compare("1985-03-02", "1985-00-00"), DateMatch::kSameYear);
  EXPECT_EQ(Compare("1985-03-02", "1986"), DateMatch::kDifferent);
  EXPECT_EQ(Compare("1985-03-02", "1985-05"), DateMatch::kDifferent);
  EXPECT_EQ(Compare("1985-03-02", "1975-11-30"), DateMatch::kDifferent);
  EXPECT_EQ(Compare("1985-03-02", ""), DateMatch::kMissing);
  EXPECT_EQ(Compare("1985-03-02", "1900-01-01"), DateMatch::kMissing);
  EXPECT_EQ(DateMatchName(DateMatch::kDayMonthSwapped), "day_month_swapped");
}

// A typo is one differing digit or two neighbouring digits swapped in
// YYYYMMDD, exactly as ClassifyIdDifference judges the written digits.
TEST(CompareBirthDates, TypoAgreesWithTheWrittenDigits) {
  std::mt19937 rng(3);
  const absl::CivilDay first(1930, 1, 1);
  int typos = 0;
  for (int trial = 0; trial < 50000; ++trial) {
    const absl::CivilDay x = first + static_cast<int>(rng() % 30000);
    // Mostly dates a few digits apart, so that typos are common.
    absl::CivilDay y = x + static_cast<int>(rng() % 800) - 400;
    if (trial % 3 == 0) y = absl::CivilDay(x.year() + static_cast<int>(rng() % 3) * 9 - 9, x.month(), x.day());
    const std::string a = absl::FormatCivilTime(x).substr(0, 10);
    const std::string b = absl::FormatCivilTime(y).substr(0, 10);
    const DateMatch got = Compare(a.c_str(), b.c_str());
    if (got != DateMatch::kTypo && got != DateMatch::kDifferent && got != DateMatch::kOneYearOff &&
        got != DateMatch::kWithin60Days) {
      continue;  // exact or swapped: decided before the digits are looked at
    }
    const IdDifference d = ClassifyIdDifference(absl::StrReplaceAll(a, {{"-", ""}}), absl::StrReplaceAll(b, {{"-", ""}}));
    const bool typo = d == IdDifference::kOneCharacterDifferent || d == IdDifference::kAdjacentTransposition;
    ASSERT_EQ(got == DateMatch::kTypo, typo) << a << " / " << b;
    typos += typo;
  }
  EXPECT_GT(typos, 100);
}

}  // namespace
}  // namespace hisbridge::core
