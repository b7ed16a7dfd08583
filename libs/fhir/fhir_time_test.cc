#include "libs/fhir/fhir_time.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::fhir {
namespace {

using ::testing::HasSubstr;

TEST(FhirTimeTest, Dates) {
  for (const char* ok : {"1985", "1985-03", "1985-03-02", "2024-02-29", "0001-01-01"}) {
    EXPECT_TRUE(IsFhirDate(ok)) << ok;
  }
  for (const char* bad : {"", "85", "1985-3-2", "1985-02-30", "2023-02-29", "1985-13", "0000", "1985-03-02T00:00:00Z",
                          "1985/03/02", "19850302"}) {
    EXPECT_FALSE(IsFhirDate(bad)) << bad;
  }
}

TEST(FhirTimeTest, DateTimesAndInstants) {
  for (const char* ok : {"2026", "2026-03", "2026-03-01", "2026-03-01T08:30:00+08:00", "2026-03-01T00:30:00Z",
                         "2026-03-01T08:30:00.123+08:00", "2026-03-01T23:59:60Z", "2026-03-01T08:30:00-14:00"}) {
    EXPECT_TRUE(IsFhirDateTime(ok)) << ok;
  }
  for (const char* bad : {"2026-03-01T08:30+08:00", "2026-03-01T08:30:00", "2026-03-01 08:30:00+08:00",
                          "2026-03-01T24:00:00Z", "2026-03-01T08:30:00+15:00", "2026-03-01T08:30:00.+08:00",
                          "2026-03-01T08:30:00z", "2026-03-01T08:30:00+0800"}) {
    EXPECT_FALSE(IsFhirDateTime(bad)) << bad;
  }
  EXPECT_TRUE(IsFhirInstant("2026-03-01T08:30:00+08:00"));
  EXPECT_FALSE(IsFhirInstant("2026-03-01"));
  EXPECT_TRUE(IsFhirTime("08:30:00"));
  EXPECT_TRUE(IsFhirTime("08:30:00.5"));
  EXPECT_FALSE(IsFhirTime("8:30"));
}

TEST(FhirTimeTest, EventTimes) {
  const absl::TimeZone cst = absl::FixedTimeZone(8 * 3600);
  EXPECT_EQ(FhirDateTimeToRfc3339("2026-03-01T08:30:00+08:00", cst).value(), "2026-03-01T08:30:00+08:00");
  EXPECT_EQ(FhirDateTimeToRfc3339("2026-03-01", cst).value(), "2026-03-01T00:00:00+08:00");
  EXPECT_THAT(FhirDateTimeToRfc3339("2026-03", cst).status().message(), HasSubstr("at least the day"));
  EXPECT_THAT(FhirDateTimeToRfc3339("2026-03-01 08:30", cst).status().message(), HasSubstr("not a FHIR dateTime"));
  EXPECT_EQ(Rfc3339ToFhirInstant("2026-03-01T00:30:00.000Z"), "2026-03-01T00:30:00.000Z");
  EXPECT_EQ(Rfc3339ToFhirInstant("nonsense"), "");
}

}  // namespace
}  // namespace hisbridge::fhir
