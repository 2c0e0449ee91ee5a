// One-Sided Selection: condense each targeted class to the rows a nearest-neighbour rule needs,
// then remove Tomek links.
#pragma once

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Keeps, of each targeted class, n_seeds_S random seed rows and the rows the k-NN rule on
/// (minority class + seeds) misclassifies, then removes the targeted ends of Tomek links from
/// what remains (Kubat & Matwin, "Addressing the curse of imbalanced training sets: one-sided
/// selection", ICML 1997). Seeds are drawn exactly as CondensedNearestNeighbour draws them (same
/// seed, same rows); neighbour ties go to the earlier row of the store (minority rows, then seeds).
/// A cleaning method; output order as imbalanced-learn: per class the seeds, then the kept rows
/// ascending, less the Tomek links.
///
///   auto s = make_sampler("oss:n_neighbors=1,n_seeds_S=1", /*seed=*/0);
///   Dataset cleaned = s->fit_resample(train);
///   auto kept = cleaned.origin;
class OneSidedSelection final : public Sampler {
 public:
  explicit OneSidedSelection(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 1,
                             int64_t n_seeds_S = 1, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  int64_t n_seeds_S_;
};

}  // namespace rebalance::under_sampling
