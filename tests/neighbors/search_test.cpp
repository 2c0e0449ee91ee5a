#include "rebalance/neighbors/search.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::neighbors;

namespace {

/// Reference order: every candidate but the row itself, by (squared_distance, index).
std::vector<int64_t> brute_neighbours(const at::Tensor& x, int64_t row, int64_t k,
                                      const std::vector<int64_t>& candidates = {}) {
  const auto xc = x.contiguous();
  const int64_t n = xc.size(0), d = xc.size(1);
  const float* p = xc.data_ptr<float>();
  std::vector<int64_t> cand = candidates;
  if (cand.empty()) {
    cand.resize(n);
    std::iota(cand.begin(), cand.end(), 0);
  }
  std::vector<std::pair<double, int64_t>> all;
  for (auto j : cand)
    if (j != row) all.emplace_back(squared_distance(p + row * d, p + j * d, d), j);
  std::partial_sort(all.begin(), all.begin() + k, all.end());
  std::vector<int64_t> out;
  for (int64_t i = 0; i < k; ++i) out.push_back(all[i].second);
  return out;
}

std::vector<int64_t> row_of(const at::Tensor& t, int64_t i) {
  const auto r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

}  // namespace

TEST(KnnExcludingSelf, MatchesBruteForce) {
  torch::manual_seed(0);
  for (auto [n, d, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{300, 3, 1}, {1200, 8, 5}, {50, 30, 7}}) {
    const auto x = torch::randn({n, d});
    const auto queries = torch::randperm(n).slice(0, 0, n / 3);
    const auto r = knn_excluding_self(x, queries, k);
    for (int64_t i = 0; i < queries.size(0); ++i)
      ASSERT_EQ(row_of(r.indices, i), brute_neighbours(x, queries[i].item<int64_t>(), k)) << n << "x" << d;
  }
}

TEST(KnnExcludingSelf, RestrictsToCandidatesWhetherOrNotTheQueryIsOne) {
  torch::manual_seed(1);
  const auto x = torch::randn({400, 4});
  std::vector<int64_t> cand;
  for (int64_t i = 0; i < 400; i += 3) cand.push_back(i);
  const auto queries = torch::arange(0, 40);  // every third is a candidate itself
  const auto r = knn_excluding_self(x, queries, 4, torch::tensor(cand, torch::kInt64));
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(row_of(r.indices, i), brute_neighbours(x, i, 4, cand)) << i;
}

TEST(KnnExcludingSelf, SelfExcludedAndTiesToTheLowerIndex) {
  // Rows 1, 3 and 4 are the same point; row 0 is equidistant from 2 and 5.
  const auto x = torch::tensor({{0.f, 0.f}, {1.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}, {1.f, 1.f}, {-1.f, 0.f}});
  const auto r = knn_excluding_self(x, torch::tensor({3, 4, 0}, torch::kInt64), 3);
  // The row itself is never listed; its twins come first, lower index first.
  EXPECT_EQ(row_of(r.indices, 0), (std::vector<int64_t>{1, 4, 2}));
  EXPECT_EQ(row_of(r.indices, 1), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_EQ(row_of(r.indices, 2), (std::vector<int64_t>{2, 5, 1}));
  EXPECT_DOUBLE_EQ(r.distances[0][0].item<double>(), 0.0);
}

TEST(KnnExcludingSelf, IntegerGridFullOfTiesStaysExact) {
  // Far from the origin and integer-valued: float32 cannot rank these, the exact pass must.
  torch::manual_seed(2);
  const auto x = torch::randint(0, 3, {600, 5}).to(torch::kFloat32) + 5000.0f;
  const auto queries = torch::arange(0, 80);
  const auto r = knn_excluding_self(x, queries, 6);
  for (int64_t i = 0; i < 80; ++i) ASSERT_EQ(row_of(r.indices, i), brute_neighbours(x, i, 6)) << i;
}

TEST(KnnExcludingSelf, RefusesMoreNeighboursThanCandidates) {
  const auto x = torch::randn({5, 2});
  EXPECT_ERROR_MENTIONS(knn_excluding_self(x, torch::tensor({0}, torch::kInt64), 5), "fewer than 5");
  EXPECT_ERROR_MENTIONS(knn_excluding_self(x, torch::tensor({0}, torch::kInt64), 6), "6", "5 candidate");
}

TEST(ScreenNeighbourhoods, MatchesBruteForce) {
  torch::manual_seed(3);
  // Imbalanced (the screened path) and balanced (the plain path) labels, small and larger k.
  for (auto [n, minority, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {2500, 60, 3}, {2500, 200, 1}, {1500, 40, 7}, {600, 300, 3}}) {
    const auto x = torch::randn({n, 4});
    auto y = torch::zeros({n}, torch::kInt64);
    y.slice(0, 0, minority).fill_(1);
    y.slice(0, minority, minority + minority / 2).fill_(2);
    y = y.index_select(0, torch::randperm(n));
    const auto queries = torch::arange(n);
    const auto s = screen_neighbourhoods(x, y, queries, k);
    const auto ya = y.accessor<int64_t, 1>();
    const auto ma = s.mixed.accessor<bool, 1>();
    int64_t mixed = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto nb = brute_neighbours(x, i, k);
      bool any = false;
      for (auto j : nb) any |= ya[j] != ya[i];
      ASSERT_EQ(ma[i], any) << "row " << i << " n=" << n << " k=" << k;
      if (any) ASSERT_EQ(row_of(s.indices, i), nb);
      mixed += any;
    }
    EXPECT_GT(mixed, 0);
  }
}

TEST(ScreenNeighbourhoods, TiesBetweenClassesGoToTheLowerIndex) {
  // Integer points with many exact ties and cross-class duplicates, enough rows for the screen.
  torch::manual_seed(4);
  const int64_t n = 3000;
  const auto x = torch::randint(0, 4, {n, 3}).to(torch::kFloat32);
  auto y = (torch::rand({n}) < 0.05).to(torch::kInt64);
  const auto s = screen_neighbourhoods(x, y, torch::arange(n), 3);
  const auto ya = y.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const auto nb = brute_neighbours(x, i, 3);
    bool any = false;
    for (auto j : nb) any |= ya[j] != ya[i];
    ASSERT_EQ(s.mixed[i].item<bool>(), any) << i;
  }
}

