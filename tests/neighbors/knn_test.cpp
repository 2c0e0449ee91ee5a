#include "rebalance/neighbors/knn.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::neighbors;

namespace {

/// Reference: full float64 distance matrix, stable sort (ties -> lower index).
std::pair<at::Tensor, at::Tensor> brute(const at::Tensor& base, const at::Tensor& query, int64_t k) {
  auto d = exact_sq_distances(base, query);
  auto s = d.sort(true, 1, false);
  return {std::get<1>(s).slice(1, 0, k), std::get<0>(s).slice(1, 0, k).sqrt()};
}

}  // namespace

TEST(Knn, MatchesBruteForceOnRandomData) {
  torch::manual_seed(0);
  for (auto [n, q, d, k] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
           {50, 20, 2, 1}, {300, 300, 5, 6}, {2000, 100, 20, 11}, {700, 50, 64, 3}, {10, 4, 3, 10}}) {
    const auto base = torch::randn({n, d}), query = torch::randn({q, d});
    const auto r = knn(base, query, k);
    const auto [ri, rd] = brute(base, query, k);
    EXPECT_TRUE(torch::equal(r.indices, ri)) << n << "x" << d << " k=" << k;
    EXPECT_TRUE(torch::allclose(r.distances, rd, 0, 1e-12));
  }
}

TEST(Knn, SelfIsFirstWhenQueryIsBase) {
  const auto x = torch::randn({100, 4});
  const auto r = knn(x, x, 3);
  EXPECT_TRUE(torch::equal(r.indices.select(1, 0), torch::arange(100)));
  EXPECT_TRUE(torch::all(r.distances.select(1, 0) == 0).item<bool>());
}

TEST(Knn, TiesBreakByLowerIndex) {
  // Rows 1, 3 and 4 are the same point; row 0 is equidistant from 2 and 5.
  const auto x = torch::tensor({{0.f, 0.f}, {1.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}, {1.f, 1.f}, {-1.f, 0.f}});
  const auto r = knn(x, x, 4);
  EXPECT_TRUE(torch::equal(r.indices[3], torch::tensor({1, 3, 4, 2}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(r.indices[0].slice(0, 0, 3), torch::tensor({0, 2, 5}, torch::kInt64)));
}

TEST(Knn, ManyDuplicatesAndLargeOffsetsStayExact) {
  // Integer-valued data far from the origin: float32 GEMM cannot rank these, the exact path must.
  torch::manual_seed(1);
  const auto base = torch::randint(0, 3, {500, 6}).to(torch::kFloat32) + 1000.0f;
  const auto query = base.slice(0, 0, 60);
  const auto r = knn(base, query, 7);
  const auto [ri, rd] = brute(base, query, 7);
  EXPECT_TRUE(torch::equal(r.indices, ri));
  EXPECT_TRUE(torch::allclose(r.distances, rd));
}

TEST(Knn, DevicePathMatchesTheCpuKernel) {
  // The path CUDA tensors take, run on the CPU with small tiles, on random data and on data full
  // of exact ties far from the origin.
  torch::manual_seed(2);
  const auto ties = torch::randint(0, 3, {800, 6}).to(torch::kFloat32) + 1000.0f;
  for (const auto& [base, query] : std::vector<std::pair<at::Tensor, at::Tensor>>{
           {torch::randn({3000, 8}), torch::randn({300, 8})}, {ties, ties.slice(0, 0, 100)}}) {
    const auto a = knn(base, query, 5);
    const auto b = knn(base, query, 5, {.tile_bytes = 4096, .device_path = true});
    EXPECT_TRUE(torch::equal(a.indices, b.indices));
    EXPECT_TRUE(torch::allclose(a.distances, b.distances, 0, 1e-12));
  }
}

TEST(KnnErrors, BadArguments) {
  const auto x = torch::randn({5, 3});
  EXPECT_ERROR_MENTIONS(knn(x, x, 6), "k must be in [1, 5]", "got 6");
  EXPECT_ERROR_MENTIONS(knn(x, x, 0), "got 0");
  EXPECT_ERROR_MENTIONS(knn(x, torch::randn({2, 4}), 1), "base has 3 features, query has 4");
  EXPECT_ERROR_MENTIONS(knn(x.flatten(), x, 1), "must be 2-D");
}

TEST(KnnHnsw, ApproximateBackendFindsMostTrueNeighbours) {
  torch::manual_seed(4);
  const auto base = torch::randn({3000, 10}), query = torch::randn({200, 10});
  const auto exact = knn(base, query, 5);
  const auto approx = knn(base, query, 5, {.backend = Backend::Hnsw});
  EXPECT_EQ(approx.indices.sizes(), exact.indices.sizes());
  // Recall@5 of HNSW at these settings is close to 1 on this size.
  int64_t hits = 0;
  for (int64_t r = 0; r < 200; ++r)
    for (int64_t j = 0; j < 5; ++j) hits += (exact.indices[r] == approx.indices[r][j]).any().item<bool>();
  EXPECT_GT(hits, 0.95 * 1000);
  // Distances are true distances of the returned rows.
  const auto d = exact_sq_distances(base, query).gather(1, approx.indices).sqrt();
  EXPECT_TRUE(torch::allclose(d, approx.distances, 1e-4, 1e-4));
  // Deterministic: the graph is built on one thread from a fixed seed.
  EXPECT_TRUE(torch::equal(approx.indices, knn(base, query, 5, {.backend = Backend::Hnsw}).indices));
  EXPECT_ERROR_MENTIONS(parse_backend("annoy"), "unknown neighbours backend \"annoy\"");
}
