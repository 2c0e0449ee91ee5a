// NearMiss: under-sampling that keeps the rows of each class closest to (or, in version 3,
// farthest among the neighbours of) the minority class.
#pragma once

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Keeps, from each targeted class, the rows with the smallest score
///   version 1: sum of distances to the n_neighbors nearest minority rows;
///   version 2: sum of distances to the n_neighbors farthest minority rows;
/// and in version 3 first short-lists the class rows among the n_neighbors_ver3 nearest of some
/// minority row, then keeps those with the *largest* version-1 score (Mani & Zhang, "kNN approach
/// to unbalanced data distributions", ICML 2003 Workshop on Learning from Imbalanced Datasets).
/// Ties in score keep the lower row first (a stable sort, as imbalanced-learn); kept rows come
/// in score order, class by class. The minority class is imbalanced-learn's (first row first on
/// a tie in count). Version 3 may keep fewer rows than asked when the short list is shorter.
///
///   auto s = make_sampler("near_miss:version=1,n_neighbors=3");
///   Dataset balanced = s->fit_resample(train);
///   auto counts = balanced.class_counts();   // every class cut to the minority's count
class NearMiss final : public Sampler {
 public:
  explicit NearMiss(SamplingStrategy strategy = SamplingStrategy(), int64_t version = 1, int64_t n_neighbors = 3,
                    int64_t n_neighbors_ver3 = 3);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t version_;
  int64_t n_neighbors_;
  int64_t n_neighbors_ver3_;
};

}  // namespace rebalance::under_sampling
