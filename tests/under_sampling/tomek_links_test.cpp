#include "rebalance/under_sampling/tomek_links.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// Reference: nearest neighbour of every row by brute force (itself excluded, ties to the lower
/// index), then imbalanced-learn's is_tomek over the targeted classes.
std::vector<int64_t> brute_kept(const at::Tensor& x, const at::Tensor& y, const std::vector<int64_t>& classes) {
  const int64_t n = x.size(0), d = x.size(1);
  const float* p = x.data_ptr<float>();
  const auto ya = y.accessor<int64_t, 1>();
  std::vector<int64_t> nn(n);
  for (int64_t i = 0; i < n; ++i) {
    double best = 1e300;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double s = neighbors::squared_distance(p + i * d, p + j * d, d);
      if (s < best) best = s, nn[i] = j;
    }
  }
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < n; ++i) {
    const bool targeted = std::find(classes.begin(), classes.end(), ya[i]) != classes.end();
    const bool link = ya[nn[i]] != ya[i] && nn[nn[i]] == i;
    if (!(targeted && link)) kept.push_back(i);
  }
  return kept;
}

}  // namespace

TEST(TomekLinks, RemovesTheMajorityEndOfEachLink) {
  // 1-D: (3, 3.6) and (10, 11) are mutual nearest neighbours of different classes; (0, 1.2) is
  // not a link: 1.2's nearest is 2.
  const auto x = torch::tensor({0.f, 1.2f, 2.f, 3.f, 3.6f, 10.f, 11.f, 20.f, 21.f}).unsqueeze(1);
  const auto y = torch::tensor({1, 0, 0, 0, 1, 0, 1, 0, 0}, torch::kInt64);
  const auto data = Dataset::from_tensors(x, y);
  EXPECT_EQ(origins(TomekLinks().fit_resample(data)), (std::vector<int64_t>{0, 1, 2, 4, 6, 7, 8}));
  // sampling_strategy=all removes both ends.
  EXPECT_EQ(origins(TomekLinks(SamplingStrategy("all")).fit_resample(data)), (std::vector<int64_t>{0, 1, 2, 7, 8}));
}

TEST(TomekLinks, MatchesBruteForceOnMulticlassData) {
  torch::manual_seed(0);
  const int64_t n = 1500;
  const auto x = torch::randn({n, 3});
  auto y = torch::zeros({n}, torch::kInt64);
  y.slice(0, 0, 150).fill_(1);
  y.slice(0, 150, 450).fill_(2);
  y = y.index_select(0, torch::randperm(n));
  const auto data = Dataset::from_tensors(x, y);
  EXPECT_EQ(origins(TomekLinks().fit_resample(data)), brute_kept(x, y, {0, 2}));
  EXPECT_EQ(origins(TomekLinks(SamplingStrategy("all")).fit_resample(data)), brute_kept(x, y, {0, 1, 2}));
  EXPECT_EQ(origins(TomekLinks(SamplingStrategy("[1]")).fit_resample(data)), brute_kept(x, y, {1}));
}

TEST(TomekLinks, ManyMinorityRowsUseTheScreenedPartnerSearch) {
  // Enough partners (>= 2048) for the cheap proof over the largest class to run. The reference
  // takes every row's nearest neighbour from knn_excluding_self, itself checked against brute
  // force in search_test.cpp.
  torch::manual_seed(1);
  const int64_t n = 30000;
  const auto x = torch::randn({n, 4});
  const auto y = (torch::rand({n}) < 0.15).to(torch::kInt64);
  const auto nn = neighbors::knn_excluding_self(x, torch::arange(n), 1).indices.flatten();
  const auto ya = y.accessor<int64_t, 1>();
  const auto na = nn.accessor<int64_t, 1>();
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < n; ++i)
    if (!(ya[na[i]] != ya[i] && na[na[i]] == i)) expected.push_back(i);
  EXPECT_EQ(origins(TomekLinks(SamplingStrategy("all")).fit_resample(Dataset::from_tensors(x, y))), expected);
}

TEST(TomekLinks, DuplicateRowsOfDifferentClassesAreALink) {
  // Rows 1 and 3 are the same point: each is the other's nearest neighbour (the row itself is
  // excluded, not a twin), so they form a link whatever the order of the rows.
  const auto x = torch::tensor({{0.f, 0.f}, {5.f, 5.f}, {0.f, 1.f}, {5.f, 5.f}, {9.f, 9.f}, {9.f, 8.f}});
  const auto y = torch::tensor({0, 0, 0, 1, 1, 1}, torch::kInt64);
  EXPECT_EQ(origins(TomekLinks(SamplingStrategy("all")).fit_resample(Dataset::from_tensors(x, y))),
            (std::vector<int64_t>{0, 2, 4, 5}));
}

TEST(TomekLinks, FactoryNamesAliasAndRefusals) {
  for (const char* name : {"tomek_links", "tomek", "TomekLinks"}) EXPECT_EQ(make_sampler(name)->name(), "tomek_links");
  EXPECT_EQ(make_sampler("tomek")->type(), SamplingType::Clean);
  const auto one = Dataset::from_tensors(torch::randn({4, 2}), torch::zeros({4}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("tomek")->fit_resample(one), "more than 1 class");
  const auto two = Dataset::from_tensors(torch::randn({6, 2}), torch::tensor({0, 0, 0, 0, 1, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("tomek:sampling_strategy=0.5")->fit_resample(two), "clean-sampling");
  EXPECT_ERROR_MENTIONS(make_sampler("tomek:sampling_strategy={0:2}")->fit_resample(two), "dict");
  EXPECT_ERROR_MENTIONS(make_sampler("tomek:n_neighbors=3"), "n_neighbors");
}
