#include "libs/core/address.h"

#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

TEST(ParseAddress, FullAddressWithTableCodes) {
  const NormalizedAddress a = ParseAddress("广西壮族自治区桂林市阳朔县白沙镇遇龙村委会5组");
  EXPECT_EQ(a.province, "广西壮族自治区");
  EXPECT_EQ(a.prefecture, "桂林市");
  EXPECT_EQ(a.county, "阳朔县");
  EXPECT_EQ(a.township, "白沙镇");
  EXPECT_EQ(a.village, "遇龙村委会");
  EXPECT_EQ(a.group, "5组");
  EXPECT_EQ(a.county_code, "450321");
  EXPECT_EQ(a.township_code, "450321101");
  EXPECT_EQ(a.village_code, "450321101202");
  EXPECT_EQ(a.township_key, "450321101");
  EXPECT_EQ(a.village_key, "450321101202");
  EXPECT_EQ(a.issues, 0u);
}

TEST(ParseAddress, ShortNamesSpacesAndNumerals) {
  const NormalizedAddress a = ParseAddress("广西 阳朔县 白沙镇 遇龙村 五组");
  EXPECT_EQ(a.province, "广西");
  EXPECT_EQ(a.prefecture, "");
  EXPECT_EQ(a.county_code, "450321");
  EXPECT_EQ(a.village, "遇龙村");
  EXPECT_EQ(a.village_code, "450321101202");
  EXPECT_EQ(a.group, "5组");
  const NormalizedAddress b = ParseAddress("桂林阳朔白沙镇遇龙村第十二组");
  EXPECT_EQ(b.prefecture, "桂林");
  EXPECT_EQ(b.county, "阳朔");
  EXPECT_EQ(b.township_code, "450321101");
  EXPECT_EQ(b.group, "12组");
}

TEST(ParseAddress, TownshipFirstNeedsTheCountyHint) {
  const NormalizedAddress with_hint = ParseAddress("白沙镇遇龙村5组", "", AddressContext{"450321"});
  EXPECT_EQ(with_hint.county, "");
  EXPECT_EQ(with_hint.county_code, "450321");
  EXPECT_EQ(with_hint.township_code, "450321101");
  EXPECT_EQ(with_hint.village_key, "450321101202");

  const NormalizedAddress without = ParseAddress("白沙镇遇龙村5组");
  EXPECT_EQ(without.township, "白沙镇");
  EXPECT_EQ(without.village, "遇龙村");
  EXPECT_EQ(without.township_code, "");
  EXPECT_EQ(without.township_key, ":白沙");
  EXPECT_EQ(without.village_key, ":白沙/遇龙");

  // 阳朔镇 is a township of 阳朔县, not the county followed by 镇.
  const NormalizedAddress town = ParseAddress("阳朔镇西街12号", "", AddressContext{"450321"});
  EXPECT_EQ(town.county, "");
  EXPECT_EQ(town.township, "阳朔镇");
  EXPECT_EQ(town.township_code, "450321100");
  EXPECT_EQ(town.detail, "西街12号");
}

TEST(ParseAddress, AddressCodeIsAuthoritative) {
  const NormalizedAddress a = ParseAddress("白沙镇遇龙村5组", "450321101202");
  EXPECT_EQ(a.address_code, "450321101202");
  EXPECT_EQ(a.township_key, "450321101");
  EXPECT_EQ(a.village_key, "450321101202");
  EXPECT_FALSE(a.has(AddressIssue::kCodeTextMismatch));

  const NormalizedAddress mismatch = ParseAddress("阳朔县兴坪镇大河背村", "450321101202");
  EXPECT_TRUE(mismatch.has(AddressIssue::kCodeTextMismatch));
  EXPECT_EQ(mismatch.township_key, "450321101");

  EXPECT_EQ(ParseAddress("", " ４５０３２１１０１２０２ ").address_code, "450321101202");
  EXPECT_TRUE(ParseAddress("", "45032110120").has(AddressIssue::kAddressCodeMalformed));
  EXPECT_TRUE(ParseAddress("", "4503211012021").has(AddressIssue::kAddressCodeMalformed));
  EXPECT_TRUE(ParseAddress("", "\xff").has(AddressIssue::kAddressCodeMalformed));
  EXPECT_TRUE(ParseAddress("", "4503211012ab").has(AddressIssue::kAddressCodeMalformed));
  EXPECT_TRUE(ParseAddress("", "990321101202").has(AddressIssue::kAddressCodeUnknown));
  const NormalizedAddress code_only = ParseAddress("", "450321101202");
  EXPECT_EQ(code_only.village_key, "450321101202");
  EXPECT_FALSE(code_only.empty());
}

