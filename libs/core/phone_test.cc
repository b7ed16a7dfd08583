#include "libs/core/phone.h"

#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

PhoneNumber One(absl::string_view raw) {
  const PhoneResult r = ParsePhones(raw);
  EXPECT_EQ(r.numbers.size(), 1u) << raw;
  return r.numbers.empty() ? PhoneNumber() : r.numbers[0];
}

TEST(ParsePhones, Mobiles) {
  for (const char* raw :
       {"13907731234", "+86 139-0773-1234", "+8613907731234", "0086 13907731234", "8613907731234",
        "139 0773 1234", "１３９０７７３１２３４", "(+86)139.0773.1234", "tel:13907731234"}) {
    const PhoneNumber n = One(raw);
    EXPECT_EQ(n.kind, PhoneKind::kMobile) << raw;
    EXPECT_EQ(n.digits, "13907731234") << raw;
    EXPECT_TRUE(n.usable()) << raw;
  }
  EXPECT_TRUE(One("+86 139-0773-1234").had_country_code);
  EXPECT_TRUE(One("14012345678").unallocated_prefix);
  EXPECT_TRUE(One("15412345678").unallocated_prefix);
  EXPECT_FALSE(One("19912345678").unallocated_prefix);
  EXPECT_EQ(One("12812345678").kind, PhoneKind::kInvalid);
}

TEST(ParsePhones, Landlines) {
  for (const char* raw :
       {"0773-8881234", "(0773)8881234", "0773 888 1234", "（0773）8881234", "0773-888-1234",
        "+86 773 8881234", "0773-8881234-801", "0773-8881234转801"}) {
    const PhoneNumber n = One(raw);
    EXPECT_EQ(n.kind, PhoneKind::kLandline) << raw;
    EXPECT_EQ(n.digits, "07738881234") << raw;
    EXPECT_EQ(n.area_code_length, 4) << raw;
    EXPECT_EQ(n.local_number(), "8881234") << raw;
  }
  EXPECT_TRUE(One("0773-8881234-801").had_extension);
  EXPECT_TRUE(One("0773-8881234转801").had_extension);
  const PhoneNumber beijing = One("010-62751234");
  EXPECT_EQ(beijing.kind, PhoneKind::kLandline);
  EXPECT_EQ(beijing.area_code_length, 3);
  EXPECT_EQ(One("020-87654321").area_code_length, 3);
  const PhoneNumber local = One("8881234");
  EXPECT_EQ(local.kind, PhoneKind::kLocal);
  EXPECT_TRUE(local.usable());
}

TEST(ParsePhones, FlagsJunk) {
  for (const char* raw : {"00000000", "11111111111", "12345678901", "13800000000", "13888888888",
                          "0773-0000000", "0773-1234567", "87654321", "1234567"}) {
    const PhoneResult r = ParsePhones(raw);
    ASSERT_EQ(r.numbers.size(), 1u) << raw;
    EXPECT_TRUE(r.numbers[0].junk || !r.numbers[0].usable()) << raw;
    EXPECT_FALSE(r.numbers[0].usable()) << raw;
  }
  EXPECT_FALSE(One("13907731234").junk);
  EXPECT_TRUE(One("13812345678").junk);  // the textbook example number
  for (const char* raw : {"无", "不详", "none"}) {
    const PhoneResult r = ParsePhones(raw);
    EXPECT_TRUE(r.numbers.empty()) << raw;
    EXPECT_TRUE(r.placeholder) << raw;
  }
  EXPECT_EQ(One("120").kind, PhoneKind::kService);
  EXPECT_EQ(One("95588").kind, PhoneKind::kService);
  EXPECT_EQ(One("4008123123").kind, PhoneKind::kService);
  EXPECT_EQ(One("56").kind, PhoneKind::kInvalid);
}

TEST(ParsePhones, SeveralNumbers) {
  const PhoneResult r = ParsePhones("13907731234/0773-8881234");
  ASSERT_EQ(r.numbers.size(), 2u);
  EXPECT_EQ(r.numbers[0].kind, PhoneKind::kMobile);
  EXPECT_EQ(r.numbers[1].kind, PhoneKind::kLandline);
  EXPECT_EQ(ParsePhones("13907731234，13977216543").numbers.size(), 2u);
  EXPECT_EQ(ParsePhones("13907731234、13977216543").numbers.size(), 2u);
  const PhoneResult glued = ParsePhones("1390773123413977216543");
  ASSERT_EQ(glued.numbers.size(), 2u);
  EXPECT_EQ(glued.numbers[1].digits, "13977216543");
  EXPECT_LE(ParsePhones("1/2/3/4/5/6/7/8/9").numbers.size(), kMaxPhones);
}

TEST(ParsePhones, ForeignAndInvalidInput) {
  const PhoneNumber hk = One("+852 9123 4567");
  EXPECT_EQ(hk.kind, PhoneKind::kForeign);
  EXPECT_EQ(hk.digits, "+85291234567");
  EXPECT_TRUE(ParsePhones("\xff\xfe").invalid_utf8);
  EXPECT_TRUE(ParsePhones("").numbers.empty());
  EXPECT_FALSE(ParsePhones("").placeholder);
  const PhoneResult huge = ParsePhones(std::string(100000, '1'));
  ASSERT_EQ(huge.numbers.size(), 1u);
  EXPECT_FALSE(huge.numbers[0].usable());
}

TEST(ComparePhones, GradesRelations) {
  const PhoneNumber m = One("13907731234");
  EXPECT_EQ(ComparePhones(m, One("+86 139 0773 1234")), PhoneMatch::kExact);
  EXPECT_EQ(ComparePhones(m, One("13907731235")), PhoneMatch::kOneDigitDifferent);
  EXPECT_EQ(ComparePhones(m, One("13907731243")), PhoneMatch::kOneDigitDifferent);
  EXPECT_EQ(ComparePhones(m, One("13977216543")), PhoneMatch::kDifferent);
  EXPECT_EQ(ComparePhones(m, One("13800000000")), PhoneMatch::kMissing);
  EXPECT_EQ(ComparePhones(One("0773-8881234"), One("8881234")), PhoneMatch::kSameLocalNumber);
  const PhoneResult a = ParsePhones("13907731234/0773-8881234");
  const PhoneResult b = ParsePhones("(0773)8881234");
  EXPECT_EQ(CompareAnyPhones(a.numbers, b.numbers), PhoneMatch::kExact);
  EXPECT_EQ(CompareAnyPhones(a.numbers, {}), PhoneMatch::kMissing);
  EXPECT_EQ(PhoneMatchName(PhoneMatch::kOneDigitDifferent), "one_digit_different");
}

}  // namespace
}  // namespace hisbridge::core
