#include "libs/synth/error_rates.h"

#include "gtest/gtest.h"

namespace hisbridge::synth {
namespace {

TEST(ErrorRatesTest, DefaultsAreDocumentedAndInRange) {
  ErrorRates rates;
  for (const RateInfo& info : ErrorRates::All()) {
    EXPECT_EQ(&ErrorRates::Info(info.rate), &info);
    EXPECT_FALSE(info.meaning.empty()) << info.name;
    EXPECT_EQ(rates[info.rate], info.default_value);
    EXPECT_GE(info.default_value, 0);
    EXPECT_LE(info.default_value, info.kind == RateKind::kFactor ? 10 : 1) << info.name;
  }
  EXPECT_EQ(rates[Rate::kNameHomophone], 0.03);
}

TEST(ErrorRatesTest, ParsesTheFileFormat) {
  ErrorRates rates;
  ASSERT_TRUE(rates.Parse("# comment\n\nname.homophone = 0.2\n  id.one_digit=0.05  # trailing\n").ok());
  EXPECT_EQ(rates[Rate::kNameHomophone], 0.2);
  EXPECT_EQ(rates[Rate::kIdOneDigit], 0.05);
}

TEST(ErrorRatesTest, RejectsBadLinesNamingThem) {
  ErrorRates rates;
  absl::Status s = rates.Parse("name.homophone=0.1\nname.homofone=0.2\n");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 2"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("name.homofone"), absl::string_view::npos) << s;
  EXPECT_FALSE(rates.Parse("id.one_digit=1.5").ok());
  EXPECT_FALSE(rates.Parse("id.one_digit=abc").ok());
  EXPECT_FALSE(rates.Parse("id.one_digit").ok());
}

TEST(ErrorRatesTest, ScaleTouchesOnlyErrors) {
  ErrorRates rates;
  rates.Scale(2);
  EXPECT_EQ(rates[Rate::kNameHomophone], 0.06);
  EXPECT_EQ(rates[Rate::kFamilyTwins], ErrorRates::Info(Rate::kFamilyTwins).default_value);
  EXPECT_EQ(rates[Rate::kDuplicateErrorFactor], 2.0);
  rates.Scale(100);
  EXPECT_EQ(rates[Rate::kIdMissingVillageClinic], 1.0);
  rates.Scale(0);
  EXPECT_EQ(rates[Rate::kIdOneDigit], 0.0);
}

TEST(ErrorRatesTest, TextRoundTrips) {
  ErrorRates changed;
  changed.Set(Rate::kDobMissing, 0.125);
  ErrorRates parsed;
  ASSERT_TRUE(parsed.Parse(changed.ToText()).ok());
  EXPECT_EQ(parsed[Rate::kDobMissing], 0.125);
  EXPECT_NE(changed.ToText().find("dob.missing"), std::string::npos);
}

}  // namespace
}  // namespace hisbridge::synth
