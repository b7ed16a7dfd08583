#include "libs/eval/link_scorer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace hisbridge::eval {
namespace {

// Five records, two persons: P1 = {a, b, c}, P2 = {d, e}.
constexpr absl::string_view kTruth =
    "facility_id,record_id,person_id\n"
    "F1,a,P1\nF1,b,P1\nF2,c,P1\nF2,d,P2\nF3,e,P2\n";

TEST(LinkScorerTest, IdentityIsPerfect) {
  auto s = ScoreLinks(kTruth, kTruth);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->truth_records, 5);
  EXPECT_EQ(s->true_persons, 2);
  EXPECT_EQ(s->predicted_clusters, 2);
  EXPECT_EQ(s->true_pairs, 4);  // 3 + 1
  EXPECT_EQ(s->correct_pairs, 4);
  EXPECT_DOUBLE_EQ(s->pair_precision, 1.0);
  EXPECT_DOUBLE_EQ(s->pair_recall, 1.0);
  EXPECT_DOUBLE_EQ(s->pair_f1, 1.0);
  EXPECT_DOUBLE_EQ(s->bcubed_precision, 1.0);
  EXPECT_DOUBLE_EQ(s->bcubed_recall, 1.0);
  EXPECT_DOUBLE_EQ(s->bcubed_f1, 1.0);
  EXPECT_EQ(s->split_persons, 0);
  EXPECT_EQ(s->impure_clusters, 0);
}

TEST(LinkScorerTest, AllSingletonsArePreciseAndRecallNothing) {
  const std::string pred =
      "facility_id,record_id,patient_id\nF1,a,X1\nF1,b,X2\nF2,c,X3\nF2,d,X4\nF3,e,X5\n";
  auto s = ScoreLinks(kTruth, pred);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->predicted_pairs, 0);
  EXPECT_DOUBLE_EQ(s->pair_precision, 1.0);
  EXPECT_DOUBLE_EQ(s->pair_recall, 0.0);
  EXPECT_DOUBLE_EQ(s->pair_f1, 0.0);
  EXPECT_DOUBLE_EQ(s->bcubed_precision, 1.0);
  // Recall per record: a, b, c 1/3; d, e 1/2 -> (1 + 1) / 5.
  EXPECT_DOUBLE_EQ(s->bcubed_recall, 2.0 / 5.0);
  EXPECT_EQ(s->split_persons, 2);
  // An empty prediction: every record missing, scored as a singleton.
  auto empty = ScoreLinks(kTruth, "facility_id,record_id,patient_id\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->missing_from_pred, 5);
  EXPECT_DOUBLE_EQ(empty->pair_recall, 0.0);
  EXPECT_DOUBLE_EQ(empty->bcubed_recall, 2.0 / 5.0);
}

TEST(LinkScorerTest, OneBigClusterRecallsEverything) {
  const std::string pred = "facility_id,record_id,patient_id\nF1,a,X\nF1,b,X\nF2,c,X\nF2,d,X\nF3,e,X\n";
  auto s = ScoreLinks(kTruth, pred);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->predicted_pairs, 10);
  EXPECT_DOUBLE_EQ(s->pair_precision, 0.4);
  EXPECT_DOUBLE_EQ(s->pair_recall, 1.0);
  // Precision per record: a, b, c 3/5; d, e 2/5 -> (9/5 + 4/5) / 5.
  EXPECT_DOUBLE_EQ(s->bcubed_precision, 13.0 / 25.0);
  EXPECT_DOUBLE_EQ(s->bcubed_recall, 1.0);
  EXPECT_EQ(s->impure_clusters, 1);
  EXPECT_EQ(s->largest_cluster, 5);
}

TEST(LinkScorerTest, HandComputedMixedCase) {
  // Predicted {a, b} and {c, d, e}: cells (P1,X)=2, (P1,Y)=1, (P2,Y)=2.
  const std::string pred = "facility_id,record_id,patient_id\nF1,a,X\nF1,b,X\nF2,c,Y\nF2,d,Y\nF3,e,Y\n";
  auto s = ScoreLinks(kTruth, pred);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->correct_pairs, 2);
  EXPECT_EQ(s->predicted_pairs, 4);
  EXPECT_EQ(s->true_pairs, 4);
  EXPECT_DOUBLE_EQ(s->pair_precision, 0.5);
  EXPECT_DOUBLE_EQ(s->pair_recall, 0.5);
  EXPECT_DOUBLE_EQ(s->pair_f1, 0.5);
  // Precision: a, b 2/2; c 1/3; d, e 2/3 -> 11/3 / 5. Recall: a, b 2/3;
  // c 1/3; d, e 2/2 -> 11/3 / 5.
  EXPECT_NEAR(s->bcubed_precision, 11.0 / 15.0, 1e-12);
  EXPECT_NEAR(s->bcubed_recall, 11.0 / 15.0, 1e-12);
  EXPECT_NEAR(s->bcubed_f1, 11.0 / 15.0, 1e-12);
  EXPECT_EQ(s->split_persons, 1);
  EXPECT_EQ(s->impure_clusters, 1);
}

