#include "libs/fhir/mapping.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/fhir/json.h"
#include "libs/records/record_json.h"

namespace hisbridge::fhir {
namespace {

using hisbridge::v1::Record;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Testdata(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_FHIR_TESTDATA) + "/" + name).value();
}

// 2026-03-01T08:30:00+08:00
const absl::Time kNow = absl::FromUnixSeconds(1772325000);

MappingOptions Options(const std::string& facility = "") {
  MappingOptions o;
  o.default_facility = facility;
  o.now = kNow;
  return o;
}

MappedRequest Post(const std::string& type, const std::string& body, const MappingOptions& o = Options()) {
  Request r;
  r.type = type;
  r.body = body;
  return MapRequest(r, o);
}

std::string Issues(const MappedRequest& m) { return DescribeIssues(m.AllIssues()); }

// The first error issue at `expression` (null when there is none).
const Issue* ErrorAt(const MappedRequest& m, const std::string& expression) {
  static std::vector<Issue> all;
  all = m.AllIssues();
  for (const Issue& i : all) {
    if (i.is_error() && i.expression == expression) return &i;
  }
  return nullptr;
}

// The records of a request that must map cleanly.
std::vector<Record> Records(const MappedRequest& m) {
  EXPECT_TRUE(m.ok()) << Issues(m);
  return m.OrderedRecords();
}

Record One(const MappedRequest& m) {
  std::vector<Record> r = Records(m);
  EXPECT_EQ(r.size(), 1u) << Issues(m);
  return r.empty() ? Record() : r.front();
}

// A Patient of facility 450321-WS-003 with `identifiers` and `extra` members.
std::string PatientWith(const std::string& identifiers, const std::string& extra) {
  return absl::StrCat(R"({"resourceType":"Patient","identifier":)", identifiers,
                      R"(,"managingOrganization":{"identifier":{"value":"450321-WS-003"}})",
                      extra.empty() ? "" : ",", extra, "}");
}

// The same with record number MZ1.
std::string Patient(const std::string& extra) {
  return PatientWith(R"([{"type":{"coding":[{"code":"MR"}]},"value":"MZ1"}])", extra);
}

TEST(PatientMappingTest, EveryFieldOfTheChineseSample) {
  Record r = One(Post("Patient", Testdata("patient-zh-wangxiaoming.json")));
  EXPECT_EQ(r.kind(), "patient");
  EXPECT_EQ(r.op(), "");
  EXPECT_EQ(r.facility_id(), "450321-WS-003");
  EXPECT_EQ(r.record_id(), "MZ00017");
  EXPECT_EQ(r.event_time(), "2026-03-01T08:30:00+08:00");  // meta.lastUpdated
  EXPECT_EQ(r.name(), "王小明");                           // family + given, no space
  EXPECT_EQ(r.sex(), "1");
  EXPECT_EQ(r.birth_date(), "1985-03-02");
  EXPECT_EQ(r.id_type(), "01");
  EXPECT_EQ(r.id_number(), "450321198503021232");
  EXPECT_EQ(r.phone(), "138-1234-5678");
  EXPECT_EQ(r.address(), "广西壮族自治区桂林市阳朔县白沙镇遇龙村5组");  // province -> village
  EXPECT_EQ(r.ethnicity(), "01");
}

TEST(PatientMappingTest, EventTimeIsTheRequestTimeWithoutLastUpdated) {
  Record r = One(Post("Patient", Patient("")));
  EXPECT_EQ(r.event_time(), "2026-03-01T08:30:00.000+08:00");
}

TEST(PatientMappingTest, Gender) {
  for (const auto& [gender, sex] : std::vector<std::pair<std::string, std::string>>{
           {"male", "1"}, {"female", "2"}, {"other", "9"}, {"unknown", "0"}}) {
    EXPECT_EQ(One(Post("Patient", Patient(absl::StrCat(R"("gender":")", gender, "\"")))).sex(), sex) << gender;
  }
}

TEST(PatientMappingTest, Names) {
  auto name = [](const std::string& names) { return One(Post("Patient", Patient("\"name\":" + names))).name(); };
  EXPECT_EQ(name(R"([{"text":"欧阳娜娜","family":"Ouyang"}])"), "欧阳娜娜");
  EXPECT_EQ(name(R"([{"family":"欧阳","given":["娜娜"]}])"), "欧阳娜娜");
  EXPECT_EQ(name(R"([{"family":"WANG","given":["XIAO","MING"]}])"), "WANG XIAO MING");
  EXPECT_EQ(name(R"([{"use":"maiden","text":"李梅"},{"use":"usual","text":"王梅"},{"use":"official","text":"王美"}])"),
            "王美");
  EXPECT_EQ(name(R"([{"use":"old","text":"旧名"},{"text":"新名"}])"), "新名");
}

TEST(PatientMappingTest, PhoneByRankThenUse) {
  auto phone = [](const std::string& telecom) {
    return One(Post("Patient", Patient("\"telecom\":" + telecom))).phone();
  };
  EXPECT_EQ(phone(R"([{"system":"email","value":"a@b.cn"},{"system":"phone","value":"0773-1234567","use":"home"},
                      {"system":"phone","value":"13800000000","use":"mobile"}])"),
            "13800000000");
  EXPECT_EQ(phone(R"([{"system":"phone","value":"1","use":"mobile","rank":2},{"system":"phone","value":"2","rank":1}])"),
            "2");
  EXPECT_EQ(phone(R"([{"system":"phone","value":"old","use":"old"},{"system":"sms","value":"13900000000"}])"),
            "13900000000");
}

