#include "rebalance/under_sampling/neighbourhood_cleaning_rule.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

namespace rebalance::under_sampling {

NeighbourhoodCleaningRule::NeighbourhoodCleaningRule(SamplingStrategy strategy, int64_t n_neighbors, KindSel kind_sel,
                                                     double threshold_cleaning)
    : Sampler("ncr", SamplingType::Clean, std::move(strategy), 0),
      n_neighbors_(n_neighbors),
      kind_sel_(kind_sel),
      threshold_cleaning_(threshold_cleaning) {
  REBALANCE_CHECK(n_neighbors >= 1, "NeighbourhoodCleaningRule: n_neighbors must be at least 1, got {}", n_neighbors);
  REBALANCE_CHECK(threshold_cleaning > 0.0 && threshold_cleaning < 1.0,
                  "NeighbourhoodCleaningRule: threshold_cleaning must be in (0, 1), got {}", threshold_cleaning);
}

Dataset NeighbourhoodCleaningRule::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t n = data.size(), k = n_neighbors_;
  std::vector<char> removed(n, 1);
  for (auto i : edited_nearest_neighbours_keep(x, y, target, k, KindSel::Mode, "NeighbourhoodCleaningRule"))
    removed[i] = 0;

  const auto counts = data.class_counts();
  std::vector<char> cleanable(data.num_classes(), 0);
  for (const auto& [c, ignored] : target)
    cleanable[c] = static_cast<double>(counts[c]) > static_cast<double>(n) * threshold_cleaning_;
  const int64_t minority = first_minority_class(y, data.num_classes());
  const auto min_rows = class_rows(y, minority);
  const auto nb = neighbors::knn_excluding_self(x, torch::tensor(min_rows, torch::kInt64), k).indices.contiguous();
  const int64_t* p = nb.data_ptr<int64_t>();
  std::vector<int64_t> labels(k);
  for (size_t i = 0; i < min_rows.size(); ++i) {
    for (int64_t j = 0; j < k; ++j) labels[j] = y[p[i * k + j]];
    bool good = true;
    if (kind_sel_ == KindSel::Mode) {
      good = mode_label(labels.data(), k) == minority;
    } else {
      for (auto l : labels) good = good && l == minority;
    }
    if (good) continue;
    for (int64_t j = 0; j < k; ++j)
      if (cleanable[labels[j]]) removed[p[i * k + j]] = 1;
  }
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i)
    if (!removed[i]) keep.push_back(i);
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
