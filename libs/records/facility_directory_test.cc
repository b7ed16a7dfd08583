#include "libs/records/facility_directory.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::records {
namespace {

TEST(FacilityDirectory, LoadsCsvAndFallsBack) {
  auto dir = FacilityDirectory::FromCsv(
      "facility_id,name,region,tier\n"
      "450321-WS-003,白沙镇卫生院,450321,township_health_centre\n"
      "YS-CH,阳朔县人民医院,450321,county_hospital\n",
      "999999");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->size(), 2u);
  EXPECT_EQ(dir->RegionOf("YS-CH"), "450321");
  EXPECT_EQ(dir->TierOf("YS-CH"), FacilityTier::kCountyHospital);
  EXPECT_EQ(dir->NameOf("450321-WS-003"), "白沙镇卫生院");
  // Unknown facility: county code prefix, then the default region.
  EXPECT_EQ(dir->RegionOf("450322-CS-001"), "450322");
  EXPECT_EQ(dir->RegionOf("4503221-X"), "999999");
  EXPECT_EQ(dir->RegionOf("CLINIC-7"), "999999");
  EXPECT_EQ(dir->TierOf("CLINIC-7"), FacilityTier::kOther);
  EXPECT_EQ(dir->NameOf("CLINIC-7"), "CLINIC-7");
}

TEST(FacilityDirectory, ErrorsNameTheLine) {
  auto bad = FacilityDirectory::FromCsv("facility_id,name,region,tier\nA,B,450321,hospital\n", "0");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("line 2"));
  EXPECT_FALSE(FacilityDirectory::FromCsv("A,B\n", "0").ok());
}

}  // namespace
}  // namespace hisbridge::records
