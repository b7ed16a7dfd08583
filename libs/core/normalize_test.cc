#include "libs/core/normalize.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 3, 1);

NormalizeOptions Options() {
  NormalizeOptions o;
  o.today = kToday;
  o.county_hint = "450321";
  return o;
}

std::vector<std::string> Codes(const NormalizedPatient& p) {
  std::vector<std::string> out;
  for (const Finding& f : p.findings) out.emplace_back(f.code);
  return out;
}

const Finding* FindingOf(const NormalizedPatient& p, absl::string_view code) {
  for (const Finding& f : p.findings) {
    if (f.code == code) return &f;
  }
  return nullptr;
}

PatientFields GoodRecord() {
  PatientFields r;
  r.name = "王小明";
  r.sex = "1";
  r.birth_date = "1985-03-02";
  r.id_type = "01";
  r.id_number = *MakeResidentId("450321", absl::CivilDay(1985, 3, 2), 123);
  r.insurance_id = "45032100001234";
  r.phone = "13907731234";
  r.address = "广西壮族自治区桂林市阳朔县白沙镇遇龙村委会5组";
  r.address_code = "450321101202";
  r.ethnicity = "08";
  return r;
}

TEST(Normalize, CleanRecordHasNoFindings) {
  const NormalizedPatient p = Normalize(GoodRecord(), Options());
  EXPECT_TRUE(p.findings.empty()) << ::testing::PrintToString(Codes(p));
  EXPECT_EQ(p.name.han, "王小明");
  EXPECT_EQ(p.sex, Sex::kMale);
  EXPECT_EQ(p.birth_date.date, absl::CivilDay(1985, 3, 2));
  EXPECT_TRUE(p.resident_id.ok());
  EXPECT_EQ(p.id_type, IdType::kResidentIdCard);
  ASSERT_NE(p.FindIdentifier(IdType::kMedicalInsurance), nullptr);
  EXPECT_EQ(p.FindIdentifier(IdType::kMedicalInsurance)->value, "45032100001234");
  ASSERT_EQ(p.phones.size(), 1u);
  EXPECT_EQ(p.phones[0].digits, "13907731234");
  EXPECT_EQ(p.address.village_key, "450321101202");
  EXPECT_EQ(p.ethnicity, "08");
}

TEST(Normalize, MessyRecordIsNormalisedWithFindings) {
  PatientFields r;
  r.name = "王曉明(新)*";
  r.sex = "男";
  r.birth_date = "1985年3月2日";
  r.id_number = " 450321850302123 ";  // 15 digits, no id_type
  r.phone = "+86 139-0773-1234";
  r.address = "白沙镇遇龙村五组";
  r.ethnicity = "壮族";
  const NormalizedPatient p = Normalize(r, Options());
  EXPECT_EQ(p.name.han, "王晓明");
  EXPECT_EQ(p.sex, Sex::kMale);
  EXPECT_TRUE(p.birth_date.ok());
  EXPECT_TRUE(p.resident_id.ok());
  EXPECT_TRUE(p.resident_id.upgraded_from_15);
  EXPECT_EQ(p.phones[0].digits, "13907731234");
  EXPECT_EQ(p.address.village_key, "450321101202");
  EXPECT_EQ(p.ethnicity, "08");
  for (const char* code :
       {"name.traditional", "name.note_removed", "name.junk_removed", "sex.non_standard",
        "birth_date.non_standard_format", "id_number.upgraded_from_15", "ethnicity.non_standard"}) {
    EXPECT_TRUE(p.HasFinding(code)) << code << " in " << ::testing::PrintToString(Codes(p));
  }
  EXPECT_FALSE(p.HasFinding("birth_date.mismatch_resident_id"));
}

