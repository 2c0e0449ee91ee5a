#include "rebalance/under_sampling/all_knn.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "../test_util.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

Dataset noisy_data(int64_t n, double minority, uint64_t seed) {
  torch::manual_seed(seed);
  const auto y = (torch::rand({n}) < minority).to(torch::kInt64);
  const auto x = torch::randn({n, 2}) + y.unsqueeze(1).to(torch::kFloat32) * 1.5f;
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(AllKNN, IsEnnWithGrowingNeighbourhoods) {
  const auto data = noisy_data(1500, 0.25, 0);
  for (auto kind : {KindSel::All, KindSel::Mode}) {
    Dataset ref = data;
    for (int64_t k = 1; k <= 3; ++k) ref = EditedNearestNeighbours(SamplingStrategy(), k, kind).fit_resample(ref);
    EXPECT_EQ(origins(AllKNN(SamplingStrategy(), 3, kind).fit_resample(data)), origins(ref)) << to_string(kind);
  }
}

TEST(AllKNN, StopsWhenAClassFallsBelowTheMinorityUnlessAllowed) {
  // A small mixed class 0 falls below the minority's count at k = 1.
  torch::manual_seed(1);
  const auto x = torch::randn({300, 2});
  auto y = torch::full({300}, int64_t(2));
  y.slice(0, 0, 40).fill_(1);
  y.slice(0, 40, 85).fill_(0);
  const auto data = Dataset::from_tensors(x, y);
  const auto first = EditedNearestNeighbours(SamplingStrategy("all"), 1).fit_resample(data);
  ASSERT_LT(first.class_counts()[0], 40);
  EXPECT_EQ(origins(AllKNN(SamplingStrategy("all"), 3).fit_resample(data)), origins(first));
  // allow_minority goes on, until a class vanishes.
  Dataset ref = data;
  for (int64_t k = 1; k <= 3; ++k) {
    ref = EditedNearestNeighbours(SamplingStrategy("all"), k).fit_resample(ref);
    const auto counts = ref.class_counts();
    if (std::count(counts.begin(), counts.end(), 0) > 0) break;
  }
  EXPECT_EQ(origins(AllKNN(SamplingStrategy("all"), 3, KindSel::All, true).fit_resample(data)), origins(ref));
  EXPECT_LT(ref.size(), first.size());
}

TEST(AllKNN, Errors) {
  // With kind_sel=mode class 0 keeps every row up to k = 6, and k = 7 needs 8 rows.
  const auto data = Dataset::from_tensors(torch::tensor({0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 100.f}).unsqueeze(1),
                                          torch::tensor({0, 0, 0, 0, 0, 0, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("allknn:n_neighbors=7,kind_sel=mode")->fit_resample(data), "AllKNN",
                        "n_neighbors=7", "at least 8 rows", "has 7");
  EXPECT_ERROR_MENTIONS(make_sampler("allknn:kind_sel=none"), "\"none\"", "all, mode");
  EXPECT_ERROR_MENTIONS(make_sampler("allknn:allow_minority=maybe"), "allow_minority");
  EXPECT_EQ(make_sampler("all_knn:n_neighbors=2")->name(), "allknn");
}
