#include "libs/core/region.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

TEST(Region, ProvinceTableIsComplete) {
  int provinces = 0;
  for (const Region& r : AllRegions()) {
    if (r.level() == RegionLevel::kProvince) {
      ++provinces;
      EXPECT_TRUE(IsProvinceCode(r.code)) << r.code;
    }
  }
  EXPECT_EQ(provinces, 34);
  EXPECT_FALSE(IsProvinceCode("99"));
  EXPECT_FALSE(IsProvinceCode("83"));  // a residence-permit prefix, not a province
  EXPECT_EQ(FindRegion("45")->name, "广西壮族自治区");
  EXPECT_EQ(FindRegion("450000")->name, "广西壮族自治区");
  EXPECT_EQ(FindRegion("71")->name, "台湾省");
  EXPECT_EQ(FindRegion("82")->short_name, "澳门");
}

TEST(Region, GuangxiCountiesAreNamed) {
  const Region* yangshuo = FindRegion("450321");
  ASSERT_NE(yangshuo, nullptr);
  EXPECT_EQ(yangshuo->name, "阳朔县");
  EXPECT_EQ(yangshuo->short_name, "阳朔");
  EXPECT_EQ(yangshuo->level(), RegionLevel::kCounty);
  EXPECT_EQ(ParentOf(*yangshuo)->name, "桂林市");
  EXPECT_EQ(FindRegion("450300")->name, "桂林市");
  EXPECT_EQ(FullRegionName(*yangshuo), "广西壮族自治区桂林市阳朔县");
  EXPECT_EQ(FindRegion("450332")->short_name, "恭城");  // 恭城瑶族自治县
  EXPECT_EQ(FindRegion("450328")->short_name, "龙胜");  // 龙胜各族自治县
  const std::vector<const Region*> guilin = CountiesUnder("4503");
  EXPECT_GE(guilin.size(), 17u);
  EXPECT_THAT(guilin, ::testing::Contains(yangshuo));
  EXPECT_GE(CountiesUnder("45").size(), 100u);
  EXPECT_GE(CountiesUnder("").size(), 2800u);
  EXPECT_TRUE(CountiesUnder("99").empty());
}

TEST(Region, TownshipsAndGuangxiVillages) {
  const Region* baisha = FindRegion("450321101");
  ASSERT_NE(baisha, nullptr);
  EXPECT_EQ(baisha->name, "白沙镇");
  EXPECT_EQ(baisha->level(), RegionLevel::kTownship);
  const Region* yulong = FindRegion("450321101202");
  ASSERT_NE(yulong, nullptr);
  EXPECT_EQ(yulong->short_name, "遇龙");
  EXPECT_EQ(FullRegionName(*yulong), "广西壮族自治区桂林市阳朔县白沙镇遇龙村委会");
  std::set<absl::string_view> children;
  for (const Region* r : ChildrenOf(*FindRegion("450321"))) {
    EXPECT_EQ(r->level(), RegionLevel::kTownship);
    children.insert(r->name);
  }
  EXPECT_TRUE(children.count("白沙镇"));
  EXPECT_TRUE(children.count("兴坪镇"));
  EXPECT_EQ(FullRegionName(*FindRegion("110105")), "北京市朝阳区");  // 市辖区 omitted
  EXPECT_EQ(FindRegion("4503211"), nullptr);
  EXPECT_EQ(FindRegion(""), nullptr);
}

TEST(Region, TableIsSortedAndNested) {
  const absl::Span<const Region> all = AllRegions();
  for (size_t i = 1; i < all.size(); ++i) {
    ASSERT_LT(all[i - 1].code, all[i].code);
    if (all[i].level() != RegionLevel::kProvince) {
      ASSERT_NE(ParentOf(all[i]), nullptr) << all[i].code;
    }
  }
}

}  // namespace
}  // namespace hisbridge::core
