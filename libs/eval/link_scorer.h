// Linkage-quality scoring: how well a predicted clustering of source records
// (the link CSV of spec/county-records.md) matches the ground truth.
//
//   truth.csv   facility_id,record_id,person_id       (hisbridge gen)
//   links.csv   facility_id,record_id,patient_id      (hisbridge link, an index export)
//   errors.csv  facility_id,record_id,person_id,errors (optional; ';'-separated tags)
//
// Records are joined on (facility_id, record_id). A truth record missing
// from the prediction counts as a predicted singleton (and is reported); a
// predicted record missing from the truth is reported and ignored.
//
// Every figure comes from the contingency table of (true person, predicted
// cluster) cell sizes, never from enumerating pairs, so millions of records
// score in seconds:
//
//   pairwise    precision = correct pairs / predicted pairs, recall = correct
//               pairs / true pairs, where a cell, cluster or person of n
//               records holds n(n-1)/2 pairs;
//   B-cubed     precision = mean over records of |cell| / |predicted cluster|,
//               recall = mean over records of |cell| / |true person|;
//   strata      recall among true pairs whose records both carry a valid
//               resident id, whose records do not both carry one, and where
//               at least one record has a homophone / near-homophone /
//               similar-character / traditional / pinyin name error
//               (errors.csv);
//   false merges predicted pairs that are not true pairs, among twins'
//               records (both records tagged twin) and involving a
//               placeholder record (placeholder.newborn / placeholder.unknown).
//
// Conventions: precision is 1 when nothing is predicted linked, recall 1
// when nothing is truly linked, F1 0 when both precision and recall are 0.
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_EVAL_LINK_SCORER_H_
#define HISBRIDGE_LIBS_EVAL_LINK_SCORER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::eval {

struct PairRecall {
  int64_t true_pairs = 0;
  int64_t found_pairs = 0;  // true pairs the prediction also links
  double recall() const;
};

struct LinkScores {
  // Rows.
  int64_t truth_records = 0;        // distinct (facility_id, record_id) in the truth
  int64_t pred_rows = 0;            // data rows of the prediction
  int64_t missing_from_pred = 0;    // truth records the prediction lacks (scored as singletons)
  int64_t extra_in_pred = 0;        // predicted records not in the truth (ignored)
  int64_t duplicate_truth_rows = 0; // repeated keys (the first row counts)
  int64_t duplicate_pred_rows = 0;
  bool has_errors = false;          // an errors file was given
  int64_t errors_rows = 0;
  int64_t errors_unmatched = 0;     // errors rows whose record is not in the truth

  // Clusters.
  int64_t true_persons = 0;
  int64_t predicted_clusters = 0;
  int64_t split_persons = 0;      // true persons spread over several predicted clusters
  int64_t impure_clusters = 0;    // predicted clusters holding several true persons
  int64_t largest_cluster = 0;

  // Pairwise.
  int64_t true_pairs = 0;
  int64_t predicted_pairs = 0;
  int64_t correct_pairs = 0;
  double pair_precision = 1, pair_recall = 1, pair_f1 = 1;

  // B-cubed.
  double bcubed_precision = 1, bcubed_recall = 1, bcubed_f1 = 1;

  // From errors.csv.
  int64_t twin_records = 0;
  int64_t twin_false_merge_pairs = 0;
  int64_t placeholder_records = 0;
  int64_t placeholder_predicted_pairs = 0;  // predicted pairs involving a placeholder record
  int64_t placeholder_false_merge_pairs = 0;
  PairRecall both_valid_id;
  PairRecall not_both_valid_id;
  PairRecall name_variant;
};

// `errors_csv` may be empty (no errors file): the error-based figures are
// then zero and has_errors is false. Errors name the file and line.
absl::StatusOr<LinkScores> ScoreLinks(absl::string_view truth_csv, absl::string_view pred_csv,
                                      absl::string_view errors_csv = "");

// A readable table (several lines, ending in a newline).
std::string FormatScores(const LinkScores& scores);
// One JSON object on one line (no newline).
std::string ScoresToJson(const LinkScores& scores);

}  // namespace hisbridge::eval

#endif  // HISBRIDGE_LIBS_EVAL_LINK_SCORER_H_
