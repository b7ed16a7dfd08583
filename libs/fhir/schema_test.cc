#include "libs/fhir/schema.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::fhir {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<Issue> Check(const std::string& json, const std::string& path = "") {
  auto parsed = ParseJson(json);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
  std::vector<Issue> issues;
  if (parsed.ok()) ValidateResource(*parsed, path.empty() ? parsed->GetString("resourceType") : path, &issues);
  return issues;
}

// The single issue `json` gets (fails the test when there is not exactly one).
Issue One(const std::string& json) {
  std::vector<Issue> issues = Check(json);
  EXPECT_EQ(issues.size(), 1u) << DescribeIssues(issues);
  return issues.empty() ? Issue() : issues.front();
}

TEST(SchemaTest, AValidPatientHasNoIssues) {
  EXPECT_THAT(Check(R"({"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2026-03-01T08:30:00+08:00"},
    "identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"450321198503021232"}],
    "name":[{"family":"王","given":["小明"]}],"gender":"male","birthDate":"1985-03-02",
    "deceasedBoolean":false,"multipleBirthInteger":2,
    "telecom":[{"system":"phone","value":"13812345678","rank":1}],
    "address":[{"line":["遇龙村5组"],"_line":[{"extension":[{"url":"x","valueString":"y"}]}]}],
    "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                "valueDateTime":"1985-03-02T14:35:45+08:00"}]},
    "contact":[{"name":{"text":"王大明"},"gender":"male"}],
    "link":[{"other":{"reference":"Patient/2"},"type":"replaces"}],
    "managingOrganization":{"identifier":{"value":"450321-WS-003"}}})"),
              IsEmpty());
}

TEST(SchemaTest, UnknownElementIsAnErrorWithASuggestion) {
  Issue i = One(R"({"resourceType":"Patient","name1":[{"family":"Chalmers"}]})");
  EXPECT_EQ(i.type, IssueType::kStructure);
  EXPECT_EQ(i.expression, "Patient.name1");
  EXPECT_THAT(i.diagnostics, HasSubstr("\"name1\" is not an element of Patient"));
  EXPECT_THAT(i.diagnostics, HasSubstr("did you mean \"name\"?"));
  // Inside a datatype too, with its path.
  Issue j = One(R"({"resourceType":"Patient","name":[{"use1":"official"}]})");
  EXPECT_EQ(j.expression, "Patient.name[0].use1");
  EXPECT_THAT(j.diagnostics, HasSubstr("not an element of HumanName"));
  EXPECT_THAT(j.diagnostics, HasSubstr("did you mean \"use\"?"));
}

TEST(SchemaTest, WrongJsonTypes) {
  Issue number = One(R"({"resourceType":"Patient","identifier":[{"value":12345}]})");
  EXPECT_EQ(number.type, IssueType::kValue);
  EXPECT_EQ(number.expression, "Patient.identifier[0].value");
  EXPECT_THAT(number.diagnostics, HasSubstr("must be a JSON string (FHIR string), not the number 12345"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","active":"true"})").diagnostics, HasSubstr("JSON boolean"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","multipleBirthInteger":2.0})").diagnostics,
              HasSubstr("JSON integer"));
  EXPECT_THAT(One(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                      "valueQuantity":{"value":"6.3"}})")
                  .diagnostics,
              HasSubstr("JSON number"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","gender":{"code":"male"}})").diagnostics,
              HasSubstr("not an object"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","managingOrganization":"Organization/1"})").diagnostics,
              HasSubstr("must be a JSON object (a Reference)"));
}

TEST(SchemaTest, CardinalityArraysAndSingles) {
  Issue not_array = One(R"({"resourceType":"Patient","name":{"text":"张三"}})");
  EXPECT_EQ(not_array.type, IssueType::kStructure);
  EXPECT_EQ(not_array.expression, "Patient.name");
  EXPECT_THAT(not_array.diagnostics, HasSubstr("must be a JSON array"));
  Issue array = One(R"({"resourceType":"Patient","gender":["male"]})");
  EXPECT_THAT(array.diagnostics, HasSubstr("single value"));
  // R4 Observation.interpretation repeats (it did not in STU3).
  Issue stu3 = One(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                       "interpretation":{"text":"H"}})");
  EXPECT_EQ(stu3.expression, "Observation.interpretation");
}

TEST(SchemaTest, EmptyValuesAreNotFhirJson) {
  EXPECT_THAT(One(R"({"resourceType":"Patient","gender":null})").diagnostics, HasSubstr("is null"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","birthDate":""})").diagnostics, HasSubstr("empty string"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","name":[]})").diagnostics, HasSubstr("empty array"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","name":[{}]})").diagnostics, HasSubstr("empty object"));
  EXPECT_THAT(One(R"({"resourceType":"Patient","name":[{"given":[null]}]})").diagnostics, HasSubstr("is null"));
  // null is allowed where "_given" carries that repetition's extensions.
  EXPECT_THAT(Check(R"({"resourceType":"Patient","name":[{"given":["a",null],
                       "_given":[null,{"extension":[{"url":"x","valueString":"y"}]}]}]})"),
              IsEmpty());
}

