// Random under-sampling: keep a random subset of each targeted class.
#pragma once

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Keeps, for each targeted class, the number of rows the strategy asks for, drawn uniformly
/// without (or, with replacement=true, with) replacement; the baseline every under-sampler is
/// compared with (imbalanced-learn's RandomUnderSampler; see He & Garcia, "Learning from
/// imbalanced data", IEEE TKDE 2009, for its place among the methods). Each class draws from its
/// own Rng stream, so a class's rows depend only on the seed and that class. Output class by
/// class; a targeted class's rows in draw order, as imbalanced-learn.
///
///   auto s = make_sampler("random_under:sampling_strategy=majority", /*seed=*/7);
///   Dataset balanced = s->fit_resample(train);
///   auto counts = balanced.class_counts();
class RandomUnderSampler final : public Sampler {
 public:
  explicit RandomUnderSampler(SamplingStrategy strategy = SamplingStrategy(), bool replacement = false,
                              uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  bool replacement_;
};

}  // namespace rebalance::under_sampling
