#include "rebalance/over_sampling/cluster_over_sampler.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/core/rng.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Class 0: 12 rows near 0 and 4 near 10; class 1: 3 rows near 20 and 2 near 30 (first axis).
/// Blob = round(x / 10).
Dataset blobs() {
  Rng rng(8);
  const std::vector<std::pair<double, int>> groups = {{0, 12}, {10, 4}, {20, 3}, {30, 2}};
  auto x = torch::empty({21, 2});
  std::vector<int64_t> y;
  int64_t i = 0;
  for (const auto& [centre, n] : groups)
    for (int r = 0; r < n; ++r, ++i) {
      x[i][0] = static_cast<float>(centre + 0.3 * rng.normal());
      x[i][1] = static_cast<float>(0.3 * rng.normal());
      y.push_back(centre < 20 ? 0 : 1);
    }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "blobs");
}

std::map<int64_t, int64_t> per_blob(const Dataset& d) {
  std::map<int64_t, int64_t> out;
  for (int64_t r = 0; r < d.size(); ++r) ++out[std::lround(d.x[r][0].item<float>() / 10.0f)];
  return out;
}

}  // namespace

TEST(ClusterOverSampler, EveryClusterGrowsToTheLargestMajorityCluster) {
  // S = 12 (the majority's blob at 0): the blob at 10 gets 8 copies, the minority blobs grow to
  // 12 each; both classes then total T = 24, so no top-up is needed.
  const auto data = blobs();
  const auto out = ClusterOverSampler({.n_clusters = 2}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{24, 24}));
  EXPECT_EQ(per_blob(out), (std::map<int64_t, int64_t>{{0, 12}, {1, 12}, {2, 12}, {3, 12}}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 21), data.x));
  // Added rows are exact copies of a row of their own class, marked as added.
  const auto src = out.parents.slice(0, 21).select(1, 0);
  EXPECT_TRUE(torch::equal(out.x.slice(0, 21), data.x.index_select(0, src)));
  EXPECT_TRUE(torch::equal(out.y.slice(0, 21), data.y.index_select(0, src)));
  EXPECT_TRUE(torch::all(out.origin.slice(0, 21) == -1).item<bool>());
}

TEST(ClusterOverSampler, TopsUpToTheLargestClassTotal) {
  // Three clusters per class: the majority's largest cluster is smaller, minority clusters have
  // fewer than three rows each; classes still end equal.
  const auto data = blobs();
  const auto out = ClusterOverSampler({.n_clusters = 3}, SamplingStrategy("auto"), 1).fit_resample(data);
  const auto c = out.class_counts();
  EXPECT_EQ(c[0], c[1]);
  EXPECT_GE(c[0], 16);
}

TEST(ClusterOverSampler, StrategyChoosesTheClassesAndCounts) {
  const auto data = blobs();
  // Only the minority grows, to T = max(16, 2 x 12) = 24; the majority is left as it is.
  const auto nm = ClusterOverSampler({.n_clusters = 2}, SamplingStrategy("not majority"), 0).fit_resample(data);
  EXPECT_EQ(nm.class_counts(), (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(per_blob(nm), (std::map<int64_t, int64_t>{{0, 12}, {1, 4}, {2, 12}, {3, 12}}));
  // Explicit count: 5 new rows raise the two minority clusters (3 and 2 rows) evenly to 5 and 5.
  const auto exact = ClusterOverSampler({.n_clusters = 2}, SamplingStrategy("{min: 10}"), 0).fit_resample(data);
  EXPECT_EQ(exact.class_counts(), (std::vector<int64_t>{16, 10}));
  EXPECT_EQ(per_blob(exact), (std::map<int64_t, int64_t>{{0, 12}, {1, 4}, {2, 5}, {3, 5}}));
  // Past S the rest is drawn from the whole class: 30 = 12 + 12 + 6 spread over both blobs.
  const auto big = ClusterOverSampler({.n_clusters = 2}, SamplingStrategy("{min: 30}"), 0).fit_resample(data);
  EXPECT_EQ(big.class_counts(), (std::vector<int64_t>{16, 30}));
  const auto blobs_big = per_blob(big);
  EXPECT_EQ(blobs_big.at(2) + blobs_big.at(3), 30);
  EXPECT_GE(blobs_big.at(2), 12);
  EXPECT_GE(blobs_big.at(3), 12);
}

TEST(ClusterOverSampler, SameSeedSameBytesAndFactory) {
  const auto data = blobs();
  const auto a = make_sampler("cbo:n_clusters=2", 4)->fit_resample(data);
  const auto b = make_sampler("cluster_over:n_clusters=2", 4)->fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.parents, b.parents));
  EXPECT_ERROR_MENTIONS(make_sampler("cbo:n_clusters=0"), "n_clusters");
  EXPECT_ERROR_MENTIONS(make_sampler("cbo").get()->fit_resample(data.subset(data.indices_of(1))), "more than 1 class");
}
