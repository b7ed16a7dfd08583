#include "libs/match/comparison.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/core/resident_id.h"

namespace hisbridge::match {
namespace {

struct P {
  std::string name = {};
  std::string sex = {};
  std::string birth_date = {};
  std::string id = {};
  std::string id_type = {};
  std::string phone = {};
  std::string address = {};
  std::string address_code = {};
  std::string health_card = {};
  std::string insurance = {};
};

MatchRecord Prep(const P& p) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_name(p.name);
  r.set_sex(p.sex);
  r.set_birth_date(p.birth_date);
  r.set_id_number(p.id);
  r.set_id_type(p.id_type);
  r.set_phone(p.phone);
  r.set_address(p.address);
  r.set_address_code(p.address_code);
  r.set_health_card_id(p.health_card);
  r.set_insurance_id(p.insurance);
  PrepareOptions options;
  options.today = absl::CivilDay(2026, 3, 1);
  options.county_hint = "450321";
  MatchRecord m;
  PrepareMatchRecord(r, options, &m);
  return m;
}

std::string Id(int year, int month, int day, int seq) {
  return *core::MakeResidentId("450321", absl::CivilDay(year, month, day), seq);
}

std::string Level(Field f, const P& a, const P& b) {
  const ComparisonVector v = Compare(Prep(a), Prep(b));
  return std::string(LevelNames(f)[v[f]]);
}

TEST(Comparison, EveryFieldHasItsLevelsAndMissingLast) {
  for (size_t f = 0; f < kFieldCount; ++f) {
    const auto names = LevelNames(static_cast<Field>(f));
    ASSERT_GE(names.size(), 3u);
    EXPECT_EQ(names.back(), "missing");
    EXPECT_EQ(FindLevel(static_cast<Field>(f), names[1]), 1);
    EXPECT_EQ(FindLevel(static_cast<Field>(f), "no_such_level"), -1);
  }
  EXPECT_EQ(FieldName(Field::kBirthDate), "birth_date");
}

TEST(Comparison, ResidentIdLevels) {
  const std::string id = Id(1985, 3, 2, 123);
  std::string one_off = id;
  one_off[10] = one_off[10] == '9' ? '8' : static_cast<char>(one_off[10] + 1);
  std::string swapped = id;
  std::swap(swapped[14], swapped[15]);
  ASSERT_NE(swapped, id);
  std::string bad_check = id;
  bad_check[17] = bad_check[17] == '0' ? '1' : '0';
  const Field f = Field::kResidentId;
  EXPECT_EQ(Level(f, {.id = id}, {.id = id}), "exact");
  EXPECT_EQ(Level(f, {.id = bad_check}, {.id = bad_check}), "same_invalid");
  EXPECT_EQ(Level(f, {.id = id}, {.id = one_off}), "typo");
  EXPECT_EQ(Level(f, {.id = id}, {.id = swapped}), "typo");
  EXPECT_EQ(Level(f, {.id = id}, {.id = Id(1985, 3, 2, 125)}), "different_both_valid");
  EXPECT_EQ(Level(f, {.id = id}, {.id = Id(1990, 7, 9, 456).substr(0, 17) + "0"}), "different");
  EXPECT_EQ(Level(f, {.id = id}, {}), "missing");
  // A 15-digit id is the same person's upgraded 18-digit id.
  EXPECT_EQ(Level(f, {.id = id}, {.id = *core::DowngradeResidentId18(id)}), "exact");
  // A passport number is never a resident id, whatever its digits.
  EXPECT_EQ(Level(f, {.id = id}, {.id = id, .id_type = "03"}), "missing");
}

TEST(Comparison, OtherIdentifierLevels) {
  const Field f = Field::kOtherId;
  EXPECT_EQ(Level(f, {.health_card = "H12345678"}, {.health_card = "h1234 5678"}), "exact");
  EXPECT_EQ(Level(f, {.health_card = "H12345678"}, {.health_card = "H87654321"}), "different");
  EXPECT_EQ(Level(f, {.health_card = "H12345678"}, {.insurance = "H12345678"}), "missing");
  EXPECT_EQ(Level(f, {}, {}), "missing");
  bool per_person = true;
  CompareOtherIds(Prep({.insurance = "450321123456"}), Prep({.insurance = "450321123456"}), &per_person);
  EXPECT_FALSE(per_person) << "an insurance number may be a household's";
  CompareOtherIds(Prep({.health_card = "H12345678"}), Prep({.health_card = "H12345678"}), &per_person);
  EXPECT_TRUE(per_person);
}

TEST(Comparison, NameLevels) {
  const Field f = Field::kName;
  EXPECT_EQ(Level(f, {.name = "王小明"}, {.name = "王 小明"}), "exact");
  EXPECT_EQ(Level(f, {.name = "王曉明"}, {.name = "王晓明"}), "variant");
  EXPECT_EQ(Level(f, {.name = "Wang Xiaoming"}, {.name = "王小明"}), "latin_equal");
  EXPECT_EQ(Level(f, {.name = "王晓明"}, {.name = "王小明"}), "homophone");
  EXPECT_EQ(Level(f, {.name = "王小敏"}, {.name = "王小明"}), "dialect");  // min / ming
  EXPECT_EQ(Level(f, {.name = "张立"}, {.name = "张尼"}), "dialect");      // li / ni
  EXPECT_EQ(Level(f, {.name = "王己"}, {.name = "王已"}), "visual");
  EXPECT_EQ(Level(f, {.name = "JOHN SMITH"}, {.name = "SMITH JOHN"}), "reordered");
  EXPECT_EQ(Level(f, {.name = "王浩然"}, {.name = "王浩宇"}), "one_char_different");
  EXPECT_EQ(Level(f, {.name = "欧阳娜娜"}, {.name = "欧阳娜"}), "pinyin_close");
  EXPECT_EQ(Level(f, {.name = "王小明"}, {.name = "李建国"}), "different");
  EXPECT_EQ(Level(f, {.name = "王浩"}, {.name = "王涛"}), "pinyin_close") << "two-character names: no one_char level";
  EXPECT_EQ(Level(f, {.name = "王浩"}, {.name = "王明"}), "different");
  EXPECT_EQ(Level(f, {.name = "王小明"}, {}), "missing");
}

TEST(Comparison, DialectEquivalence) {
  const auto syl = [](const char* s) { return *core::FindSyllable(s); };
  EXPECT_TRUE(DialectEquivalent(syl("zhang"), syl("zan")));
  EXPECT_TRUE(DialectEquivalent(syl("shi"), syl("si")));
  EXPECT_TRUE(DialectEquivalent(syl("lan"), syl("nan")));
  EXPECT_TRUE(DialectEquivalent(syl("hu"), syl("fu")));
  EXPECT_TRUE(DialectEquivalent(syl("ling"), syl("lin")));
  EXPECT_FALSE(DialectEquivalent(syl("wang"), syl("li")));
  EXPECT_FALSE(DialectEquivalent(syl("hao"), syl("bao")));
  EXPECT_FALSE(DialectEquivalent(syl("he"), syl("fo")));  // h/f fold only before u
}

TEST(Comparison, BirthDateLevels) {
  const Field f = Field::kBirthDate;
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {.birth_date = "19850302"}), "exact");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {.birth_date = "1985-02-03"}), "swapped");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {.birth_date = "1985-03-12"}), "typo");
  EXPECT_EQ(Level(f, {.birth_date = "1989-03-02"}, {.birth_date = "1990-03-02"}), "year_off");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {.birth_date = "1985-04-20"}), "within_60_days");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03"}, {.birth_date = "1985-03-02"}), "same_month");
  EXPECT_EQ(Level(f, {.birth_date = "1985"}, {.birth_date = "1985-03-02"}), "same_year");
  // 1 January is what many HIS write when only the year is known.
  EXPECT_EQ(Level(f, {.birth_date = "1985-01-01"}, {.birth_date = "1985-06-13"}), "same_year");
  EXPECT_EQ(Level(f, {.birth_date = "1985-01-01"}, {.birth_date = "1986-06-13"}), "different");
  EXPECT_EQ(Level(f, {.birth_date = "1985-01-01"}, {.birth_date = "1985-01-01"}), "same_year");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {.birth_date = "1962-11-20"}), "different");
  EXPECT_EQ(Level(f, {.birth_date = "1985-03-02"}, {}), "missing");
  // The resident id carries the birth date: a record with only an id
  // meets one with only a stated date, and an id's solar date meets a
  // lunar date stated elsewhere.
  EXPECT_EQ(Level(f, {.id = Id(1985, 3, 2, 123)}, {.birth_date = "1985-03-02"}), "exact");
  EXPECT_EQ(Level(f, {.birth_date = "1985-01-20", .id = Id(1985, 3, 2, 123)}, {.birth_date = "1985-03-02"}),
            "exact");
}

