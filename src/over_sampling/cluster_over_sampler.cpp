#include "rebalance/over_sampling/cluster_over_sampler.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "detail.hpp"
#include "rebalance/cluster/kmeans.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::over_sampling {

namespace {

/// How many rows each cluster gets when `budget` rows raise the smallest clusters first, none
/// beyond `cap` (water-filling). Rows left at the last level go to the lower clusters first.
std::vector<int64_t> water_fill(const std::vector<int64_t>& sizes, int64_t cap, int64_t budget) {
  auto need = [&](int64_t level) {
    int64_t s = 0;
    for (auto n : sizes) s += std::max<int64_t>(0, level - n);
    return s;
  };
  int64_t lo = 0, hi = cap;  // largest level <= cap whose need fits the budget
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (need(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  std::vector<int64_t> add(sizes.size());
  int64_t left = budget - need(lo);
  for (size_t j = 0; j < sizes.size(); ++j) add[j] = std::max<int64_t>(0, lo - sizes[j]);
  for (size_t j = 0; j < sizes.size() && left > 0 && lo < cap; ++j)
    if (sizes[j] <= lo) {
      ++add[j];
      --left;
    }
  return add;
}

bool asks_counts(const SamplingStrategy& s) {
  std::string t = s.text();
  t.erase(0, t.find_first_not_of(" \t"));
  return (!t.empty() && t.front() == '{') || parse_double(t).has_value();
}

bool asks_every_class(const SamplingStrategy& s) {
  std::string t;
  for (char c : s.text())
    if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t == "auto" || t == "all";
}

}  // namespace

ClusterOverSampler::ClusterOverSampler(ClusterOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("cluster_over", SamplingType::Over, std::move(strategy), seed), options_(options) {
  REBALANCE_CHECK(options_.n_clusters >= 1, "ClusterOverSampler: n_clusters must be >= 1, got {}",
                  options_.n_clusters);
}

Dataset ClusterOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto counts = data.class_counts();
  int64_t majority = -1;
  for (int64_t c = 0; c < data.num_classes(); ++c)
    if (counts[c] > 0 && (majority < 0 || counts[c] > counts[majority])) majority = c;

  // Which classes grow, and to what final size (0 = decided by the cluster step below).
  std::map<int64_t, int64_t> final_size;
  const bool counts_asked = asks_counts(strategy());
  if (counts_asked) {
    for (const auto& [c, n] : target)
      if (n > 0) final_size[c] = counts[c] + n;
  } else if (asks_every_class(strategy())) {
    for (int64_t c = 0; c < data.num_classes(); ++c)
      if (counts[c] > 0) final_size[c] = 0;
  } else {
    for (const auto& [c, n] : target) final_size[c] = 0;
  }
  if (final_size.empty()) return data;

  const at::Tensor x = detail::features(data);
  // k-means inside each class that grows, and inside the majority class (its largest cluster is
  // the reference size S even when it does not grow itself).
  std::map<int64_t, std::vector<at::Tensor>> clusters;  // class -> data-set positions per cluster
  auto cluster_class = [&](int64_t c) {
    const at::Tensor rows = detail::class_rows(data, c);
    const int64_t k = std::min(options_.n_clusters, rows.size(0));
    std::vector<at::Tensor> members;
    if (k == 1) {
      members.push_back(rows);
    } else {
      Rng rng = detail::class_rng(seed(), c);
      const auto km = cluster::kmeans(x.index_select(0, rows), {.k = k, .seed = rng.next_u64()});
      const at::Tensor labels = km.labels.to(torch::kCPU);
      for (int64_t j = 0; j < k; ++j) {
        const at::Tensor in_j = rows.index_select(0, (labels == j).nonzero().flatten());
        if (in_j.size(0) > 0) members.push_back(in_j);
      }
    }
    clusters[c] = std::move(members);
  };
  cluster_class(majority);
  for (const auto& [c, f] : final_size)
    if (!clusters.count(c)) cluster_class(c);
  int64_t cap = 0;
  for (const auto& m : clusters[majority]) cap = std::max(cap, m.size(0));

  if (!counts_asked) {
    // T: the largest class total once every cluster of the growing classes reaches S.
    int64_t t = counts[majority];
    for (const auto& [c, f] : final_size) {
      int64_t total = 0;
      for (const auto& m : clusters[c]) total += std::max(cap, m.size(0));
      t = std::max(t, total);
    }
    for (auto& [c, f] : final_size) f = t;
  }

  detail::NewRows out;
  for (const auto& [c, f] : final_size) {
    const int64_t budget = f - counts[c];
    if (budget <= 0) continue;
    const auto& members = clusters[c];
    std::vector<int64_t> sizes;
    for (const auto& m : members) sizes.push_back(m.size(0));
    const auto add = water_fill(sizes, cap, budget);
    Rng rng = detail::class_rng(seed(), c).fork(streams::kClusterDraws);
    std::vector<int64_t> drawn;
    drawn.reserve(budget);
    auto draw_from = [&](const at::Tensor& pool, int64_t count) {
      const int64_t* p = pool.data_ptr<int64_t>();
      for (int64_t i = 0; i < count; ++i) drawn.push_back(p[rng.uniform_int(static_cast<uint64_t>(pool.size(0)))]);
    };
    int64_t used = 0;
    for (size_t j = 0; j < members.size(); ++j) {
      draw_from(members[j].contiguous(), add[j]);
      used += add[j];
    }
    draw_from(detail::class_rows(data, c).contiguous(), budget - used);  // top-up from the whole class
    out.add_copies(c, x, std::move(drawn));
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
