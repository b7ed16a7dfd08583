#include "libs/hl7/ack.h"

#include "gmock/gmock.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace hisbridge::hl7 {
namespace {

using ::testing::HasSubstr;

TEST(Hl7AckTest, SwapsApplicationsAndEchoesControlId) {
  ParseResult r = Parse("MSH|^~\\&|HIS|450321-WS-003|HISBRIDGE|COUNTY|20260301||ADT^A04|MSG1|P|2.5\rPID|1\r");
  ASSERT_TRUE(r.ok());
  const std::string ack = BuildAck(r.header, AckCode::kAccept, {}, "ACK1", absl::FromUnixSeconds(1772325000));
  EXPECT_THAT(ack, HasSubstr("MSH|^~\\&|HISBRIDGE|COUNTY|HIS|450321-WS-003|"));
  EXPECT_THAT(ack, HasSubstr("||ACK^A04^ACK|ACK1|P|2.5\r"));
  EXPECT_THAT(ack, HasSubstr("\rMSA|AA|MSG1\r"));
  auto parsed = ReadAck(ack);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->code, "AA");
  EXPECT_EQ(parsed->acked_control_id, "MSG1");
  EXPECT_TRUE(parsed->errors.empty());
}

TEST(Hl7AckTest, ErrorsCarryLocationCodeAndReason) {
  ParseResult r = Parse("MSH|^~\\&|HIS|F|||20260301||ADT^A04|MSG2|P|2.4\rPID|1\r");
  ASSERT_TRUE(r.ok());
  Issue issue;
  issue.location = {"PID", 1, 3, 0, 1, 0};
  issue.code = ErrorCode::kRequiredFieldMissing;
  issue.message = "PID-3: no identifier of type MR|PI";
  const std::string ack = BuildAck(r.header, AckCode::kError, {issue}, "ACK2", absl::UnixEpoch());
  EXPECT_THAT(ack, HasSubstr("MSA|AE|MSG2|PID-3: no identifier of type MR\\F\\PI"));
  EXPECT_THAT(ack, HasSubstr("ERR|PID^1^3^101&Required field missing&HL70357|PID^1^3^1^1|101^Required field missing^HL70357|E"));
  auto parsed = ReadAck(ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->code, "AE");
  ASSERT_EQ(parsed->errors.size(), 1u);
  EXPECT_EQ(parsed->errors[0].location.segment, "PID");
  EXPECT_EQ(parsed->errors[0].location.field, 3);
  EXPECT_EQ(parsed->errors[0].code, ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(parsed->errors[0].message, "PID-3: no identifier of type MR|PI");
}

TEST(Hl7AckTest, AnswersInTheSendersCharacterSet) {
  std::string msg = "MSH|^~\\&|HIS|F|||20260301||ADT^A04|3|P|2.5||||||GB18030\rPID|1||R^^^^MR||\xCD\xF5\r";
  ParseResult r = Parse(msg);
  ASSERT_TRUE(r.ok());
  Issue issue;
  issue.location = {"PID", 1, 5, 0, 0, 0};
  issue.code = ErrorCode::kDataType;
  issue.message = "PID-5: 王";
  const std::string ack = BuildAck(r.header, AckCode::kError, {issue}, "A3", absl::UnixEpoch());
  EXPECT_THAT(ack, HasSubstr("PID-5: \xCD\xF5"));
  EXPECT_THAT(ack, HasSubstr("|GB 18030-2000\r"));
  auto parsed = ReadAck(ack);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->errors[0].message, "PID-5: 王");
}

TEST(Hl7AckTest, RejectWithoutParseableMessageStillNamesIt) {
  ParseResult r = Parse("MSH|^~\\&|A|B|C|D|20260301||XYZ^Q99|CTRL9|P|2.5||||||KLINGON\r");
  ASSERT_FALSE(r.ok());
  const std::string ack = BuildAck(r.header, AckCode::kReject, r.errors, "A4", absl::UnixEpoch());
  auto parsed = ReadAck(ack);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->code, "AR");
  EXPECT_EQ(parsed->acked_control_id, "CTRL9");
  EXPECT_THAT(parsed->text, HasSubstr("MSH-18"));
}

// Found by hl7_parser_fuzz: a header with bytes that are not valid in any
// declared character set, and no MSH-18.
TEST(Hl7AckTest, AckOfAHeaderWithStrayBytesParsesBack) {
  const std::string input = absl::HexStringToBytes("4d53487c5e7ca1487c5e7ca166fc7ca57cbc7c66fc7ca57cbc7c3232");
  ParseResult r = Parse(input);
  const std::string ack = BuildAck(r.header, r.ok() ? AckCode::kAccept : AckCode::kReject, r.errors, "FUZZ",
                                   absl::UnixEpoch());
  auto parsed = ReadAck(ack);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\nack: " << absl::CHexEscape(ack);
  EXPECT_EQ(parsed->code, r.ok() ? "AA" : "AR");
  // GB 18030 would have put a '|' inside a character of the echoed
  // application names: the answer is in UTF-8 and says so.
  EXPECT_THAT(ack, HasSubstr("UNICODE UTF-8"));
}

}  // namespace
}  // namespace hisbridge::hl7

