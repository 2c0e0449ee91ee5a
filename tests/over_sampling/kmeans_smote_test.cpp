#include "rebalance/over_sampling/kmeans_smote.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/core/rng.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Three far-apart blobs on the first axis: at 0 (24 rows of class 0), at 50 (8 of class 1,
/// 2 of class 0) and at 100 (6 of class 1, 1 of class 0). Blob = round(x / 50).
Dataset blobs() {
  Rng rng(6);
  std::vector<std::pair<double, int64_t>> rows;
  for (int i = 0; i < 24; ++i) rows.emplace_back(0.0, 0);
  for (int i = 0; i < 8; ++i) rows.emplace_back(50.0, 1);
  for (int i = 0; i < 2; ++i) rows.emplace_back(50.0, 0);
  for (int i = 0; i < 6; ++i) rows.emplace_back(100.0, 1);
  rows.emplace_back(100.0, 0);
  auto x = torch::empty({static_cast<int64_t>(rows.size()), 2});
  std::vector<int64_t> y;
  for (size_t i = 0; i < rows.size(); ++i) {
    // Blob at 100 is twice as spread as the one at 50.
    const double spread = rows[i].first == 100.0 ? 2.0 : 1.0;
    x[i][0] = static_cast<float>(rows[i].first + spread * rng.normal());
    x[i][1] = static_cast<float>(spread * rng.normal());
    y.push_back(rows[i].second);
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "blobs");
}

int64_t blob_of(float x0) { return static_cast<int64_t>(std::lround(x0 / 50.0f)); }

}  // namespace

TEST(KMeansSMOTE, InterpolatesInsideQualifyingClustersOnly) {
  const auto data = blobs();
  const auto out = KMeansSMOTE({.k_neighbors = 2, .n_clusters = 3}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{27, 27}));  // exactly as asked: 14 -> 27
  std::map<int64_t, int64_t> per_blob;
  for (int64_t r = data.size(); r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    EXPECT_EQ(data.y[a].item<int64_t>(), 1);
    EXPECT_EQ(data.y[b].item<int64_t>(), 1);
    const int64_t blob = blob_of(data.x[a][0].item<float>());
    EXPECT_EQ(blob, blob_of(data.x[b][0].item<float>())) << "parents from different clusters";
    EXPECT_EQ(blob, blob_of(out.x[r][0].item<float>()));
    ++per_blob[blob];
  }
  // Blob 0 holds no class-1 row; the sparser blob (100) gets the larger share of the 13 rows.
  EXPECT_EQ(per_blob.count(0), 0u);
  EXPECT_EQ(per_blob[1] + per_blob[2], 13);
  EXPECT_GT(per_blob[2], per_blob[1]);
}

TEST(KMeansSMOTE, ShareFollowsSparsityWithAGivenExponent) {
  // density_exponent = 0: sparsity = 1 / n_j, so blob 50 (8 rows) gets 6/14 and blob 100 (6
  // rows) 8/14 of the 13 rows: 5.57 and 7.43 -> 6 and 7 after largest-remainder rounding.
  const auto data = blobs();
  const auto out = KMeansSMOTE({.k_neighbors = 2, .n_clusters = 3, .density_exponent = 0.0},
                               SamplingStrategy("auto"), 1)
                       .fit_resample(data);
  std::map<int64_t, int64_t> per_blob;
  for (int64_t r = data.size(); r < out.size(); ++r)
    ++per_blob[blob_of(data.x[out.parents[r][0].item<int64_t>()][0].item<float>())];
  EXPECT_EQ(per_blob, (std::map<int64_t, int64_t>{{1, 6}, {2, 7}}));
}

TEST(KMeansSMOTE, SameSeedSameBytes) {
  const auto data = blobs();
  const auto a = KMeansSMOTE({.n_clusters = 3}, SamplingStrategy("auto"), 4).fit_resample(data);
  const auto b = KMeansSMOTE({.n_clusters = 3}, SamplingStrategy("auto"), 4).fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.parents, b.parents));
}

TEST(KMeansSMOTE, RefusesWhenNoClusterQualifies) {
  const auto data = blobs();
  // No cluster is 90% class 1 (8/10 and 6/7 at best).
  EXPECT_ERROR_MENTIONS(
      KMeansSMOTE({.n_clusters = 3, .cluster_balance_threshold = 0.9}, SamplingStrategy("auto"), 0).fit_resample(data),
      "No clusters found with sufficient samples of class \"min\"", "cluster_balance_threshold");
  // k_neighbors = 8 needs 9 class rows in one cluster.
  EXPECT_ERROR_MENTIONS(KMeansSMOTE({.k_neighbors = 8, .n_clusters = 3}, SamplingStrategy("auto"), 0).fit_resample(data),
                        "No clusters found");
  EXPECT_ERROR_MENTIONS(KMeansSMOTE({.n_clusters = 100}, SamplingStrategy("auto"), 0).fit_resample(data),
                        "n_clusters=100", "41 rows");
  EXPECT_ERROR_MENTIONS(make_sampler("kmeans_smote:density_exponent=dense"), "density_exponent", "auto");
}

TEST(KMeansSMOTE, OneClusterTakesEveryRow) {
  // n_clusters = 1: the balance threshold no longer applies (imbalanced-learn sets it to -inf).
  const auto data = blobs();
  const auto out = make_sampler("kmeans_smote:n_clusters=1,k_neighbors=3", 0)->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{27, 27}));
}
