// Cluster centroids: under-sample a class by replacing it with the centres of a k-means of it.
#pragma once

#include <string>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Replaces each targeted class by k-means centres, k = the count the strategy asks for
/// (Yen & Lee, "Cluster-based under-sampling approaches for imbalanced data distributions",
/// Expert Systems with Applications, 2009; imbalanced-learn's ClusterCentroids). voting=soft
/// (and auto, the data being dense) outputs the centres themselves as synthetic rows (origin -1,
/// no parents: a centre is made from its whole cluster); voting=hard outputs the class row nearest
/// each centre (ties to the lower row), keeping its origin. k-means is cluster::kmeans with
/// scikit-learn 1.2's defaults for KMeans (n_init=10, max_iter=300, tol=1e-4), seeded per class.
/// Output class by class, untargeted classes whole.
///
///   auto s = make_sampler("cluster_centroids:voting=hard", /*seed=*/0);
///   Dataset balanced = s->fit_resample(train);
///   auto real_rows = balanced.origin;   // hard voting: rows of train
class ClusterCentroids final : public Sampler {
 public:
  enum class Voting { Auto, Soft, Hard };
  explicit ClusterCentroids(SamplingStrategy strategy = SamplingStrategy(), Voting voting = Voting::Auto,
                            int64_t n_init = 10, int64_t max_iter = 300, uint64_t seed = 0);
  /// "auto", "soft" or "hard"; anything else is refused naming the value and the choices.
  static Voting parse_voting(const std::string& text);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  Voting voting_;
  int64_t n_init_;
  int64_t max_iter_;
};

}  // namespace rebalance::under_sampling
