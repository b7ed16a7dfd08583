// Why linking got a county right or wrong, against known truth (a
// synthetic county from `hisbridge gen`, or a hand-labelled sample).
//
// Given the final state of a batch link and the true person of each source
// record, Diagnose measures blocking recall (the share of true pairs that
// share a blocking token at all, and a searchable one: a block not skipped
// as oversized) and sorts every missed true pair and every false pair by
// cause, with the matcher's explanation for a sample of each. It is what
// `hisbridge link --truth` prints and `bench/accuracy.sh` reports.
//
// Thread safety: a pure function of its inputs.
#ifndef HISBRIDGE_LIBS_LINKER_LINK_DIAGNOSTICS_H_
#define HISBRIDGE_LIBS_LINKER_LINK_DIAGNOSTICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "hisbridge/v1/patient.pb.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/region_state.h"

namespace hisbridge::linker {

// (facility_id, record_id) -> person id.
using TruthMap = absl::flat_hash_map<std::pair<std::string, std::string>, std::string>;

struct PairExample {
  std::string cause;
  std::string a_facility, a_record, b_facility, b_record;
  hisbridge::v1::Explanation explanation;
  double score = 0;
};

struct LinkDiagnostics {
  int64_t true_pairs = 0;
  int64_t found_pairs = 0;
  // True pairs sharing any blocking token / a token of a searchable block.
  int64_t blocked_pairs = 0;
  int64_t searchable_pairs = 0;
  int64_t predicted_pairs = 0;
  int64_t false_pairs = 0;
  // Missed true pairs and false pairs by cause ("not_blocked",
  // "placeholder", "review_band", "capped", "below_lower", "certain_non_match",
  // "above_upper_unlinked"; false pairs by the level pattern's rule).
  std::map<std::string, int64_t> missed_by_cause;
  std::map<std::string, int64_t> false_by_cause;
  std::vector<PairExample> missed_examples;
  std::vector<PairExample> false_examples;

  double blocking_recall() const { return true_pairs ? static_cast<double>(blocked_pairs) / true_pairs : 1; }
  double searchable_recall() const { return true_pairs ? static_cast<double>(searchable_pairs) / true_pairs : 1; }
};

// `examples_per_cause` explanations are kept for each cause.
LinkDiagnostics Diagnose(const std::vector<const RegionState*>& regions, const LinkEngine& engine,
                         const TruthMap& truth, int examples_per_cause);

// A readable multi-line summary.
std::string FormatDiagnostics(const LinkDiagnostics& d);
// One JSON object per example line (JSON Lines), for tuning and review.
std::string ExamplesToJsonLines(const LinkDiagnostics& d);

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_LINK_DIAGNOSTICS_H_
