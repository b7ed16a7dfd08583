#include "libs/report/data_quality.h"

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/resident_id.h"
#include "libs/records/record_json.h"

namespace hisbridge::report {
namespace {

using hisbridge::index::v1::StoredRecord;
using hisbridge::v1::FacilityQuality;
using hisbridge::v1::LinkMethod;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kCounty[] = "450324";
constexpr char kClinic[] = "450324-WS-001";

std::string ValidId(int sequence) { return *core::MakeResidentId(kCounty, absl::CivilDay(1985, 3, 2), sequence); }

// The same id with its check character changed: fails GB 11643.
std::string BadCheckDigit(int sequence) {
  std::string id = ValidId(sequence);
  id.back() = id.back() == '1' ? '2' : '1';
  return id;
}

StoredRecord Record(const std::string& facility, const std::string& record_id) {
  StoredRecord r;
  r.set_region(kCounty);
  r.mutable_record()->set_kind("patient");
  r.mutable_record()->set_facility_id(facility);
  r.mutable_record()->set_record_id(record_id);
  r.mutable_record()->set_event_time("2024-05-01T08:00:00+08:00");
  // 2024-05-01 00:00 UTC: the day the future-date rules judge by.
  r.set_event_time_micros(1714521600000000);
  return r;
}

StoredRecord Complete(const std::string& facility, const std::string& record_id, int sequence) {
  StoredRecord r = Record(facility, record_id);
  hisbridge::v1::Record* p = r.mutable_record();
  p->set_name("王小明");
  p->set_sex("1");
  p->set_birth_date("1985-03-02");
  p->set_id_number(ValidId(sequence));
  p->set_phone("13977318825");
  p->set_address("广西全州县全州镇石城村5组");
  return r;
}

records::FacilityDirectory Directory() {
  records::FacilityDirectory d("000000");
  d.Add({kClinic, "全州镇卫生院", kCounty, records::FacilityTier::kTownshipHealthCentre});
  d.Add({"450321-WS-001", "白沙镇卫生院", "450321", records::FacilityTier::kTownshipHealthCentre});
  return d;
}

const hisbridge::v1::FieldCompleteness& Field(const FacilityQuality& f, const std::string& name) {
  for (const auto& c : f.completeness()) {
    if (c.field() == name) return c;
  }
  static const hisbridge::v1::FieldCompleteness kNone;
  ADD_FAILURE() << "no field " << name;
  return kNone;
}

hisbridge::v1::FieldIssue Issue(const std::string& field, const std::string& rule) {
  return records::MakeIssue(field, rule, "x");
}

TEST(ClassifyLinkTest, OpenReviewWinsThenMethod) {
  EXPECT_EQ(ClassifyLink(true, hisbridge::v1::LINK_METHOD_SCORE), LinkOutcome::kReview);
  EXPECT_EQ(ClassifyLink(true, hisbridge::v1::LINK_METHOD_NEW_PATIENT), LinkOutcome::kReview);
  EXPECT_EQ(ClassifyLink(false, hisbridge::v1::LINK_METHOD_RESIDENT_ID), LinkOutcome::kAutoLink);
  EXPECT_EQ(ClassifyLink(false, hisbridge::v1::LINK_METHOD_SCORE), LinkOutcome::kAutoLink);
  EXPECT_EQ(ClassifyLink(false, hisbridge::v1::LINK_METHOD_NEW_PATIENT), LinkOutcome::kNewPatient);
  EXPECT_EQ(ClassifyLink(false, hisbridge::v1::LINK_METHOD_MANUAL), LinkOutcome::kSteward);
}

TEST(RejectReasonKeyTest, FieldAndRuleWithoutIndexes) {
  EXPECT_EQ(RejectReasonKey(Issue("event_time", "rfc3339")), "event_time:rfc3339");
  EXPECT_EQ(RejectReasonKey(Issue("", "line.too_long")), "line.too_long");
  EXPECT_EQ(RejectReasonKey(Issue("diagnoses[12].code", "json.type")), "diagnoses[].code:json.type");
  EXPECT_EQ(RejectReasonKey(Issue("a[x]", "r")), "a[x]:r");
  EXPECT_EQ(RejectReasonKey(Issue("record_id", "")), "record_id:rejected");
}

TEST(DataQualityBuilderTest, EveryFigureOfOneFacility) {
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});