TEST(KCloserThan, NeverClaimsWhatIsFalse) {
  torch::manual_seed(5);
  const int64_t n = 3000;
  const auto x = torch::randn({n, 5});
  std::vector<int64_t> pool;
  for (int64_t i = 0; i < n; i += 2) pool.push_back(i);
  std::vector<int64_t> queries;
  std::vector<double> limit;
  const float* p = x.data_ptr<float>();
  for (int64_t t = 0; t < 400; ++t) {
    const int64_t q = pool[(t * 7) % pool.size()];
    queries.push_back(q);
    // Limits at the 1st..4th nearest pool distance, exactly: the strict test must fail on equality.
    const auto nb = brute_neighbours(x, q, 4, pool);
    limit.push_back(squared_distance(p + q * 5, p + nb[t % 4] * 5, 5));
  }
  for (int64_t k : {1, 2, 3}) {
    const auto proven = k_closer_than(x, torch::tensor(pool, torch::kInt64), torch::tensor(queries, torch::kInt64),
                                      torch::tensor(limit, torch::kFloat64), k);
    int64_t shown = 0;
    for (size_t t = 0; t < queries.size(); ++t) {
      const auto nb = brute_neighbours(x, queries[t], k, pool);
      const bool truth = squared_distance(p + queries[t] * 5, p + nb[k - 1] * 5, 5) < limit[t];
      if (proven[t].item<bool>()) EXPECT_TRUE(truth) << t;
      shown += proven[t].item<bool>();
    }
    EXPECT_GT(shown, 50) << "k=" << k;  // the cheap search proves most true cases
  }
}
