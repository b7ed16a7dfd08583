#include "libs/match/id_exact_matcher.h"

#include "libs/core/resident_id.h"

namespace hisbridge::match {

std::string CanonicalResidentId(const hisbridge::v1::Record& patient, absl::CivilDay today) {
  // Only the resident identity card (CV02.01.101 code 01, the default when
  // no type is given) is a resident id; a passport number that happens to
  // be 18 digits long must never be compared with one.
  if (!patient.id_type().empty() && patient.id_type() != "01") return "";
  if (patient.id_number().empty()) return "";
  const core::ResidentIdResult parsed = core::ParseResidentId(patient.id_number(), today);
  return parsed.ok() ? parsed.canonical : "";
}

MatchRecord IdExactMatcher::Prepare(const hisbridge::v1::Record& patient, absl::CivilDay today) const {
  MatchRecord out;
  out.resident_id = CanonicalResidentId(patient, today);
  if (!out.resident_id.empty()) out.blocking_keys.push_back("id:" + out.resident_id);
  return out;
}

PairScore IdExactMatcher::Score(const MatchRecord& a, const MatchRecord& b) const {
  PairScore score;
  if (a.resident_id.empty() || b.resident_id.empty()) {
    score.score = 0;
  } else if (a.resident_id == b.resident_id) {
    score.score = kCertainMatchScore;
    score.same_resident_id = true;
  } else {
    score.score = kCertainNonMatchScore;
    score.certain_non_match = true;
  }
  return score;
}

hisbridge::v1::Explanation IdExactMatcher::Explain(const MatchRecord& a, const MatchRecord& b) const {
  hisbridge::v1::Explanation explanation;
  const PairScore score = Score(a, b);
  hisbridge::v1::FieldComparison* field = explanation.add_fields();
  field->set_field("id_number");
  field->set_left(a.resident_id);
  field->set_right(b.resident_id);
  if (a.resident_id.empty() || b.resident_id.empty()) {
    field->set_level("missing");
  } else if (score.same_resident_id) {
    field->set_level("exact");
    explanation.add_rules("same_valid_resident_id");
  } else {
    field->set_level("different");
    explanation.add_rules("different_valid_resident_ids");
  }
  field->set_weight(score.score);
  explanation.set_total(score.score);
  return explanation;
}

}  // namespace hisbridge::match
