#include "rebalance/core/rng.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t Rng::uniform_int(uint64_t n) {
  REBALANCE_CHECK(n > 0, "uniform_int needs n > 0");
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Rng::gamma(double shape) {
  REBALANCE_CHECK(shape > 0 && std::isfinite(shape), "gamma needs a finite shape > 0, got {}", shape);
  if (shape < 1.0) {
    const double g = gamma(shape + 1.0);
    double u = uniform();
    while (u == 0.0) u = uniform();
    return g * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double Rng::beta(double a, double b) {
  REBALANCE_CHECK(a > 0 && b > 0, "beta needs a > 0 and b > 0, got {} and {}", a, b);
  const double x = gamma(a), y = gamma(b);
  // Both underflow only for tiny shapes: the draw is then 0 or 1 with odds a : b.
  if (x + y == 0.0) return uniform() < a / (a + b) ? 1.0 : 0.0;
  return x / (x + y);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[uniform_int(static_cast<uint64_t>(i) + 1)]);
  return p;
}

std::vector<int64_t> Rng::cycled_permutations(int64_t n, int64_t count) {
  REBALANCE_CHECK(n > 0 || count == 0, "cannot draw {} indices from an empty range", count);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(count, 0)));
  while (static_cast<int64_t>(out.size()) < count) {
    const auto perm = permutation(n);
    out.insert(out.end(), perm.begin(), perm.begin() + std::min<int64_t>(n, count - static_cast<int64_t>(out.size())));
  }
  return out;
}

std::vector<int64_t> Rng::choice_without_replacement(int64_t n, int64_t k) {
  REBALANCE_CHECK(k >= 0 && k <= n, "cannot draw {} distinct items from {}", k, n);
  if (k < n / 8) {
    // The same partial Fisher-Yates shuffle with only the displaced entries stored: the same
    // draws and result in O(k) memory (a few picks from 100 million rows need not hold them all).
    std::unordered_map<int64_t, int64_t> moved;
    moved.reserve(static_cast<size_t>(2 * k));
    const auto value = [&](int64_t i) {
      const auto it = moved.find(i);
      return it == moved.end() ? i : it->second;
    };
    std::vector<int64_t> out(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) {
      const int64_t j = i + static_cast<int64_t>(uniform_int(static_cast<uint64_t>(n - i)));
      const int64_t vi = value(i), vj = value(j);
      out[i] = vj;
      moved[j] = vi;  // position i is never read again
    }
    return out;
  }
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = 0; i < k; ++i) std::swap(p[i], p[i + uniform_int(static_cast<uint64_t>(n - i))]);
  p.resize(static_cast<size_t>(k));
  return p;
}

Rng Rng::fork(uint64_t stream) const {
  uint64_t x = seed_ ^ (0xd1b54a32d192ed03ULL * (stream + 1));
  return Rng(splitmix64(x));
}

}  // namespace rebalance
