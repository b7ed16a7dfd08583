#include "libs/records/record_json.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace hisbridge::records {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The two example lines of spec/county-records.md, byte for byte.
constexpr char kSpecPatient[] =
    R"({"kind":"patient","facility_id":"450321-WS-003","record_id":"MZ00017","event_time":"2026-03-01T08:30:00+08:00","name":"王小明","sex":"1","birth_date":"1985-03-02","id_number":"450321198503021232","phone":"138-1234-5678","address":"广西壮族自治区桂林市阳朔县白沙镇遇龙村5组"})";
constexpr char kSpecEncounter[] =
    R"({"kind":"encounter","facility_id":"450321-WS-003","record_id":"MZ00017","encounter_id":"E1","event_time":"2026-03-01T08:40:00+08:00","encounter_type":"outpatient","department":"全科","diagnoses":[{"code":"I10","system":"ICD-10","display":"高血压"}]})";

ParsedRecord Parse(absl::string_view line) {
  RecordJsonParser parser;
  ParsedRecord out;
  parser.Parse(line, &out);
  return out;
}

std::string Rules(const std::vector<hisbridge::v1::FieldIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.field() + ":" + i.rule() + ";";
  return out;
}

TEST(RecordJson, ParsesSpecExamples) {
  ParsedRecord p = Parse(kSpecPatient);
  ASSERT_TRUE(p.ok()) << Rules(p.errors);
  EXPECT_THAT(p.findings, IsEmpty());
  EXPECT_EQ(p.record.kind(), "patient");
  EXPECT_EQ(p.record.name(), "王小明");
  EXPECT_EQ(p.record.id_number(), "450321198503021232");
  EXPECT_EQ(p.record.address(), "广西壮族自治区桂林市阳朔县白沙镇遇龙村5组");

  ParsedRecord e = Parse(kSpecEncounter);
  ASSERT_TRUE(e.ok()) << Rules(e.errors);
  ASSERT_EQ(e.record.diagnoses_size(), 1);
  EXPECT_EQ(e.record.diagnoses(0).code(), "I10");
  EXPECT_EQ(e.record.diagnoses(0).display(), "高血压");
}

// The spec promises that the protobuf JSON mapping of the ingest message
// accepts spec lines unchanged; pin it so a proto edit cannot break it.
TEST(RecordJson, ProtobufJsonMappingAcceptsSpecLines) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  for (const char* line : {kSpecPatient, kSpecEncounter}) {
    hisbridge::v1::Record via_protobuf;
    auto status = google::protobuf::util::JsonStringToMessage(line, &via_protobuf, options);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ParsedRecord ours = Parse(line);
    EXPECT_EQ(via_protobuf.SerializeAsString(), ours.record.SerializeAsString()) << line;
  }
  hisbridge::v1::Record observation;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"kind":"observation","facility_id":"F","record_id":"R","observation_id":"O1","event_time":"2026-03-01T08:30:00+08:00","code":"2345-7","system":"LOINC","value":5.6,"unit":"mmol/L","abnormal_flag":"N","name":null})",
                  &observation, options)
                  .ok());
  EXPECT_DOUBLE_EQ(observation.value().number_value(), 5.6);
}

