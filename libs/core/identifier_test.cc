#include "libs/core/identifier.h"

#include "gtest/gtest.h"
#include "libs/core/ethnicity.h"
#include "libs/core/resident_id.h"
#include "libs/core/sex.h"

namespace hisbridge::core {
namespace {

TEST(ParseIdType, CodesNamesAndDefault) {
  EXPECT_EQ(ParseIdType("").type, IdType::kResidentIdCard);
  EXPECT_EQ(ParseIdType("").status, IdTypeStatus::kDefaulted);
  EXPECT_EQ(ParseIdType("01").status, IdTypeStatus::kValid);
  EXPECT_EQ(ParseIdType("03").type, IdType::kPassport);
  EXPECT_EQ(ParseIdType("06").type, IdType::kHkMacaoTravelPermit);
  EXPECT_EQ(ParseIdType("09").type, IdType::kTaiwanResidencePermit);
  EXPECT_EQ(ParseIdType("99").type, IdType::kOther);
  EXPECT_EQ(ParseIdType("3").type, IdType::kPassport);
  EXPECT_EQ(ParseIdType("3").status, IdTypeStatus::kNonStandard);
  EXPECT_EQ(ParseIdType("身份证").type, IdType::kResidentIdCard);
  EXPECT_EQ(ParseIdType("护照").type, IdType::kPassport);
  EXPECT_EQ(ParseIdType("台胞证").type, IdType::kTaiwanTravelPermit);
  EXPECT_EQ(ParseIdType("０３").type, IdType::kPassport);
  EXPECT_EQ(ParseIdType("42").status, IdTypeStatus::kUnknown);
  EXPECT_EQ(ParseIdType("42").type, IdType::kOther);
  EXPECT_EQ(ParseIdType("\xff").status, IdTypeStatus::kUnknown);
  EXPECT_EQ(IdTypeCode(IdType::kTaiwanTravelPermit), "07");
  EXPECT_EQ(IdTypeCode(IdType::kMedicalInsurance), "insurance_id");
}

TEST(NormalizeIdentifier, PerTypeShapes) {
  const Identifier passport = NormalizeIdentifier(IdType::kPassport, " e1234 5678 ");
  EXPECT_EQ(passport.value, "E12345678");
  EXPECT_TRUE(passport.well_formed);
  EXPECT_FALSE(NormalizeIdentifier(IdType::kPassport, "E12").well_formed);
  EXPECT_TRUE(NormalizeIdentifier(IdType::kHkMacaoTravelPermit, "H12345678").well_formed);
  EXPECT_TRUE(NormalizeIdentifier(IdType::kHkMacaoTravelPermit, "m1234567890").well_formed);
  EXPECT_FALSE(NormalizeIdentifier(IdType::kHkMacaoTravelPermit, "X12345678").well_formed);
  EXPECT_TRUE(NormalizeIdentifier(IdType::kTaiwanTravelPermit, "12345678").well_formed);
  const Identifier old_tw = NormalizeIdentifier(IdType::kTaiwanTravelPermit, "1234567890(B)");
  EXPECT_EQ(old_tw.value, "1234567890B");
  EXPECT_TRUE(old_tw.well_formed);
  const std::string hk_permit = *MakeResidentId("810000", absl::CivilDay(1990, 5, 6), 12);
  EXPECT_TRUE(NormalizeIdentifier(IdType::kHkMacaoResidencePermit, hk_permit).well_formed);
  EXPECT_FALSE(NormalizeIdentifier(IdType::kTaiwanResidencePermit, hk_permit).well_formed);
  EXPECT_TRUE(
      NormalizeIdentifier(IdType::kForeignPermanentResident, "USA123456789012").well_formed);
  const Identifier officer = NormalizeIdentifier(IdType::kMilitaryOfficer, "南字第 123456 号");
  EXPECT_EQ(officer.value, "南字第123456号");
  EXPECT_TRUE(officer.well_formed);
  EXPECT_EQ(NormalizeIdentifier(IdType::kMedicalInsurance, "4503-2100-1234").value, "450321001234");
  EXPECT_FALSE(NormalizeIdentifier(IdType::kMedicalInsurance, "12").well_formed);
  EXPECT_TRUE(NormalizeIdentifier(IdType::kPassport, "\xff").value.empty());
  EXPECT_FALSE(NormalizeIdentifier(IdType::kOther, std::string(1000, 'A')).well_formed);
}

TEST(ParseSex, CodesAndCommonSpellings) {
  EXPECT_EQ(ParseSex("1").sex, Sex::kMale);
  EXPECT_EQ(ParseSex("1").status, SexStatus::kValid);
  EXPECT_EQ(ParseSex("2").sex, Sex::kFemale);
  EXPECT_EQ(ParseSex("9").sex, Sex::kUnstated);
  EXPECT_EQ(ParseSex("0").sex, Sex::kUnknown);
  EXPECT_EQ(ParseSex("").status, SexStatus::kEmpty);
  EXPECT_EQ(ParseSex("男").sex, Sex::kMale);
  EXPECT_EQ(ParseSex("男").status, SexStatus::kNonStandard);
  EXPECT_EQ(ParseSex("女性").sex, Sex::kFemale);
  EXPECT_EQ(ParseSex(" F ").sex, Sex::kFemale);
  EXPECT_EQ(ParseSex("Male").sex, Sex::kMale);
  EXPECT_EQ(ParseSex("１").sex, Sex::kMale);
  EXPECT_EQ(ParseSex("2.0").sex, Sex::kFemale);
  EXPECT_EQ(ParseSex("3").status, SexStatus::kInvalid);
  EXPECT_EQ(ParseSex("\xff").status, SexStatus::kInvalid);
  EXPECT_EQ(SexCode(Sex::kFemale), "2");
}

TEST(ParseEthnicity, CodesAndNames) {
  EXPECT_EQ(ParseEthnicity("01").code, "01");
  EXPECT_EQ(ParseEthnicity("08").code, "08");
  EXPECT_EQ(EthnicityName("08"), "壮族");
  EXPECT_EQ(ParseEthnicity("壮族").code, "08");
  EXPECT_EQ(ParseEthnicity("壮").code, "08");
  EXPECT_EQ(ParseEthnicity("瑶族").code, "13");
  EXPECT_EQ(ParseEthnicity("1").code, "01");
  EXPECT_EQ(ParseEthnicity("1").status, EthnicityStatus::kNonStandard);
  EXPECT_EQ(ParseEthnicity("57").status, EthnicityStatus::kInvalid);
  EXPECT_EQ(ParseEthnicity("").status, EthnicityStatus::kEmpty);
  EXPECT_EQ(ParseEthnicity("97").code, "97");
}

}  // namespace
}  // namespace hisbridge::core