TEST(Comparison, SexLevels) {
  const Field f = Field::kSex;
  EXPECT_EQ(Level(f, {.sex = "1"}, {.sex = "男"}), "same");
  EXPECT_EQ(Level(f, {.sex = "1"}, {.sex = "2"}), "different");
  EXPECT_EQ(Level(f, {.sex = "1"}, {.sex = "0"}), "missing");
  // Without a stated sex, the id's sequence parity says it (123: odd, male).
  EXPECT_EQ(Level(f, {.id = Id(1985, 3, 2, 123)}, {.sex = "1"}), "same");
}

TEST(Comparison, PhoneLevels) {
  const Field f = Field::kPhone;
  EXPECT_EQ(Level(f, {.phone = "139-0773-1234"}, {.phone = "+86 139 0773 1234"}), "exact");
  EXPECT_EQ(Level(f, {.phone = "0773-8881234"}, {.phone = "8881234"}), "same_local_number");
  EXPECT_EQ(Level(f, {.phone = "13907731234"}, {.phone = "13907731235"}), "one_digit_off");
  EXPECT_EQ(Level(f, {.phone = "13907731234"}, {.phone = "13977312345"}), "different");
  EXPECT_EQ(Level(f, {.phone = "13907731234"}, {.phone = "00000000000"}), "missing") << "junk is no phone";
  EXPECT_EQ(Level(f, {.phone = "13907731234"}, {}), "missing");
}