TEST(PatientMappingTest, Addresses) {
  auto address = [](const std::string& a) { return One(Post("Patient", Patient("\"address\":" + a))); };
  EXPECT_EQ(address(R"([{"text":"阳朔县白沙镇遇龙村","city":"桂林市"}])").address(), "阳朔县白沙镇遇龙村");
  EXPECT_EQ(address(R"([{"use":"work","text":"单位"},{"use":"home","state":"广西壮族自治区","district":"阳朔县",
                         "line":["白沙镇","遇龙村"]}])")
                .address(),
            "广西壮族自治区阳朔县白沙镇遇龙村");
  EXPECT_EQ(address(R"([{"line":["534 Erewhon St"],"city":"PleasantVille","state":"Vic","postalCode":"3999"}])")
                .address(),
            "534 Erewhon St, PleasantVille, Vic 3999");
  Record coded = address(R"([{"text":"遇龙村","extension":[{"url":"urn:hisbridge:fhir:address-code",
                               "valueCode":"450321102203"}]}])");
  EXPECT_EQ(coded.address_code(), "450321102203");
}

TEST(PatientMappingTest, IdentifierTable) {
  MappingOptions o = Options();
  o.identifier_systems.push_back({"urn:his:mrn", IdentifierTarget::kRecordId, ""});
  o.identifier_systems.push_back({"urn:nhsa:insurance", IdentifierTarget::kInsuranceId, ""});
  o.identifier_systems.push_back({"urn:health-card", IdentifierTarget::kHealthCardId, ""});
  Record r = One(Post("Patient", R"({"resourceType":"Patient","identifier":[
      {"type":{"coding":[{"code":"MR"}]},"value":"TYPE-MR"},
      {"system":"urn:his:mrn","value":"MRN-1"},
      {"type":{"coding":[{"code":"PPN"}]},"value":"E12345678"},
      {"system":"urn:oid:2.16.156.10011.1.1","value":"450321198503021232"},
      {"system":"urn:nhsa:insurance","value":"YB-9"},
      {"system":"urn:health-card","value":"HC-7"}],
      "managingOrganization":{"identifier":{"value":"F1"}}})",
                      o));
  EXPECT_EQ(r.record_id(), "MRN-1");  // a configured record system before a type code
  EXPECT_EQ(r.id_type(), "01");       // the resident id card before the passport
  EXPECT_EQ(r.id_number(), "450321198503021232");
  EXPECT_EQ(r.insurance_id(), "YB-9");
  EXPECT_EQ(r.health_card_id(), "HC-7");
  Record passport = One(Post("Patient", PatientWith(R"([{"type":{"coding":[{"code":"MR"}]},"value":"M"},
      {"type":{"coding":[{"code":"PPN"}]},"value":"E12345678"},{"type":{"coding":[{"code":"HC"}]},"value":"H"},
      {"type":{"coding":[{"code":"MC"}]},"value":"I"}])", "")));
  EXPECT_EQ(passport.id_type(), "03");
  EXPECT_EQ(passport.health_card_id(), "H");
  EXPECT_EQ(passport.insurance_id(), "I");
}

TEST(PatientMappingTest, UnknownIdentifierSystemsAreReportedNotSilentlyDropped) {
  MappedRequest m = Post("Patient", PatientWith(R"([{"type":{"coding":[{"code":"MR"}]},"value":"M"},
      {"system":"urn:somewhere","value":"X"}])", ""));
  ASSERT_TRUE(m.ok()) << Issues(m);
  EXPECT_THAT(Issues(m), HasSubstr("information informational Patient.identifier[1].value"));
  EXPECT_THAT(Issues(m), HasSubstr("not a known identifier system"));
}

TEST(PatientMappingTest, IdentifierSystemsFile) {
  auto table = ParseIdentifierSystems("# county table\nurn:a,record_id\nurn:b,id_number,03\nurn:c,insurance_id\n");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 3u);
  EXPECT_EQ((*table)[1].id_type, "03");
  EXPECT_THAT(ParseIdentifierSystems("urn:a,name").status().message(), HasSubstr("line 1"));
  EXPECT_THAT(ParseIdentifierSystems("\nurn:a,record_id,01").status().message(), HasSubstr("line 2"));
}

TEST(PatientMappingTest, FacilityFromOrganizationsOrTheDefault) {
  // An Organization contained in the Patient.
  Record contained = One(Post("Patient", R"({"resourceType":"Patient","id":"p1",
      "contained":[{"resourceType":"Organization","id":"org","identifier":[{"value":"450321-CS-011"}]}],
      "managingOrganization":{"reference":"#org"}})"));
  EXPECT_EQ(contained.facility_id(), "450321-CS-011");
  EXPECT_EQ(contained.record_id(), "p1");  // the Patient's own id is its number in the sender's system
  // The default (X-Hisbridge-Facility or --facility).
  EXPECT_EQ(One(Post("Patient", R"({"resourceType":"Patient","id":"p1"})", Options("DEF"))).facility_id(), "DEF");
  // Facility systems restrict which identifier is the facility code.
  MappingOptions o = Options();
  o.facility_systems = {"urn:code"};
  EXPECT_EQ(One(Post("Patient", R"({"resourceType":"Patient","id":"p1","contained":[{"resourceType":"Organization",
      "id":"o","identifier":[{"system":"urn:other","value":"NO"},{"system":"urn:code","value":"YES"}]}],
      "managingOrganization":{"reference":"#o"}})",
                     o))
                .facility_id(),
            "YES");
  // None at all: an error that says how to give one.
  MappedRequest none = Post("Patient", R"({"resourceType":"Patient","id":"p1"})");
  EXPECT_FALSE(none.ok());
  const Issue* e = ErrorAt(none, "Patient.managingOrganization");
  ASSERT_NE(e, nullptr) << Issues(none);
  EXPECT_EQ(e->type, IssueType::kRequired);
  EXPECT_THAT(e->diagnostics, HasSubstr("X-Hisbridge-Facility"));
}

TEST(PatientMappingTest, RecordIdIsRequired) {
  MappedRequest m = Post("Patient", R"({"resourceType":"Patient",
      "identifier":[{"system":"urn:unknown","value":"1"}]})",
                         Options("F"));
  const Issue* e = ErrorAt(m, "Patient.identifier");
  ASSERT_NE(e, nullptr) << Issues(m);
  EXPECT_EQ(e->type, IssueType::kRequired);
  EXPECT_THAT(e->diagnostics, HasSubstr("no identifier is the facility's patient number"));
  EXPECT_THAT(e->diagnostics, HasSubstr("\"1\" (system \"urn:unknown\")"));
  EXPECT_TRUE(m.OrderedRecords().empty());
}