  // r1: complete and valid; starts patient P1.
  builder.AddRecord(kCounty, Complete(kClinic, "r1", 123), "P1", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  // r2: a second record of P1 at the same clinic (a duplicate), linked by
  // score; bad check digit, a phone that is no number, an impossible date.
  StoredRecord r2 = Complete(kClinic, "r2", 123);
  r2.mutable_record()->set_id_number(BadCheckDigit(123));
  r2.mutable_record()->set_phone("无");
  r2.mutable_record()->set_birth_date("1985-13-40");
  builder.AddRecord(kCounty, r2, "P1", hisbridge::v1::LINK_METHOD_SCORE);
  // r3: under review; no id, no phone, no address, a sex that means nothing.
  StoredRecord r3 = Record(kClinic, "r3");
  r3.mutable_record()->set_name("李娜");
  r3.mutable_record()->set_sex("x");
  r3.mutable_record()->set_birth_date("1990-01-01");
  r3.set_open_review_id("450324-R0000001");
  builder.AddRecord(kCounty, r3, "P2", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  // r4: deleted: not a record any more.
  StoredRecord r4 = Complete(kClinic, "r4", 125);
  r4.set_deleted(true);
  builder.AddRecord(kCounty, r4, "", hisbridge::v1::LINK_METHOD_UNSPECIFIED);
  // r5: linked by resident id (a valid legacy 15-digit id), a placeholder
  // address, blank sex (spaces are not a value).
  StoredRecord r5 = Complete(kClinic, "r5", 127);
  r5.mutable_record()->set_id_number(*core::DowngradeResidentId18(ValidId(127)));
  r5.mutable_record()->set_address("不详");
  r5.mutable_record()->set_sex("  ");
  builder.AddRecord(kCounty, r5, "P3", hisbridge::v1::LINK_METHOD_RESIDENT_ID);
  // r6: placed by a data steward.
  builder.AddRecord(kCounty, Complete(kClinic, "r6", 129), "P4", hisbridge::v1::LINK_METHOD_MANUAL);

  builder.AddReject(kClinic, {Issue("event_time", "rfc3339"), Issue("event_time", "rfc3339")});
  builder.AddReject(kClinic, {Issue("record_id", "required"), Issue("event_time", "rfc3339")});
  EXPECT_EQ(builder.rejected_lines(), 2);
  EXPECT_EQ(builder.records(), 5);

  const hisbridge::v1::DataQualityReport report = builder.Build(absl::FromUnixSeconds(1714521600));
  EXPECT_EQ(report.generated_at(), "2024-05-01T00:00:00.000Z");
  ASSERT_EQ(report.facilities_size(), 1);
  const FacilityQuality& f = report.facilities(0);
  EXPECT_EQ(f.facility_id(), kClinic);
  EXPECT_EQ(f.facility_name(), "全州镇卫生院");
  EXPECT_EQ(f.records(), 5);
  ASSERT_EQ(f.completeness_size(), 6);
  EXPECT_EQ(f.completeness(0).field(), "name");
  EXPECT_DOUBLE_EQ(Field(f, "name").filled(), 1.0);
  EXPECT_DOUBLE_EQ(Field(f, "name").invalid(), 0.0);
  EXPECT_DOUBLE_EQ(Field(f, "sex").filled(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "sex").invalid(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "birth_date").filled(), 5.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "birth_date").invalid(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "id_number").filled(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "id_number").invalid(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "phone").filled(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "phone").invalid(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "address").filled(), 4.0 / 5);
  EXPECT_DOUBLE_EQ(Field(f, "address").invalid(), 1.0 / 5);
  // One bad id among the four records that carry one.
  EXPECT_DOUBLE_EQ(f.invalid_id_rate(), 1.0 / 4);
  // r1 and r2 share P1.
  EXPECT_DOUBLE_EQ(f.in_facility_duplicate_rate(), 2.0 / 5);
  EXPECT_DOUBLE_EQ(f.auto_link_rate(), 2.0 / 5);
  EXPECT_DOUBLE_EQ(f.review_rate(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(f.new_patient_rate(), 1.0 / 5);
  // A reason counts once per line.
  EXPECT_THAT(f.rejects_by_reason(),
              UnorderedElementsAre(Pair("event_time:rfc3339", 2), Pair("record_id:required", 1)));
}

TEST(DataQualityBuilderTest, FutureBirthDateJudgedByTheRecordsOwnDay) {
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});
  StoredRecord r = Complete(kClinic, "r1", 123);
  r.mutable_record()->set_birth_date("2024-06-01");  // after the record's day
  builder.AddRecord(kCounty, r, "P1", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  StoredRecord s = Complete(kClinic, "r2", 125);
  s.mutable_record()->set_birth_date("2024-04-01");  // a newborn: fine
  builder.AddRecord(kCounty, s, "P2", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  const FacilityQuality f = builder.Build(absl::Now()).facilities(0);
  EXPECT_DOUBLE_EQ(Field(f, "birth_date").invalid(), 0.5);
}

TEST(DataQualityBuilderTest, DuplicatesCountEveryRecordOfASharedPatient) {
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});
  // P1 three times at the clinic, P2 once there and once elsewhere (not an
  // in-facility duplicate).
  for (const char* id : {"a", "b", "c"}) {
    builder.AddRecord(kCounty, Complete(kClinic, id, 123), "P1", hisbridge::v1::LINK_METHOD_SCORE);
  }
  builder.AddRecord(kCounty, Complete(kClinic, "d", 125), "P2", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  builder.AddRecord(kCounty, Complete("450324-CS-0001", "e", 125), "P2", hisbridge::v1::LINK_METHOD_SCORE);
  // Unlinked: a record, but no patient to share.
  builder.AddRecord(kCounty, Complete(kClinic, "f", 127), "", hisbridge::v1::LINK_METHOD_UNSPECIFIED);
  const hisbridge::v1::DataQualityReport report = builder.Build(absl::Now());
  ASSERT_EQ(report.facilities_size(), 2);
  // Sorted by id: the village clinic first, unknown to the directory.
  EXPECT_EQ(report.facilities(0).facility_id(), "450324-CS-0001");
  EXPECT_EQ(report.facilities(0).facility_name(), "450324-CS-0001");
  EXPECT_DOUBLE_EQ(report.facilities(0).in_facility_duplicate_rate(), 0.0);
  EXPECT_EQ(report.facilities(1).records(), 5);
  EXPECT_DOUBLE_EQ(report.facilities(1).in_facility_duplicate_rate(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(report.facilities(1).auto_link_rate(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(report.facilities(1).new_patient_rate(), 1.0 / 5);
}

TEST(DataQualityBuilderTest, ScopeByRegionAndFacility) {
  const records::FacilityDirectory directory = Directory();
  const auto fill = [](DataQualityBuilder* b) {
    b->AddRecord(kCounty, Complete(kClinic, "a", 123), "P1", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
    b->AddRecord(kCounty, Complete("450324-CS-0001", "b", 125), "P2", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
    b->AddRecord("450321", Complete("450321-WS-001", "c", 127), "P3", hisbridge::v1::LINK_METHOD_NEW_PATIENT);
    b->AddReject("450321-WS-001", {Issue("event_time", "rfc3339")});
    b->AddReject(kClinic, {Issue("event_time", "rfc3339")});
    b->AddReject("", {Issue("", "json.syntax")});
  };
  const auto ids = [](const hisbridge::v1::DataQualityReport& r) {
    std::vector<std::string> out;
    for (const auto& f : r.facilities()) out.push_back(f.facility_id());
    return out;
  };
  DataQualityBuilder all(&directory, {});
  fill(&all);
  EXPECT_THAT(ids(all.Build(absl::Now())), ElementsAre("", "450321-WS-001", "450324-CS-0001", kClinic));
  EXPECT_EQ(all.rejected_lines(), 3);

  DataQualityBuilder county(&directory, {kCounty, ""});
  EXPECT_TRUE(county.WantsRegion(kCounty));
  EXPECT_FALSE(county.WantsRegion("450321"));
  fill(&county);
  EXPECT_THAT(ids(county.Build(absl::Now())), ElementsAre("450324-CS-0001", kClinic));
  EXPECT_EQ(county.rejected_lines(), 1);

  DataQualityBuilder clinic(&directory, {"", "450321-WS-001"});
  EXPECT_FALSE(clinic.WantsRegion(kCounty));
  fill(&clinic);
  const auto report = clinic.Build(absl::Now());
  EXPECT_THAT(ids(report), ElementsAre("450321-WS-001"));
  EXPECT_EQ(report.facilities(0).records(), 1);
  EXPECT_THAT(report.facilities(0).rejects_by_reason(), UnorderedElementsAre(Pair("event_time:rfc3339", 1)));

  // A linker pod reports the rejects of its own counties only.
  DataQualityBuilder pod(&directory, {});
  pod.LimitRejectsToRegions({kCounty});
  fill(&pod);
  EXPECT_EQ(pod.rejected_lines(), 1);
}

TEST(DataQualityBuilderTest, FacilityWithOnlyRejectsHasZeroRates) {
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});
  builder.AddReject(kClinic, {Issue("record_id", "required")});
  const FacilityQuality f = builder.Build(absl::Now()).facilities(0);
  EXPECT_EQ(f.records(), 0);
  EXPECT_DOUBLE_EQ(Field(f, "name").filled(), 0.0);
  EXPECT_DOUBLE_EQ(f.invalid_id_rate(), 0.0);
  EXPECT_DOUBLE_EQ(f.new_patient_rate(), 0.0);
  EXPECT_THAT(f.rejects_by_reason(), UnorderedElementsAre(Pair("record_id:required", 1)));
}

TEST(ReportControlTest, DeadlineAndCancellation) {
  ReportControl control;
  EXPECT_TRUE(control.Check("x").ok());
  control.deadline = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(control.Check("reading").code(), absl::StatusCode::kDeadlineExceeded);
  control.deadline = absl::InfiniteFuture();
  bool cancelled = false;
  control.cancelled = [&] { return cancelled; };
  EXPECT_TRUE(control.Check("x").ok());
  cancelled = true;
  EXPECT_EQ(control.Check("x").code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace hisbridge::report
