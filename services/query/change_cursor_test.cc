#include "services/query/change_cursor.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::query {
namespace {

using ::testing::HasSubstr;

TEST(ChangeCursorTest, RoundTrips) {
  const ChangePositions positions = {{0, 124}, {1, 45}, {7, 0}};
  EXPECT_EQ(FormatChangeCursor(positions), "p0:o124,p1:o45,p7:o0");
  EXPECT_EQ(ParseChangeCursor(FormatChangeCursor(positions)).value(), positions);
}

TEST(ChangeCursorTest, RejectsWhatItDidNotWrite) {
  for (const char* bad : {"x", "p0", "p0:124", "p-1:o3", "p0:o-2", "p0:o1,p0:o2", "p0:o1,", "pa:o1", "p0:o1x"}) {
    auto parsed = ParseChangeCursor(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("cursor:")) << bad;
  }
}

}  // namespace
}  // namespace hisbridge::query