TEST(PatientMappingTest, PutWithASourceIdentity) {
  Request r;
  r.method = "PUT";
  r.type = "Patient";
  r.id = "450321-WS-003|MZ9";
  const std::string body = R"({"resourceType":"Patient","name":[{"text":"张三"}]})";
  r.body = body;
  MappedRequest m = MapRequest(r, Options());
  Record rec = One(m);
  EXPECT_EQ(rec.facility_id(), "450321-WS-003");
  EXPECT_EQ(rec.record_id(), "MZ9");
  EXPECT_EQ(m.entries[0].id, "450321-WS-003|MZ9");
  // PUT with a different id in the body is an error.
  r.id = "a";
  const std::string other = R"({"resourceType":"Patient","id":"b"})";
  r.body = other;
  EXPECT_NE(ErrorAt(MapRequest(r, Options("F")), "Patient.id"), nullptr);
}

TEST(PatientMappingTest, LinkReplacesIsAFacilityMerge) {
  Record r = One(Post("Patient", Patient(R"("link":[{"other":{"reference":"Patient/MZ0"},"type":"replaces"},
                                                  {"other":{"reference":"Patient/x"},"type":"seealso"}])")));
  EXPECT_EQ(r.op(), "merge");
  EXPECT_EQ(r.record_id(), "MZ1");
  EXPECT_EQ(r.merged_record_id(), "MZ0");
  MappedRequest by = Post("Patient", Patient(R"("link":[{"other":{"reference":"Patient/MZ0"},"type":"replaced-by"}])"));
  EXPECT_NE(ErrorAt(by, "Patient.link[0].type"), nullptr) << Issues(by);
  MappedRequest other = Post("Patient", Patient(R"("link":[{"other":{"reference":"Patient/F9|R1"},"type":"replaces"}])"));
  ASSERT_NE(ErrorAt(other, "Patient.link[0].other"), nullptr) << Issues(other);
  EXPECT_THAT(ErrorAt(other, "Patient.link[0].other")->diagnostics, HasSubstr("merges only its own records"));
}

TEST(PatientMappingTest, Delete) {
  Request r;
  r.method = "DELETE";
  r.type = "Patient";
  r.id = "450321-WS-003|MZ00017";
  Record d = One(MapRequest(r, Options()));
  EXPECT_EQ(d.op(), "delete");
  EXPECT_EQ(d.facility_id(), "450321-WS-003");
  EXPECT_EQ(d.record_id(), "MZ00017");
  r.id = "MZ1";
  EXPECT_FALSE(MapRequest(r, Options()).ok());  // facility unknown
  EXPECT_EQ(One(MapRequest(r, Options("F"))).facility_id(), "F");
  r.type = "Observation";
  EXPECT_FALSE(MapRequest(r, Options("F")).ok());
}

TEST(PatientMappingTest, ValidationErrorsNameTheFhirElement) {
  const std::string long_id(70, 'x');
  MappedRequest m = Post("Patient", PatientWith(absl::StrCat(R"([{"type":{"coding":[{"code":"MR"}]},
      "value":")", long_id, "\"}]"), ""));
  const Issue* e = ErrorAt(m, "Patient.identifier[0].value");
  ASSERT_NE(e, nullptr) << Issues(m);
  EXPECT_THAT(e->diagnostics, HasSubstr("(record_id)"));
  EXPECT_THAT(e->diagnostics, HasSubstr("[identifier.too_long]"));
}

TEST(PatientMappingTest, EveryProblemOfTheInvalidChineseSampleIsReported) {
  MappedRequest m = Post("Patient", Testdata("invalid-patient-zh-errors.json"));
  EXPECT_FALSE(m.ok());
  for (const char* path : {"Patient.identifier[0].value", "Patient.name", "Patient.gender", "Patient.birthDate",
                           "Patient.telecom[0].value", "Patient.identifier"}) {
    EXPECT_NE(ErrorAt(m, path), nullptr) << path << ": " << Issues(m);
  }
  EXPECT_EQ(ErrorAt(m, "Patient.gender")->type, IssueType::kCodeInvalid);
  EXPECT_EQ(ErrorAt(m, "Patient.birthDate")->type, IssueType::kValue);
}

// --- events

// A transaction with one Patient (urn:uuid:p) and `entries` after it.
std::string Transaction(const std::string& entries, const std::string& type = "transaction") {
  return absl::StrCat(R"({"resourceType":"Bundle","type":")", type, R"(","entry":[
    {"fullUrl":"urn:uuid:p","resource":)",
                      Patient(""), R"(,"request":{"method":"POST","url":"Patient"}})",
                      entries.empty() ? "" : ",", entries, "]}");
}

std::string Entry(const std::string& type, const std::string& resource, const std::string& full_url = "") {
  return absl::StrCat("{", full_url.empty() ? "" : absl::StrCat("\"fullUrl\":\"", full_url, "\","),
                      R"("resource":{"resourceType":")", type, "\",", resource,
                      R"(},"request":{"method":"POST","url":")", type, "\"}}");
}

// The records of `kind` a transaction maps to.
std::vector<Record> OfKind(const MappedRequest& m, const std::string& kind) {
  std::vector<Record> out;
  for (const Record& r : Records(m)) {
    if (r.kind() == kind) out.push_back(r);
  }
  return out;
}