TEST(RecordJson, NullAndAbsentAreTheSame) {
  ParsedRecord p = Parse(R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z","name":null,"phone":""})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.record.name(), "");
  EXPECT_THAT(p.findings, IsEmpty());
}

TEST(RecordJson, UnknownFieldIsAFindingNotARejection) {
  ParsedRecord p = Parse(R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z","nmae":"王小明","extra":{"a":[1,2]}})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Rules(p.findings), "nmae:unknown_field;extra:unknown_field;");
  EXPECT_THAT(p.findings[0].message(), HasSubstr("misspelt"));
}

TEST(RecordJson, WrongTypesNameTheField) {
  ParsedRecord p = Parse(R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z","name":["王"],"sex":true})");
  EXPECT_EQ(Rules(p.errors), "name:json.type;sex:json.type;");
  EXPECT_THAT(p.errors[0].message(), HasSubstr("name must be a string, got an array"));
}

TEST(RecordJson, IntegerForAStringFieldIsKeptExactly) {
  ParsedRecord p = Parse(R"({"kind":"patient","facility_id":"F","record_id":17,"event_time":"2026-03-01T08:30:00Z","phone":13812345678,"id_number":450321198503021232})");
  ASSERT_TRUE(p.ok()) << Rules(p.errors);
  EXPECT_EQ(p.record.record_id(), "17");
  EXPECT_EQ(p.record.phone(), "13812345678");
  EXPECT_EQ(p.record.id_number(), "450321198503021232");
  EXPECT_EQ(Rules(p.findings), "record_id:json.number_as_string;phone:json.number_as_string;id_number:json.number_as_string;");
  EXPECT_FALSE(Parse(R"({"kind":"patient","facility_id":"F","record_id":1.5})").ok());
}

TEST(RecordJson, DuplicateFieldIsRejected) {
  ParsedRecord p = Parse(R"({"kind":"patient","facility_id":"F","record_id":"R","record_id":"S","event_time":"2026-03-01T08:30:00Z"})");
  EXPECT_EQ(Rules(p.errors), "record_id:json.duplicate_field;");
}

TEST(RecordJson, MalformedLines) {
  EXPECT_EQ(Rules(Parse("{\"kind\":\"patient\",").errors), ":json.syntax;");
  EXPECT_EQ(Rules(Parse("[1,2]").errors), ":json.not_object;");
  EXPECT_EQ(Rules(Parse("\"patient\"").errors), ":json.not_object;");
  EXPECT_EQ(Rules(Parse("{\"kind\":\"pat\xff\"}").errors), ":json.utf8;");
  EXPECT_EQ(Rules(Parse("{} {}").errors), ":json.syntax;");
  EXPECT_EQ(Rules(Parse(std::string(kMaxLineBytes + 1, ' ')).errors), ":line.too_long;");
}

TEST(RecordJson, FieldsOfAnotherKindAreIgnored) {
  ParsedRecord p = Parse(R"({"kind":"encounter","facility_id":"F","record_id":"R","encounter_id":"E","event_time":"2026-03-01T08:30:00Z","name":"王小明"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.record.name(), "");
  EXPECT_EQ(Rules(p.findings), "name:field_not_for_kind;");
}

TEST(RecordJson, ObservationValueAndMedicationDays) {
  ParsedRecord o = Parse(R"({"kind":"observation","facility_id":"F","record_id":"R","observation_id":"O","event_time":"2026-03-01T08:30:00Z","value":"阴性"})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.record.value().string_value(), "阴性");
  EXPECT_FALSE(Parse(R"({"kind":"observation","value":{"a":1}})").ok());
  ParsedRecord m = Parse(R"({"kind":"medication","facility_id":"F","record_id":"R","medication_id":"M","event_time":"2026-03-01T08:30:00Z","days":"7"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.record.days(), 7);
  EXPECT_EQ(Rules(Parse(R"({"kind":"medication","days":7.5})").errors), "days:json.type;");
}

TEST(RecordJson, DiagnosesShapeIsChecked) {
  ParsedRecord p = Parse(R"({"kind":"encounter","diagnoses":[{"code":"I10","note":"x"},"J00"]})");
  EXPECT_EQ(Rules(p.errors), "diagnoses[1]:json.type;");
  EXPECT_EQ(Rules(p.findings), "diagnoses[0].note:unknown_field;");
}

TEST(RecordJson, CanonicalWriterRoundTrips) {
  for (const char* line : {kSpecPatient, kSpecEncounter}) {
    ParsedRecord first = Parse(line);
    const std::string written = RecordToJson(first.record);
    ParsedRecord second = Parse(written);
    ASSERT_TRUE(second.ok()) << written;
    EXPECT_EQ(first.record.SerializeAsString(), second.record.SerializeAsString()) << written;
  }
  hisbridge::v1::Record r;
  r.set_kind("observation");
  r.mutable_value()->set_number_value(5.6);
  r.set_name("a\"b\\c\n");
  EXPECT_EQ(RecordToJson(r), R"({"kind":"observation","name":"a\"b\\c\n","value":5.6})");
}

}  // namespace
}  // namespace hisbridge::records
