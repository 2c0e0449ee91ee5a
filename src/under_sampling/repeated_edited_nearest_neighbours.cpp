#include "rebalance/under_sampling/repeated_edited_nearest_neighbours.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

namespace rebalance::under_sampling {

RepeatedEditedNearestNeighbours::RepeatedEditedNearestNeighbours(SamplingStrategy strategy, int64_t n_neighbors,
                                                                 int64_t max_iter, KindSel kind_sel)
    : Sampler("renn", SamplingType::Clean, std::move(strategy), 0),
      n_neighbors_(n_neighbors),
      max_iter_(max_iter),
      kind_sel_(kind_sel) {
  REBALANCE_CHECK(n_neighbors >= 1, "RepeatedEditedNearestNeighbours: n_neighbors must be at least 1, got {}",
                  n_neighbors);
  REBALANCE_CHECK(max_iter >= 1, "RepeatedEditedNearestNeighbours: max_iter must be at least 1, got {}", max_iter);
}

Dataset RepeatedEditedNearestNeighbours::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>&) {
  const auto y0 = cpu_labels(data);
  const auto counts0 = data.class_counts();
  const int64_t minority = first_minority_class(y0, data.num_classes());
  int64_t present0 = 0;
  for (auto c : counts0) present0 += c > 0;

  Dataset cur = data;
  n_iter_ = 0;
  for (int64_t it = 0; it < max_iter_; ++it) {
    ++n_iter_;
    const auto targets = strategy().resolve(cur, SamplingType::Clean);
    const auto keep = edited_nearest_neighbours_keep(cpu_features(cur), cpu_labels(cur), targets, n_neighbors_,
                                                     kind_sel_, "RepeatedEditedNearestNeighbours");
    const bool converged = static_cast<int64_t>(keep.size()) == cur.size();
    cur = keep_rows(cur, keep);
    const auto counts = cur.class_counts();
    bool below_minority = false;
    int64_t present = 0;
    for (int64_t c = 0; c < static_cast<int64_t>(counts.size()); ++c) {
      present += counts[c] > 0;
      if (c != minority && counts[c] > 0 && counts[c] < counts0[minority]) below_minority = true;
    }
    if (converged || below_minority || present < present0) break;
  }
  return cur;
}

}  // namespace rebalance::under_sampling