TEST(EncounterMappingTest, TheChineseTransaction) {
  MappedRequest m = Post("", Testdata("bundle-transaction-zh-hypertension.json"));
  ASSERT_EQ(m.kind, RequestKind::kTransaction);
  std::vector<Record> records = Records(m);
  ASSERT_EQ(records.size(), 4u);
  std::vector<std::string> kinds;
  for (const Record& r : records) kinds.push_back(r.kind());
  EXPECT_THAT(kinds, ElementsAre("patient", "encounter", "observation", "medication"));
  const Record& e = records[1];
  EXPECT_EQ(e.facility_id(), "450321-WS-003");  // the Organization entry's identifier
  EXPECT_EQ(e.record_id(), "MZ00017");
  EXPECT_EQ(e.encounter_id(), "V20260301002");
  EXPECT_EQ(e.event_time(), "2026-03-01T08:40:00+08:00");
  EXPECT_EQ(e.encounter_type(), "outpatient");
  EXPECT_EQ(e.department(), "全科");
  ASSERT_EQ(e.diagnoses_size(), 1);
  EXPECT_EQ(e.diagnoses(0).code(), "I10");
  EXPECT_EQ(e.diagnoses(0).system(), "ICD-10");
  EXPECT_EQ(e.referral_to(), "450321-YGT");
  const Record& o = records[2];
  EXPECT_EQ(o.observation_id(), "OBS-20260301-0007");
  EXPECT_EQ(o.encounter_id(), "V20260301002");
  EXPECT_EQ(o.code(), "8480-6");
  EXPECT_EQ(o.system(), "LOINC");
  EXPECT_DOUBLE_EQ(o.value().number_value(), 152);
  EXPECT_EQ(o.unit(), "mmHg");
  EXPECT_EQ(o.reference_range(), "90-139 mmHg");
  EXPECT_EQ(o.abnormal_flag(), "H");
  EXPECT_EQ(o.event_time(), "2026-03-01T08:45:00+08:00");
  const Record& rx = records[3];
  EXPECT_EQ(rx.medication_id(), "RX-20260301-0003");
  EXPECT_EQ(rx.drug_code(), "XC08CAN0001");
  EXPECT_EQ(rx.drug_name(), "硝苯地平缓释片（20mg）");
  EXPECT_EQ(rx.dose(), "20 mg");
  EXPECT_EQ(rx.route(), "口服");
  EXPECT_EQ(rx.frequency(), "bid");
  EXPECT_EQ(rx.days(), 30);
  EXPECT_EQ(rx.encounter_id(), "V20260301002");
  // The Organization and Condition are accepted as context, with a note.
  EXPECT_TRUE(m.entries[0].context_only);
  EXPECT_TRUE(m.entries[3].context_only);
  EXPECT_EQ(m.entries[1].id, "450321-WS-003|MZ00017");
  EXPECT_EQ(m.identifier, "WS003-20260301-0002");
}

TEST(EncounterMappingTest, ClassesDepartmentsAndTimes) {
  auto encounter = [](const std::string& fields) {
    std::vector<Record> e = OfKind(Post("", Transaction(Entry("Encounter", absl::StrCat(
                                                         R"("id":"E1","status":"finished","subject":{"reference":"urn:uuid:p"},)",
                                                         fields)))),
                                   "encounter");
    return e.empty() ? Record() : e.front();
  };
  EXPECT_EQ(encounter(R"("class":{"code":"IMP"})").encounter_type(), "inpatient");
  EXPECT_EQ(encounter(R"("class":{"code":"EMER"})").encounter_type(), "emergency");
  EXPECT_EQ(encounter(R"("class":{"code":"HH"})").encounter_type(), "public_health");
  EXPECT_EQ(encounter(R"("class":{"code":"referral_in"})").encounter_type(), "referral_in");
  Record e = encounter(R"("class":{"code":"AMB"},"type":[{"coding":[{"code":"x","display":"初诊"}]}],
                          "period":{"start":"2026-02-28"})");
  EXPECT_EQ(e.department(), "初诊");
  EXPECT_EQ(e.event_time(), "2026-02-28T00:00:00+08:00");  // a date is midnight China time
  EXPECT_EQ(e.encounter_id(), "E1");
  Record f = encounter(R"("class":{"code":"AMB"},"meta":{"lastUpdated":"2026-02-27T10:00:00+08:00"})");
  EXPECT_EQ(f.event_time(), "2026-02-27T10:00:00+08:00");
  MappedRequest year = Post("", Transaction(Entry("Encounter", R"("id":"E1","status":"finished","class":{"code":"AMB"},
      "subject":{"reference":"urn:uuid:p"},"period":{"start":"2026"})")));
  const Issue* i = ErrorAt(year, "Bundle.entry[1].resource.period.start");
  ASSERT_NE(i, nullptr) << Issues(year);
  EXPECT_THAT(i->diagnostics, HasSubstr("at least the day"));
}

TEST(EncounterMappingTest, Diagnoses) {
  const std::string body = Transaction(absl::StrCat(
      Entry("Encounter", R"("id":"E1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"urn:uuid:p"},
        "reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"38341003"},
                                 {"system":"http://hl7.org/fhir/sid/icd-10-cn","code":"I10","display":"高血压"}]},
                      {"text":"头晕"}],
        "contained":[{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10",
                      "code":"E11.9","display":"2型糖尿病"}]},"subject":{"reference":"urn:uuid:p"}}],
        "diagnosis":[{"condition":{"reference":"#c"}},{"condition":{"reference":"Condition/gone","display":"痛风"}},
                     {"condition":{"reference":"Condition/missing"}}])",
            "urn:uuid:e"),
      ",",
      Entry("Condition", R"("code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"J06.9"}]},
        "subject":{"reference":"urn:uuid:p"},"encounter":{"reference":"urn:uuid:e"})")));
  MappedRequest m = Post("", body);
  std::vector<Record> e = OfKind(m, "encounter");
  ASSERT_EQ(e.size(), 1u);
  std::vector<std::string> codes;
  for (const auto& d : e[0].diagnoses()) codes.push_back(absl::StrCat(d.system(), ":", d.code(), ":", d.display()));
  EXPECT_THAT(codes, ElementsAre("ICD-10:I10:高血压", "::头晕", "ICD-10:E11.9:2型糖尿病", "::痛风", "ICD-10:J06.9:"));
  EXPECT_THAT(Issues(m), HasSubstr("warning not-found Bundle.entry[1].resource.diagnosis[2].condition"));
  EXPECT_TRUE(m.entries[2].context_only);  // the Condition that names the encounter
}

