#include "libs/hl7/message.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::hl7 {
namespace {

using ::testing::HasSubstr;

const char kAdt[] =
    "MSH|^~\\&|HIS|450321-WS-003|HISBRIDGE|COUNTY|20260301083000+0800||ADT^A04^ADT_A01|MSG0001|P|2.5|||||CHN|"
    "UNICODE UTF-8\r"
    "EVN|A04|20260301083000\r"
    "PID|1||MZ00017^^^450321-WS-003^MR~450321198503021232^^^CHN^NNCHN||王^小明||19850302|M|||"
    "遇龙村5组^^阳朔县^广西壮族自治区^541900||13812345678\r";

TEST(Hl7MessageTest, ParsesFieldsRepetitionsAndComponents) {
  ParseResult r = Parse(kAdt);
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  const Message& m = *r.message;
  EXPECT_EQ(m.header().message_type, "ADT");
  EXPECT_EQ(m.header().trigger_event, "A04");
  EXPECT_EQ(m.header().message_structure, "ADT_A01");
  EXPECT_EQ(m.header().control_id, "MSG0001");
  EXPECT_EQ(m.header().version, "2.5");
  EXPECT_EQ(m.header().encoding, charset::Encoding::kUtf8);
  ASSERT_EQ(m.header().sending_facility.size(), 1u);
  EXPECT_EQ(m.header().sending_facility[0], "450321-WS-003");
  const Segment* msh = m.Find("MSH");
  ASSERT_NE(msh, nullptr);
  EXPECT_EQ(msh->Raw(1), "|");
  EXPECT_EQ(msh->Raw(2), "^~\\&");
  EXPECT_EQ(msh->Component(7, 1), "20260301083000+0800");
  const Segment* pid = m.Find("PID");
  ASSERT_NE(pid, nullptr);
  ASSERT_EQ(pid->Repetitions(3).size(), 2u);
  EXPECT_EQ(pid->Component(3, 1, 0), "MZ00017");
  EXPECT_EQ(pid->Component(3, 5, 0), "MR");
  EXPECT_EQ(pid->Component(3, 1, 1), "450321198503021232");
  EXPECT_EQ(pid->Component(5, 1), "王");
  EXPECT_EQ(pid->Component(5, 2), "小明");
  EXPECT_EQ(pid->Component(11, 4), "广西壮族自治区");
  EXPECT_EQ(pid->Component(40, 1), "");  // absent field
  EXPECT_EQ(m.segments().size(), 3u);
}

TEST(Hl7MessageTest, UnescapesAfterSplitting) {
  const Delimiters d;
  EXPECT_EQ(Unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", d), "a|b^c&d~e\\f");
  EXPECT_EQ(Unescape("line1\\.br\\line2", d), "line1\nline2");
  EXPECT_EQ(Unescape("\\H\\bold\\N\\", d), "bold");
  EXPECT_EQ(Unescape("\\X0D\\\\X0A\\", d), "\r\n");
  EXPECT_EQ(Unescape("\\XE78E8B\\", d), "王");
  EXPECT_EQ(Unescape("\\XCDF5\\", d, charset::Encoding::kGb18030), "王");
  EXPECT_EQ(Unescape("open \\ end", d), "open \\ end");  // unterminated stays literal
  EXPECT_EQ(Unescape("\\Q\\", d), "\\Q\\");              // unknown stays literal
  EXPECT_EQ(Escape("a|b^c", d), "a\\F\\b\\S\\c");
  // An escaped component separator does not split the component.
  ParseResult r = Parse("MSH|^~\\&|A|B|C|D|20260301||ADT^A08|1|P|2.5\rPID|1||X1^^^^MR||A\\S\\B^C\r");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message->Find("PID")->Component(5, 1), "A^B");
  EXPECT_EQ(r.message->Find("PID")->Component(5, 2), "C");
}

TEST(Hl7MessageTest, NonstandardDelimitersFromMsh) {
  ParseResult r = Parse("MSH^~|\\&^SENDING^200M^RECEIVING^200^20120918173931-0500^^ADT~A24^2003582144^T^2.4\r\n"
                        "PID^1^^11111~~~FOO&&0363~NI|22222~~~X~MR^^SMITH~JOHN^M\r\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  const Segment* pid = r.message->Find("PID");
  EXPECT_EQ(r.message->header().trigger_event, "A24");
  EXPECT_EQ(pid->Component(3, 1, 0), "11111");
  EXPECT_EQ(pid->Sub(3, 4, 1, 0), "FOO");
  EXPECT_EQ(pid->Sub(3, 4, 3, 0), "0363");
  EXPECT_EQ(pid->Component(3, 5, 1), "MR");
  EXPECT_EQ(pid->Component(5, 2), "JOHN");
}

TEST(Hl7MessageTest, DecodesGb18030NamedInMsh18) {
  // 王 = CD F5; its trail byte is not special, but 乗-like trail bytes can
  // be '|' (0x7C): 纜 is 0xC0 0x7C in GBK.
  std::string msg = "MSH|^~\\&|HIS|F|||20260301||ADT^A04|2|P|2.5||||||GB 18030-2000\rPID|1||R1^^^^MR||\xCD\xF5^\xC0\x7C\r";
  ParseResult r = Parse(msg);
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  EXPECT_EQ(r.message->header().encoding, charset::Encoding::kGb18030);
  EXPECT_EQ(r.message->Find("PID")->Component(5, 1), "王");
  EXPECT_EQ(r.message->Find("PID")->Component(5, 2), "纜");
  // Without MSH-18 the bytes are not UTF-8: the default (GB18030) applies.
  std::string unnamed = "MSH|^~\\&|HIS|F|||20260301||ADT^A04|2|P|2.5\rPID|1||R1^^^^MR||\xCD\xF5\r";
  ParseResult u = Parse(unnamed);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.message->Find("PID")->Component(5, 1), "王");
}

TEST(Hl7MessageTest, RejectsWhatCannotBeProcessed) {
  auto first_error = [](absl::string_view bytes) {
    ParseResult r = Parse(bytes);
    EXPECT_FALSE(r.ok());
    return r.errors.empty() ? Issue() : r.errors[0];
  };
  Issue som = first_error("[SOM]MSH|^~\\&|A\r");
  EXPECT_EQ(som.code, ErrorCode::kSegmentSequence);
  EXPECT_THAT(som.message, HasSubstr("[SOM]"));
  Issue dup = first_error("MSH|^~\\\\&|A|B\r");
  EXPECT_EQ(dup.location.field, 2);
  EXPECT_THAT(dup.message, HasSubstr("repeat"));
  Issue charset = first_error("MSH|^~\\&|A|B|C|D|20260301||ADT^A04|7|P|2.5||||||EBCDIC\rPID|1\r");
  EXPECT_EQ(charset.location.field, 18);
  EXPECT_EQ(charset.code, ErrorCode::kTableValueNotFound);
  ParseResult wrong = Parse("MSH|^~\\&|A|B|C|D|20260301||ADT^A04|7|P|2.5||||||UNICODE UTF-8\rPID|1||\xCD\xF5\r");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.errors[0].message, HasSubstr("MSH-18"));
  EXPECT_EQ(wrong.header.control_id, "7");  // the header is still known for the ACK
  Issue junk = first_error("MSH|^|||||||^A|||2.2^M^AA\r^AA\r");
  EXPECT_THAT(junk.message, HasSubstr("segment id"));
  EXPECT_FALSE(Parse("").ok());
  EXPECT_FALSE(Parse("MSH").ok());
  EXPECT_FALSE(Parse("MSH|\xFF\x80|x").ok());
}

TEST(Hl7MessageTest, AcceptsBomAndLineEnds) {
  ParseResult r = Parse("\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|20260301||ADT^A01|9|P|2.3\nEVN|A01\r\nPID|1||1^^^^MR\n\n");
  ASSERT_TRUE(r.ok()) << r.errors[0].message;
  EXPECT_EQ(r.message->segments().size(), 3u);
  // Three-character MSH-2 (no sub-component separator).
  ParseResult three = Parse("MSH|^~}|ADMISSION|ADT1|||19930502185327||BAR^P01|908594|P|2.4\rPID||^^|479305169^1^M10\r");
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three.message->header().delimiters.escape, '}');
  EXPECT_EQ(three.message->header().delimiters.subcomponent, 0);
  EXPECT_EQ(three.message->Find("PID")->Component(3, 1), "479305169");
}

}  // namespace
}  // namespace hisbridge::hl7
