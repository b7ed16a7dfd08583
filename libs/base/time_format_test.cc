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

TEST(ParseRfc3339, RejectsImpossibleCalendarDates) {
  EXPECT_FALSE(ParseRfc3339("2026-02-30T08:30:00+08:00").ok());
  EXPECT_FALSE(ParseRfc3339("2026-04-31T08:30:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2024-02-29T08:30:00Z").ok());
}

}  // namespace
}  // namespace hisbridge
