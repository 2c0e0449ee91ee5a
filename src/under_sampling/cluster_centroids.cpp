#include "rebalance/under_sampling/cluster_centroids.hpp"

#include <torch/torch.h>

#include "rebalance/cluster/kmeans.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

ClusterCentroids::ClusterCentroids(SamplingStrategy strategy, Voting voting, int64_t n_init, int64_t max_iter,
                                   uint64_t seed)
    : Sampler("cluster_centroids", SamplingType::Under, std::move(strategy), seed),
      voting_(voting),
      n_init_(n_init),
      max_iter_(max_iter) {
  REBALANCE_CHECK(n_init >= 1, "ClusterCentroids: n_init must be at least 1, got {}", n_init);
  REBALANCE_CHECK(max_iter >= 1, "ClusterCentroids: max_iter must be at least 1, got {}", max_iter);
}

ClusterCentroids::Voting ClusterCentroids::parse_voting(const std::string& text) {
  if (text == "auto") return Voting::Auto;
  if (text == "soft") return Voting::Soft;
  if (text == "hard") return Voting::Hard;
  REBALANCE_THROW("ClusterCentroids: voting must be one of auto, soft, hard; got \"{}\"", text);
}

Dataset ClusterCentroids::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  // In the input's dtype throughout: kept rows are the input rows bit for bit, and float64 data
  // is clustered (and its centres stored) in float64.
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  // Dense features: imbalanced-learn's auto is soft voting.
  const bool hard = voting_ == Voting::Hard;
  auto shape = data.feature_shape();
  // Kept rows carry their provenance through, centres have none.
  const auto origin = data.origin.to(torch::kCPU);
  const auto parents = data.parents_or_none().to(torch::kCPU);
  std::vector<at::Tensor> xs, ys, origins, parent_rows;
  auto keep = [&](const at::Tensor& picked) {
    xs.push_back(x.index_select(0, picked));
    origins.push_back(origin.index_select(0, picked));
    parent_rows.push_back(parents.index_select(0, picked));
  };
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto rows = class_rows(y, c);
    if (rows.empty()) continue;
    const auto index = torch::tensor(rows, torch::kInt64);
    auto it = target.find(c);
    if (it == target.end() || it->second == 0) {
      if (it == target.end()) {
        keep(index);
        ys.push_back(torch::full({index.numel()}, c, torch::kInt64));
      }
      continue;
    }
    const auto xc = x.index_select(0, index);
    cluster::KMeansOptions o;
    o.k = it->second;
    o.n_init = n_init_;
    o.max_iter = max_iter_;
    o.seed = Rng(seed()).fork(static_cast<uint64_t>(c)).next_u64();
    const auto centres = cluster::kmeans(xc, o).centers.to(x.scalar_type()).contiguous();
    if (hard) {
      neighbors::KnnOptions ko;
      ko.backend = neighbors::Backend::Exact;
      const auto nearest = neighbors::knn(xc, centres, 1, ko).indices.flatten();
      keep(index.index_select(0, nearest));
    } else {
      xs.push_back(centres);
      origins.push_back(torch::full({o.k}, int64_t(-1), torch::kInt64));
      parent_rows.push_back(torch::full({o.k, 2}, int64_t(-1), torch::kInt64));
    }
    ys.push_back(torch::full({o.k}, c, torch::kInt64));
  }
  Dataset out = data;
  const auto device = data.x.device();
  const auto all_x = torch::cat(xs);
  shape.insert(shape.begin(), all_x.size(0));
  out.x = all_x.reshape(shape).to(device);
  out.y = torch::cat(ys).to(device);
  out.origin = torch::cat(origins).to(device);
  out.parents = data.parents.defined() ? torch::cat(parent_rows).to(device) : at::Tensor();
  return out;
}

}  // namespace rebalance::under_sampling