TEST(SchemaTest, PrimitiveFormats) {
  auto diag = [](const std::string& json) { return One(json).diagnostics; };
  EXPECT_THAT(diag(R"({"resourceType":"Patient","birthDate":"1985-02-30"})"),
              HasSubstr("\"1985-02-30\" is not a valid FHIR date"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","birthDate":"1985/03/02"})"), HasSubstr("FHIR date"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","id":"a b"})"), HasSubstr("FHIR id"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","meta":{"lastUpdated":"2026-03-01"}})"), HasSubstr("FHIR instant"));
  EXPECT_THAT(diag(R"({"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
                       "period":{"start":"2026-03-01 08:30"}})"),
              HasSubstr("FHIR dateTime"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","identifier":[{"system":"urn:oid 1"}]})"), HasSubstr("FHIR uri"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","telecom":[{"rank":0}]})"), HasSubstr("positiveInt"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","gender":" male"})"), HasSubstr("FHIR code"));
  EXPECT_THAT(diag(R"({"resourceType":"Patient","name":[{"text":"a\u0001b"}]})"), HasSubstr("control characters"));
}

TEST(SchemaTest, RequiredBindings) {
  Issue i = One(R"({"resourceType":"Patient","gender":"男"})");
  EXPECT_EQ(i.type, IssueType::kCodeInvalid);
  EXPECT_EQ(i.expression, "Patient.gender");
  EXPECT_THAT(i.diagnostics, HasSubstr("one of male, female, other, unknown"));
  EXPECT_EQ(One(R"({"resourceType":"Bundle","type":"bag"})").expression, "Bundle.type");
}

TEST(SchemaTest, RequiredElements) {
  std::vector<Issue> issues = Check(R"({"resourceType":"Observation","valueString":"x"})");
  ASSERT_EQ(issues.size(), 2u) << DescribeIssues(issues);
  EXPECT_EQ(issues[0].type, IssueType::kRequired);
  EXPECT_EQ(issues[0].expression, "Observation.status");
  EXPECT_EQ(issues[1].expression, "Observation.code");
  EXPECT_THAT(issues[1].diagnostics, HasSubstr("required (1..1)"));
  Issue choice = One(R"({"resourceType":"MedicationRequest","status":"active","intent":"order",
                         "subject":{"reference":"Patient/1"}})");
  EXPECT_EQ(choice.expression, "MedicationRequest.medication");
  // A primitive given only by its extensions is present.
  EXPECT_THAT(Check(R"({"resourceType":"Observation","_status":{"extension":[{"url":"x","valueCode":"y"}]},
                       "code":{"text":"x"}})"),
              IsEmpty());
}

TEST(SchemaTest, ChoiceTypes) {
  Issue both = One(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                       "valueString":"a","valueQuantity":{"value":1}})");
  EXPECT_EQ(both.type, IssueType::kInvariant);
  EXPECT_EQ(both.expression, "Observation.value");
  Issue wrong = One(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"valueFoo":1})");
  EXPECT_EQ(wrong.expression, "Observation.valueFoo");
  Issue path = One(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                       "valueQuantity":{"value":1,"unit1":"mmHg"}})");
  EXPECT_EQ(path.expression, "Observation.value.ofType(Quantity).unit1");
}

TEST(SchemaTest, DuplicateMember) {
  Issue i = One(R"({"resourceType":"Patient","gender":"male","gender":"female"})");
  EXPECT_EQ(i.type, IssueType::kStructure);
  EXPECT_THAT(i.diagnostics, HasSubstr("given twice"));
}

TEST(SchemaTest, ExtensionsAndModifiers) {
  EXPECT_EQ(One(R"({"resourceType":"Patient","extension":[{"url":"x"}]})").type, IssueType::kInvariant);
  EXPECT_EQ(One(R"({"resourceType":"Patient","extension":[{"valueString":"x"}]})").type, IssueType::kRequired);
  EXPECT_THAT(Check(R"({"resourceType":"Patient","extension":[{"url":"x","extension":[{"url":"a","valueAge":
                       {"value":3}}]}]})"),
              IsEmpty());
  Issue modifier = One(R"({"resourceType":"Patient","modifierExtension":[{"url":"urn:x","valueBoolean":true}]})");
  EXPECT_EQ(modifier.type, IssueType::kNotSupported);
  EXPECT_EQ(modifier.expression, "Patient.modifierExtension[0]");
  EXPECT_EQ(One(R"({"resourceType":"Patient","implicitRules":"urn:rules"})").type, IssueType::kNotSupported);
  EXPECT_EQ(One(R"({"resourceType":"Patient","_gender":"male"})").type, IssueType::kStructure);
  EXPECT_EQ(One(R"({"resourceType":"Patient","_name":{"id":"x"}})").type, IssueType::kStructure);
}

TEST(SchemaTest, BundlesAndContainedResources) {
  std::vector<Issue> issues = Check(R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","birthDate":"1985-13-01"},
       "request":{"method":"POST","url":"Patient"}},
      {"resource":{"resourceType":"Practitioner","anything":1},"request":{"method":"PUT"}}]})");
  ASSERT_EQ(issues.size(), 2u) << DescribeIssues(issues);
  EXPECT_EQ(issues[0].expression, "Bundle.entry[0].resource.birthDate");
  EXPECT_EQ(issues[1].expression, "Bundle.entry[1].request.url");  // a Practitioner is not checked
  Issue nested = One(R"({"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o",
                          "contained":[{"resourceType":"Organization","id":"p"}]}]})");
  EXPECT_EQ(nested.type, IssueType::kInvariant);
  EXPECT_EQ(One(R"({"resourceType":"Bundle","type":"batch","text":{"status":"generated","div":"x"}})").expression,
            "Bundle.text");  // Bundle is a Resource, not a DomainResource
}

TEST(SchemaTest, KnownTypes) {
  EXPECT_TRUE(IsKnownResourceType("Patient"));
  EXPECT_TRUE(IsKnownResourceType("Parameters"));
  EXPECT_FALSE(IsKnownResourceType("Practitioner"));
  EXPECT_FALSE(IsKnownResourceType("patient"));
}

}  // namespace
}  // namespace hisbridge::fhir
