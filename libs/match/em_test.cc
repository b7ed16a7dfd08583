#include "libs/match/em.h"

#include <cmath>

#include "gtest/gtest.h"

namespace hisbridge::match {
namespace {

// A known mixture over two fields (name, birth_date), the others fixed at
// "missing": 20% matches. Expected pattern counts are fed to EM, which must
// recover m and lambda.
TEST(Em, RecoversAKnownMixture) {
  LevelTable u(kFieldCount), m_true(kFieldCount), m_start(kFieldCount);
  for (size_t f = 0; f < kFieldCount; ++f) {
    const size_t n = LevelCount(static_cast<Field>(f));
    u[f].assign(n, 0);
    m_true[f].assign(n, 0);
    m_start[f].assign(n, 1.0 / static_cast<double>(n));
    u[f][n - 1] = m_true[f][n - 1] = 1;  // "missing" for the unused fields
  }
  const size_t name = static_cast<size_t>(Field::kName);
  const size_t dob = static_cast<size_t>(Field::kBirthDate);
  u[name].assign(LevelCount(Field::kName), 0);
  m_true[name].assign(LevelCount(Field::kName), 0);
  u[dob].assign(LevelCount(Field::kBirthDate), 0);
  m_true[dob].assign(LevelCount(Field::kBirthDate), 0);
  // name: exact / homophone / different; birth date: exact / year_off / different.
  m_true[name][level::kNameExact] = 0.85, m_true[name][level::kNameHomophone] = 0.1,
  m_true[name][level::kNameDifferent] = 0.05;
  u[name][level::kNameExact] = 0.01, u[name][level::kNameHomophone] = 0.02, u[name][level::kNameDifferent] = 0.97;
  m_true[dob][level::kDateExact] = 0.9, m_true[dob][level::kDateYearOff] = 0.06, m_true[dob][level::kDateDifferent] = 0.04;
  u[dob][level::kDateExact] = 0.02, u[dob][level::kDateYearOff] = 0.03, u[dob][level::kDateDifferent] = 0.95;
  const double lambda = 0.2;
  std::vector<PatternCount> patterns;
  const uint8_t name_levels[] = {level::kNameExact, level::kNameHomophone, level::kNameDifferent};
  const uint8_t dob_levels[] = {level::kDateExact, level::kDateYearOff, level::kDateDifferent};
  for (uint8_t a : name_levels) {
    for (uint8_t b : dob_levels) {
      PatternCount p;
      for (size_t f = 0; f < kFieldCount; ++f) p.levels.levels[f] = static_cast<uint8_t>(LevelCount(static_cast<Field>(f)) - 1);
      p.levels[Field::kName] = a;
      p.levels[Field::kBirthDate] = b;
      const double share = lambda * m_true[name][a] * m_true[dob][b] + (1 - lambda) * u[name][a] * u[dob][b];
      p.count = static_cast<int64_t>(std::llround(share * 1e8));
      patterns.push_back(p);
    }
  }
  EmOptions options;
  options.initial_lambda = 0.5;
  options.max_iterations = 20000;
  options.tolerance = 1e-10;
  for (size_t f = 0; f < kFieldCount; ++f) options.free_fields[f] = f == name || f == dob;
  // Start from "agreement is likely among matches" rather than uniform:
  // EM's two classes are only named by where it starts.
  m_start[name][level::kNameExact] = 0.5;
  m_start[dob][level::kDateExact] = 0.5;
  const EmResult r = RunEm(patterns, u, m_start, options);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.lambda, lambda, 1e-3);
  EXPECT_NEAR(r.m[name][level::kNameExact], 0.85, 5e-3);
  EXPECT_NEAR(r.m[name][level::kNameHomophone], 0.10, 5e-3);
  EXPECT_NEAR(r.m[dob][level::kDateExact], 0.90, 5e-3);
  EXPECT_NEAR(r.m[dob][level::kDateYearOff], 0.06, 5e-3);
  EXPECT_NEAR(r.expected_matches, 0.2e8, 0.2e8 * 5e-3);
}

TEST(Em, TrainRefusesTooLittleData) {
  std::vector<MatchRecord> few(10);
  TrainingOptions options;
  auto model = Train(few, FsModel::Default(), options, nullptr);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hisbridge::match
