// The contract between the linking engine and a record matcher.
//
// A Matcher turns a patient record into a MatchRecord (normalised fields
// plus the blocking keys it is indexed and searched under), scores pairs of
// MatchRecords, and explains a score field by field. The engine (libs/
// linker) does everything else: candidate retrieval through the blocking
// keys, aggregation over a patient's member records, the link / review /
// new-patient decision against the thresholds, and the safety rules that
// do not depend on the matcher.
//
// Scores are log-likelihood ratios (log2 m/u summed over fields, as in
// Fellegi-Sunter); kCertainNonMatch marks pairs a safety rule forbids from
// ever being linked automatically (e.g. two different valid resident ids).
//
// Thread safety: Matcher implementations are immutable after construction
// and safe to share between threads.
#ifndef HISBRIDGE_LIBS_MATCH_MATCHER_H_
#define HISBRIDGE_LIBS_MATCH_MATCHER_H_

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/records.pb.h"

namespace hisbridge::match {

// A record prepared for matching.
struct MatchRecord {
  // Canonical 18-digit resident id when the record has a valid one.
  std::string resident_id;
  // Keys the record is indexed and searched under. A key is "<kind>:<value>".
  std::vector<std::string> blocking_keys;
  // The record's name marks it as a placeholder (无名氏, 王之子, ...); such
  // records never link without a matching resident id.
  bool placeholder_name = false;
};

struct PairScore {
  double score = 0;
  // A safety rule forbids linking this pair automatically.
  bool certain_non_match = false;
  // The pair agrees on a valid resident id.
  bool same_resident_id = false;
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

  // Normalises a patient record. `today` is the date of the input's event
  // time, not the wall clock, so replays decide identically.
  virtual MatchRecord Prepare(const hisbridge::v1::Record& patient, absl::CivilDay today) const = 0;

  // The fast path: score only.
  virtual PairScore Score(const MatchRecord& a, const MatchRecord& b) const = 0;

  // The same comparison with each field's level and weight, for audit,
  // review and the Match API.
  virtual hisbridge::v1::Explanation Explain(const MatchRecord& a, const MatchRecord& b) const = 0;
};

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_MATCHER_H_
