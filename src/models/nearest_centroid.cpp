#include "rebalance/models/nearest_centroid.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"

namespace rebalance {

void NearestCentroid::fit(const Dataset& train) {
  const auto counts = train.class_counts();
  const auto x = train.x2d();
  centroids_ = torch::zeros({train.num_classes(), train.num_features()}, x.options());
  for (int64_t c = 0; c < train.num_classes(); ++c) {
    REBALANCE_CHECK(counts[c] > 0, "NearestCentroid: class {} (\"{}\") has no training rows", c, train.class_names[c]);
    centroids_[c] = x.index_select(0, train.indices_of(c)).mean(0);
  }
}

at::Tensor NearestCentroid::scores(const at::Tensor& x) const {
  REBALANCE_CHECK(centroids_.defined(), "NearestCentroid: predict before fit");
  const auto x2 = x.reshape({x.size(0), -1}).to(centroids_.scalar_type());
  REBALANCE_CHECK(x2.size(1) == centroids_.size(1), "NearestCentroid: fitted on {} features, got {}",
                  centroids_.size(1), x2.size(1));
  return -torch::cdist(x2, centroids_).pow(2);
}

at::Tensor NearestCentroid::predict(const at::Tensor& x) const { return scores(x).argmax(1); }

}  // namespace rebalance
