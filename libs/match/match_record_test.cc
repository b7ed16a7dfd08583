#include "libs/match/match_record.h"

#include <algorithm>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::match {
namespace {

using ::testing::Contains;
using ::testing::Not;

MatchRecord Prep(const hisbridge::v1::Record& r) {
  PrepareOptions options;
  options.today = absl::CivilDay(2026, 3, 1);
  options.county_hint = "450321";
  MatchRecord m;
  PrepareMatchRecord(r, options, &m);
  return m;
}

hisbridge::v1::Record Example() {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_name("王小明");
  r.set_sex("1");
  r.set_birth_date("1985-03-02");
  r.set_id_number("450321198503021232");
  r.set_phone("139-0773-1234");
  r.set_address("广西壮族自治区桂林市阳朔县白沙镇遇龙村5组");
  return r;
}

TEST(MatchRecord, TokensAreStableAcrossVersions) {
  // Tokens are persisted in the blocking index: changing the function
  // would silently orphan every stored token. Pinned values: the first 8
  // bytes of HMAC-SHA256 under the development token key (no key file
  // installed in this test); the issue-9 change from the unkeyed FNV-1a
  // hash changed them once, which `hisbridge rebuild` handles.
  EXPECT_EQ(Token(""), 0xb4064871cfc14825ULL);
  EXPECT_EQ(Token("id:450321198503021232"), 0x62c984738da190ffULL);
  EXPECT_EQ(Token("id:450321198503021232"), Token("id:450321198503021232"));
  EXPECT_NE(Token("id:450321198503021232"), Token("id:450321198503021233"));
}

TEST(MatchRecord, PreparesEveryField) {
  const MatchRecord m = Prep(Example());
  EXPECT_EQ(m.resident_id, "450321198503021232");
  EXPECT_TRUE(m.id_valid);
  EXPECT_EQ(m.name.han, "王小明");
  EXPECT_EQ(m.name.pinyin, "wangxiaoming");
  EXPECT_FALSE(m.placeholder_name);
  EXPECT_EQ(m.birth_date.date, absl::CivilDay(1985, 3, 2));
  EXPECT_EQ(m.id_birth_date.date, absl::CivilDay(1985, 3, 2));
  EXPECT_EQ(m.id_sex, core::Sex::kMale);
  ASSERT_EQ(m.phones.size(), 1u);
  EXPECT_EQ(m.phones[0].digits, "13907731234");
  EXPECT_FALSE(m.village_key.empty());
  EXPECT_TRUE(std::is_sorted(m.blocking_tokens.begin(), m.blocking_tokens.end()));
}

TEST(MatchRecord, BlockingKeysCoverEveryKindOfEvidence) {
  const MatchRecord m = Prep(Example());
  const std::vector<std::string> keys = BlockingKeys(m);
  EXPECT_THAT(keys, Contains("id:450321198503021232"));
  EXPECT_THAT(keys, Contains("ds:19850302:1"));
  EXPECT_THAT(keys, Contains("nb:wangxiaoming:1985"));
  EXPECT_THAT(keys, Contains("sg:wang:xm:19850302"));
  EXPECT_THAT(keys, Contains("ph:13907731234"));
  EXPECT_THAT(keys, Contains(::testing::StartsWith("vd:")));
  EXPECT_THAT(keys, Contains(::testing::StartsWith("nv:wangxiaoming:")));
  for (const std::string& k : keys) EXPECT_THAT(m.blocking_tokens, Contains(Token(k))) << k;
}

TEST(MatchRecord, PlaceholderNamesMakeNoNameKeys) {
  hisbridge::v1::Record r = Example();
  r.set_name("王之子");
  r.clear_id_number();
  const MatchRecord m = Prep(r);
  EXPECT_TRUE(m.placeholder_name);
  for (const std::string& k : BlockingKeys(m)) {
    EXPECT_FALSE(k.rfind("nb:", 0) == 0 || k.rfind("nv:", 0) == 0 || k.rfind("sg:", 0) == 0) << k;
  }
}

TEST(MatchRecord, LunarDateAndIdDateBothBlock) {
  hisbridge::v1::Record r = Example();
  r.set_birth_date("1985-01-20");  // the lunar date, as many elderly patients give it
  const std::vector<std::string> keys = BlockingKeys(Prep(r));
  EXPECT_THAT(keys, Contains("ds:19850120:1"));
  EXPECT_THAT(keys, Contains("ds:19850302:1"));
}

TEST(MatchRecord, InvalidIdStillComparableAndJunkPhoneDropped) {
  hisbridge::v1::Record r = Example();
  r.set_id_number("450321198503021231");  // bad check digit
  r.set_phone("00000000000");
  const MatchRecord m = Prep(r);
  EXPECT_TRUE(m.resident_id.empty());
  EXPECT_EQ(m.id_digits18.view(), "450321198503021231");
  EXPECT_TRUE(m.phones.empty());
  EXPECT_THAT(BlockingKeys(m), Not(Contains(::testing::StartsWith("ph:"))));
}

TEST(MatchRecord, IdOnlyPreparation) {
  PrepareOptions options;
  options.today = absl::CivilDay(2026, 3, 1);
  options.id_only = true;
  MatchRecord m;
  PrepareMatchRecord(Example(), options, &m);
  EXPECT_EQ(m.resident_id, "450321198503021232");
  EXPECT_TRUE(m.name.empty());
  EXPECT_EQ(m.blocking_tokens.size(), 1u);
}

TEST(IdDigits, HoldsUpToEighteenCharacters) {
  IdDigits d;
  EXPECT_TRUE(d.empty());
  d = "45032119850302123X";
  EXPECT_EQ(d.view(), "45032119850302123X");
  EXPECT_EQ(d.size(), 18u);
  IdDigits same;
  same = std::string("45032119850302123X");
  EXPECT_TRUE(d == same);
  same = "450321198503021231";
  EXPECT_TRUE(d != same);
  d = "4503211985030212310";  // 19 characters: not an id
  EXPECT_TRUE(d.empty());
  d = "450321850302123";
  EXPECT_EQ(d.view(), "450321850302123");
  d.clear();
  EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace hisbridge::match
