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

MatchRecord Prepared(const IdExactMatcher& matcher, const hisbridge::v1::Record& r) {
  PrepareOptions options;
  options.today = absl::CivilDay(2026, 3, 1);
  MatchRecord m;
  matcher.Prepare(r, options, &m);
  return m;
}

const TermFrequencies kNoFrequencies;

TEST(IdExactMatcher, SameValidIdIsCertainDifferentIsForbidden) {
  IdExactMatcher matcher;
  MatchRecord a = Prepared(matcher, Patient("450321198503021232"));
  MatchRecord same = Prepared(matcher, Patient(" 450321 19850302 1232 "));
  MatchRecord twin = Prepared(matcher, Patient("450321198503021259"));
  ASSERT_EQ(a.resident_id, "450321198503021232");
  EXPECT_EQ(a.blocking_tokens, std::vector<uint64_t>{Token("id:450321198503021232")});
  EXPECT_EQ(same.resident_id, a.resident_id);
  EXPECT_TRUE(matcher.Score(a, same, kNoFrequencies).same_resident_id);
  EXPECT_GE(matcher.Score(a, same, kNoFrequencies).score, matcher.thresholds().upper);
  ASSERT_FALSE(twin.resident_id.empty());
  EXPECT_TRUE(matcher.Score(a, twin, kNoFrequencies).certain_non_match);
  EXPECT_EQ(matcher.Explain(a, same, kNoFrequencies).fields(0).level(), "exact");
  EXPECT_EQ(matcher.Explain(a, same, kNoFrequencies).fields(0).left(), "4503**********1232");
}

TEST(IdExactMatcher, InvalidOrForeignIdsNeverMatch) {
  IdExactMatcher matcher;
  MatchRecord bad_check = Prepared(matcher, Patient("450321198503021231"));
  EXPECT_TRUE(bad_check.resident_id.empty());
  EXPECT_TRUE(bad_check.blocking_tokens.empty());
  MatchRecord passport = Prepared(matcher, Patient("450321198503021232", "03"));
  EXPECT_TRUE(passport.resident_id.empty());
  MatchRecord none = Prepared(matcher, Patient(""));
  EXPECT_LT(matcher.Score(bad_check, none, kNoFrequencies).score, matcher.thresholds().lower);
  EXPECT_EQ(matcher.Explain(bad_check, none, kNoFrequencies).fields(0).level(), "missing");
}

TEST(IdExactMatcher, LegacyFifteenDigitIdIsUpgraded) {
  IdExactMatcher matcher;
  // 450321 85 03 02 123: born 1985-03-02, upgraded with century 19 and a
  // computed check digit.
  MatchRecord legacy = Prepared(matcher, Patient("450321850302123"));
  MatchRecord modern = Prepared(matcher, Patient("450321198503021232"));
  EXPECT_EQ(legacy.resident_id, modern.resident_id);
}

}  // namespace
}  // namespace hisbridge::match
