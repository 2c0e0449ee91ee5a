#include "rebalance/over_sampling/adasyn.hpp"

#include <torch/torch.h>

#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/knn.hpp"

namespace rebalance::over_sampling {

namespace {

/// g_i for the rows `xc` of class `cls` among all rows `x`, computed with imbalanced-learn's
/// float64 operations in its order (numpy's pairwise sum, then division, then rint), so every
/// count, ties at .5 included, matches.
std::vector<int64_t> counts_of(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xc, int64_t cls,
                               int64_t k, int64_t n_samples, const std::string& class_name) {
  const auto nn = neighbors::knn(x, xc, k + 1).indices.slice(1, 1);
  const auto others = (y.index_select(0, nn.flatten()).view_as(nn) != cls).sum(1).contiguous();
  const int64_t* po = others.data_ptr<int64_t>();
  return detail::adasyn_counts(std::vector<int64_t>(po, po + xc.size(0)), k, n_samples, class_name);
}

}  // namespace

ADASYN::ADASYN(ADASYNOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("adasyn", SamplingType::Over, std::move(strategy), seed), options_(options) {
  REBALANCE_CHECK(options_.n_neighbors >= 1, "ADASYN: n_neighbors must be >= 1, got {}", options_.n_neighbors);
}

std::vector<int64_t> ADASYN::generation_counts(const Dataset& data, int64_t cls, int64_t n_neighbors,
                                               int64_t n_samples) {
  detail::check_rows("ADASYN", "n_neighbors", n_neighbors, n_neighbors + 1, data.size(), "the data set");
  const at::Tensor x = detail::features(data);
  const at::Tensor xc = x.index_select(0, detail::class_rows(data, cls)).contiguous();
  return counts_of(x, data.y.to(torch::kCPU), xc, cls, n_neighbors, n_samples, data.class_names[cls]);
}

Dataset ADASYN::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.n_neighbors;
  const auto counts = data.class_counts();
  detail::check_rows("ADASYN", "n_neighbors", k, k + 1, data.size(), "the data set");
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("ADASYN", "n_neighbors", k, data, c, counts[c]);

  const at::Tensor x = detail::features(data);
  const at::Tensor y = data.y.to(torch::kCPU);
  detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const at::Tensor xc = x.index_select(0, rows).contiguous();
    const auto g = counts_of(x, y, xc, c, k, n, data.class_names[c]);
    const at::Tensor nn = detail::self_neighbors(xc, k);
    const int64_t* pnn = nn.data_ptr<int64_t>();
    std::vector<int64_t> seed_rows, nb;
    for (int64_t i = 0; i < static_cast<int64_t>(g.size()); ++i) seed_rows.insert(seed_rows.end(), g[i], i);
    const int64_t m = static_cast<int64_t>(seed_rows.size());
    Rng rng = detail::class_rng(seed(), c);
    nb.resize(m);
    std::vector<double> steps(m);
    for (int64_t i = 0; i < m; ++i) {
      nb[i] = pnn[seed_rows[i] * k + static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(k)))];
      steps[i] = rng.uniform();
    }
    auto p0 = detail::to_global(rows, seed_rows), p1 = detail::to_global(rows, nb);
    out.add_interpolated(c, xc, std::move(seed_rows), xc, std::move(nb), std::move(steps), std::move(p0),
                         std::move(p1));
  }
  return out.append_to(data);
}

namespace detail {

std::vector<int64_t> adasyn_counts(const std::vector<int64_t>& others, int64_t k, int64_t n_samples,
                                   const std::string& class_name) {
  const auto n_c = static_cast<int64_t>(others.size());
  std::vector<double> ratio(n_c);
  for (int64_t i = 0; i < n_c; ++i) ratio[i] = static_cast<double>(others[i]) / static_cast<double>(k);
  const double total = numpy_sum(ratio);
  REBALANCE_CHECK(total != 0.0,
                  "ADASYN: Not any neighbours belong to the majority class (no row of class \"{}\" has another class "
                  "among its n_neighbors={} nearest rows). This case will induce a NaN case with a division by "
                  "zero. ADASYN is not suited for this specific dataset. Use SMOTE instead.",
                  class_name, k);
  std::vector<int64_t> g(n_c);
  int64_t sum = 0;
  for (int64_t i = 0; i < n_c; ++i) {
    const double r = ratio[i] / total;
    g[i] = static_cast<int64_t>(std::nearbyint(r * static_cast<double>(n_samples)));
    sum += g[i];
  }
  REBALANCE_CHECK(sum > 0,
                  "ADASYN: No samples will be generated with the provided ratio settings ({} rows asked for class "
                  "\"{}\" round to 0 for every row).",
                  n_samples, class_name);
  return g;
}

}  // namespace detail

}  // namespace rebalance::over_sampling