TEST(Normalize, ReportsEachKindOfBadValue) {
  PatientFields r;
  r.name = "无名氏";
  r.sex = "3";
  r.birth_date = "2030-01-01";
  r.id_number = "110105194912310021";
  r.phone = "12345678901";
  r.address = "不详";
  r.address_code = "4503";
  r.ethnicity = "99";
  const NormalizedPatient p = Normalize(r, Options());
  for (const char* code :
       {"name.placeholder", "sex.invalid", "birth_date.future", "id_number.bad_check_digit",
        "phone.junk", "address.placeholder", "address_code.malformed", "ethnicity.invalid"}) {
    EXPECT_TRUE(p.HasFinding(code)) << code << " in " << ::testing::PrintToString(Codes(p));
  }
  const Finding* check = FindingOf(p, "id_number.bad_check_digit");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->field, "id_number");
  EXPECT_EQ(check->severity, Severity::kError);
  EXPECT_THAT(check->message, HasSubstr("require X"));
  EXPECT_THAT(FindingOf(p, "name.placeholder")->message, HasSubstr("unknown_person"));
  EXPECT_EQ(p.resident_id.status, ResidentIdStatus::kBadCheckDigit);
  EXPECT_TRUE(p.phones[0].junk);
}

TEST(Normalize, CrossChecksIdAgainstBirthDateAndSex) {
  PatientFields r = GoodRecord();
  r.birth_date = "1985-03-20";
  r.sex = "2";
  const NormalizedPatient p = Normalize(r, Options());
  EXPECT_TRUE(p.HasFinding("birth_date.mismatch_resident_id"));
  EXPECT_TRUE(p.HasFinding("sex.mismatch_resident_id"));
  r.birth_date = "1985";
  EXPECT_FALSE(Normalize(r, Options()).HasFinding("birth_date.mismatch_resident_id"));
}

TEST(Normalize, IdentifiersAreKeyedByType) {
  const std::string resident = *MakeResidentId("450321", absl::CivilDay(2015, 6, 1), 222);

  PatientFields passport;
  passport.id_type = "03";
  passport.id_number = resident;  // a resident id typed into the passport field
  const NormalizedPatient p = Normalize(passport, Options());
  EXPECT_EQ(p.resident_id.status, ResidentIdStatus::kEmpty);
  ASSERT_NE(p.FindIdentifier(IdType::kPassport), nullptr);
  EXPECT_TRUE(p.HasFinding("id_number.resident_id_under_other_type"));

  PatientFields household;  // a child registered with the household register
  household.id_type = "02";
  household.id_number = resident;
  const NormalizedPatient h = Normalize(household, Options());
  EXPECT_TRUE(h.resident_id.ok());
  EXPECT_EQ(h.id_type, IdType::kHouseholdRegister);
  EXPECT_TRUE(h.HasFinding("id_number.resident_id_via_other_type"));

  PatientFields permit;
  permit.id_type = "06";
  permit.id_number = "h1234567";
  const NormalizedPatient m = Normalize(permit, Options());
  EXPECT_TRUE(m.HasFinding("id_number.malformed"));
  EXPECT_EQ(m.FindIdentifier(IdType::kHkMacaoTravelPermit)->value, "H1234567");

  PatientFields hk;  // a Hong Kong resident's residence permit number under type 01
  hk.id_number = *MakeResidentId("810000", absl::CivilDay(1990, 5, 6), 12);
  const NormalizedPatient k = Normalize(hk, Options());
  EXPECT_TRUE(k.resident_id.ok());
  EXPECT_TRUE(k.HasFinding("id_number.residence_permit"));
  EXPECT_FALSE(k.HasFinding("id_number.former_region"));

  PatientFields former;  // 440524 潮阳县 became 440513 潮阳区 in 2003
  former.id_number = "440524188001010014";
  EXPECT_TRUE(Normalize(former, Options()).HasFinding("id_number.former_region"));

  PatientFields unknown_type;
  unknown_type.id_type = "身份证";
  unknown_type.id_number = resident;
  const NormalizedPatient u = Normalize(unknown_type, Options());
  EXPECT_TRUE(u.resident_id.ok());
  EXPECT_TRUE(u.HasFinding("id_type.non_standard"));
}