TEST(EncounterMappingTest, ReferralsAndRetractions) {
  MappedRequest m = Post("", Transaction(absl::StrCat(
                                 Entry("Organization", R"("identifier":[{"value":"450321-CS-011"}])", "urn:uuid:o"),
                                 ",",
                                 Entry("Encounter", R"("id":"E1","status":"finished","class":{"code":"AMB"},
        "subject":{"reference":"urn:uuid:p"},"hospitalization":{"origin":{"reference":"urn:uuid:o"},
        "destination":{"display":"县医院"}})"))));
  std::vector<Record> e = OfKind(m, "encounter");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].referral_from(), "450321-CS-011");
  EXPECT_EQ(e[0].referral_to(), "");
  EXPECT_THAT(Issues(m), HasSubstr("warning processing Bundle.entry[2].resource.hospitalization.destination"));
  MappedRequest cancelled = Post("", Transaction(Entry("Encounter", R"("id":"E1","status":"entered-in-error",
      "class":{"code":"AMB"},"subject":{"reference":"urn:uuid:p"})")));
  ASSERT_NE(ErrorAt(cancelled, "Bundle.entry[1].resource.status"), nullptr) << Issues(cancelled);
  EXPECT_EQ(ErrorAt(cancelled, "Bundle.entry[1].resource.status")->type, IssueType::kNotSupported);
}

TEST(EventMappingTest, Subjects) {
  const std::string obs = R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"体温"},
      "valueQuantity":{"value":37.5,"unit":"℃"},"effectiveDateTime":"2026-03-01T08:00:00+08:00",)";
  // Outside a Bundle: Patient/<id> is a record of the default facility...
  Record r = One(Post("Observation", obs + R"("subject":{"reference":"Patient/MZ1"}})", Options("F")));
  EXPECT_EQ(r.facility_id(), "F");
  EXPECT_EQ(r.record_id(), "MZ1");
  EXPECT_EQ(r.observation_id(), "o1");
  // ... or the source identity the facade hands out (URL-encoded or not).
  Record s = One(Post("Observation", obs + R"("subject":{"reference":"Patient/450321-WS-003%7CMZ2"}})"));
  EXPECT_EQ(s.facility_id(), "450321-WS-003");
  EXPECT_EQ(s.record_id(), "MZ2");
  // A logical reference by record number.
  Record l = One(Post("Observation",
                      obs + R"("subject":{"identifier":{"type":{"coding":[{"code":"MR"}]},"value":"MZ3"}}})",
                      Options("F")));
  EXPECT_EQ(l.record_id(), "MZ3");
  auto error = [&](const std::string& subject, const MappingOptions& o) {
    MappedRequest m = Post("Observation", obs + subject + "}", o);
    const Issue* i = ErrorAt(m, "Observation.subject");
    return i != nullptr ? i->diagnostics : Issues(m);
  };
  EXPECT_THAT(error(R"("subject":{"reference":"Patient/MZ1"})", Options()), HasSubstr("facility is unknown"));
  EXPECT_THAT(error(R"("subject":{"reference":"Group/1"})", Options("F")), HasSubstr("must be a Patient"));
  EXPECT_THAT(error(R"("subject":{"reference":"urn:uuid:nowhere"})", Options("F")), HasSubstr("does not resolve"));
  EXPECT_THAT(error(R"("subject":{"reference":"Patient?identifier=1"})", Options("F")), HasSubstr("conditional"));
  EXPECT_THAT(error(R"("subject":{"display":"王小明"})", Options("F")), HasSubstr("neither a reference"));
  MappedRequest none = Post("Observation", R"({"resourceType":"Observation","id":"o1","status":"final",
      "code":{"text":"x"}})",
                            Options("F"));
  ASSERT_NE(ErrorAt(none, "Observation.subject"), nullptr);
  EXPECT_EQ(ErrorAt(none, "Observation.subject")->type, IssueType::kRequired);
}

