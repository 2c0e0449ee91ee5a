// Repeated Edited Nearest Neighbours: Wilson's editing applied again and again until it stops
// removing rows.
#pragma once

#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

/// Applies EditedNearestNeighbours to its own output until a pass removes nothing, a class other
/// than the (original) minority falls below the minority's original count, a class vanishes, or
/// max_iter passes have run (Tomek, "An experiment with the edited nearest-neighbor rule", IEEE
/// Trans. Systems, Man and Cybernetics, 1976). The sampling strategy is resolved afresh on each
/// pass's input, as imbalanced-learn does. A cleaning method; output order as imbalanced-learn.
///
///   auto s = make_sampler("renn:n_neighbors=3,max_iter=100");
///   Dataset cleaned = s->fit_resample(train);
///   auto passes = dynamic_cast<RepeatedEditedNearestNeighbours&>(*s).n_iter();
class RepeatedEditedNearestNeighbours final : public Sampler {
 public:
  explicit RepeatedEditedNearestNeighbours(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 3,
                                           int64_t max_iter = 100, KindSel kind_sel = KindSel::All);
  /// Passes the last fit_resample ran (imbalanced-learn's n_iter_).
  int64_t n_iter() const { return n_iter_; }

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  int64_t max_iter_;
  KindSel kind_sel_;
  int64_t n_iter_ = 0;
};

}  // namespace rebalance::under_sampling
