#include "libs/match/id_exact_matcher.h"

#include "gtest/gtest.h"

namespace hisbridge::match {
namespace {

hisbridge::v1::Record Patient(const std::string& id, const std::string& type = "") {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_id_number(id);
  r.set_id_type(type);
  return r;
}

const absl::CivilDay kToday(2026, 3, 1);

TEST(IdExactMatcher, SameValidIdIsCertainDifferentIsForbidden) {
  IdExactMatcher matcher;
  MatchRecord a = matcher.Prepare(Patient("450321198503021232"), kToday);
  MatchRecord same = matcher.Prepare(Patient(" 450321 19850302 1232 "), kToday);
  MatchRecord twin = matcher.Prepare(Patient("450321198503021259"), kToday);
  ASSERT_EQ(a.resident_id, "450321198503021232");
  EXPECT_EQ(a.blocking_keys, std::vector<std::string>{"id:450321198503021232"});
  EXPECT_EQ(same.resident_id, a.resident_id);
  EXPECT_TRUE(matcher.Score(a, same).same_resident_id);
  EXPECT_GE(matcher.Score(a, same).score, matcher.thresholds().upper);
  ASSERT_FALSE(twin.resident_id.empty());
  EXPECT_TRUE(matcher.Score(a, twin).certain_non_match);
  EXPECT_EQ(matcher.Explain(a, same).fields(0).level(), "exact");
}

TEST(IdExactMatcher, InvalidOrForeignIdsNeverMatch) {
  IdExactMatcher matcher;
  MatchRecord bad_check = matcher.Prepare(Patient("450321198503021231"), kToday);
  EXPECT_TRUE(bad_check.resident_id.empty());
  EXPECT_TRUE(bad_check.blocking_keys.empty());
  MatchRecord passport = matcher.Prepare(Patient("450321198503021232", "03"), kToday);
  EXPECT_TRUE(passport.resident_id.empty());
  MatchRecord none = matcher.Prepare(Patient(""), kToday);
  EXPECT_LT(matcher.Score(bad_check, none).score, matcher.thresholds().lower);
  EXPECT_EQ(matcher.Explain(bad_check, none).fields(0).level(), "missing");
}

TEST(IdExactMatcher, LegacyFifteenDigitIdIsUpgraded) {
  IdExactMatcher matcher;
  // 450321 85 03 02 123: born 1985-03-02, upgraded with century 19 and a
  // computed check digit.
  MatchRecord legacy = matcher.Prepare(Patient("450321850302123"), kToday);
  MatchRecord modern = matcher.Prepare(Patient("450321198503021232"), kToday);
  EXPECT_EQ(legacy.resident_id, modern.resident_id);
}

}  // namespace
}  // namespace hisbridge::match