TEST(Normalize, InvalidUtf8AnywhereIsAFindingNotACrash) {
  PatientFields r;
  for (std::string* f : {&r.name, &r.sex, &r.birth_date, &r.id_type, &r.id_number, &r.insurance_id,
                         &r.health_card_id, &r.phone, &r.address, &r.address_code, &r.ethnicity}) {
    *f = "\xff\xfe\xc0\xaf";
  }
  const NormalizedPatient p = Normalize(r, Options());
  for (const char* code : {"name.invalid_utf8", "sex.invalid", "birth_date.bad_format",
                           "id_type.unknown", "id_number.invalid_utf8", "insurance_id.invalid_utf8",
                           "health_card_id.invalid_utf8", "phone.invalid_utf8",
                           "address.invalid_utf8", "address_code.malformed", "ethnicity.invalid"}) {
    EXPECT_TRUE(p.HasFinding(code)) << code << " in " << ::testing::PrintToString(Codes(p));
  }
  for (const Finding& f : p.findings) {
    EXPECT_THAT(f.message, ::testing::Not(HasSubstr("\xff"))) << f.code;
  }
}

TEST(Normalize, EmptyRecordHasNoFindings) {
  const NormalizedPatient p = Normalize(PatientFields(), Options());
  EXPECT_TRUE(p.findings.empty()) << ::testing::PrintToString(Codes(p));
  EXPECT_TRUE(p.name.empty());
  EXPECT_EQ(p.resident_id.status, ResidentIdStatus::kEmpty);
  EXPECT_TRUE(p.phones.empty());
  EXPECT_TRUE(p.address.empty());
}

TEST(Normalize, OverlongFieldsAreBounded) {
  PatientFields r;
  r.name = std::string(1 << 20, 'a');
  r.id_number = std::string(1 << 20, '1');
  r.phone = std::string(1 << 20, '9');
  r.address = std::string(1 << 20, 'x');
  r.birth_date = std::string(1 << 20, '1');
  const NormalizedPatient p = Normalize(r, Options());
  EXPECT_TRUE(p.HasFinding("name.too_long"));
  EXPECT_TRUE(p.HasFinding("id_number.bad_length"));
  EXPECT_TRUE(p.HasFinding("address.too_long"));
  EXPECT_TRUE(p.HasFinding("birth_date.bad_format"));
  for (const Finding& f : p.findings) EXPECT_LT(f.message.size(), 400u) << f.code;
}

TEST(Normalize, ReusingTheOutputGivesTheSameResult) {
  NormalizedPatient reused;
  PatientFields messy;
  messy.name = "阿卜杜拉·买买提";
  messy.phone = "13907731234/0773-8881234";
  messy.id_type = "03";
  messy.id_number = "E12345678";
  Normalize(messy, Options(), &reused);
  Normalize(GoodRecord(), Options(), &reused);
  const NormalizedPatient fresh = Normalize(GoodRecord(), Options());
  EXPECT_EQ(Codes(reused), Codes(fresh));
  EXPECT_EQ(reused.name.han, fresh.name.han);
  EXPECT_EQ(reused.identifiers.size(), fresh.identifiers.size());
  EXPECT_EQ(reused.phones.size(), fresh.phones.size());
  EXPECT_EQ(reused.address.village_key, fresh.address.village_key);
  EXPECT_FALSE(reused.name.segmented);
}

TEST(Normalize, TodayIsAParameter) {
  PatientFields r = GoodRecord();
  r.birth_date = "2026-06-01";
  r.id_number = *MakeResidentId("450321", absl::CivilDay(2026, 6, 1), 124);
  NormalizeOptions before = Options();
  NormalizeOptions after = Options();
  after.today = absl::CivilDay(2026, 7, 1);
  EXPECT_TRUE(Normalize(r, before).HasFinding("birth_date.future"));
  EXPECT_TRUE(Normalize(r, before).HasFinding("id_number.future_date"));
  EXPECT_FALSE(Normalize(r, after).HasFinding("birth_date.future"));
  EXPECT_TRUE(Normalize(r, after).resident_id.ok());
}

}  // namespace
}  // namespace hisbridge::core
