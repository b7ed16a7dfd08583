#include "libs/base/time_format.h"

#include "gtest/gtest.h"

namespace hisbridge {
namespace {

TEST(ParseRfc3339, AcceptsOffsetsAndFractions) {
  auto t = ParseRfc3339("2026-03-01T08:30:00+08:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatRfc3339(*t), "2026-03-01T00:30:00.000Z");
  auto z = ParseRfc3339("2026-03-01T00:30:00.250Z");
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(FormatRfc3339(*z), "2026-03-01T00:30:00.250Z");
  EXPECT_TRUE(ParseRfc3339("2026-03-01 00:30:00z").ok());
}

TEST(ParseRfc3339, RejectsMissingZoneAndGarbage) {
  EXPECT_FALSE(ParseRfc3339("2026-03-01T08:30:00").ok());
  EXPECT_FALSE(ParseRfc3339("2026-03-01").ok());
  EXPECT_FALSE(ParseRfc3339("yesterday at noon, Beijing").ok());
  EXPECT_FALSE(ParseRfc3339("").ok());
  EXPECT_FALSE(ParseRfc3339("2026-13-01T08:30:00+08:00").ok());
}

TEST(ParseRfc3339, AgreesWithTheCalendar) {
  auto t = ParseRfc3339("1970-01-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(absl::ToUnixSeconds(*t), 0);
  auto leap = ParseRfc3339("2000-02-29T23:59:59-01:30");
  ASSERT_TRUE(leap.ok());
  EXPECT_EQ(FormatRfc3339(*leap), "2000-03-01T01:29:59.000Z");
  auto old = ParseRfc3339("1899-12-31T16:00:00+08:00");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(FormatRfc3339(*old), "1899-12-31T08:00:00.000Z");
  auto nanos = ParseRfc3339("2026-03-01T08:30:00.123456789+08:00");
  ASSERT_TRUE(nanos.ok());
  EXPECT_EQ(absl::ToUnixNanos(*nanos) % 1000000000, 123456789);
  EXPECT_FALSE(ParseRfc3339("2026-03-01T08:30:00+08:00 ").ok()) << "trailing text";
  EXPECT_FALSE(ParseRfc3339("2026-03-01T08:30:00.+08:00").ok()) << "empty fraction";
  EXPECT_FALSE(ParseRfc3339("2026-03-01T24:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2026-03-01T08:30:00+25:00").ok());
  EXPECT_FALSE(ParseRfc3339("2026-03-01T08:30:00+0800").ok());
}

TEST(ParseRfc3339, RejectsImpossibleCalendarDates) {
  EXPECT_FALSE(ParseRfc3339("2026-02-30T08:30:00+08:00").ok());
  EXPECT_FALSE(ParseRfc3339("2026-04-31T08:30:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2024-02-29T08:30:00Z").ok());
}

}  // namespace
}  // namespace hisbridge
