#include "libs/view/match_index.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/view/test_patients.h"

namespace hisbridge::view {
namespace {

using testing::OnePatient;
using testing::Person;

const Person kWang{"王小明", "450321198503021232", "1985-03-02", "1", "13907731864", "广西阳朔县白沙镇遇龙村5组"};
// His twin brother: same household, same birthday, another valid id.
const Person kTwin{"王小亮", "450321198503021259", "1985-03-02", "1", "13907731864", "广西阳朔县白沙镇遇龙村5组"};
const Person kStranger{"蒙志强", "450321199001090013", "1990-01-09", "1", "13977300000", "广西阳朔县兴坪镇"};

class MatchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    matcher_ = match::MakeMatcher("fs", "").value();
    index_ = std::make_unique<MatchIndex>(matcher_.get());
  }
  PreparedPatient Prepared(const hisbridge::v1::Patient& p) {
    PreparedPatient out;
    out.patient_id = p.patient_id();
    out.region = p.region();
    for (const auto& s : p.sources()) {
      out.sources.emplace_back();
      PrepareSource(*matcher_, s, p.region(), &out.sources.back());
    }
    return out;
  }
  void Put(const hisbridge::v1::Patient& p) {
    std::map<std::string, std::optional<PreparedPatient>> changes;
    changes[p.patient_id()] = Prepared(p);
    index_->Apply(std::move(changes));
  }
  std::vector<MatchedCandidate> Match(const Person& p, MatchOptions options = {}) {
    hisbridge::v1::Demographics d;
    d.set_name(p.name);
    d.set_id_number(p.id_number);
    d.set_birth_date(p.birth_date);
    d.set_sex(p.sex);
    d.set_phone(p.phone);
    d.set_address(p.address);
    match::MatchRecord query;
    match::PrepareOptions prepare;
    prepare.today = absl::CivilDay(2026, 3, 10);
    matcher_->Prepare(RecordOfDemographics(d), prepare, &query);
    return index_->Match(query, options);
  }
  std::unique_ptr<match::Matcher> matcher_;
  std::unique_ptr<MatchIndex> index_;
};

TEST_F(MatchIndexTest, GradesLikeTheLinker) {
  Put(OnePatient("450321-P0000001", 1, kWang));
  Put(OnePatient("450321-P0000002", 1, kTwin));
  Put(OnePatient("450321-P0000003", 1, kStranger));

  auto same = Match(kWang);
  ASSERT_GE(same.size(), 1u);
  EXPECT_EQ(same[0].patient_id, "450321-P0000001");
  EXPECT_EQ(same[0].grade, hisbridge::v1::MATCH_GRADE_CERTAIN);
  EXPECT_GE(same[0].score, matcher_->thresholds().upper);
  EXPECT_EQ(same[0].record_id, "R1");
  ASSERT_GT(same[0].explanation.fields_size(), 0);
  EXPECT_THAT(same[0].explanation.rules(), ::testing::Contains("same_valid_resident_id"));
  // The twin's valid id differs: certainly not, listed last.
  ASSERT_EQ(same.size(), 2u);
  EXPECT_EQ(same[1].patient_id, "450321-P0000002");
  EXPECT_EQ(same[1].grade, hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT);
  EXPECT_THAT(same[1].explanation.rules(), ::testing::Contains("different_valid_resident_ids"));

  // Without the id, the same demographics are only probable for Wang (no
  // identifier), and the twin still a candidate of some grade.
  Person no_id = kWang;
  no_id.id_number.clear();
  auto weaker = Match(no_id);
  ASSERT_GE(weaker.size(), 1u);
  EXPECT_EQ(weaker[0].patient_id, "450321-P0000001");
  EXPECT_NE(weaker[0].grade, hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT);
  for (const auto& c : weaker) EXPECT_NE(c.patient_id, "450321-P0000003");
}

TEST_F(MatchIndexTest, PlaceholderNamesMatchOnlyThroughTheResidentId) {
  Person unknown{"无名氏", "", "", "1", "13907731864", "广西阳朔县白沙镇遇龙村5组"};
  Put(OnePatient("450321-P0000001", 1, unknown));
  EXPECT_TRUE(Match(unknown).empty());
  Person with_id = unknown;
  with_id.id_number = "450321198503021232";
  Put(OnePatient("450321-P0000002", 1, with_id));
  auto found = Match(with_id);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].patient_id, "450321-P0000002");
}

TEST_F(MatchIndexTest, RegionLimitAndRemoval) {
  Put(OnePatient("450321-P0000001", 1, kWang));
  Person elsewhere = kWang;
  elsewhere.id_number = "";
  Put(OnePatient("450323-P0000001", 1, elsewhere));
  MatchOptions only;
  only.region = "450323";
  auto in_region = Match(kWang, only);
  ASSERT_EQ(in_region.size(), 1u);
  EXPECT_EQ(in_region[0].patient_id, "450323-P0000001");
  MatchOptions one;
  one.limit = 1;
  EXPECT_EQ(Match(kWang, one).size(), 1u);

  EXPECT_EQ(index_->patient_count(), 2u);
  std::map<std::string, std::optional<PreparedPatient>> remove;
  remove["450321-P0000001"] = std::nullopt;
  index_->Apply(std::move(remove));
  EXPECT_EQ(index_->patient_count(), 1u);
  for (const auto& c : Match(kWang)) EXPECT_NE(c.patient_id, "450321-P0000001");
}

TEST_F(MatchIndexTest, OversizedBlocksAreSkipped) {
  // 30 people sharing a phone (a village doctor's number on every record).
  for (int i = 0; i < 30; ++i) {
    Person p{"", "", "", "", "13800000001", ""};
    Put(OnePatient("450321-P" + std::to_string(1000000 + i), 1, p));
  }
  MatchOptions small;
  small.max_block_size = 10;
  MatchStats stats;
  hisbridge::v1::Demographics d;
  d.set_phone("13800000001");
  match::MatchRecord query;
  match::PrepareOptions prepare;
  prepare.today = absl::CivilDay(2026, 3, 10);
  matcher_->Prepare(RecordOfDemographics(d), prepare, &query);
  index_->Match(query, small, &stats);
  EXPECT_GE(stats.oversized_blocks_skipped, 1u);
  EXPECT_EQ(stats.candidates_scored, 0u);
}

}  // namespace
}  // namespace hisbridge::view
