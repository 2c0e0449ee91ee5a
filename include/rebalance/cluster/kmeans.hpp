// k-means with k-means++ seeding, for the cluster-based samplers (KMeansSMOTE, cluster-based
// oversampling, ClusterCentroids).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rebalance::cluster {

struct KMeansOptions {
  int64_t k = 8;
  int64_t max_iter = 300;
  double tol = 1e-4;    ///< stop when the centres' squared shift < tol * mean feature variance (sklearn)
  int64_t n_init = 1;   ///< restarts; the lowest inertia wins
  uint64_t seed = 0;
};

struct KMeansResult {
  at::Tensor centers;  ///< [k, D] in the rows' dtype (float32 or float64)
  at::Tensor labels;   ///< [N] int64 cluster of each row
  double inertia = 0;  ///< sum of squared distances to the assigned centre
  int64_t iterations = 0;
};

/// Lloyd's algorithm from greedy k-means++ seeds (Arthur & Vassilvitskii, SODA 2007; 2 + log k
/// trials per centre as scikit-learn). An empty cluster is re-seeded at the point farthest from
/// its centre. Seeded: same seed, same result.
///
///   auto r = kmeans(x, {.k = 3, .seed = 0});   // r.labels: [N], r.centers: [3, D]
///
/// @param x [N, D] float32 or float64 (computed in that dtype; others as float32), N >= k
KMeansResult kmeans(const at::Tensor& x, const KMeansOptions& options);

}  // namespace rebalance::cluster
