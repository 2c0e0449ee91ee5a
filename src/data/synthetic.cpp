#include "rebalance/data/synthetic.hpp"

#include <torch/torch.h>

#include <cmath>
#include <numeric>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"

namespace rebalance {

namespace {

at::Tensor normal_matrix(Rng& rng, int64_t rows, int64_t cols) {
  auto t = torch::empty({rows, cols}, torch::kFloat64);
  auto* p = t.data_ptr<double>();
  for (int64_t i = 0; i < rows * cols; ++i) p[i] = rng.normal();
  return t;
}

at::Tensor uniform_matrix(Rng& rng, int64_t rows, int64_t cols, double lo, double hi) {
  auto t = torch::empty({rows, cols}, torch::kFloat64);
  auto* p = t.data_ptr<double>();
  for (int64_t i = 0; i < rows * cols; ++i) p[i] = lo + (hi - lo) * rng.uniform();
  return t;
}

}  // namespace

std::vector<int64_t> synthetic_class_counts(const SyntheticOptions& o) {
  REBALANCE_CHECK(o.classes >= 2, "synthetic: classes must be at least 2, got {}", o.classes);
  REBALANCE_CHECK(o.n >= o.classes, "synthetic: n={} is smaller than classes={}", o.n, o.classes);
  std::vector<double> w = o.weights;
  if (w.empty()) w.assign(o.classes, 1.0 / o.classes);
  if (static_cast<int64_t>(w.size()) == o.classes - 1)
    w.push_back(1.0 - std::accumulate(w.begin(), w.end(), 0.0));
  REBALANCE_CHECK(static_cast<int64_t>(w.size()) == o.classes,
                  "synthetic: {} weights given for {} classes (give {} or {})", o.weights.size(), o.classes,
                  o.classes, o.classes - 1);
  for (size_t c = 0; c < w.size(); ++c)
    REBALANCE_CHECK(w[c] > 0.0 && w[c] <= 1.0, "synthetic: weight of class {} is {}; weights must lie in (0, 1]",
                    c, w[c]);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  REBALANCE_CHECK(std::fabs(total - 1.0) < 1e-6, "synthetic: weights sum to {}, not 1", total);
  std::vector<int64_t> counts(o.classes);
  int64_t used = 0;
  for (int64_t c = 0; c < o.classes; ++c) used += counts[c] = static_cast<int64_t>(o.n * w[c]);
  for (int64_t i = 0; used < o.n; ++i, ++used) ++counts[i % o.classes];
  for (int64_t c = 0; c < o.classes; ++c)
    REBALANCE_CHECK(counts[c] > 0, "synthetic: class {} gets no rows (n={}, weight {})", c, o.n, w[c]);
  return counts;
}

Dataset make_synthetic(const SyntheticOptions& o) {
  const auto counts = synthetic_class_counts(o);
  REBALANCE_CHECK(o.informative >= 1, "synthetic: informative must be at least 1, got {}", o.informative);
  REBALANCE_CHECK(o.redundant >= 0, "synthetic: redundant must be >= 0, got {}", o.redundant);
  REBALANCE_CHECK(o.informative + o.redundant <= o.features,
                  "synthetic: informative ({}) + redundant ({}) exceed features ({})", o.informative, o.redundant,
                  o.features);
  REBALANCE_CHECK(o.clusters_per_class >= 1, "synthetic: clusters_per_class must be >= 1");
  REBALANCE_CHECK(o.informative >= 62 || o.classes * o.clusters_per_class <= (int64_t(1) << o.informative),
                  "synthetic: classes ({}) * clusters_per_class ({}) must be at most 2^informative ({})", o.classes,
                  o.clusters_per_class, int64_t(1) << std::min<int64_t>(o.informative, 62));
  REBALANCE_CHECK(o.flip_y >= 0.0 && o.flip_y <= 1.0, "synthetic: flip_y must be in [0, 1], got {}", o.flip_y);
  REBALANCE_CHECK(o.class_sep > 0.0, "synthetic: class_sep must be > 0, got {}", o.class_sep);

  Rng rng(o.seed);
  const int64_t k = o.classes * o.clusters_per_class;
  // Distinct hypercube vertices as centroids.
  std::vector<uint64_t> vertices;
  while (static_cast<int64_t>(vertices.size()) < k) {
    uint64_t v = 0;
    for (int64_t b = 0; b < std::min<int64_t>(o.informative, 64); ++b) v |= (rng.next_u64() & 1ULL) << b;
    if (std::find(vertices.begin(), vertices.end(), v) == vertices.end()) vertices.push_back(v);
  }
  auto x = torch::zeros({o.n, o.features}, torch::kFloat64);
  auto y = torch::empty({o.n}, torch::kInt64);
  int64_t row = 0;
  for (int64_t c = 0; c < o.classes; ++c) {
    for (int64_t q = 0; q < o.clusters_per_class; ++q) {
      const int64_t m = counts[c] / o.clusters_per_class + (q < counts[c] % o.clusters_per_class ? 1 : 0);
      if (m == 0) continue;
      auto centroid = torch::empty({o.informative}, torch::kFloat64);
      const uint64_t v = vertices[c * o.clusters_per_class + q];
      for (int64_t b = 0; b < o.informative; ++b)
        centroid[b] = (b < 64 && ((v >> b) & 1ULL)) ? o.class_sep : -o.class_sep;
      const auto a = uniform_matrix(rng, o.informative, o.informative, -1.0, 1.0);
      const auto block = normal_matrix(rng, m, o.informative).matmul(a) + centroid;
      x.slice(0, row, row + m).slice(1, 0, o.informative).copy_(block);
      y.slice(0, row, row + m).fill_(c);
      row += m;
    }
  }
  if (o.redundant > 0) {
    const auto b = uniform_matrix(rng, o.informative, o.redundant, -1.0, 1.0);
    x.slice(1, o.informative, o.informative + o.redundant).copy_(x.slice(1, 0, o.informative).matmul(b));
  }
  const int64_t noise = o.features - o.informative - o.redundant;
  if (noise > 0) x.slice(1, o.informative + o.redundant).copy_(normal_matrix(rng, o.n, noise));
  if (o.flip_y > 0.0) {
    auto ya = y.accessor<int64_t, 1>();
    for (int64_t i = 0; i < o.n; ++i)
      if (rng.uniform() < o.flip_y) ya[i] = static_cast<int64_t>(rng.uniform_int(o.classes));
  }
  Dataset d = Dataset::from_tensors(x.to(torch::kFloat32), y, {}, "synthetic");
  d = d.shuffled(rng.next_u64());
  d.origin = torch::arange(o.n, torch::kInt64);  // generated rows: the shuffled order is the source
  return d;
}

}  // namespace rebalance
