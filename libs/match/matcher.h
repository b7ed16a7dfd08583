// The contract between the linking engine and a record matcher.
//
// A Matcher prepares a patient record for matching (normalised fields and
// the blocking tokens it is indexed and searched under, see
// match_record.h), scores pairs of prepared records, and explains a score
// field by field. The engine (libs/linker) does everything else: candidate
// retrieval through the blocking tokens, aggregation over a patient's member
// records, the link / review / new-patient decision against the thresholds,
// and the safety rules that do not depend on the matcher (placeholder
// names, steward decisions).
//
// Scores are log-likelihood ratios (log2 m/u summed over fields, as in
// Fellegi-Sunter). kCertainNonMatchScore marks pairs a safety rule forbids
// from ever being linked automatically (two different valid resident ids).
// A matcher may also cap a score below the upper threshold when a rule says
// the pair needs a human (PairScore::capped).
//
// Two implementations: FsMatcher (the probabilistic engine, fs_matcher.h)
// and IdExactMatcher (the deterministic baseline most county HIS use).
//
// Thread safety: Matcher implementations are immutable after construction
// and safe to share between threads.
#ifndef HISBRIDGE_LIBS_MATCH_MATCHER_H_
#define HISBRIDGE_LIBS_MATCH_MATCHER_H_

#include <limits>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/match/match_record.h"
#include "libs/match/term_frequencies.h"

namespace hisbridge::match {

struct PairScore {
  double score = 0;
  // A safety rule forbids linking this pair automatically.
  bool certain_non_match = false;
  // The pair agrees on a valid resident id.
  bool same_resident_id = false;
  // The pair agrees on an identifier of one person: a valid resident id or
  // a passport, permit or health card number.
  bool identifier_agrees = false;
  // The names are the same (exact, a traditional variant, or a pinyin
  // spelling of the characters), as opposed to merely similar.
  bool names_identical = false;
  // The score was lowered below the upper threshold: the evidence is
  // strong but of a kind (e.g. a household's phone and address with a
  // different given name) that needs an identifier or a human.
  bool capped = false;
};

inline constexpr double kCertainMatchScore = std::numeric_limits<double>::infinity();
inline constexpr double kCertainNonMatchScore = -std::numeric_limits<double>::infinity();

struct Thresholds {
  // At or above: link automatically.
  double upper = 10.0;
  // At or above (and below upper): a review item for a data steward.
  double lower = 4.0;
};

class Matcher {
 public:
  virtual ~Matcher() = default;

  // Identifies the model (name and version) in every decision's audit entry.
  virtual std::string version() const = 0;
  virtual Thresholds thresholds() const = 0;

  // Normalises a patient record into *out. `options.today` is the date of
  // the input's event time, never the wall clock, so replays decide
  // identically.
  virtual void Prepare(const hisbridge::v1::Record& patient, const PrepareOptions& options,
                       MatchRecord* out) const = 0;

  // The fast path: score only. `frequencies` describes the live records of
  // the county the pair belongs to.
  virtual PairScore Score(const MatchRecord& a, const MatchRecord& b,
                          const TermFrequencies& frequencies) const = 0;

  // The same comparison with each field's level and weight, for audit,
  // review and the Match API. Its total equals Score's score.
  virtual hisbridge::v1::Explanation Explain(const MatchRecord& a, const MatchRecord& b,
                                             const TermFrequencies& frequencies) const = 0;
};

// "fs" (the default model, or `model_path` when given) or "id-exact".
// INVALID_ARGUMENT names the unknown matcher; a bad model file's error
// names the file, field and rule.
absl::StatusOr<std::unique_ptr<Matcher>> MakeMatcher(absl::string_view name, const std::string& model_path);

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_MATCHER_H_
