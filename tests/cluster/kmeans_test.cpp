#include "rebalance/cluster/kmeans.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::cluster;

namespace {
/// Three well-separated blobs of 40 rows around (0,0), (10,0), (0,10).
at::Tensor blobs() {
  torch::manual_seed(3);
  auto x = torch::randn({120, 2}) * 0.5;
  x.slice(0, 40, 80).select(1, 0).add_(10.0);
  x.slice(0, 80, 120).select(1, 1).add_(10.0);
  return x;
}
}  // namespace

TEST(KMeans, FindsSeparatedBlobs) {
  const auto x = blobs();
  const auto r = kmeans(x, {.k = 3, .seed = 1});
  // Each blob is one cluster.
  for (int b = 0; b < 3; ++b) {
    const auto l = r.labels.slice(0, 40 * b, 40 * (b + 1));
    EXPECT_TRUE(torch::all(l == l[0]).item<bool>()) << b;
  }
  EXPECT_EQ(std::get<0>(at::_unique(r.labels)).numel(), 3);
  EXPECT_LT(r.inertia, 120 * 0.5 * 2 * 2);  // about N * 2 * sigma^2
  // Inertia is the sum of squared distances to the assigned centres.
  const auto own = r.centers.index_select(0, r.labels);
  EXPECT_NEAR(r.inertia, (x - own).pow(2).sum().item<double>(), 1e-3);
}

TEST(KMeans, SeededAndRestartsNeverWorse) {
  const auto x = torch::randn({200, 3});
  const auto a = kmeans(x, {.k = 5, .seed = 7}), b = kmeans(x, {.k = 5, .seed = 7});
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_TRUE(torch::equal(a.centers, b.centers));
  const auto many = kmeans(x, {.k = 5, .n_init = 5, .seed = 7});
  EXPECT_LE(many.inertia, a.inertia + 1e-9);
}

TEST(KMeans, KEqualsNAndDuplicates) {
  const auto x = torch::tensor({{1.f, 1.f}, {1.f, 1.f}, {1.f, 1.f}, {5.f, 5.f}});
  const auto r = kmeans(x, {.k = 2, .seed = 0});
  EXPECT_EQ(r.labels[0].item<int64_t>(), r.labels[2].item<int64_t>());
  EXPECT_NE(r.labels[0].item<int64_t>(), r.labels[3].item<int64_t>());
  EXPECT_NEAR(r.inertia, 0.0, 1e-6);
  const auto all = kmeans(x.slice(0, 2), {.k = 2, .seed = 0});
  EXPECT_EQ(all.labels.size(0), 2);
}

TEST(KMeansErrors, BadK) {
  EXPECT_ERROR_MENTIONS(kmeans(torch::randn({4, 2}), {.k = 5}), "k must be in [1, 4]", "got 5");
  EXPECT_ERROR_MENTIONS(kmeans(torch::randn({4}), {.k = 1}), "[N, D]");
}
