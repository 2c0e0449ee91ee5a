#include "rebalance/neighbors/cache.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;
using namespace rebalance::neighbors;

namespace {
void expect_same(const KnnResult& a, const KnnResult& b) {
  EXPECT_TRUE(torch::equal(a.indices, b.indices));
  EXPECT_TRUE(torch::equal(a.distances, b.distances));
}
}  // namespace

TEST(KnnCache, SharesSearchesOfTheSameRowsAndServesSmallerK) {
  torch::manual_seed(3);
  const auto x = torch::randn({300, 6});
  const auto q = x.slice(0, 0, 40).clone();
  const auto fresh6 = knn(x, q, 6), fresh4 = knn(x, q, 4);
  KnnCache cache;
  expect_same(knn(x, q, 6), fresh6);
  EXPECT_EQ(cache.misses(), 1);
  // The same content in another tensor, and a smaller k: served, equal to a fresh search.
  expect_same(knn(x.clone(), q.clone(), 6), fresh6);
  expect_same(knn(x, q, 4), fresh4);
  EXPECT_EQ(cache.hits(), 2);
  // A larger k or other rows: searched.
  expect_same(knn(x, q, 9), [&] { KnnCache off; return knn(x, q, 9); }());
  auto y = x.clone();
  y[5][2] += 1e-3;
  (void)knn(y, q, 6);
  EXPECT_EQ(cache.misses(), 3);
  // knn_excluding_self too.
  const auto rows = torch::arange(0, 50);
  const auto e3 = knn_excluding_self(x, rows, 3);
  expect_same(knn_excluding_self(x, rows, 2), [&] {
    KnnCache off;  // an inner cache serves while it lives, then the outer one again
    return knn_excluding_self(x, rows, 2);
  }());
  EXPECT_TRUE(torch::equal(e3.indices.slice(1, 0, 2), knn_excluding_self(x, rows, 2).indices));
  EXPECT_EQ(KnnCache::active(), &cache);
}

TEST(KnnCache, SamplersGiveTheSameRowsWithItAndKeepWithinItsBytes) {
  torch::manual_seed(4);
  const auto x = torch::cat({torch::randn({400, 5}), torch::randn({40, 5}) + 1.0});
  const auto y = torch::cat({torch::zeros({400}, torch::kInt64), torch::ones({40}, torch::kInt64)});
  const auto data = Dataset::from_tensors(x, y, {"a", "b"}, "blobs");
  std::vector<Dataset> plain;
  const std::vector<std::string> specs = {"smote:k_neighbors=5", "smote:k_neighbors=3", "adasyn", "borderline_smote",
                                          "enn", "tomek_links", "ncr"};
  for (const auto& s : specs) plain.push_back(make_sampler(s, 7)->fit_resample(data));
  KnnCache cache(int64_t(1) << 20);
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto shared = make_sampler(specs[i], 7)->fit_resample(data);
    EXPECT_TRUE(torch::equal(shared.x, plain[i].x)) << specs[i];
    EXPECT_TRUE(torch::equal(shared.y, plain[i].y)) << specs[i];
  }
  EXPECT_GT(cache.hits(), 0);
  // A result larger than the cache is not kept; the oldest go first.
  KnnCache tiny(100);
  (void)knn(x, x, 3);
  (void)knn(x, x, 3);
  EXPECT_EQ(tiny.hits(), 0);
}
