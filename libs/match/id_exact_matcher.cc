#include "libs/match/id_exact_matcher.h"

#include "libs/match/comparison.h"

namespace hisbridge::match {

void IdExactMatcher::Prepare(const hisbridge::v1::Record& patient, const PrepareOptions& options,
                             MatchRecord* out) const {
  PrepareOptions id_only = options;
  id_only.id_only = true;
  PrepareMatchRecord(patient, id_only, out);
}

PairScore IdExactMatcher::Score(const MatchRecord& a, const MatchRecord& b, const TermFrequencies&) const {
  PairScore score;
  if (a.resident_id.empty() || b.resident_id.empty()) {
    score.score = 0;
  } else if (a.resident_id == b.resident_id) {
    score.score = kCertainMatchScore;
    score.same_resident_id = true;
    score.identifier_agrees = true;
  } else {
    score.score = kCertainNonMatchScore;
    score.certain_non_match = true;
  }
  return score;
}

hisbridge::v1::Explanation IdExactMatcher::Explain(const MatchRecord& a, const MatchRecord& b,
                                                   const TermFrequencies& frequencies) const {
  hisbridge::v1::Explanation explanation;
  const PairScore score = Score(a, b, frequencies);
  hisbridge::v1::FieldComparison* field = explanation.add_fields();
  field->set_field("resident_id");
  field->set_left(MaskIdentifier(a.resident_id));
  field->set_right(MaskIdentifier(b.resident_id));
  if (a.resident_id.empty() || b.resident_id.empty()) {
    field->set_level("missing");
  } else if (score.same_resident_id) {
    field->set_level("exact");
    explanation.add_rules("same_valid_resident_id");
  } else {
    field->set_level("different_both_valid");
    explanation.add_rules("different_valid_resident_ids");
  }
  // Infinite scores do not survive JSON; the level and rule carry them.
  field->set_weight(score.same_resident_id ? 1 : 0);
  explanation.set_total(score.same_resident_id ? 1 : 0);
  return explanation;
}

}  // namespace hisbridge::match
