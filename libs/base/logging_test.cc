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

TEST_F(LoggingTest, LevelFilters) {
  SetLevel(Level::kWarning);
  Info("hidden");
  Warning("shown");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr("shown"));
}

TEST_F(LoggingTest, InvalidUtf8IsReplaced) {
  std::string out;
  AppendJsonEscaped(std::string("a\xff\xfe" "b\x01", 5), &out);
  EXPECT_EQ(out, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\\u0001");
  out.clear();
  AppendJsonEscaped("王小明", &out);
  EXPECT_EQ(out, "王小明");
}

TEST_F(LoggingTest, ParsesNames) {
  EXPECT_TRUE(SetLevelByName("DEBUG").ok());
  EXPECT_EQ(GetLevel(), Level::kDebug);
  EXPECT_FALSE(SetLevelByName("loud").ok());
  EXPECT_FALSE(SetFormatByName("xml").ok());
}

}  // namespace
}  // namespace hisbridge::log
