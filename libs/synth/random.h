// Deterministic pseudo-random numbers for the synthetic county generator.
//
// The generator's contract is "same seed, same bytes", so it uses neither
// the <random> distributions (whose algorithms the standard leaves to each
// library) nor anything seeded from the environment. Rng is xoshiro256**
// seeded through splitmix64, and every distribution here is written out.
// The only platform dependence left is libm's log/exp/cos in Normal and
// Poisson: bytes are identical on the same platform (glibc's results are
// stable across its versions in practice, not by contract).
//
// Independent streams: Rng::Stream(seed, a, b, c) derives a generator from
// the seed and a key (e.g. a person's index and a purpose), so each part of
// the county draws from its own stream and the output does not depend on
// the order (or the thread) in which parts are generated.
//
//   Rng rng = Rng::Stream(seed, kPurposeNames, person_index);
//   if (rng.Bernoulli(0.03)) ...;
//   const int children = rng.UniformInt(1, 3);
//
// Thread safety: an Rng is a value; use one per thread. WeightedChoice is
// immutable after construction and safe to share.
#ifndef HISBRIDGE_LIBS_SYNTH_RANDOM_H_
#define HISBRIDGE_LIBS_SYNTH_RANDOM_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace hisbridge::synth {

// splitmix64's finaliser: a bijective 64-bit mixer.
uint64_t Mix64(uint64_t x);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // A generator for (seed, key...): different keys give statistically
  // independent streams.
  static Rng Stream(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);

  uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double UniformDouble();
  // Uniform in [0, n); n must be > 0. Unbiased (Lemire's method).
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi], inclusive; requires lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  bool Bernoulli(double p);
  // Standard normal (Box-Muller, one value per call).
  double Normal(double mean, double stddev);
  // Poisson with the given mean (Knuth's method below 30, a rounded normal
  // above); mean <= 0 gives 0.
  int Poisson(double mean);
  // An index drawn with probability proportional to weights[i] (linear scan;
  // for short lists). All weights >= 0 and at least one > 0.
  size_t Pick(absl::Span<const double> weights);

  template <typename T>
  const T& PickOne(const std::vector<T>& items) {
    return items[Uniform(items.size())];
  }

 private:
  uint64_t s_[4];
};

// Draws indices proportional to fixed weights in O(1) (Walker's alias
// method, built once).
class WeightedChoice {
 public:
  WeightedChoice() = default;
  explicit WeightedChoice(absl::Span<const double> weights);

  size_t Draw(Rng& rng) const;
  size_t size() const { return probability_.size(); }

 private:
  std::vector<double> probability_;
  std::vector<uint32_t> alias_;
};

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_RANDOM_H_
