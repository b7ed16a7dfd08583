#include "libs/base/json_escape.h"

#include <string>

#include "gtest/gtest.h"

namespace hisbridge {
namespace {

std::string Escaped(absl::string_view s) {
  std::string out;
  AppendJsonEscaped(s, &out);
  return out;
}

TEST(JsonEscapeTest, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(Escaped("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(Escaped(std::string("\x01\x1f\x00", 3)), "\\u0001\\u001f\\u0000");
  EXPECT_EQ(Escaped("\x7f/"), "\x7f/");  // DEL and '/' need no escape
}

TEST(JsonEscapeTest, Utf8IsKeptAndInvalidBytesReplaced) {
  EXPECT_EQ(Escaped("王小明 𠀀"), "王小明 𠀀");
  EXPECT_EQ(Escaped(std::string("a\xff\xfe" "b\x01", 5)), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b\\u0001");
  EXPECT_EQ(Escaped("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");      // overlong '/'
  EXPECT_EQ(Escaped("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(Escaped("\xE7\x8E"), "\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated 王
  EXPECT_EQ(Escaped("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // beyond U+10FFFF
}

TEST(JsonEscapeTest, Quoted) {
  EXPECT_EQ(JsonQuoted(""), "\"\"");
  EXPECT_EQ(JsonQuoted("遇龙村\"5组\""), "\"遇龙村\\\"5组\\\"\"");
  EXPECT_EQ(JsonQuoted("\xfc|"), "\"\xEF\xBF\xBD|\"");  // a GB 18030 lead byte alone
}

TEST(JsonEscapeTest, SequenceLengths) {
  EXPECT_EQ(Utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("王", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength("𠀀", 0), 4u);
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);
}

}  // namespace
}  // namespace hisbridge
