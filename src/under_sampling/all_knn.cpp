#include "rebalance/under_sampling/all_knn.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

namespace rebalance::under_sampling {

AllKNN::AllKNN(SamplingStrategy strategy, int64_t n_neighbors, KindSel kind_sel, bool allow_minority)
    : Sampler("allknn", SamplingType::Clean, std::move(strategy), 0),
      n_neighbors_(n_neighbors),
      kind_sel_(kind_sel),
      allow_minority_(allow_minority) {
  REBALANCE_CHECK(n_neighbors >= 1, "AllKNN: n_neighbors must be at least 1, got {}", n_neighbors);
}

Dataset AllKNN::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>&) {
  const auto y0 = cpu_labels(data);
  const auto counts0 = data.class_counts();
  const int64_t minority = first_minority_class(y0, data.num_classes());
  int64_t present0 = 0;
  for (auto c : counts0) present0 += c > 0;

  Dataset cur = data;
  for (int64_t k = 1; k <= n_neighbors_; ++k) {
    const auto targets = strategy().resolve(cur, SamplingType::Clean);
    cur = keep_rows(cur, edited_nearest_neighbours_keep(cpu_features(cur), cpu_labels(cur), targets, k, kind_sel_,
                                                        "AllKNN"));
    const auto counts = cur.class_counts();
    bool below_minority = false;
    int64_t present = 0;
    for (int64_t c = 0; c < static_cast<int64_t>(counts.size()); ++c) {
      present += counts[c] > 0;
      if (c != minority && counts[c] > 0 && counts[c] < counts0[minority]) below_minority = true;
    }
    if ((below_minority && !allow_minority_) || present < present0) break;
  }
  return cur;
}

}  // namespace rebalance::under_sampling
