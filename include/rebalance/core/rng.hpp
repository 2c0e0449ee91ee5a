// The one random-number generator of rebalance: xoshiro256** seeded through splitmix64. Every
// random choice in the library draws from an Rng built from a user seed, so the same seed gives
// the same bytes on every machine, thread count and libtorch version.
#pragma once

#include <cstdint>
#include <vector>

namespace rebalance {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform integer in [0, n), unbiased (Lemire's method). n must be > 0.
  uint64_t uniform_int(uint64_t n);
  /// Standard normal deviate (Marsaglia's polar method; deterministic, no libstdc++ dependence).
  double normal();
  /// Gamma(shape, 1) deviate, shape > 0 (Marsaglia and Tsang 2000; shape < 1 through
  /// Gamma(shape + 1) * U^(1/shape)).
  double gamma(double shape);
  /// Beta(a, b) deviate, a, b > 0: G_a / (G_a + G_b) of two gamma deviates.
  double beta(double a, double b);
  /// A random permutation of 0..n-1 (Fisher-Yates).
  std::vector<int64_t> permutation(int64_t n);
  /// k distinct indices from 0..n-1 in random order (partial Fisher-Yates). k <= n.
  std::vector<int64_t> choice_without_replacement(int64_t n, int64_t k);
  /// `count` indices of 0..n-1: random permutations one after another, the last cut short (each
  /// index appears once per n drawn). n must be > 0.
  std::vector<int64_t> cycled_permutations(int64_t n, int64_t count);
  /// An independent generator for sub-task `stream` (e.g. one per class), stable across runs.
  Rng fork(uint64_t stream) const;

 private:
  uint64_t s_[4];
  uint64_t seed_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace rebalance