TEST(ParseAddress, CitiesAndAmbiguousCounties) {
  const NormalizedAddress bj = ParseAddress("北京市朝阳区建国路88号");
  EXPECT_EQ(bj.province, "北京市");
  EXPECT_EQ(bj.county_code, "110105");
  EXPECT_EQ(bj.detail, "建国路88号");
  const NormalizedAddress ambiguous = ParseAddress("朝阳区建国路88号");
  EXPECT_TRUE(ambiguous.has(AddressIssue::kAmbiguousCounty));
  EXPECT_EQ(ambiguous.county, "朝阳区");
  EXPECT_EQ(ambiguous.county_code, "");
  EXPECT_EQ(ambiguous.county_key, "n:朝阳");
  const NormalizedAddress hinted = ParseAddress("朝阳区建国路88号", "", AddressContext{"110105"});
  EXPECT_EQ(hinted.county_code, "110105");
  const NormalizedAddress changchun = ParseAddress("吉林省长春市朝阳区");
  EXPECT_EQ(changchun.county_code, "220104");
}

TEST(ParseAddress, SuffixesWhereTheTableHasNothing) {
  const NormalizedAddress a = ParseAddress("云梦省青山县白石乡红旗村3队");
  EXPECT_EQ(a.province, "云梦省");
  EXPECT_EQ(a.county, "青山县");
  EXPECT_EQ(a.township, "白石乡");
  EXPECT_EQ(a.village, "红旗村");
  EXPECT_EQ(a.group, "3组");
  EXPECT_EQ(a.county_key, "n:青山");
  EXPECT_EQ(a.township_key, "n:青山:白石");
  EXPECT_EQ(a.village_key, "n:青山:白石/红旗");
  const NormalizedAddress tun = ParseAddress("阳朔县白沙镇遇龙村委会大村屯");
  EXPECT_EQ(tun.village_code, "450321101202");
  EXPECT_EQ(tun.group, "大村屯");
  // Suffix characters inside street names do not make higher levels.
  const NormalizedAddress street = ParseAddress("白沙镇柳州路3号");
  EXPECT_EQ(street.prefecture, "");
  EXPECT_EQ(street.township, "白沙镇");
  EXPECT_EQ(street.detail, "柳州路3号");
  const NormalizedAddress community = ParseAddress("阳朔县阳朔镇西街社区");
  EXPECT_EQ(community.township_code, "450321100");
  EXPECT_EQ(community.village, "西街社区");
}

TEST(ParseAddress, PlaceholdersInvalidAndOverlong) {
  for (const char* raw : {"不详", "无", " 未知 ", "-"}) {
    const NormalizedAddress a = ParseAddress(raw);
    EXPECT_TRUE(a.has(AddressIssue::kPlaceholder)) << raw;
    EXPECT_TRUE(a.empty()) << raw;
  }
  EXPECT_TRUE(ParseAddress("白沙镇\xff").has(AddressIssue::kInvalidUtf8));
  std::string huge;
  for (int i = 0; i < 2000; ++i) huge += "村";
  const NormalizedAddress a = ParseAddress(huge);
  EXPECT_TRUE(a.has(AddressIssue::kTooLong));
  EXPECT_LE(a.text.size(), kMaxAddressBytes);
  EXPECT_TRUE(ParseAddress("").empty());
}

TEST(CompareAddresses, GradesByLevel) {
  const NormalizedAddress coded = ParseAddress("", "450321101202");
  EXPECT_EQ(CompareAddresses(coded, ParseAddress("白沙镇遇龙村5组", "", AddressContext{"450321"})),
            AddressMatch::kSameVillage);
  EXPECT_EQ(CompareAddresses(coded, ParseAddress("阳朔县白沙镇旧县村")),
            AddressMatch::kSameTownship);
  EXPECT_EQ(CompareAddresses(coded, ParseAddress("阳朔县兴坪镇")), AddressMatch::kSameCounty);
  EXPECT_EQ(CompareAddresses(coded, ParseAddress("灵川县")), AddressMatch::kDifferent);
  EXPECT_EQ(CompareAddresses(ParseAddress("白沙镇遇龙村"), ParseAddress("白沙镇遇龙村委会")),
            AddressMatch::kSameVillage);
  EXPECT_EQ(CompareAddresses(coded, ParseAddress("")), AddressMatch::kMissing);
  EXPECT_EQ(AddressMatchName(AddressMatch::kSameTownship), "same_township");
}

TEST(Address, CommunityIsAVillageNotADistrict) {
  const NormalizedAddress a = ParseAddress("集才社区5号", "", AddressContext{"450324"});
  EXPECT_EQ(a.county, "");
  EXPECT_EQ(a.village_name, "集才");
  EXPECT_EQ(ParseAddress("全州镇集才社区", "", AddressContext{"450324"}).village_name, "集才");
}

TEST(Address, VillageAloneResolvesWhenUniqueInTheCounty) {
  // 遇龙村 exists in one township of 阳朔县 only.
  const NormalizedAddress a = ParseAddress("遇龙村5组", "", AddressContext{"450321"});
  EXPECT_EQ(a.county_code, "450321");
  EXPECT_EQ(a.township_code, "450321101");
  EXPECT_EQ(a.village_name, "遇龙");
  EXPECT_FALSE(a.village_code.empty());
}

}  // namespace
}  // namespace hisbridge::core
