#include "libs/match/fs_matcher.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "libs/core/resident_id.h"

namespace hisbridge::match {
namespace {

struct P {
  std::string name, sex, birth_date, id, phone, address;
};

class FsMatcherTest : public ::testing::Test {
 protected:
  FsMatcherTest() : matcher_(FsModel::Default()) {}

  MatchRecord Prep(const P& p) {
    hisbridge::v1::Record r;
    r.set_kind("patient");
    r.set_name(p.name);
    r.set_sex(p.sex);
    r.set_birth_date(p.birth_date);
    r.set_id_number(p.id);
    r.set_phone(p.phone);
    r.set_address(p.address);
    PrepareOptions options;
    options.today = absl::CivilDay(2026, 3, 1);
    options.county_hint = "450321";
    MatchRecord m;
    matcher_.Prepare(r, options, &m);
    return m;
  }
  PairScore Score(const P& a, const P& b) { return matcher_.Score(Prep(a), Prep(b), frequencies_); }
  double upper() const { return matcher_.thresholds().upper; }

  FsMatcher matcher_;
  TermFrequencies frequencies_;
};

std::string Id(int seq) { return *core::MakeResidentId("450321", absl::CivilDay(1985, 3, 2), seq); }
const char kAddress[] = "广西壮族自治区桂林市阳朔县白沙镇遇龙村5组";

TEST_F(FsMatcherTest, SameIdAndDemographicsLink) {
  const P a{"王小明", "1", "1985-03-02", Id(123), "13907731234", kAddress};
  PairScore s = Score(a, a);
  EXPECT_GE(s.score, upper());
  EXPECT_TRUE(s.same_resident_id);
  EXPECT_TRUE(s.identifier_agrees);
  EXPECT_FALSE(s.capped);
}

TEST_F(FsMatcherTest, TwinsWithDifferentValidIdsNeverLink) {
  const P a{"王佳怡", "2", "1985-03-02", Id(122), "13907731234", kAddress};
  const P b{"王佳怡", "2", "1985-03-02", Id(124), "13907731234", kAddress};
  PairScore s = Score(a, b);
  EXPECT_TRUE(s.certain_non_match);
  EXPECT_EQ(s.score, kCertainNonMatchScore);
  const auto e = matcher_.Explain(Prep(a), Prep(b), frequencies_);
  ASSERT_GE(e.rules_size(), 1);
  EXPECT_EQ(e.rules(0), "different_valid_resident_ids");
}

TEST_F(FsMatcherTest, HouseholdEvidenceWithoutNameAgreementNeedsAHuman) {
  // A twin without an id at one clinic: same birthday, phone and address
  // as her sister, a different given-name character.
  const P a{"王佳怡", "2", "1985-03-02", Id(122), "13907731234", kAddress};
  const P b{"王佳悦", "2", "1985-03-02", "", "13907731234", kAddress};
  PairScore s = Score(a, b);
  EXPECT_LT(s.score, upper());
  const auto e = matcher_.Explain(Prep(a), Prep(b), frequencies_);
  if (s.capped) {
    bool found = false;
    for (const auto& r : e.rules()) found |= r == "needs_identifier:name_differs";
    EXPECT_TRUE(found);
  }
}

TEST_F(FsMatcherTest, ParentAndChildWithSimilarNamesDoNotLink) {
  const P father{"王建国", "1", "1960-05-01", "", "13907731234", kAddress};
  const P son{"王建国", "1", "1988-05-01", "", "13907731234", kAddress};
  EXPECT_LT(Score(father, son).score, upper());
}

TEST_F(FsMatcherTest, TypicalErrorsStillLink) {
  const P clinic{"王晓明", "1", "1985-03-02", "", "13907731234", kAddress};
  const P hospital{"王小明", "1", "1985-03-02", Id(123), "139-0773-1234", "阳朔县白沙镇遇龙村"};
  EXPECT_GE(Score(clinic, hospital).score, upper());
}

TEST_F(FsMatcherTest, CommonNamesWeighLessThanRareOnes) {
  const MatchRecord wang = Prep({"王伟", "1", "1980-01-01", "", "", ""});
  const MatchRecord rare = Prep({"覃秀娟", "2", "1972-06-15", "", "", ""});
  for (int i = 0; i < 300; ++i) frequencies_.Add(wang);
  frequencies_.Add(rare);
  for (int i = 0; i < 5000; ++i) frequencies_.Add(Prep({"路人" + std::to_string(i % 50), "", "", "", "", ""}));
  const double common = matcher_.LevelWeight(Field::kName, level::kNameExact, wang, wang, frequencies_);
  const double unusual = matcher_.LevelWeight(Field::kName, level::kNameExact, rare, rare, frequencies_);
  EXPECT_GT(unusual, common + 4);
}

TEST_F(FsMatcherTest, ExplanationListsEveryFieldAndSumsToTheScore) {
  const P a{"王小明", "1", "1985-03-02", Id(123), "13907731234", kAddress};
  const P b{"王晓明", "1", "1985-02-03", "", "13907731235", "白沙镇遇龙村"};
  const MatchRecord x = Prep(a), y = Prep(b);
  const auto e = matcher_.Explain(x, y, frequencies_);
  ASSERT_EQ(e.fields_size(), static_cast<int>(kFieldCount));
  double sum = 0;
  for (const auto& f : e.fields()) sum += f.weight();
  const PairScore s = matcher_.Score(x, y, frequencies_);
  if (!s.capped) {
    EXPECT_NEAR(sum, s.score, 1e-9);
  }
  EXPECT_NEAR(e.total(), s.score, 1e-9);
  EXPECT_EQ(e.fields(2).field(), "name");
  EXPECT_EQ(e.fields(2).level(), "homophone");
  EXPECT_EQ(e.fields(3).level(), "swapped");
  EXPECT_EQ(e.fields(5).level(), "one_digit_off");
  EXPECT_EQ(e.fields(0).left(), "4503**********1232");
}

TEST_F(FsMatcherTest, ARelativesCardDoesNotLinkToTheRelative) {
  // A mother and her newborn registered on her card; the child at a
  // village clinic, no birth date, the mother's id again.
  const P mother{"李梅", "2", "1985-03-02", Id(122), "13907731234", kAddress};
  const P newborn{"李梅之子", "1", "2026-02-20", Id(122), "13907731234", kAddress};
  const MatchRecord baby = Prep(newborn);
  EXPECT_TRUE(baby.id_of_relative);
  EXPECT_TRUE(baby.resident_id.empty());
  EXPECT_FALSE(Score(mother, newborn).same_resident_id);
  const P child_without_date{"王浩", "1", "", Id(122), "13907731234", kAddress};
  PairScore s = Score(mother, child_without_date);
  EXPECT_FALSE(s.identifier_agrees) << "one card, two different names";
  EXPECT_LT(s.score, upper());
}

TEST_F(FsMatcherTest, MakeMatcherChoosesAndExplainsErrors) {
  auto fs = MakeMatcher("fs", "");
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ((*fs)->version(), FsModel::Default().id());
  auto baseline = MakeMatcher("id-exact", "");
  ASSERT_TRUE(baseline.ok());
  EXPECT_EQ((*baseline)->version(), "id-exact/1");
  auto unknown = MakeMatcher("magic", "");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown matcher \"magic\""), std::string::npos);
  EXPECT_FALSE(MakeMatcher("fs", "/nonexistent.json").ok());
}

}  // namespace
}  // namespace hisbridge::match
