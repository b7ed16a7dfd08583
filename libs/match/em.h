// Estimating a Fellegi-Sunter model from unlabelled records
// (`hisbridge train`).
//
// u (the level distribution among different people) is counted on random
// pairs of records: almost every random pair is two different people.
//
// m (the distribution among pairs of the same person) is estimated by
// expectation-maximisation on candidate pairs, in sessions: each session
// takes the pairs that share one kind of blocking key and estimates m only
// for the fields that key does not involve. Within pairs sharing a birth
// date and sex, the names of different people are distributed as in random
// pairs, so EM can separate the two classes on names; pairs sharing a name
// and village do the same for birth dates. (Estimating every field from
// pairs that were selected for agreeing on some of them would mistake those
// agreements for evidence.) A field's m is the match-weighted average over
// the sessions where it was free.
//
// Random pairs contain a few same-person pairs (about one in N for a county
// of N records), which would dominate u for levels that different people
// almost never reach (an agreeing resident id); u is therefore re-counted
// with each random pair weighted by its posterior probability of being two
// different people.
//
// Two adjustments keep the model honest on data unlike the training data:
// "missing" levels weigh exactly 0 (absence is no evidence), and no level
// of a field weighs less than the field's "different" level (a near miss is
// never worse evidence than a plain disagreement).
//
// The thresholds follow from the posterior probability of a match: with
// prior odds lambda of a random pair being the same person in a county of
// `reference_records` records, a score s has posterior odds lambda * 2^s; the
// upper threshold is where that reaches `upper_precision`, the lower where
// it reaches `lower_precision`.
//
// Thread safety: RunEm and Train are pure functions of their inputs.
#ifndef HISBRIDGE_LIBS_MATCH_EM_H_
#define HISBRIDGE_LIBS_MATCH_EM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/match/comparison.h"
#include "libs/match/fs_model.h"

namespace hisbridge::match {

// Distinct comparison vectors and how many pairs have each.
struct PatternCount {
  ComparisonVector levels;
  int64_t count = 0;
};

// Per field, per level.
using LevelTable = std::vector<std::vector<double>>;

struct EmOptions {
  int max_iterations = 500;
  // Stop when no parameter moves by more than this.
  double tolerance = 1e-8;
  double initial_lambda = 0.1;
  // Fields whose m is estimated; the others do not enter the likelihood.
  std::vector<bool> free_fields = std::vector<bool>(kFieldCount, true);
  // A Dirichlet prior on m: this many pseudo-matches distributed as
  // `initial_m`. Keeps levels the training data happens not to exhibit
  // (a dialect confusion no clinic of this county made) at plausible
  // values instead of driving them to zero, which would turn a rare but
  // real error into strong evidence against. 0 for plain maximum
  // likelihood.
  double prior_matches = 0;
};

struct EmResult {
  LevelTable m;
  double lambda = 0;
  int iterations = 0;
  bool converged = false;
  // Expected number of same-person pairs among the patterns.
  double expected_matches = 0;
};

// EM for m and lambda with u fixed. `initial_m` must have every field and
// level (fields not free are copied through).
EmResult RunEm(const std::vector<PatternCount>& patterns, const LevelTable& u, const LevelTable& initial_m,
               const EmOptions& options);

struct TrainingOptions {
  std::string name = "fs-county";
  std::string version;
  std::string description;
  std::string input;
  // Blocks larger than this are skipped when forming candidate pairs.
  size_t max_block_size = 200;
  int64_t random_pairs = 2000000;
  uint64_t seed = 1;
  // County size the thresholds are set for; 0 = the training records.
  int64_t reference_records = 0;
  // Pseudo-matches of the starting model's m in every EM session.
  double prior_matches = 500;
  double upper_precision = 0.999;
  double lower_precision = 0.5;
};

struct TrainingReport {
  int64_t records = 0;
  int64_t random_pairs = 0;
  struct Session {
    std::string blocking;  // "ds", "nv", "id"
    int64_t pairs = 0;
    int iterations = 0;
    double lambda = 0;
    bool converged = false;
  };
  std::vector<Session> sessions;
  int64_t candidate_pairs = 0;
  double expected_matches = 0;
  double lambda_all = 0;
};

// Trains a model on prepared records (latest live version of each source
// record). `start` supplies the starting m values (usually the default
// model). FAILED_PRECONDITION when there are too few records to learn from.
absl::StatusOr<FsModel> Train(const std::vector<MatchRecord>& records, const FsModel& start,
                              const TrainingOptions& options, TrainingReport* report);

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_EM_H_