TEST(LinkScorerTest, MissingAndExtraRecordsAreReported) {
  const std::string pred =
      "facility_id,record_id,patient_id\nF1,a,X\nF1,b,X\nF9,zz,X\nF2,d,Y\nF3,e,Y\nF1,a,Z\n";
  auto s = ScoreLinks(kTruth, pred);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->missing_from_pred, 1);  // c
  EXPECT_EQ(s->extra_in_pred, 1);      // F9,zz
  EXPECT_EQ(s->duplicate_pred_rows, 1);
  EXPECT_EQ(s->correct_pairs, 2);      // {a,b} and {d,e}
  EXPECT_EQ(s->predicted_pairs, 2);
  EXPECT_DOUBLE_EQ(s->pair_precision, 1.0);
  EXPECT_DOUBLE_EQ(s->pair_recall, 0.5);
}

TEST(LinkScorerTest, StrataAndFalseMerges) {
  // P1 = {a, b, c}: a, b valid ids; c has a homophone name.
  // P2 = {d, e}: twins' records of two persons P2 and P3; f a placeholder of P4.
  const std::string truth =
      "facility_id,record_id,person_id\n"
      "F,a,P1\nF,b,P1\nF,c,P1\nF,d,P2\nF,e,P3\nF,f,P4\nF,g,P2\n";
  const std::string errors =
      "facility_id,record_id,person_id,errors\n"
      "F,a,P1,id.valid\nF,b,P1,id.valid;phone.missing\nF,c,P1,name.homophone;id.none\n"
      "F,d,P2,twin;id.valid\nF,e,P3,twin;id.valid\nF,f,P4,placeholder.newborn;id.none\nF,g,P2,twin\n";
  // Predicted: {a, b} {c} {d, e, f} {g}.
  const std::string pred =
      "facility_id,record_id,patient_id\nF,a,1\nF,b,1\nF,c,2\nF,d,3\nF,e,3\nF,f,3\nF,g,4\n";
  auto s = ScoreLinks(truth, pred, errors);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->has_errors);
  // True pairs: P1 3, P2 1 ({d,g}). Both valid: {a,b} (P1), none in P2 (g not valid).
  EXPECT_EQ(s->true_pairs, 4);
  EXPECT_EQ(s->both_valid_id.true_pairs, 1);
  EXPECT_EQ(s->both_valid_id.found_pairs, 1);
  EXPECT_EQ(s->not_both_valid_id.true_pairs, 3);
  EXPECT_EQ(s->not_both_valid_id.found_pairs, 0);
  EXPECT_EQ(s->name_variant.true_pairs, 2);  // {a,c} {b,c}
  EXPECT_EQ(s->name_variant.found_pairs, 0);
  // {d,e}: two twins of different persons merged.
  EXPECT_EQ(s->twin_records, 3);
  EXPECT_EQ(s->twin_false_merge_pairs, 1);
  // {d,f} {e,f}: placeholder pairs, both false.
  EXPECT_EQ(s->placeholder_records, 1);
  EXPECT_EQ(s->placeholder_predicted_pairs, 2);
  EXPECT_EQ(s->placeholder_false_merge_pairs, 2);
  const std::string json = ScoresToJson(*s);
  EXPECT_NE(json.find("\"twin_pairs\":1"), std::string::npos) << json;
  EXPECT_NE(FormatScores(*s).find("false merges among twins"), std::string::npos);
}

TEST(LinkScorerTest, CsvQuotingCrlfAndColumnOrder) {
  const std::string truth = "\xEF\xBB\xBFperson_id,facility_id,record_id\r\nP1,\"F,1\",a\r\nP1,F2,\"b\"\"x\"\r\n";
  const std::string pred = "facility_id,record_id,patient_id\n\"F,1\",a,X\nF2,\"b\"\"x\",X\n";
  auto s = ScoreLinks(truth, pred);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->missing_from_pred, 0);
  EXPECT_EQ(s->correct_pairs, 1);
}

TEST(LinkScorerTest, BadInputIsNamed) {
  auto s = ScoreLinks("facility,record,person\n", kTruth);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("truth line 1"), absl::string_view::npos) << s.status();
  s = ScoreLinks(kTruth, "facility_id,record_id,patient_id\nF1,a\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("pred line 2"), absl::string_view::npos) << s.status();
  s = ScoreLinks(kTruth, "facility_id,record_id,patient_id\nF1,\"a,X\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not closed"), absl::string_view::npos) << s.status();
  EXPECT_FALSE(ScoreLinks("", kTruth).ok());
}

TEST(LinkScorerTest, ScalesToMillionsWithoutPairs) {
  // 1,000,000 records in 250,000 persons of 4; predicted as halves.
  std::string truth = "facility_id,record_id,person_id\n", pred = "facility_id,record_id,patient_id\n";
  truth.reserve(40 << 20);
  pred.reserve(40 << 20);
  for (int i = 0; i < 1000000; ++i) {
    absl::StrAppend(&truth, "F", i % 50, ",R", i, ",P", i / 4, "\n");
    absl::StrAppend(&pred, "F", i % 50, ",R", i, ",X", i / 2, "\n");
  }
  auto s = ScoreLinks(truth, pred);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->true_pairs, 250000 * 6);
  EXPECT_EQ(s->correct_pairs, 500000);
  EXPECT_DOUBLE_EQ(s->pair_precision, 1.0);
  EXPECT_NEAR(s->pair_recall, 1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(s->bcubed_recall, 0.5);
}

}  // namespace
}  // namespace hisbridge::eval
