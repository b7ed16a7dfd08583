#include "libs/match/em.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hisbridge::match {
namespace {

// Keeps probabilities away from 0 so no level becomes impossible.
constexpr double kFloor = 1e-9;

// A small deterministic generator (splitmix64): training must give the same
// model for the same records and seed on every machine.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

LevelTable FromModel(const FsModel& model, bool use_m) {
  LevelTable t(kFieldCount);
  for (size_t f = 0; f < kFieldCount; ++f) {
    const Field field = static_cast<Field>(f);
    for (size_t l = 0; l < LevelCount(field); ++l) {
      t[f].push_back(use_m ? model.m(field, static_cast<uint8_t>(l)) : model.u(field, static_cast<uint8_t>(l)));
    }
  }
  return t;
}

std::vector<PatternCount> ToPatterns(const absl::flat_hash_map<ComparisonVector, int64_t>& counts) {
  std::vector<PatternCount> out;
  out.reserve(counts.size());
  for (const auto& [v, n] : counts) out.push_back({v, n});
  // Deterministic order: sums in EM must not depend on hash iteration.
  std::sort(out.begin(), out.end(),
            [](const PatternCount& a, const PatternCount& b) { return a.levels.levels < b.levels.levels; });
  return out;
}

// Candidate pairs of records sharing a blocking key of one kind.
std::vector<PatternCount> SessionPatterns(const std::vector<MatchRecord>& records, absl::string_view kind,
                                          size_t max_block, int64_t* pairs) {
  absl::flat_hash_map<std::string, std::vector<uint32_t>> blocks;
  const std::string prefix = absl::StrCat(kind, ":");
  for (uint32_t i = 0; i < records.size(); ++i) {
    for (const std::string& key : BlockingKeys(records[i])) {
      if (absl::StartsWith(key, prefix)) blocks[key].push_back(i);
    }
  }
  absl::flat_hash_set<uint64_t> seen;
  absl::flat_hash_map<ComparisonVector, int64_t> counts;
  std::vector<std::string> keys;
  keys.reserve(blocks.size());
  for (const auto& [key, members] : blocks) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    const std::vector<uint32_t>& members = blocks[key];
    if (members.size() < 2 || members.size() > max_block) continue;
    for (size_t x = 0; x < members.size(); ++x) {
      for (size_t y = x + 1; y < members.size(); ++y) {
        const uint32_t a = std::min(members[x], members[y]);
        const uint32_t b = std::max(members[x], members[y]);
        if (!seen.insert((static_cast<uint64_t>(a) << 32) | b).second) continue;
        ++counts[Compare(records[a], records[b])];
      }
    }
  }
  *pairs = static_cast<int64_t>(seen.size());
  return ToPatterns(counts);
}

}  // namespace

EmResult RunEm(const std::vector<PatternCount>& patterns, const LevelTable& u, const LevelTable& initial_m,
               const EmOptions& options) {
  EmResult result;
  result.m = initial_m;
  result.lambda = options.initial_lambda;
  double total = 0;
  for (const PatternCount& p : patterns) total += static_cast<double>(p.count);
  if (total <= 0) return result;

  std::vector<double> g(patterns.size());
  for (int it = 0; it < options.max_iterations; ++it) {
    // E step: the probability that each pattern is a match.
    double matches = 0;
    for (size_t i = 0; i < patterns.size(); ++i) {
      double lm = std::log(result.lambda), lu = std::log(1 - result.lambda);
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (!options.free_fields[f]) continue;
        const uint8_t l = patterns[i].levels.levels[f];
        lm += std::log(std::max(kFloor, result.m[f][l]));
        lu += std::log(std::max(kFloor, u[f][l]));
      }
      const double d = lu - lm;
      g[i] = d > 700 ? 0 : 1.0 / (1.0 + std::exp(d));
      matches += g[i] * static_cast<double>(patterns[i].count);
    }
    // M step.
    LevelTable next = result.m;
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (!options.free_fields[f]) continue;
      std::fill(next[f].begin(), next[f].end(), 0.0);
    }
    for (size_t i = 0; i < patterns.size(); ++i) {
      const double w = g[i] * static_cast<double>(patterns[i].count);
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (options.free_fields[f]) next[f][patterns[i].levels.levels[f]] += w;
      }
    }
    double moved = 0;
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (!options.free_fields[f]) continue;
      const double levels = static_cast<double>(next[f].size());
      for (size_t l = 0; l < next[f].size(); ++l) next[f][l] += options.prior_matches * initial_m[f][l];
      const double total_m = matches + options.prior_matches;
      for (double& v : next[f]) v = (v + kFloor) / (std::max(total_m, kFloor) + levels * kFloor);
      for (size_t l = 0; l < next[f].size(); ++l) moved = std::max(moved, std::abs(next[f][l] - result.m[f][l]));
    }
    const double lambda = std::min(1 - 1e-12, std::max(1e-12, matches / total));
    moved = std::max(moved, std::abs(lambda - result.lambda));
    result.m = std::move(next);
    result.lambda = lambda;
    result.iterations = it + 1;
    result.expected_matches = matches;
    if (moved < options.tolerance) {
      result.converged = true;
      break;
    }
  }
  return result;
}

