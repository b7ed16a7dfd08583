#include "libs/charset/charset.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::charset {
namespace {

using ::testing::HasSubstr;

// 王小明 in GB18030 (the same bytes in GBK and GB2312).
const char kWangGb[] = "\xCD\xF5\xD0\xA1\xC3\xF7";

TEST(CharsetTest, DecodesGb18030AndGbk) {
  auto utf8 = ToUtf8(kWangGb, Encoding::kGb18030);
  ASSERT_TRUE(utf8.ok()) << utf8.status();
  EXPECT_EQ(*utf8, "王小明");
  auto back = FromUtf8("王小明", Encoding::kGb18030);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, kWangGb);
  // A character outside GBK that only GB18030's four-byte form holds (U+20BB7 𠮷).
  auto four = FromUtf8("\xF0\xA0\xAE\xB7", Encoding::kGb18030);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(four->size(), 4u);
  EXPECT_EQ(*ToUtf8(*four, Encoding::kGb18030), "\xF0\xA0\xAE\xB7");
}

TEST(CharsetTest, InvalidBytesNameTheOffset) {
  auto bad = ToUtf8(std::string("AB\x81\x20", 4), Encoding::kGb18030);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("at byte 2"));
  auto bad_utf8 = ToUtf8("ok\xC3", Encoding::kUtf8);
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_THAT(bad_utf8.status().message(), HasSubstr("at byte 2"));
  EXPECT_FALSE(ToUtf8("caf\xE9", Encoding::kAscii).ok());
  EXPECT_EQ(*ToUtf8("caf\xE9", Encoding::kLatin1), "café");
}

TEST(CharsetTest, ParsesNames) {
  EXPECT_EQ(*ParseEncodingName("UTF-8"), Encoding::kUtf8);
  EXPECT_EQ(*ParseEncodingName("gbk"), Encoding::kGb18030);
  EXPECT_EQ(*ParseEncodingName("GB 18030"), Encoding::kGb18030);
  EXPECT_EQ(*ParseEncodingName("gb2312"), Encoding::kGb18030);
  EXPECT_FALSE(ParseEncodingName("ebcdic").ok());
}

TEST(CharsetTest, DetectsUtf8ThenGb18030) {
  EXPECT_EQ(*DetectEncoding("plain ascii"), Encoding::kUtf8);
  EXPECT_EQ(*DetectEncoding("姓名,王小明"), Encoding::kUtf8);
  EXPECT_EQ(*DetectEncoding(std::string("name,") + kWangGb), Encoding::kGb18030);
  // A sample cut in the middle of a character.
  const std::string utf8 = "姓名";
  EXPECT_EQ(*DetectEncoding(utf8.substr(0, 4)), Encoding::kUtf8);
  EXPECT_EQ(*DetectEncoding(std::string(kWangGb, 5)), Encoding::kGb18030);
  EXPECT_FALSE(DetectEncoding("\xFF\xFF\xFF\xFF\xFF\xFF").ok());
}

TEST(CharsetTest, StrictUtf8) {
  EXPECT_TRUE(IsValidUtf8("王"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ab\x80"), 2u);
}

}  // namespace
}  // namespace hisbridge::charset