TEST(EventMappingTest, EventIdsAreStable) {
  auto id = [](const std::string& fields, const std::string& full_url) {
    std::vector<Record> o = OfKind(Post("", Transaction(Entry("Observation", absl::StrCat(
                                                     R"("status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:p"})",
                                                     fields), full_url))),
                                   "observation");
    return o.empty() ? std::string() : o[0].observation_id();
  };
  EXPECT_EQ(id(R"(,"identifier":[{"value":"OBS-1"}],"id":"x")", ""), "OBS-1");
  EXPECT_EQ(id(R"(,"id":"x")", ""), "x");
  EXPECT_EQ(id("", "urn:uuid:0b7d7f3e-2f55-4c7a-8d1e-5a6b7c8d9e02"), "0b7d7f3e-2f55-4c7a-8d1e-5a6b7c8d9e02");
  MappedRequest none = Post("", Transaction(Entry("Observation", R"("status":"final","code":{"text":"x"},
      "subject":{"reference":"urn:uuid:p"})")));
  ASSERT_NE(ErrorAt(none, "Bundle.entry[1].resource.identifier"), nullptr) << Issues(none);
  EXPECT_THAT(ErrorAt(none, "Bundle.entry[1].resource.identifier")->diagnostics, HasSubstr("stable id"));
}

TEST(ObservationMappingTest, ValuesFlagsAndRanges) {
  auto obs = [](const std::string& fields) {
    std::vector<Record> o = OfKind(Post("", Transaction(Entry("Observation", absl::StrCat(
                                                     R"("id":"o","status":"final","code":{"coding":[{"system":"urn:local","code":"L1"},
        {"system":"http://loinc.org","code":"718-7","display":"Hemoglobin"}],"text":"血红蛋白"},
        "subject":{"reference":"urn:uuid:p"},)",
                                                     fields)))),
                                   "observation");
    return o.empty() ? Record() : o[0];
  };
  Record q = obs(R"("valueQuantity":{"value":98,"code":"g/L"},"interpretation":[{"coding":[{"code":"LL"}]}],
                    "referenceRange":[{"text":"男 130-175 g/L"}],"issued":"2026-03-01T09:00:00+08:00")");
  EXPECT_EQ(q.code(), "718-7");  // LOINC preferred
  EXPECT_EQ(q.system(), "LOINC");
  EXPECT_EQ(q.display(), "Hemoglobin");
  EXPECT_DOUBLE_EQ(q.value().number_value(), 98);
  EXPECT_EQ(q.unit(), "g/L");
  EXPECT_EQ(q.abnormal_flag(), "L");
  EXPECT_EQ(q.reference_range(), "男 130-175 g/L");
  EXPECT_EQ(q.event_time(), "2026-03-01T09:00:00+08:00");
  EXPECT_EQ(obs(R"("valueString":"阴性")").value().string_value(), "阴性");
  EXPECT_EQ(obs(R"("valueCodeableConcept":{"text":"阳性"})").value().string_value(), "阳性");
  EXPECT_DOUBLE_EQ(obs(R"("valueInteger":3)").value().number_value(), 3);
  EXPECT_EQ(obs(R"("valueBoolean":true)").value().string_value(), "true");
  EXPECT_EQ(obs(R"("valueQuantity":{"value":5,"comparator":"<"})").value().string_value(), "<5");
  EXPECT_EQ(obs(R"("valueRange":{"low":{"value":1},"high":{"value":2,"unit":"mg"}})").value().string_value(),
            "1-2 mg");
  EXPECT_EQ(obs(R"("interpretation":[{"coding":[{"code":"HH"}]}])").abnormal_flag(), "H");
  EXPECT_EQ(obs(R"("interpretation":[{"coding":[{"code":"N"}]}])").abnormal_flag(), "N");
  EXPECT_EQ(obs(R"("interpretation":[{"coding":[{"code":"AA"}]}])").abnormal_flag(), "A");
  EXPECT_EQ(obs(R"("referenceRange":[{"high":{"value":5.2}}])").reference_range(), "<=5.2");
  EXPECT_EQ(obs(R"("effectivePeriod":{"start":"2026-03-01T07:00:00+08:00"})").event_time(),
            "2026-03-01T07:00:00+08:00");
  MappedRequest odd = Post("", Transaction(Entry("Observation", R"("id":"o","status":"final","code":{"text":"x"},
      "subject":{"reference":"urn:uuid:p"},"interpretation":[{"coding":[{"code":"POS"}]}])")));
  EXPECT_THAT(Issues(odd), HasSubstr("[abnormal_flag.code]"));  // kept, with a warning
}

TEST(ObservationMappingTest, BloodPressureComponentsFromTheTwCoreDocument) {
  auto doc = ParseJson(Testdata("twcore-bundle-document-patient-encounter-observation.json"));
  ASSERT_TRUE(doc.ok());
  std::string obs;
  for (const Json& e : doc->GetArray("entry")) {
    if (e.Find("resource")->GetString("id") == "obs-bloodPressure-example") obs = WriteJson(*e.Find("resource"));
  }
  ASSERT_FALSE(obs.empty());
  MappedRequest m = Post("Observation", obs, Options("TW-HOSP"));
  std::vector<Record> r = Records(m);
  ASSERT_EQ(r.size(), 2u);  // the panel has no value of its own: one record per component
  EXPECT_EQ(r[0].observation_id(), "obs-bloodPressure-example-8480-6");
  EXPECT_EQ(r[0].code(), "8480-6");
  EXPECT_DOUBLE_EQ(r[0].value().number_value(), 110);
  EXPECT_EQ(r[0].unit(), "mmHg");
  EXPECT_EQ(r[1].observation_id(), "obs-bloodPressure-example-8462-4");
  EXPECT_DOUBLE_EQ(r[1].value().number_value(), 56);
  EXPECT_EQ(r[1].record_id(), "pat-example");
  EXPECT_EQ(r[1].event_time(), "2022-07-31T00:00:00+08:00");
}

TEST(MedicationMappingTest, DrugsDosesAndDays) {
  auto rx = [](const std::string& fields, const std::string& extra_entries = "") {
    MappedRequest m = Post("", Transaction(absl::StrCat(Entry("MedicationRequest", absl::StrCat(
                                                              R"("id":"rx","status":"active","intent":"order",
        "subject":{"reference":"urn:uuid:p"},"authoredOn":"2026-03-01T09:00:00+08:00",)",
                                                              fields)),
                                                        extra_entries)));
    std::vector<Record> r = OfKind(m, "medication");
    return r.empty() ? Record() : r[0];
  };
  Record r = rx(R"("medicationCodeableConcept":{"coding":[{"code":"86900123","display":"二甲双胍片"}]},
      "dosageInstruction":[{"timing":{"code":{"text":"tid"}},"route":{"coding":[{"code":"PO","display":"口服"}]},
        "doseAndRate":[{"doseQuantity":{"value":0.5,"unit":"g"}}]}],
      "dispenseRequest":{"expectedSupplyDuration":{"value":2,"code":"wk"}})");
  EXPECT_EQ(r.drug_code(), "86900123");
  EXPECT_EQ(r.drug_name(), "二甲双胍片");
  EXPECT_EQ(r.dose(), "0.5 g");
  EXPECT_EQ(r.route(), "口服");
  EXPECT_EQ(r.frequency(), "tid");
  EXPECT_EQ(r.days(), 14);
  EXPECT_EQ(r.event_time(), "2026-03-01T09:00:00+08:00");
  EXPECT_EQ(rx(R"("medicationReference":{"reference":"urn:uuid:m"})",
               absl::StrCat(",", Entry("Medication", R"("code":{"coding":[{"code":"A10BA02"}],"text":"二甲双胍"})",
                                       "urn:uuid:m")))
                .drug_name(),
            "二甲双胍");
  EXPECT_EQ(rx(R"("contained":[{"resourceType":"Medication","id":"m","code":{"text":"阿司匹林"}}],
                  "medicationReference":{"reference":"#m"})")
                .drug_name(),
            "阿司匹林");
  EXPECT_EQ(rx(R"("medicationReference":{"reference":"Medication/x","display":"布洛芬"})").drug_name(), "布洛芬");
  EXPECT_EQ(rx(R"("medicationCodeableConcept":{"text":"x"},"dosageInstruction":[{"timing":{"repeat":
      {"frequency":1,"period":1,"periodUnit":"d"}}}])")
                .frequency(),
            "qd");
  EXPECT_EQ(rx(R"("medicationCodeableConcept":{"text":"x"},"dosageInstruction":[{"timing":{"repeat":
      {"frequency":1,"period":8,"periodUnit":"h"}}}])")
                .frequency(),
            "1/8h");
  MappedRequest months = Post("", Transaction(Entry("MedicationRequest", R"("id":"rx","status":"active",
      "intent":"order","subject":{"reference":"urn:uuid:p"},"medicationCodeableConcept":{"text":"x"},
      "dispenseRequest":{"expectedSupplyDuration":{"value":1,"code":"mo"}})")));
  EXPECT_THAT(Issues(months), HasSubstr("warning value Bundle.entry[1].resource.dispenseRequest.expectedSupplyDuration"));
}

// --- Bundles

TEST(BundleMappingTest, ATransactionWithAnInvalidEntryListsEveryProblem) {
  MappedRequest m = Post("", Transaction(absl::StrCat(
                                 Entry("Observation", R"("id":"o","status":"final","code":{"text":"x"},
        "subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-03-01 08:30")"),
                                 ",", Entry("Practitioner", R"("name":[{"text":"李医生"}])"))));
  EXPECT_EQ(m.kind, RequestKind::kTransaction);
  EXPECT_FALSE(m.ok());
  EXPECT_TRUE(m.entries[0].ok());
  EXPECT_NE(ErrorAt(m, "Bundle.entry[1].resource.effective.ofType(dateTime)"), nullptr) << Issues(m);
  ASSERT_NE(ErrorAt(m, "Bundle.entry[2].resource"), nullptr) << Issues(m);
  EXPECT_EQ(ErrorAt(m, "Bundle.entry[2].resource")->type, IssueType::kNotSupported);
}

TEST(BundleMappingTest, ABatchAnswersPerEntry) {
  MappedRequest m = Post("", Testdata("bundle-batch-zh-mixed.json"));
  ASSERT_EQ(m.kind, RequestKind::kBatch);
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_TRUE(m.entries[0].ok()) << DescribeIssues(m.entries[0].issues);
  EXPECT_EQ(m.entries[0].id, "450321-CS-011|CS7");
  EXPECT_EQ(m.entries[0].records[0].name(), "李桂英");
  EXPECT_FALSE(m.entries[1].ok());
  EXPECT_THAT(DescribeIssues(m.entries[1].issues), HasSubstr("effective.ofType(dateTime) \"2026-03-01 08:30\""));
  EXPECT_TRUE(m.entries[2].ok()) << DescribeIssues(m.entries[2].issues);
  EXPECT_EQ(m.entries[2].records[0].diagnoses(0).code(), "J06.9");
}

TEST(BundleMappingTest, RequestLevelProblems) {
  EXPECT_EQ(Post("", R"({"resourceType":"Bundle","type":"collection"})").issues.at(0).type,
            IssueType::kNotSupported);
  EXPECT_EQ(Post("", R"({"resourceType":"Bundle"})").issues.at(0).type, IssueType::kRequired);
  EXPECT_THAT(Post("", Patient("")).issues.at(0).diagnostics, HasSubstr("POST it to [base]/Patient"));
  EXPECT_THAT(Post("Patient", R"({"resourceType":"Observation"})").issues.at(0).diagnostics,
              HasSubstr("the body is a Observation but was sent to [base]/Patient"));
  EXPECT_EQ(Post("Patient", "not json").issues.at(0).severity, Severity::kFatal);
  EXPECT_EQ(Post("Patient", "[1]").issues.at(0).type, IssueType::kStructure);
  EXPECT_THAT(Post("", R"({"resourceType":"Bundle","type":"batch"})").issues.at(0).diagnostics,
              HasSubstr("no entries"));
  MappedRequest no_request = Post("", R"({"resourceType":"Bundle","type":"batch","entry":[{"resource":)" +
                                          Patient("") + "}]}");
  EXPECT_NE(ErrorAt(no_request, "Bundle.entry[0].request"), nullptr) << Issues(no_request);
}

TEST(BundleMappingTest, ReferencesByRelativeAndAbsoluteUrls) {
  const std::string body = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"http://clinic.example/fhir/Patient/77","resource":{"resourceType":"Patient","id":"77",
     "managingOrganization":{"identifier":{"value":"F"}}},"request":{"method":"PUT","url":"Patient/77"}},
    {"resource":{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},
     "subject":{"reference":"Patient/77"}},"request":{"method":"POST","url":"Observation"}},
    {"resource":{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},
     "subject":{"reference":"http://clinic.example/fhir/Patient/77/_history/3"}},
     "request":{"method":"POST","url":"http://clinic.example/fhir/Observation"}}]})";
  std::vector<Record> r = Records(Post("", body));
  ASSERT_EQ(r.size(), 3u);
  for (const Record& rec : r) {
    EXPECT_EQ(rec.facility_id(), "F");
    EXPECT_EQ(rec.record_id(), "77");
  }
}

