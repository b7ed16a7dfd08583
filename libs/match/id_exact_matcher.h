// The deterministic rule most county HIS use today: two records are the
// same person exactly when they carry the same valid 18-digit resident id
// (15-digit ids are upgraded first); everything else is a new patient.
//
// It is the baseline every accuracy report compares against
// (`hisbridge link --matcher=id-exact`). Thread-safe, stateless.
#ifndef HISBRIDGE_LIBS_MATCH_ID_EXACT_MATCHER_H_
#define HISBRIDGE_LIBS_MATCH_ID_EXACT_MATCHER_H_

#include <string>

#include "libs/match/matcher.h"

namespace hisbridge::match {

// The resident id of a record when id_type says it is one ("01" or empty)
// and it validates; empty otherwise.
std::string CanonicalResidentId(const hisbridge::v1::Record& patient, absl::CivilDay today);

class IdExactMatcher : public Matcher {
 public:
  std::string version() const override { return "id-exact/1"; }
  Thresholds thresholds() const override { return Thresholds{1.0, 1.0}; }
  MatchRecord Prepare(const hisbridge::v1::Record& patient, absl::CivilDay today) const override;
  PairScore Score(const MatchRecord& a, const MatchRecord& b) const override;
  hisbridge::v1::Explanation Explain(const MatchRecord& a, const MatchRecord& b) const override;
};

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_ID_EXACT_MATCHER_H_
