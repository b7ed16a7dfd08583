#include "libs/synth/random.h"

#include <cmath>

namespace hisbridge::synth {

uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Rng::Rng(uint64_t seed) {
  // splitmix64 as the xoshiro authors recommend: never an all-zero state.
  uint64_t x = seed;
  for (uint64_t& s : s_) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s = z ^ (z >> 31);
  }
}

Rng Rng::Stream(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  uint64_t h = Mix64(seed ^ 0x5EED5EED5EED5EEDull);
  h = Mix64(h ^ a);
  h = Mix64(h ^ (b * 0xD6E8FEB86659FD93ull));
  h = Mix64(h ^ (c * 0xA0761D6478BD642Full));
  return Rng(h);
}

static inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

uint64_t Rng::Uniform(uint64_t n) {
  // Lemire's nearly divisionless method, exact (rejection on the low part).
  unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t Rng::UniformInt(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo) + 1));
}

bool Rng::Bernoulli(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return UniformDouble() < p;
}

double Rng::Normal(double mean, double stddev) {
  // 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - UniformDouble();
  const double u2 = UniformDouble();
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

int Rng::Poisson(double mean) {
  if (mean <= 0) return 0;
  if (mean >= 30) {
    const double x = std::floor(Normal(mean, std::sqrt(mean)) + 0.5);
    return x < 0 ? 0 : static_cast<int>(x);
  }
  const double limit = std::exp(-mean);
  int k = 0;
  double p = UniformDouble();
  while (p > limit) {
    ++k;
    p *= UniformDouble();
  }
  return k;
}

size_t Rng::Pick(absl::Span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  double u = UniformDouble() * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  // Rounding: the last positive weight.
  for (size_t i = weights.size(); i-- > 0;) {
    if (weights[i] > 0) return i;
  }
  return 0;
}

WeightedChoice::WeightedChoice(absl::Span<const double> weights) {
  const size_t n = weights.size();
  probability_.assign(n, 0);
  alias_.assign(n, 0);
  if (n == 0) return;
  double total = 0;
  for (double w : weights) total += w;
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = total > 0 ? weights[i] * static_cast<double>(n) / total : 1.0;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    probability_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t i : large) probability_[i] = 1.0, alias_[i] = i;
  for (uint32_t i : small) probability_[i] = 1.0, alias_[i] = i;
}

size_t WeightedChoice::Draw(Rng& rng) const {
  const size_t i = rng.Uniform(probability_.size());
  return rng.UniformDouble() < probability_[i] ? i : alias_[i];
}

}  // namespace hisbridge::synth
