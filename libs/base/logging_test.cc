#include "libs/base/logging.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::log {
namespace {

using ::testing::HasSubstr;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    SetSink(nullptr);
    SetFormat(Format::kText);
    SetLevel(Level::kInfo);
  }
  std::vector<std::string> lines_;
};

TEST_F(LoggingTest, JsonLinesAreValidAndTyped) {
  SetFormat(Format::kJson);
  Info("linker started", {{"partitions", 4}, {"dir", "/tmp/a \"b\""}, {"ok", true}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr("\"level\":\"info\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"msg\":\"linker started\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"partitions\":4"));
  EXPECT_THAT(lines_[0], HasSubstr("\"dir\":\"/tmp/a \\\"b\\\"\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"ok\":true"));
}

TEST(MaskIdentifiers, MasksIdsAndPhonesButNotDatesOrCounts) {
  EXPECT_EQ(MaskIdentifiers("id_number 450321198503021232 has a bad check digit"),
            "id_number 4503**********1232 has a bad check digit");
  EXPECT_EQ(MaskIdentifiers("45032419420705863X"), "4503**********863X");
  EXPECT_EQ(MaskIdentifiers("old id 450321850302123"), "old id 450********2123");
  EXPECT_EQ(MaskIdentifiers("phone 13811112222, +86 13018377162"), "phone 138****2222, +86 130****7162");
  EXPECT_EQ(MaskIdentifiers("130-1837-7162 or 0773-2812345"), "130-****-7162 or 077*-***2345");
  EXPECT_EQ(MaskIdentifiers("2023-01-02T11:09:05+08:00 offset=1234567 port 7070"),
            "2023-01-02T11:09:05+08:00 offset=1234567 port 7070");
  EXPECT_EQ(MaskIdentifiers(""), "");
}

TEST_F(LoggingTest, LinesNeverCarryIdentifiers) {
  Error("bad id 450321198503021232", {{"value", "13811112222"}, {"count", 12345678901LL}});
  SetFormat(Format::kJson);
  Warning("x", {{"error", absl::InvalidArgumentError("id_number 450321198503021231 has a bad check digit")}});
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_THAT(lines_[0], HasSubstr("bad id 4503**********1232 value=138****2222 count=12345678901"));
  EXPECT_THAT(lines_[1], HasSubstr("4503**********1231 has a bad check digit"));
}

TEST_F(LoggingTest, LevelFilters) {
  SetLevel(Level::kWarning);
  Info("hidden");
  Warning("shown");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr("shown"));
}

TEST_F(LoggingTest, ParsesNames) {
  EXPECT_TRUE(SetLevelByName("DEBUG").ok());
  EXPECT_EQ(GetLevel(), Level::kDebug);
  EXPECT_FALSE(SetLevelByName("loud").ok());
  EXPECT_FALSE(SetFormatByName("xml").ok());
}

}  // namespace
}  // namespace hisbridge::log