// Every public sample gets a definite answer; the mapping never crashes on
// them. What each gets, and why:
TEST(BundleMappingTest, PublicSamplesGetDefiniteAnswers) {
  struct Case {
    const char* file;
    bool ok;
    const char* expression;  // an error expected there ("" when ok)
    const char* text;
  };
  const Case cases[] = {
      {"patient-example.json", false, "Patient.meta.lastUpdated", "not a valid FHIR instant"},
      {"patient-example-f001-pieter.json", true, "", ""},
      {"invalid-patient-unknown-elements.json", false, "Patient.name1", "did you mean \"name\"?"},
      {"invalid-patient-missing-resourcetype.json", false, "resourceType", "an empty resourceType"},
      {"encounter-f002-for-patient-f001.json", true, "", ""},
      {"observation-f001-glucose-for-patient-f001.json", false, "Observation.interpretation", "must be a JSON array"},
      {"twcore-patient-pat-example.json", true, "", ""},
      {"twcore-patient-pat-child-example.json", true, "", ""},
      {"twcore-patient-pat-residentNumber-example.json", true, "", ""},
      {"bundle-transaction-spec.json", false, "Bundle.entry[8].request.method", "GET"},
      {"bundle-transaction-patient-encounter-observation.json", false, "Bundle.entry[2].resource", "CareTeam"},
      {"invalid-bundle-transaction-duplicate-fullurl.json", false, "Bundle.entry[1].fullUrl", "also the fullUrl"},
      {"twcore-bundle-transaction-patient.json", false, "Bundle.entry[0].request.url", "\"pat-example\""},
      {"twcore-bundle-document-patient-encounter-observation.json", false, "Bundle.type", "\"document\""},
      {"twcore-bundle-message-patient-observation.json", false, "Bundle.type", "\"message\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string body = Testdata(c.file);
    auto parsed = ParseJson(body);
    ASSERT_TRUE(parsed.ok());
    const std::string type = parsed->GetString("resourceType");
    MappedRequest m = Post(type == "Bundle" ? "" : type.empty() ? "Patient" : type, body, Options("DEFAULT-F"));
    EXPECT_EQ(m.ok(), c.ok) << Issues(m);
    if (!c.ok) {
      const Issue* i = ErrorAt(m, c.expression);
      ASSERT_NE(i, nullptr) << Issues(m);
      EXPECT_THAT(i->diagnostics, HasSubstr(c.text));
    } else {
      EXPECT_FALSE(m.OrderedRecords().empty());
    }
  }
}

TEST(BundleMappingTest, TwCoreDocumentResourcesMapOneByOne) {
  auto doc = ParseJson(Testdata("twcore-bundle-document-patient-encounter-observation.json"));
  ASSERT_TRUE(doc.ok());
  int mapped = 0;
  for (const Json& e : doc->GetArray("entry")) {
    const Json& r = *e.Find("resource");
    const std::string& type = r.GetString("resourceType");
    if (type != "Patient" && type != "Encounter" && type != "Observation" && type != "MedicationRequest") continue;
    SCOPED_TRACE(type);
    MappedRequest m = Post(type, WriteJson(r), Options("TW-HOSP"));
    EXPECT_TRUE(m.ok()) << Issues(m);
    ++mapped;
    if (type == "MedicationRequest") {
      Record rx = m.OrderedRecords().at(0);
      EXPECT_EQ(rx.drug_name(), "阿立批挫");
      EXPECT_EQ(rx.encounter_id(), "enc-example");
      EXPECT_EQ(rx.frequency(), "三餐飯後");
    }
    if (type == "Encounter") {
      Record enc = m.OrderedRecords().at(0);
      EXPECT_EQ(enc.department(), "腎臟內科");
      EXPECT_EQ(enc.encounter_type(), "inpatient");  // PRENC
      EXPECT_EQ(enc.encounter_id(), "E22081702");
    }
  }
  EXPECT_EQ(mapped, 5);
}

// --- $match

TEST(MatchMappingTest, ParametersToDemographics) {
  MatchQuery q = MapMatchParameters(Testdata("parameters-match-zh-wangxiaoming.json"), Options());
  ASSERT_TRUE(q.ok()) << DescribeIssues(q.issues);
  EXPECT_EQ(q.demographics.name(), "王小明");
  EXPECT_EQ(q.demographics.id_number(), "450321198503021232");
  EXPECT_EQ(q.demographics.id_type(), "01");
  EXPECT_EQ(q.demographics.sex(), "1");
  EXPECT_EQ(q.demographics.birth_date(), "1985-03-02");
  EXPECT_EQ(q.count, 5);
  EXPECT_FALSE(q.only_certain);
  // The Patient alone is accepted too; no facility or record number needed.
  MatchQuery bare = MapMatchParameters(R"({"resourceType":"Patient","name":[{"text":"李桂英"}]})", Options());
  ASSERT_TRUE(bare.ok()) << DescribeIssues(bare.issues);
  EXPECT_EQ(bare.demographics.name(), "李桂英");
  EXPECT_EQ(bare.count, 10);
}

TEST(MatchMappingTest, Errors) {
  auto first = [](const std::string& body) {
    MatchQuery q = MapMatchParameters(body, Options());
    EXPECT_FALSE(q.ok());
    return q.issues.empty() ? std::string() : q.issues[0].diagnostics;
  };
  EXPECT_THAT(first(R"({"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":3}]})"),
              HasSubstr("needs a \"resource\" parameter"));
  EXPECT_THAT(first(R"({"resourceType":"Parameters","parameter":[{"name":"limit","valueInteger":3}]})"),
              HasSubstr("not a parameter of Patient/$match"));
  EXPECT_THAT(first(R"({"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":0}]})"),
              HasSubstr("at least 1"));
  EXPECT_THAT(first(R"({"resourceType":"Patient","gender":"male"})"), HasSubstr("nothing to match on"));
  EXPECT_THAT(first(R"({"resourceType":"Observation"})"), HasSubstr("takes a Parameters resource"));
  EXPECT_THAT(first(R"({"resourceType":"Patient","name1":[{"text":"x"}]})"), HasSubstr("name1"));
  EXPECT_THAT(first("{"), HasSubstr("not valid JSON"));
}

TEST(MatchMappingTest, SourceIdentities) {
  std::string f, r;
  EXPECT_EQ(SourceIdentity("450321-WS-003", "MZ1"), "450321-WS-003|MZ1");
  EXPECT_TRUE(SplitSourceIdentity("450321-WS-003|MZ1", &f, &r));
  EXPECT_EQ(f, "450321-WS-003");
  EXPECT_EQ(r, "MZ1");
  EXPECT_FALSE(SplitSourceIdentity("450321-P0000001", &f, &r));
  EXPECT_FALSE(SplitSourceIdentity("|x", &f, &r));
  EXPECT_FALSE(SplitSourceIdentity("x|", &f, &r));
}

}  // namespace
}  // namespace hisbridge::fhir
