// Nearest class centroid: the trivial baseline a real classifier must beat (and the one that
// shows what imbalance does to a decision rule that ignores class priors).
#pragma once

#include <ATen/core/Tensor.h>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Predicts the class whose mean feature vector is nearest in Euclidean distance.
///   NearestCentroid m; m.fit(train);
///   auto scores = m.scores(test.x);   // [N, C] = -squared distance to each centroid
///   auto pred = scores.argmax(1);
class NearestCentroid {
 public:
  void fit(const Dataset& train);
  /// x: [N, ...] float32 -> [N, C] float32 negative squared distances (higher = closer).
  at::Tensor scores(const at::Tensor& x) const;
  at::Tensor predict(const at::Tensor& x) const;

 private:
  at::Tensor centroids_;  // [C, D]
};

}  // namespace rebalance
