// K-Means SMOTE: cluster the data, then apply SMOTE inside the clusters where the class is dense.
#pragma once

#include <cstdint>
#include <optional>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct KMeansSMOTEOptions {
  int64_t k_neighbors = 2;  ///< same-class neighbours inside a cluster
  int64_t n_clusters = 8;   ///< k of the k-means (imbalanced-learn's MiniBatchKMeans default)
  /// A cluster qualifies when its share of class-c rows is at least this; nullopt ("auto"):
  /// G_c / (sum of G over the resampled classes) / 2, imbalanced-learn's rule.
  std::optional<double> cluster_balance_threshold;
  /// Exponent of the density; nullopt ("auto"): 0.16 * log_1.6(n)^1.8 for n class rows in the
  /// cluster, imbalanced-learn's rule.
  std::optional<double> density_exponent;
};

/// K-Means SMOTE (Douzas, Bacao & Last, "Improving imbalanced learning through a heuristic
/// oversampling method based on k-means and SMOTE", Information Sciences 465, 2018). k-means
/// splits all rows into clusters; a cluster qualifies for class c when its share of c is at
/// least the balance threshold and it holds at least k + 1 rows of c. Cluster j gets a share of
/// the G_c new rows proportional to its sparsity
///   s_j = mean_pairwise_distance_j ^ e / n_j   (n_j rows of c in the cluster, e the exponent),
/// and SMOTE runs inside each qualifying cluster on its class-c rows. `parents` are (row, nn).
///
///   KMeansSMOTE kms({.k_neighbors = 2, .n_clusters = 8}, SamplingStrategy("auto"), 0);
///   Dataset balanced = kms.fit_resample(train);  // or make_sampler("kmeans_smote:n_clusters=4")
///   auto added = balanced.size() - train.size();
class KMeansSMOTE final : public Sampler {
 public:
  explicit KMeansSMOTE(KMeansSMOTEOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  KMeansSMOTEOptions options_;
};

}  // namespace rebalance::over_sampling
