// AllKNN: Wilson's editing with a neighbourhood that grows by one at each pass.
#pragma once

#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

/// Runs EditedNearestNeighbours with k = 1, 2, ..., n_neighbors, each pass on the previous pass's
/// output, stopping early when a class other than the (original) minority falls below the
/// minority's original count (unless allow_minority) or a class vanishes (Tomek, "An experiment
/// with the edited nearest-neighbor rule", IEEE Trans. Systems, Man and Cybernetics, 1976). The
/// sampling strategy is resolved afresh on each pass's input, as imbalanced-learn does.
///
///   auto s = make_sampler("allknn:n_neighbors=3,allow_minority=false");
///   Dataset cleaned = s->fit_resample(train);
///   auto removed = train.size() - cleaned.size();
class AllKNN final : public Sampler {
 public:
  explicit AllKNN(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 3,
                  KindSel kind_sel = KindSel::All, bool allow_minority = false);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  KindSel kind_sel_;
  bool allow_minority_;
};

}  // namespace rebalance::under_sampling
