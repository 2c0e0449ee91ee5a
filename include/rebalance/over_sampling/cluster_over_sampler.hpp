// Cluster-based over-sampling: balance the sub-clusters inside every class as well as the classes.
#pragma once

#include <cstdint>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct ClusterOverSamplerOptions {
  int64_t n_clusters = 4;  ///< k-means clusters per class, capped by the class's row count
};

/// Cluster-based over-sampling (Jo & Japkowicz, "Class imbalances versus small disjuncts",
/// ACM SIGKDD Explorations 6(1), 2004). k-means runs inside every class. With S the size of the
/// largest cluster of the majority class, every cluster of every class is randomly over-sampled
/// (with replacement, from its own rows) up to S; then every class is topped up by random
/// over-sampling of its rows to T, the largest class total so reached. Small disjuncts thus get
/// as many rows as the main concept of the majority class, and the classes end equal.
///
/// The sampling strategy says which classes take part and how far they grow:
///   - "auto" (the default) and "all": every class, the majority included, ends at T, as the
///     paper does;
///   - "minority", "not minority", "not majority": the classes it names end at T (T taken over
///     those classes and the majority's row count); the others are left as they are;
///   - a float ratio or {class: count}: each named class ends at exactly the count asked; its
///     new rows first raise its smallest clusters towards S (water-filling) and any rest is drawn
///     from the whole class.
/// Added rows are synthetic (origin -1) with parents (copied row, -1).
///
///   ClusterOverSampler cbo({.n_clusters = 4}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = cbo.fit_resample(train);   // or make_sampler("cbo:n_clusters=3")
///   auto counts = balanced.class_counts();        // all equal
class ClusterOverSampler final : public Sampler {
 public:
  explicit ClusterOverSampler(ClusterOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                              uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  ClusterOverSamplerOptions options_;
};

}  // namespace rebalance::over_sampling
