#include "libs/core/resident_id.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 3, 1);

// Replaces one character of `id`.
std::string With(std::string id, size_t pos, char c) {
  id[pos] = c;
  return id;
}

TEST(ResidentIdCheckDigit, MatchesTheStandardsExamples) {
  // GB 11643-1999 appendix examples.
  EXPECT_EQ(ResidentIdCheckDigit("11010519491231002"), 'X');
  EXPECT_EQ(ResidentIdCheckDigit("44052418800101001"), '4');
  EXPECT_EQ(ResidentIdCheckDigit("1101051949123100"), '\0');
  EXPECT_EQ(ResidentIdCheckDigit("1101051949123100A"), '\0');
}

TEST(ParseResidentId, AcceptsAValidId) {
  const ResidentIdResult r = ParseResidentId("11010519491231002X", kToday);
  ASSERT_TRUE(r.ok()) << ResidentIdStatusName(r.status);
  EXPECT_EQ(r.canonical, "11010519491231002X");
  EXPECT_EQ(r.digits18, "11010519491231002X");
  EXPECT_TRUE(r.has_birth_date);
  EXPECT_EQ(r.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(r.sex, Sex::kFemale);
  EXPECT_EQ(r.region_code, "110105");
  EXPECT_TRUE(r.county_known);  // 北京市朝阳区
  EXPECT_FALSE(r.upgraded_from_15);
  EXPECT_EQ(DescribeResidentIdProblem(r), "");
}

TEST(ParseResidentId, FormerCountyCodesStayValid) {
  // 440524 was 潮阳县 until 2003; ids keep their issuing county for life.
  const ResidentIdResult r = ParseResidentId("440524188001010014", kToday);
  ASSERT_TRUE(r.ok()) << ResidentIdStatusName(r.status);
  EXPECT_FALSE(r.county_known);
  EXPECT_EQ(r.sex, Sex::kMale);
  EXPECT_EQ(r.birth_date, absl::CivilDay(1880, 1, 1));
}

TEST(ParseResidentId, NormalisesSpacesWidthCaseAndSpreadsheetQuote) {
  for (const char* raw : {" 11010519491231002x ", "110105 19491231 002X",
                          "１１０１０５１９４９１２３１００２ｘ", "'11010519491231002X",
                          "\t110105\u300019491231002X\r\n", "１１０１０５ 19491231 ００２Ｘ"}) {
    const ResidentIdResult r = ParseResidentId(raw, kToday);
    EXPECT_TRUE(r.ok()) << raw << ": " << ResidentIdStatusName(r.status);
    EXPECT_EQ(r.canonical, "11010519491231002X") << raw;
  }
}

TEST(ParseResidentId, UpgradesFifteenDigitIds) {
  const ResidentIdResult r = ParseResidentId("110105491231002", kToday);
  ASSERT_TRUE(r.ok()) << ResidentIdStatusName(r.status);
  EXPECT_TRUE(r.upgraded_from_15);
  EXPECT_EQ(r.canonical, "11010519491231002X");
  EXPECT_EQ(r.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(r.sex, Sex::kFemale);

  // A 15-digit id of a Guangxi man; its 15th digit is the sex.
  const ResidentIdResult m = ParseResidentId("450321850302123", kToday);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.canonical.substr(0, 17), "45032119850302123");
  EXPECT_EQ(m.sex, Sex::kMale);
  EXPECT_EQ(ParseResidentId(m.canonical, kToday).canonical, m.canonical);
}

TEST(ParseResidentId, GeneratedIdsRoundTrip) {
  const char* regions[] = {"450321", "450332", "110105", "650102", "540102", "820000", "810000"};
  int checked = 0;
  for (const char* region : regions) {
    for (absl::CivilDay day(1920, 1, 1); day < absl::CivilDay(2026, 1, 1); day += 997) {
      for (int seq : {1, 2, 37, 500, 999}) {
        absl::StatusOr<std::string> id = MakeResidentId(region, day, seq);
        ASSERT_TRUE(id.ok()) << id.status();
        const ResidentIdResult r = ParseResidentId(*id, kToday);
        ASSERT_TRUE(r.ok()) << *id << ": " << ResidentIdStatusName(r.status);
        EXPECT_EQ(r.canonical, *id);
        EXPECT_EQ(r.birth_date, day);
        EXPECT_EQ(r.sex, seq % 2 == 1 ? Sex::kMale : Sex::kFemale);
        EXPECT_EQ(r.region_code, region);
        if (day.year() < 2000) {
          absl::StatusOr<std::string> id15 = DowngradeResidentId18(*id);
          ASSERT_TRUE(id15.ok()) << id15.status();
          const ResidentIdResult r15 = ParseResidentId(*id15, kToday);
          EXPECT_TRUE(r15.upgraded_from_15);
          EXPECT_EQ(r15.canonical, *id);
        }
        // Every single substitution is caught by the check digit.
        for (size_t pos = 0; pos < 17; ++pos) {
          const char other = (*id)[pos] == '9' ? '0' : static_cast<char>((*id)[pos] + 1);
          const ResidentIdResult bad = ParseResidentId(With(*id, pos, other), kToday);
          EXPECT_FALSE(bad.ok()) << With(*id, pos, other);
        }
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(ParseResidentId, ClassifiesEmpty) {
  EXPECT_EQ(ParseResidentId("", kToday).status, ResidentIdStatus::kEmpty);
  EXPECT_EQ(ParseResidentId("   \u3000 ", kToday).status, ResidentIdStatus::kEmpty);
}

TEST(ParseResidentId, ClassifiesBadCharacters) {
  for (const char* raw :
       {"4503211985O302123X",  // letter O for zero
        "4.50321198503E+17",   // a spreadsheet number
        "450321-19850302-1234", "45032119850302123Y", "X50321198503021234", "450321198503021X34",
        "45032185030212X", "\xff\xfe", "450321\xe4\xb8", "张三"}) {
    const ResidentIdResult r = ParseResidentId(raw, kToday);
    EXPECT_EQ(r.status, ResidentIdStatus::kBadCharacters) << raw;
    EXPECT_TRUE(r.canonical.empty());
    EXPECT_FALSE(r.ok());
  }
}

TEST(ParseResidentId, ClassifiesBadLength) {
  for (const char* raw :
       {"4503211985030212", "45032119850302123X1", "4503", "4503211985030212345678"}) {
    const ResidentIdResult r = ParseResidentId(raw, kToday);
    EXPECT_EQ(r.status, ResidentIdStatus::kBadLength) << raw;
    EXPECT_TRUE(r.digits18.empty());
  }
}

TEST(ParseResidentId, ClassifiesImpossibleDates) {
  for (absl::string_view first17 : {"45032119850230123", "45032119851301123", "45032119850000123",
                                    "45032118000101123", "45032119850431123"}) {
    std::string id(first17);
    id.push_back(ResidentIdCheckDigit(id));
    const ResidentIdResult r = ParseResidentId(id, kToday);
    EXPECT_EQ(r.status, ResidentIdStatus::kImpossibleDate) << id;
    EXPECT_FALSE(r.has_birth_date);
    EXPECT_TRUE(r.canonical.empty());
    EXPECT_EQ(r.digits18, id);
    EXPECT_THAT(DescribeResidentIdProblem(r), HasSubstr("not a real date"));
  }
  // 29 February exists only in leap years.
  std::string leap = "45032120000229123";
  leap.push_back(ResidentIdCheckDigit(leap));
  EXPECT_TRUE(ParseResidentId(leap, kToday).ok());
  std::string not_leap = "45032119000229123";
  not_leap.push_back(ResidentIdCheckDigit(not_leap));
  EXPECT_EQ(ParseResidentId(not_leap, kToday).status, ResidentIdStatus::kImpossibleDate);
  // A 15-digit id with an impossible date.
  EXPECT_EQ(ParseResidentId("450321851302123", kToday).status, ResidentIdStatus::kImpossibleDate);
}

TEST(ParseResidentId, ClassifiesFutureDatesAgainstTheGivenDay) {
  absl::StatusOr<std::string> id = MakeResidentId("450321", absl::CivilDay(2026, 3, 2), 123);
  ASSERT_TRUE(id.ok());
  const ResidentIdResult future = ParseResidentId(*id, kToday);
  EXPECT_EQ(future.status, ResidentIdStatus::kFutureDate);
  EXPECT_TRUE(future.has_birth_date);
  EXPECT_THAT(DescribeResidentIdProblem(future), HasSubstr("2026-03-02"));
  // The same id is valid once that day has come: no wall clock involved.
  EXPECT_TRUE(ParseResidentId(*id, absl::CivilDay(2026, 3, 2)).ok());
}

TEST(ParseResidentId, ClassifiesUnknownRegions) {
  for (const char* region : {"990321", "000000", "100101", "720000"}) {
    absl::StatusOr<std::string> id = MakeResidentId(region, absl::CivilDay(1985, 3, 2), 123);
    ASSERT_TRUE(id.ok());
    const ResidentIdResult r = ParseResidentId(*id, kToday);
    EXPECT_EQ(r.status, ResidentIdStatus::kUnknownRegion) << *id;
    EXPECT_EQ(r.canonical, *id);  // the shape is right
    EXPECT_THAT(DescribeResidentIdProblem(r), HasSubstr("not a province code"));
  }
  // Residence permits of Hong Kong, Macao and Taiwan residents.
  for (const char* region : {"810000", "820000", "830000"}) {
    absl::StatusOr<std::string> id = MakeResidentId(region, absl::CivilDay(1985, 3, 2), 123);
    ASSERT_TRUE(id.ok());
    EXPECT_TRUE(ParseResidentId(*id, kToday).ok()) << *id;
  }
}

TEST(ParseResidentId, ClassifiesBadCheckDigits) {
  const ResidentIdResult r = ParseResidentId("110105194912310021", kToday);
  EXPECT_EQ(r.status, ResidentIdStatus::kBadCheckDigit);
  EXPECT_EQ(r.canonical, "110105194912310021");
  EXPECT_EQ(r.expected_check_digit, 'X');
  EXPECT_TRUE(r.has_birth_date);
  EXPECT_EQ(r.sex, Sex::kFemale);
  EXPECT_EQ(DescribeResidentIdProblem(r),
            "resident id 110105194912310021 ends in check character 1 but its first 17 digits "
            "require X");
}

TEST(ParseResidentId, SurvivesOverlongInput) {
  const std::string huge(1 << 20, '1');
  EXPECT_EQ(ParseResidentId(huge, kToday).status, ResidentIdStatus::kBadLength);
  std::string spaced(1 << 16, ' ');
  spaced += "11010519491231002X";
  EXPECT_TRUE(ParseResidentId(spaced, kToday).ok());
}

TEST(MakeResidentId, RejectsBadArguments) {
  EXPECT_FALSE(MakeResidentId("45032", absl::CivilDay(1985, 3, 2), 1).ok());
  EXPECT_FALSE(MakeResidentId("45032a", absl::CivilDay(1985, 3, 2), 1).ok());
  EXPECT_FALSE(MakeResidentId("450321", absl::CivilDay(1985, 3, 2), 1000).ok());
  EXPECT_FALSE(MakeResidentId("450321", absl::CivilDay(1985, 3, 2), -1).ok());
  EXPECT_FALSE(MakeResidentId("450321", absl::CivilDay(1700, 3, 2), 1).ok());
}

TEST(UpgradeDowngrade, ConvertBetweenForms) {
  EXPECT_EQ(*UpgradeResidentId15("110105491231002"), "11010519491231002X");
  EXPECT_EQ(*DowngradeResidentId18("11010519491231002X"), "110105491231002");
  EXPECT_FALSE(UpgradeResidentId15("11010549123100").ok());
  EXPECT_FALSE(UpgradeResidentId15("11010549123100X").ok());
  absl::StatusOr<std::string> born2005 = MakeResidentId("450321", absl::CivilDay(2005, 6, 1), 10);
  ASSERT_TRUE(born2005.ok());
  EXPECT_FALSE(DowngradeResidentId18(*born2005).ok());
}

TEST(ClassifyIdDifference, FindsTypos) {
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850302123X"), IdDifference::kSame);
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850302128X"),
            IdDifference::kOneCharacterDifferent);
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850320123X"),
            IdDifference::kAdjacentTransposition);
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850302132X"),
            IdDifference::kAdjacentTransposition);
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850302321X"),
            IdDifference::kDifferent);
  EXPECT_EQ(ClassifyIdDifference("45032119850302123X", "45032119850302123"),
            IdDifference::kDifferent);
  EXPECT_EQ(ClassifyIdDifference("12", "21"), IdDifference::kAdjacentTransposition);
  EXPECT_EQ(ClassifyIdDifference("", ""), IdDifference::kSame);
}

TEST(CompareResidentIds, GradesEvidence) {
  const std::string valid = *MakeResidentId("450321", absl::CivilDay(1985, 3, 2), 123);
  const std::string other = *MakeResidentId("450321", absl::CivilDay(1985, 3, 2), 125);
  const ResidentIdResult a = ParseResidentId(valid, kToday);
  EXPECT_EQ(CompareResidentIds(a, ParseResidentId(valid, kToday)), ResidentIdMatch::kSame);
  EXPECT_EQ(CompareResidentIds(a, ParseResidentId(other, kToday)),
            ResidentIdMatch::kDifferentBothValid);

  // One digit mistyped in the sequence number: the check digit now fails.
  const ResidentIdResult typo = ParseResidentId(With(valid, 15, '9'), kToday);
  EXPECT_EQ(typo.status, ResidentIdStatus::kBadCheckDigit);
  EXPECT_EQ(CompareResidentIds(a, typo), ResidentIdMatch::kOneDigitDifferent);

  // Day and month digits swapped by a clerk: 19850302 -> 19850320.
  std::string swapped = valid;
  std::swap(swapped[12], swapped[13]);
  const ResidentIdResult t = ParseResidentId(swapped, kToday);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(CompareResidentIds(a, t), ResidentIdMatch::kAdjacentTransposition);

  // A typo in the month that makes the date impossible is still comparable.
  const ResidentIdResult month = ParseResidentId(With(valid, 10, '2'), kToday);
  EXPECT_EQ(month.status, ResidentIdStatus::kImpossibleDate);
  EXPECT_EQ(CompareResidentIds(a, month), ResidentIdMatch::kOneDigitDifferent);

  EXPECT_EQ(CompareResidentIds(a, ParseResidentId("", kToday)), ResidentIdMatch::kMissing);
  EXPECT_EQ(CompareResidentIds(a, ParseResidentId(With(valid, 0, '9'), kToday)),
            ResidentIdMatch::kOneDigitDifferent);
  EXPECT_EQ(CompareResidentIds(ParseResidentId("110105194912310021", kToday), a),
            ResidentIdMatch::kDifferent);
}

TEST(ResidentIdStatusName, IsStable) {
  EXPECT_EQ(ResidentIdStatusName(ResidentIdStatus::kBadCheckDigit), "bad_check_digit");
  EXPECT_EQ(ResidentIdStatusName(ResidentIdStatus::kFutureDate), "future_date");
  EXPECT_EQ(ResidentIdStatusName(ResidentIdStatus::kBadCharacters), "bad_characters");
}

}  // namespace
}  // namespace hisbridge::core
