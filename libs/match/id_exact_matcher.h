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

class IdExactMatcher : public Matcher {
 public:
  std::string version() const override { return "id-exact/1"; }
  Thresholds thresholds() const override { return Thresholds{1.0, 1.0}; }
  void Prepare(const hisbridge::v1::Record& patient, const PrepareOptions& options,
               MatchRecord* out) const override;
  PairScore Score(const MatchRecord& a, const MatchRecord& b, const TermFrequencies& frequencies) const override;
  hisbridge::v1::Explanation Explain(const MatchRecord& a, const MatchRecord& b,
                                     const TermFrequencies& frequencies) const override;
};

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_ID_EXACT_MATCHER_H_
