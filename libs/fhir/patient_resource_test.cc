#include "libs/fhir/patient_resource.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/fhir/schema.h"

namespace hisbridge::fhir {
namespace {

using hisbridge::v1::MatchGrade;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

hisbridge::v1::Patient Wang() {
  hisbridge::v1::Patient p;
  p.set_patient_id("450321-P0000001");
  p.set_version(3);
  p.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
  p.set_updated_at("2026-03-01T00:40:00.000Z");
  auto* d = p.mutable_demographics();
  d->set_name("王小明");
  d->set_sex("1");
  d->set_birth_date("1985-03-02");
  d->set_id_type("01");
  d->set_id_number("450321198503021232");
  d->set_insurance_id("YB123");
  d->set_phone("13812345678");
  d->set_address("广西壮族自治区桂林市阳朔县白沙镇遇龙村5组");
  d->set_address_code("450321102203");
  d->set_ethnicity("01");
  for (const char* f : {"450321-WS-003", "450321-CS-011"}) {
    auto* s = p.add_sources();
    s->set_facility_id(f);
    s->set_record_id("MZ00017");
  }
  return p;
}

TEST(PatientResourceTest, TheUnifiedPatientAsFhir) {
  ResourceOptions o;
  o.base_url = "http://fhir.example/fhir";
  Json p = PatientResource(Wang(), o);
  EXPECT_EQ(WriteJson(p),
            "{\"resourceType\":\"Patient\",\"id\":\"450321-P0000001\",\"meta\":{\"versionId\":\"3\","
            "\"lastUpdated\":\"2026-03-01T00:40:00.000Z\"},\"extension\":[{\"url\":\"urn:hisbridge:fhir:ethnicity\","
            "\"valueCode\":\"01\"}],\"identifier\":[{\"use\":\"official\",\"type\":{\"coding\":[{\"system\":"
            "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"NNCHN\"}],\"text\":\"CV02.01.101 01\"},"
            "\"system\":\"urn:oid:2.16.156.10011.1.1\",\"value\":\"450321198503021232\"},{\"use\":\"secondary\","
            "\"type\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MC\"}],"
            "\"text\":\"医保号\"},\"value\":\"YB123\"},{\"use\":\"usual\",\"type\":{\"coding\":[{\"system\":"
            "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]},\"system\":"
            "\"urn:hisbridge:facility:450321-WS-003\",\"value\":\"MZ00017\",\"assigner\":{\"identifier\":{\"value\":"
            "\"450321-WS-003\"}}},{\"use\":\"usual\",\"type\":{\"coding\":[{\"system\":"
            "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}]},\"system\":"
            "\"urn:hisbridge:facility:450321-CS-011\",\"value\":\"MZ00017\",\"assigner\":{\"identifier\":{\"value\":"
            "\"450321-CS-011\"}}}],\"active\":true,\"name\":[{\"use\":\"official\",\"text\":\"王小明\"}],"
            "\"telecom\":[{\"system\":\"phone\",\"value\":\"13812345678\"}],\"gender\":\"male\",\"birthDate\":"
            "\"1985-03-02\",\"address\":[{\"extension\":[{\"url\":\"urn:hisbridge:fhir:address-code\",\"valueCode\":"
            "\"450321102203\"}],\"text\":\"广西壮族自治区桂林市阳朔县白沙镇遇龙村5组\"}]}");
  // What we write is valid by our own strict reading.
  std::vector<Issue> issues;
  ValidateResource(p, "Patient", &issues);
  EXPECT_THAT(issues, IsEmpty()) << DescribeIssues(issues);
}

TEST(PatientResourceTest, MergedPatientsLinkToTheSurvivor) {
  hisbridge::v1::Patient p = Wang();
  p.set_status(hisbridge::v1::PATIENT_STATUS_MERGED);
  p.set_merged_into("450321-P0000009");
  p.mutable_demographics()->set_birth_date("1985-13-40");  // not a FHIR date: left out
  p.mutable_demographics()->set_sex("9");
  Json r = PatientResource(p, ResourceOptions());
  EXPECT_FALSE(r.Find("active")->bool_value());
  ASSERT_EQ(r.GetArray("link").size(), 1u);
  EXPECT_EQ(r.GetArray("link")[0].GetString("type"), "replaced-by");
  EXPECT_EQ(r.GetArray("link")[0].Find("other")->GetString("reference"), "Patient/450321-P0000009");
  EXPECT_EQ(r.Find("birthDate"), nullptr);
  EXPECT_EQ(r.GetString("gender"), "other");
}

TEST(MatchScoreTest, LogisticThroughTheThresholdsWithinTheGradeBand) {
  const MatchThresholds t{24, 16};
  EXPECT_DOUBLE_EQ(MatchScore(16, MatchGrade::MATCH_GRADE_UNSPECIFIED, t), 0.5);
  EXPECT_DOUBLE_EQ(MatchScore(24, MatchGrade::MATCH_GRADE_UNSPECIFIED, t), 0.9);
  EXPECT_GT(MatchScore(30, MatchGrade::MATCH_GRADE_CERTAIN, t), 0.97);
  EXPECT_DOUBLE_EQ(MatchScore(20, MatchGrade::MATCH_GRADE_PROBABLE, t), 0.75);
  EXPECT_LT(MatchScore(8, MatchGrade::MATCH_GRADE_POSSIBLE, t), 0.5);
  EXPECT_GT(MatchScore(8, MatchGrade::MATCH_GRADE_POSSIBLE, t), 0);
  // The grade wins where the score disagrees (a capped score, other thresholds).
  EXPECT_DOUBLE_EQ(MatchScore(12, MatchGrade::MATCH_GRADE_CERTAIN, t), 0.9);
  EXPECT_DOUBLE_EQ(MatchScore(30, MatchGrade::MATCH_GRADE_PROBABLE, t), 0.8999);
  EXPECT_DOUBLE_EQ(MatchScore(30, MatchGrade::MATCH_GRADE_CERTAINLY_NOT, t), 0);
  EXPECT_DOUBLE_EQ(MatchScore(std::numeric_limits<double>::infinity(), MatchGrade::MATCH_GRADE_CERTAIN, t), 1);
  EXPECT_DOUBLE_EQ(MatchScore(-std::numeric_limits<double>::infinity(), MatchGrade::MATCH_GRADE_UNSPECIFIED, t), 0);
  EXPECT_DOUBLE_EQ(MatchScore(std::nan(""), MatchGrade::MATCH_GRADE_UNSPECIFIED, t), 0);
  // Degenerate thresholds (the id-exact matcher's) do not divide by zero.
  EXPECT_DOUBLE_EQ(MatchScore(1, MatchGrade::MATCH_GRADE_UNSPECIFIED, MatchThresholds{1, 1}), 0.5);
}

TEST(MatchBundleTest, SearchsetWithScoresAndGrades) {
  hisbridge::v1::MatchResponse response;
  auto* a = response.add_candidates();
  *a->mutable_patient() = Wang();
  a->set_score(30);
  a->set_grade(MatchGrade::MATCH_GRADE_CERTAIN);
  auto* b = response.add_candidates();
  b->mutable_patient()->set_patient_id("450321-P0000002");
  b->set_score(18);
  b->set_grade(MatchGrade::MATCH_GRADE_PROBABLE);
  ResourceOptions o;
  o.base_url = "http://h/fhir";
  Json bundle = MatchBundle(response, 10, false, o, MatchThresholds());
  EXPECT_EQ(bundle.GetString("type"), "searchset");
  EXPECT_EQ(bundle.Find("total")->integer(), 2);
  const std::vector<Json>& entries = bundle.GetArray("entry");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].GetString("fullUrl"), "http://h/fhir/Patient/450321-P0000001");
  const Json* search = entries[0].Find("search");
  EXPECT_EQ(search->GetString("mode"), "match");
  EXPECT_GT(search->Find("score")->number(), 0.9);
  EXPECT_EQ(search->GetArray("extension")[0].GetString("url"), kMatchGradeExtension);
  EXPECT_EQ(search->GetArray("extension")[0].GetString("valueCode"), "certain");
  EXPECT_EQ(entries[1].Find("search")->GetArray("extension")[0].GetString("valueCode"), "probable");
  std::vector<Issue> issues;
  ValidateResource(bundle, "Bundle", &issues);
  EXPECT_THAT(issues, IsEmpty()) << DescribeIssues(issues);

  Json certain = MatchBundle(response, 10, true, o, MatchThresholds());
  EXPECT_EQ(certain.GetArray("entry").size(), 1u);
  Json capped = MatchBundle(response, 1, false, o, MatchThresholds());
  EXPECT_EQ(capped.GetArray("entry").size(), 1u);
  Json none = MatchBundle(hisbridge::v1::MatchResponse(), 10, false, o, MatchThresholds());
  EXPECT_EQ(none.Find("total")->integer(), 0);
  EXPECT_EQ(none.Find("entry"), nullptr);
}

}  // namespace
}  // namespace hisbridge::fhir
