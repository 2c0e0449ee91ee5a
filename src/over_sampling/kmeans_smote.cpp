#include "rebalance/over_sampling/kmeans_smote.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "detail.hpp"
#include "rebalance/cluster/kmeans.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::over_sampling {

namespace {


/// Mean Euclidean distance over the n (n - 1) ordered pairs of distinct rows of `x` ([n, D]),
/// in float64 row blocks so no n x n matrix is ever held.
double mean_pairwise_distance(const at::Tensor& x) {
  const int64_t n = x.size(0);
  const auto x64 = x.to(torch::kFloat64);
  const int64_t block = std::max<int64_t>(1, (int64_t(4) << 20) / std::max<int64_t>(n, 1));
  double total = 0.0;
  for (int64_t r0 = 0; r0 < n; r0 += block) {
    const auto part = x64.slice(0, r0, std::min(n, r0 + block));
    total += torch::cdist(part.unsqueeze(0), x64.unsqueeze(0), 2.0, /*compute_mode=*/2).sum().item<double>();
  }
  return total / static_cast<double>(n * n - n);
}

/// Split `n` rows over clusters in proportion to `weights` (summing to 1), exactly n in total:
/// floors first (their sum cannot exceed n), then one more to the largest remainders (lower
/// cluster first on ties).
std::vector<int64_t> apportion(int64_t n, const std::vector<double>& weights) {
  const size_t m = weights.size();
  std::vector<int64_t> out(m);
  std::vector<double> rem(m);
  int64_t used = 0;
  for (size_t j = 0; j < m; ++j) {
    const double q = static_cast<double>(n) * weights[j];
    out[j] = std::min<int64_t>(n, static_cast<int64_t>(std::floor(q)));
    rem[j] = q - static_cast<double>(out[j]);
    used += out[j];
  }
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rem[a] > rem[b]; });
  for (size_t i = 0; used < n; i = (i + 1) % m, ++used) ++out[order[i]];
  return out;
}

}  // namespace

KMeansSMOTE::KMeansSMOTE(KMeansSMOTEOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("kmeans_smote", SamplingType::Over, std::move(strategy), seed), options_(options) {
  REBALANCE_CHECK(options_.k_neighbors >= 1, "KMeansSMOTE: k_neighbors must be >= 1, got {}", options_.k_neighbors);
  REBALANCE_CHECK(options_.n_clusters >= 1, "KMeansSMOTE: n_clusters must be >= 1, got {}", options_.n_clusters);
  if (options_.density_exponent)
    REBALANCE_CHECK(std::isfinite(*options_.density_exponent), "KMeansSMOTE: density_exponent must be finite");
  if (options_.cluster_balance_threshold)
    REBALANCE_CHECK(std::isfinite(*options_.cluster_balance_threshold),
                    "KMeansSMOTE: cluster_balance_threshold must be finite");
}

Dataset KMeansSMOTE::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.k_neighbors, n_clusters = options_.n_clusters;
  REBALANCE_CHECK(n_clusters <= data.size(),
                  "KMeansSMOTE: n_clusters={} is larger than the data set, which has {} rows (n_samples={} should be "
                  ">= n_clusters={})",
                  n_clusters, data.size(), data.size(), n_clusters);
  const at::Tensor x = detail::features(data);
  const at::Tensor y = data.y.to(torch::kCPU);
  int64_t total_asked = 0;
  for (const auto& [c, n] : target) total_asked += n;
  bool any = false;
  for (const auto& [c, n] : target) any |= n > 0;
  if (!any) return data;

  // One clustering serves every class: imbalanced-learn refits the same seeded k-means per class.
  const auto km = cluster::kmeans(x, {.k = n_clusters, .seed = Rng(seed()).fork(streams::kKMeansSMOTE).next_u64()});
  const at::Tensor labels = km.labels.to(torch::kCPU);
  std::vector<at::Tensor> members(n_clusters);
  for (int64_t j = 0; j < n_clusters; ++j) members[j] = (labels == j).nonzero().flatten();

  detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const double threshold = n_clusters == 1 ? -std::numeric_limits<double>::infinity()
                             : options_.cluster_balance_threshold
                                 ? *options_.cluster_balance_threshold
                                 : static_cast<double>(n) / static_cast<double>(total_asked) / 2.0;
    std::vector<at::Tensor> valid;  // data-set positions of the class rows of each valid cluster
    std::vector<double> sparsity;
    for (int64_t j = 0; j < n_clusters; ++j) {
      const int64_t size = members[j].size(0);
      if (size == 0) continue;
      const at::Tensor in_class = members[j].index_select(0, (y.index_select(0, members[j]) == c).nonzero().flatten());
      const int64_t n_in = in_class.size(0);
      // imbalanced-learn's float tests, kept as written so borderline clusters are judged alike.
      const double share = static_cast<double>(n_in) / static_cast<double>(size);
      if (share < threshold) continue;
      if (share * static_cast<double>(size) < static_cast<double>(k + 1)) continue;
      const double exponent = options_.density_exponent
                                  ? *options_.density_exponent
                                  : std::pow(std::log(static_cast<double>(n_in)) / std::log(1.6), 1.8) * 0.16;
      const double dist = mean_pairwise_distance(x.index_select(0, in_class));
      valid.push_back(in_class);
      sparsity.push_back(std::pow(dist, exponent) / static_cast<double>(n_in));
    }
    REBALANCE_CHECK(!valid.empty(),
                    "KMeansSMOTE: No clusters found with sufficient samples of class \"{}\". Try lowering the "
                    "cluster_balance_threshold or increasing the number of clusters. (A cluster qualifies with a "
                    "share of the class >= {:.4g} and at least k_neighbors + 1 = {} rows of it; n_clusters={}.)",
                    data.class_names[c], threshold, k + 1, n_clusters);
    const double total_sparsity = std::accumulate(sparsity.begin(), sparsity.end(), 0.0);
    std::vector<double> weights(sparsity.size());
    for (size_t j = 0; j < sparsity.size(); ++j)
      // Clusters of identical rows have zero sparsity; then share evenly rather than divide by 0.
      weights[j] = total_sparsity > 0 && std::isfinite(total_sparsity) ? sparsity[j] / total_sparsity
                                                                        : 1.0 / static_cast<double>(sparsity.size());
    const auto per_cluster = apportion(n, weights);

    Rng rng = detail::class_rng(seed(), c);
    for (size_t j = 0; j < valid.size(); ++j) {
      if (per_cluster[j] == 0) continue;
      const at::Tensor xj = x.index_select(0, valid[j]).contiguous();
      const at::Tensor nn = detail::self_neighbors(xj, k);
      const int64_t* pnn = nn.data_ptr<int64_t>();
      auto draws = detail::draw_pairs(xj.size(0), k, per_cluster[j], 1.0, rng);
      std::vector<int64_t> nb(per_cluster[j]);
      for (int64_t i = 0; i < per_cluster[j]; ++i) nb[i] = pnn[draws.row[i] * k + draws.col[i]];
      auto p0 = detail::to_global(valid[j], draws.row), p1 = detail::to_global(valid[j], nb);
      out.add_interpolated(c, xj, std::move(draws.row), xj, std::move(nb), std::move(draws.step), std::move(p0),
                           std::move(p1));
    }
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