TEST(Comparison, AddressLevels) {
  const Field f = Field::kAddress;
  const std::string full = "广西壮族自治区桂林市阳朔县白沙镇遇龙村5组";
  EXPECT_EQ(Level(f, {.address = full}, {.address = "阳朔县白沙镇遇龙村委会三组"}), "village");
  EXPECT_EQ(Level(f, {.address_code = "450321101201"}, {.address_code = "450321101201"}), "village");
  EXPECT_EQ(Level(f, {.address_code = "450321101201"}, {.address_code = "450321101202"}), "township");
  EXPECT_EQ(Level(f, {.address_code = "450321101201"}, {.address_code = "450321102203"}), "county");
  EXPECT_EQ(Level(f, {.address_code = "450321101201"}, {.address_code = "450102001001"}), "different");
  EXPECT_EQ(Level(f, {.address = full}, {}), "missing");
}

TEST(Comparison, DisplayValuesMaskIdentifiers) {
  const MatchRecord r = Prep({.name = "王小明", .birth_date = "1985-03-02", .id = "450321198503021232",
                              .phone = "13907731234"});
  EXPECT_EQ(DisplayValue(r, Field::kResidentId), "4503**********1232");
  EXPECT_EQ(DisplayValue(r, Field::kPhone), "139****1234");
  EXPECT_EQ(DisplayValue(r, Field::kName), "王小明");
  EXPECT_EQ(DisplayValue(r, Field::kBirthDate), "1985-03-02");
  EXPECT_EQ(MaskIdentifier("1234"), "****");
}

}  // namespace
}  // namespace hisbridge::match
