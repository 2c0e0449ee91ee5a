#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"

namespace rebalance::under_sampling {

std::vector<int64_t> edited_nearest_neighbours_keep(const at::Tensor& x, const std::vector<int64_t>& y,
                                                    const std::map<int64_t, int64_t>& targets, int64_t k,
                                                    KindSel kind, std::string_view sampler) {
  const int64_t n = static_cast<int64_t>(y.size());
  REBALANCE_CHECK(k >= 1 && k + 1 <= n,
                  "{}: n_neighbors={} needs at least {} rows (each row and its {} neighbours), the data has {}", sampler,
                  k, k + 1, k, n);
  std::vector<int64_t> queries;
  for (int64_t i = 0; i < n; ++i)
    if (targets.count(y[i])) queries.push_back(i);
  const auto screen = neighbors::screen_neighbourhoods(x, torch::tensor(y, torch::kInt64),
                                                       torch::tensor(queries, torch::kInt64), k);
  const bool* mixed = screen.mixed.data_ptr<bool>();
  const int64_t* nb = screen.indices.data_ptr<int64_t>();
  std::vector<char> keep(n, 1);
  std::vector<int64_t> labels(k);
  for (size_t t = 0; t < queries.size(); ++t) {
    if (!mixed[t]) continue;
    if (kind == KindSel::All) {
      keep[queries[t]] = 0;
      continue;
    }
    for (int64_t j = 0; j < k; ++j) labels[j] = y[nb[t * k + j]];
    keep[queries[t]] = mode_label(labels.data(), k) == y[queries[t]];
  }
  const int64_t num_classes = *std::max_element(y.begin(), y.end()) + 1;
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (int64_t i = 0; i < n; ++i)
    if (keep[i]) by_class[y[i]].push_back(i);
  std::vector<int64_t> out;
  for (const auto& rows : by_class) out.insert(out.end(), rows.begin(), rows.end());
  return out;
}

EditedNearestNeighbours::EditedNearestNeighbours(SamplingStrategy strategy, int64_t n_neighbors, KindSel kind_sel)
    : Sampler("enn", SamplingType::Clean, std::move(strategy), 0), n_neighbors_(n_neighbors), kind_sel_(kind_sel) {
  REBALANCE_CHECK(n_neighbors >= 1, "EditedNearestNeighbours: n_neighbors must be at least 1, got {}", n_neighbors);
}

Dataset EditedNearestNeighbours::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  return keep_rows(data, edited_nearest_neighbours_keep(cpu_features(data), cpu_labels(data), target, n_neighbors_,
                                                        kind_sel_));
}

}  // namespace rebalance::under_sampling