absl::StatusOr<FsModel> Train(const std::vector<MatchRecord>& records, const FsModel& start,
                              const TrainingOptions& options, TrainingReport* report) {
  TrainingReport local;
  TrainingReport& r = report != nullptr ? *report : local;
  r = TrainingReport();
  r.records = static_cast<int64_t>(records.size());
  if (records.size() < 100) {
    return absl::FailedPreconditionError(absl::StrCat("training needs at least 100 patient records; got ",
                                                      records.size()));
  }

  // u from random pairs.
  SplitMix rng(options.seed);
  const int64_t n = static_cast<int64_t>(records.size());
  const int64_t wanted = std::min<int64_t>(options.random_pairs, n * (n - 1) / 2);
  absl::flat_hash_map<ComparisonVector, int64_t> random_counts;
  for (int64_t i = 0; i < wanted; ++i) {
    const uint64_t a = rng.Below(static_cast<uint64_t>(n));
    uint64_t b = rng.Below(static_cast<uint64_t>(n - 1));
    if (b >= a) ++b;
    ++random_counts[Compare(records[a], records[b])];
  }
  r.random_pairs = wanted;
  const std::vector<PatternCount> random_patterns = ToPatterns(random_counts);
  LevelTable u_first;
  // u from the random patterns, each weighted by its probability of being
  // two different people (all of it on the first pass).
  const auto count_u = [&](const LevelTable* m, double lambda_all) {
    LevelTable u(kFieldCount);
    for (size_t f = 0; f < kFieldCount; ++f) u[f].assign(LevelCount(static_cast<Field>(f)), 0.0);
    double total = 0;
    for (const PatternCount& p : random_patterns) {
      double weight = static_cast<double>(p.count);
      if (m != nullptr) {
        double lm = std::log(lambda_all), lu = std::log(1 - lambda_all);
        for (size_t f = 0; f < kFieldCount; ++f) {
          lm += std::log(std::max(kFloor, (*m)[f][p.levels.levels[f]]));
          lu += std::log(std::max(kFloor, u_first[f][p.levels.levels[f]]));
        }
        const double d = lu - lm;
        weight *= d > 700 ? 1.0 : 1.0 - 1.0 / (1.0 + std::exp(d));
      }
      total += weight;
      for (size_t f = 0; f < kFieldCount; ++f) u[f][p.levels.levels[f]] += weight;
    }
    for (size_t f = 0; f < kFieldCount; ++f) {
      // Add-one smoothing: a level never seen among random pairs still
      // gets an honest upper bound on its probability rather than zero.
      const double levels = static_cast<double>(u[f].size());
      for (double& v : u[f]) v = (v + 1) / (total + levels);
    }
    return u;
  };
  u_first = count_u(nullptr, 0);
  LevelTable u = u_first;

  // m by EM, one session per blocking kind; the sessions' patterns do not
  // depend on u or m, so they are counted once.
  const LevelTable initial_m = FromModel(start, /*use_m=*/true);
  struct SessionSpec {
    const char* kind;
    std::vector<Field> fixed;  // fields the blocking key involves
    // Only pairs without a resident id on one side or both: the birth
    // dates of pairs that carry ids are mostly the ids' own dates, so they
    // would teach the dates' agreement where the id already speaks, not
    // where the date matters.
    bool without_ids = false;
    // Fields whose m comes from this session alone.
    std::vector<Field> sole_source;
  };
  const SessionSpec specs[] = {
      {"ds", {Field::kBirthDate, Field::kSex}, false, {}},
      {"nv", {Field::kName, Field::kAddress}, false, {}},
      {"id", {Field::kResidentId, Field::kBirthDate, Field::kSex}, false, {}},
      {"nv", {Field::kName, Field::kAddress, Field::kResidentId}, true, {Field::kBirthDate}},
  };
  std::vector<std::vector<PatternCount>> session_patterns;
  std::vector<int64_t> session_pairs;
  for (const SessionSpec& spec : specs) {
    int64_t pairs = 0;
    std::vector<PatternCount> patterns = SessionPatterns(records, spec.kind, options.max_block_size, &pairs);
    if (spec.without_ids) {
      pairs = 0;
      std::vector<PatternCount> kept;
      for (const PatternCount& p : patterns) {
        if (p.levels[Field::kResidentId] != level::kIdMissing) continue;
        kept.push_back(p);
        pairs += p.count;
      }
      patterns = std::move(kept);
    }
    session_patterns.push_back(std::move(patterns));
    session_pairs.push_back(pairs);
  }
  std::vector<int> sole(kFieldCount, -1);
  for (size_t i = 0; i < std::size(specs); ++i) {
    for (Field f : specs[i].sole_source) sole[static_cast<size_t>(f)] = static_cast<int>(i);
  }
  const auto run_sessions = [&](const LevelTable& u_now) {
    r.sessions.clear();
    LevelTable m_sum(kFieldCount);
    std::vector<double> weight_sum(kFieldCount, 0.0);
    for (size_t f = 0; f < kFieldCount; ++f) m_sum[f].assign(LevelCount(static_cast<Field>(f)), 0.0);
    for (size_t i = 0; i < session_patterns.size(); ++i) {
      EmOptions em;
      em.prior_matches = options.prior_matches;
      for (Field f : specs[i].fixed) em.free_fields[static_cast<size_t>(f)] = false;
      const EmResult result = RunEm(session_patterns[i], u_now, initial_m, em);
      r.sessions.push_back({absl::StrCat(specs[i].kind, specs[i].without_ids ? "-" : ""), session_pairs[i],
                            result.iterations, result.lambda, result.converged});
      if (session_pairs[i] == 0 || result.expected_matches < 10) continue;
      for (size_t f = 0; f < kFieldCount; ++f) {
        if (!em.free_fields[f]) continue;
        if (sole[f] >= 0 && sole[f] != static_cast<int>(i)) continue;
        for (size_t l = 0; l < m_sum[f].size(); ++l) m_sum[f][l] += result.m[f][l] * result.expected_matches;
        weight_sum[f] += result.expected_matches;
      }
    }
    LevelTable m = initial_m;
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (weight_sum[f] <= 0) continue;  // keep the starting values
      for (size_t l = 0; l < m[f].size(); ++l) m[f][l] = std::max(kFloor, m_sum[f][l] / weight_sum[f]);
    }
    return m;
  };

  // Every candidate pair, for the expected number of same-person pairs.
  std::vector<PatternCount> all_patterns;
  {
    absl::flat_hash_map<ComparisonVector, int64_t> all;
    absl::flat_hash_map<uint64_t, std::vector<uint32_t>> blocks;
    for (uint32_t i = 0; i < records.size(); ++i) {
      for (uint64_t t : records[i].blocking_tokens) blocks[t].push_back(i);
    }
    absl::flat_hash_set<uint64_t> seen;
    std::vector<uint64_t> tokens;
    for (const auto& [t, members] : blocks) tokens.push_back(t);
    std::sort(tokens.begin(), tokens.end());
    for (uint64_t t : tokens) {
      const auto& members = blocks[t];
      if (members.size() < 2 || members.size() > options.max_block_size) continue;
      for (size_t x = 0; x < members.size(); ++x) {
        for (size_t y = x + 1; y < members.size(); ++y) {
          const uint32_t a = std::min(members[x], members[y]);
          const uint32_t b = std::max(members[x], members[y]);
          if (!seen.insert((static_cast<uint64_t>(a) << 32) | b).second) continue;
          ++all[Compare(records[a], records[b])];
        }
      }
    }
    r.candidate_pairs = static_cast<int64_t>(seen.size());
    all_patterns = ToPatterns(all);
  }
  // lambda alone, m and u fixed, iterated to its fixed point over every
  // candidate pair: the expected number of same-person pairs.
  const auto expected_matches = [&](const LevelTable& m_now, const LevelTable& u_now) {
    double lambda = 0.1, expected = 0;
    for (int it = 0; it < 200; ++it) {
      double matches = 0, total = 0;
      for (const PatternCount& p : all_patterns) {
        double lm = std::log(lambda), lu = std::log(1 - lambda);
        for (size_t f = 0; f < kFieldCount; ++f) {
          lm += std::log(std::max(kFloor, m_now[f][p.levels.levels[f]]));
          lu += std::log(std::max(kFloor, u_now[f][p.levels.levels[f]]));
        }
        const double d = lu - lm;
        const double g = d > 700 ? 0 : 1.0 / (1.0 + std::exp(d));
        matches += g * static_cast<double>(p.count);
        total += static_cast<double>(p.count);
      }
      const double next = std::min(1 - 1e-12, std::max(1e-12, matches / std::max(1.0, total)));
      expected = matches;
      if (std::abs(next - lambda) < 1e-10) break;
      lambda = next;
    }
    return expected;
  };
  const double all_training_pairs = static_cast<double>(n) * static_cast<double>(n - 1) / 2;

  LevelTable m = run_sessions(u);
  double expected = expected_matches(m, u);
  // Second round: u without the same-person pairs the random sample holds,
  // then m and the expected matches again under it.
  u = count_u(&m, std::min(0.5, std::max(1e-15, expected / all_training_pairs)));
  m = run_sessions(u);
  expected = expected_matches(m, u);

  // Missing is no evidence: its weight is exactly zero.
  for (size_t f = 0; f < kFieldCount; ++f) m[f].back() = u[f].back();
  // A near miss is never worse evidence than a plain disagreement.
  const uint8_t different_level[kFieldCount] = {
      level::kIdDifferent,     level::kOtherDifferent, level::kNameDifferent, level::kDateDifferent,
      level::kSexDifferent,    level::kPhoneDifferent, level::kAddressDifferent};
  for (size_t f = 0; f < kFieldCount; ++f) {
    // Not for addresses: their "different" level also holds pairs whose
    // addresses could not be compared at one level (a district parsed by
    // name on one side, by code on the other), so it is no clean floor.
    if (f == static_cast<size_t>(Field::kAddress) || f == static_cast<size_t>(Field::kSex) ||
        f == static_cast<size_t>(Field::kOtherId)) {
      continue;
    }
    const double floor_ratio = m[f][different_level[f]] / u[f][different_level[f]];
    for (size_t l = 0; l + 1 < m[f].size(); ++l) {
      if (f == static_cast<size_t>(Field::kResidentId) && l == level::kIdDifferentBothValid) continue;
      if (m[f][l] / u[f][l] < floor_ratio) m[f][l] = std::min(1.0, floor_ratio * u[f][l]);
    }
  }
  r.expected_matches = expected;
  const double reference = static_cast<double>(options.reference_records > 0 ? options.reference_records : n);
  // Same-person pairs grow with the county, all pairs with its square.
  const double matches_at_reference = expected * reference / static_cast<double>(n);
  const double all_pairs = reference * (reference - 1) / 2;
  const double lambda_all = std::max(1e-15, matches_at_reference / all_pairs);
  r.lambda_all = lambda_all;
  const double prior_log2_odds = std::log2(lambda_all / (1 - lambda_all));
  const auto threshold = [&](double p) { return std::log2(p / (1 - p)) - prior_log2_odds; };
  Thresholds thresholds{threshold(options.upper_precision), threshold(options.lower_precision)};

  hisbridge::match::v1::Model proto =
      MakeModelProto(options.name, options.version.empty() ? "trained" : options.version, m, u, thresholds);
  proto.set_description(options.description);
  auto* training = proto.mutable_training();
  training->set_input(options.input);
  training->set_records(r.records);
  training->set_candidate_pairs(r.candidate_pairs);
  training->set_random_pairs(r.random_pairs);
  int iterations = 0;
  for (const auto& s : r.sessions) iterations += s.iterations;
  training->set_em_iterations(iterations);
  training->set_lambda(r.candidate_pairs > 0 ? expected / static_cast<double>(r.candidate_pairs) : 0);
  training->set_reference_records(static_cast<int64_t>(reference));
  training->set_upper_precision(options.upper_precision);
  return FsModel::FromProto(std::move(proto));
}

}  // namespace hisbridge::match
