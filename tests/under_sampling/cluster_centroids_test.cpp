#include "rebalance/under_sampling/cluster_centroids.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

Dataset blobs() {
  torch::manual_seed(0);
  auto y = torch::zeros({400}, torch::kInt64);
  y.slice(0, 300, 340).fill_(1);
  y.slice(0, 340).fill_(2);
  const auto x = torch::randn({400, 3}) + y.unsqueeze(1).to(torch::kFloat32) * 3.0f;
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(ClusterCentroids, SoftVotingGivesCentresAsNewRows) {
  const auto data = blobs();
  const auto out = ClusterCentroids(SamplingStrategy(), ClusterCentroids::Voting::Auto, 2, 100, 1).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{40, 40, 40}));
  // Class by class: 40 centres of class 0 (no source row), the minority whole, 40 centres of 2.
  EXPECT_TRUE(torch::all(out.origin.slice(0, 0, 40) == -1).item<bool>());
  EXPECT_TRUE(torch::equal(out.origin.slice(0, 40, 80), torch::arange(300, 340)));
  EXPECT_TRUE(torch::all(out.origin.slice(0, 80) == -1).item<bool>());
  EXPECT_TRUE(torch::equal(out.y.slice(0, 0, 40), torch::zeros({40}, torch::kInt64)));
  // Centres of class 0 lie within the span of class 0.
  const auto x0 = data.x.slice(0, 0, 300);
  EXPECT_TRUE(torch::all(out.x.slice(0, 0, 40).amax(0) <= x0.amax(0)).item<bool>());
}

TEST(ClusterCentroids, HardVotingKeepsRealRows) {
  const auto data = blobs();
  const auto out = make_sampler("cluster_centroids:voting=hard,n_init=1", 2)->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{40, 40, 40}));
  EXPECT_TRUE(torch::all(out.origin >= 0).item<bool>());
  EXPECT_TRUE(torch::equal(out.x, data.x.index_select(0, out.origin)));
  EXPECT_TRUE(torch::equal(out.y, data.y.index_select(0, out.origin)));
  // Same seed, same rows.
  EXPECT_TRUE(torch::equal(make_sampler("cluster_centroids:voting=hard,n_init=1", 2)->fit_resample(data).origin,
                           out.origin));
}

TEST(ClusterCentroids, DictCountsAndErrors) {
  const auto data = blobs();
  const auto out = make_sampler("cc:sampling_strategy={0:10,2:5},n_init=1")->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 40, 5}));
  EXPECT_ERROR_MENTIONS(make_sampler("cluster_centroids:voting=majority"), "voting", "\"majority\"",
                        "auto, soft, hard");
  EXPECT_ERROR_MENTIONS(make_sampler("cluster_centroids:sampling_strategy={1:41}")->fit_resample(data), "40 samples",
                        "41 samples");
  EXPECT_ERROR_MENTIONS(make_sampler("cluster_centroids:n_init=0"), "n_init");
  EXPECT_EQ(make_sampler("ClusterCentroids")->type(), SamplingType::Under);
}
