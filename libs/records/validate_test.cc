#include "libs/records/validate.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/records/record_json.h"

namespace hisbridge::records {
namespace {

using ::testing::HasSubstr;

hisbridge::v1::Record FromJson(absl::string_view line) {
  RecordJsonParser parser;
  ParsedRecord parsed;
  parser.Parse(line, &parsed);
  EXPECT_TRUE(parsed.ok()) << line;
  return parsed.record;
}

std::string Rules(const std::vector<hisbridge::v1::FieldIssue>& issues) {
  std::string out;
  for (const auto& i : issues) out += i.field() + ":" + i.rule() + ";";
  return out;
}

TEST(ValidateRecord, AcceptsAMinimalPatient) {
  auto result = ValidateRecord(FromJson(
      R"({"kind":"patient","facility_id":"450321-WS-003","record_id":"MZ1","event_time":"2026-03-01T08:30:00+08:00"})"));
  EXPECT_TRUE(result.ok()) << Rules(result.errors);
  EXPECT_EQ(absl::ToUnixSeconds(result.event_time), 1772325000);
}

TEST(ValidateRecord, RequiredFields) {
  auto result = ValidateRecord(FromJson(R"({"kind":"patient"})"));
  EXPECT_EQ(Rules(result.errors), "facility_id:required;record_id:required;event_time:required;");
  EXPECT_EQ(result.reason, hisbridge::v1::REJECT_REASON_MISSING_FIELD);
  auto no_kind = ValidateRecord(FromJson(R"({"facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(no_kind.errors), "kind:required;");
}

TEST(ValidateRecord, UnknownKindAndOp) {
  auto kind = ValidateRecord(FromJson(R"({"kind":"lab","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(kind.errors), "kind:kind.unknown;");
  EXPECT_EQ(kind.reason, hisbridge::v1::REJECT_REASON_UNKNOWN_KIND);
  EXPECT_THAT(kind.errors[0].message(), HasSubstr("\"lab\""));
  auto op = ValidateRecord(FromJson(R"({"kind":"patient","op":"replace","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(op.errors), "op:op.unknown;");
  auto merge_event = ValidateRecord(FromJson(R"({"kind":"encounter","op":"merge","encounter_id":"E","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(merge_event.errors), "op:op.merge_not_patient;");
}

TEST(ValidateRecord, MergeNeedsAnotherRecord) {
  auto missing = ValidateRecord(FromJson(R"({"kind":"patient","op":"merge","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(missing.errors), "merged_record_id:required;");
  auto self = ValidateRecord(FromJson(R"({"kind":"patient","op":"merge","merged_record_id":"R","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_EQ(Rules(self.errors), "merged_record_id:merge.same_record;");
}

TEST(ValidateRecord, EventTimeMustBeRfc3339WithZone) {
  for (const char* t : {"2026-03-01", "2026-03-01T08:30:00", "2026/03/01 08:30", "2026-02-30T08:30:00Z"}) {
    hisbridge::v1::Record r = FromJson(R"({"kind":"patient","facility_id":"F","record_id":"R"})");
    r.set_event_time(t);
    EXPECT_EQ(Rules(ValidateRecord(r).errors), "event_time:rfc3339;") << t;
  }
}

TEST(ValidateRecord, IdentifiersAreBoundedAndClean) {
  hisbridge::v1::Record r = FromJson(R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})");
  r.set_record_id(std::string(65, 'x'));
  EXPECT_EQ(Rules(ValidateRecord(r).errors), "record_id:identifier.too_long;");
  r.set_record_id("MZ\t1");
  EXPECT_EQ(Rules(ValidateRecord(r).errors), "record_id:identifier.control_character;");
  r.set_record_id(" MZ1");
  EXPECT_EQ(Rules(ValidateRecord(r).errors), "record_id:identifier.whitespace;");
}

TEST(ValidateRecord, DemographicOddnessIsAFinding) {
  auto result = ValidateRecord(FromJson(R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z","sex":"M","birth_date":"1985年3月2日"})"));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(Rules(result.findings), "sex:sex.code;");
}

TEST(ValidateRecord, ClinicalEventsNeedTheirIds) {
  EXPECT_EQ(Rules(ValidateRecord(FromJson(R"({"kind":"encounter","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})")).errors),
            "encounter_id:required;");
  EXPECT_EQ(Rules(ValidateRecord(FromJson(R"({"kind":"observation","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})")).errors),
            "observation_id:required;");
  EXPECT_EQ(Rules(ValidateRecord(FromJson(R"({"kind":"medication","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z","days":-1,"medication_id":"M"})")).errors),
            "days:days.negative;");
  auto odd = ValidateRecord(FromJson(R"({"kind":"encounter","encounter_id":"E","encounter_type":"home_visit","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})"));
  EXPECT_TRUE(odd.ok());
  EXPECT_EQ(Rules(odd.findings), "encounter_type:encounter_type.code;");
}

}  // namespace
}  // namespace hisbridge::records
