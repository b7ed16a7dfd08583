// The query replica's in-memory matching index: every active patient's
// source identities prepared by the linker's matcher (libs/match), the
// blocking tokens they are found under, and each county's term
// frequencies, so that Match answers with exactly the engine and weights
// the linker decides with.
//
// Match(query) follows the linker's candidate search: the patients of every
// blocking token of the query (skipping tokens shared by more than
// max_block_size patients), the query scored against every source of each
// candidate, the best source per patient, and the engine's safety rules
// (a source with a different valid resident id excludes its patient; a
// placeholder name matches only through the same resident id). Candidates
// are then graded in the FHIR $match sense:
//
//   certainly-not  a source has a different valid resident id; returned
//                  only when the other fields' evidence reaches the
//                  possible floor (the twin, or a relative's card), with
//                  that evidence as its score, after every other grade
//   certain        score >= thresholds().upper and not capped: would link
//   probable       score >= thresholds().lower: would go to review
//   possible       score >= thresholds().lower - possible_margin
// and anything weaker is dropped.
//
// The index is derived state, rebuilt from the view store when a replica
// opens and kept in step by ViewStore::Commit (Apply).
//
// Thread safety: Match, ForPatient and the counters are safe from many
// threads at once; Apply takes an exclusive lock and must be called by one
// writer at a time.
#ifndef HISBRIDGE_LIBS_VIEW_MATCH_INDEX_H_
#define HISBRIDGE_LIBS_VIEW_MATCH_INDEX_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/query.pb.h"
#include "libs/match/matcher.h"

namespace hisbridge::view {

// One source identity of a patient, prepared for matching.
struct PreparedSource {
  std::string facility_id;
  std::string record_id;
  match::MatchRecord record;
};

// What the index holds for one active patient.
struct PreparedPatient {
  std::string patient_id;
  std::string region;
  std::vector<PreparedSource> sources;
};

struct MatchOptions {
  // Only patients of this region (county code); empty for all.
  std::string region;
  // Most candidates returned.
  size_t limit = 10;
  // Blocking tokens shared by more patients are not searched (the linker's
  // EngineOptions::max_block_size).
  size_t max_block_size = 200;
  // The possible floor is thresholds().lower - possible_margin.
  double possible_margin = 8.0;
};

struct MatchedCandidate {
  std::string patient_id;
  double score = 0;
  hisbridge::v1::MatchGrade grade = hisbridge::v1::MATCH_GRADE_UNSPECIFIED;
  // The query (left) against the patient's best source (right).
  hisbridge::v1::Explanation explanation;
  std::string facility_id;
  std::string record_id;
};

struct MatchStats {
  size_t candidates_scored = 0;
  size_t oversized_blocks_skipped = 0;
};

// Prepares a patient's source identity the way the linker prepares the
// record it came from: today = the date of its event time in China time,
// county hint = the patient's region.
void PrepareSource(const match::Matcher& matcher, const hisbridge::v1::SourceIdentity& source,
                   const std::string& region, PreparedSource* out);

// The Record (kind "patient") a set of demographics stands for.
hisbridge::v1::Record RecordOfDemographics(const hisbridge::v1::Demographics& demographics);

// Today's date in China Standard Time (UTC+8), the "today" of a query.
absl::CivilDay ChinaToday(absl::Time now);

class MatchIndex {
 public:
  explicit MatchIndex(const match::Matcher* matcher) : matcher_(matcher) {}
  MatchIndex(const MatchIndex&) = delete;
  MatchIndex& operator=(const MatchIndex&) = delete;

  const match::Matcher& matcher() const { return *matcher_; }

  // Replaces the entries of the given patients: a value puts the patient
  // (active patients only), nullopt removes it. Readers see all of a call's
  // changes at once.
  void Apply(std::map<std::string, std::optional<PreparedPatient>> changes);

  // Ranked, graded candidates for `query` (prepared with
  // Matcher::Prepare), best first.
  std::vector<MatchedCandidate> Match(const match::MatchRecord& query, const MatchOptions& options,
                                      MatchStats* stats = nullptr) const;

  // Calls fn with the patient's prepared sources under the read lock;
  // returns false (without calling fn) when the patient is not indexed.
  bool ForPatient(const std::string& patient_id, const std::function<void(const PreparedPatient&)>& fn) const;

  size_t patient_count() const;
  size_t source_count() const;
  size_t token_count() const;

 private:
  struct Entry {
    PreparedPatient patient;
    std::vector<uint64_t> tokens;
    match::TermFrequencies* frequencies = nullptr;
    bool live = false;
  };
  void RemoveLocked(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PutLocked(PreparedPatient patient) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const match::Matcher* matcher_;
  mutable absl::Mutex mu_;
  std::vector<Entry> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> blocks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<match::TermFrequencies>> frequencies_ ABSL_GUARDED_BY(mu_);
  size_t sources_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_MATCH_INDEX_H_
