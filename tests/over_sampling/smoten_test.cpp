#include "rebalance/over_sampling/smoten.hpp"

#include <torch/torch.h>

#include <array>
#include <set>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

Dataset table(const std::vector<std::array<float, 2>>& rows, const std::vector<int64_t>& y) {
  auto x = torch::empty({static_cast<int64_t>(rows.size()), 2});
  for (size_t i = 0; i < rows.size(); ++i) {
    x[i][0] = rows[i][0];
    x[i][1] = rows[i][1];
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "table");
}

}  // namespace

TEST(SMOTEN, NewRowsAreTheModeOfTheNearestRows) {
  // Class 1: three (1, 1) rows and one (2, 2). With k = 2 the nearest class rows of (1, 1) are
  // (1, 1) rows at VDM distance 0; those of (2, 2) are itself and two (1, 1) rows (the only
  // others), so every new row is (1, 1).
  const auto data = table({{2, 2}, {2, 2}, {2, 2}, {2, 2}, {3, 3}, {3, 3}, {3, 1}, {1, 1}, {1, 1}, {1, 1}, {2, 2}},
                          {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  const auto out = SMOTEN({.k_neighbors = 2}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{7, 7}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 11), torch::ones({3, 2})));
  EXPECT_TRUE(torch::all(out.origin.slice(0, 11) == -1).item<bool>());
  EXPECT_TRUE(torch::all(out.parents.slice(0, 11).select(1, 0) >= 7).item<bool>());
  EXPECT_TRUE(torch::all(out.parents.slice(0, 11).select(1, 1) == -1).item<bool>());
}

TEST(SMOTEN, TiesGoToTheSmallestValue) {
  // Class 1 has two rows; with k = 1 each new row is the mode of both, tied in column 0: 3 wins.
  const auto data = table({{1, 0}, {1, 0}, {1, 0}, {5, 0}, {3, 0}}, {0, 0, 0, 1, 1});
  const auto out = SMOTEN({.k_neighbors = 1}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{3, 3}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 5), torch::tensor({3.0f, 0.0f}).expand({1, 2})));
}

TEST(SMOTEN, UsesTheValueDifferenceMetric) {
  // Column 0 takes 1, 2, 3 with p(class | value): 1 -> (.8, .2), 2 -> (0, 1), 3 -> (.5, .5), so in
  // the VDM d(3, 1) = (.3 + .3)^2 = .36 < d(3, 2) = (.5 + .5)^2 = 1 although 3 is numerically
  // nearer to 2. Class-1 rows: 2, 2, 3, 1 (rows 5..8). With k = 1 (the row and its nearest):
  //   (2) rows -> the other (2) row: mode 2;  (3) -> the (1) row: mode of {3, 1}, tie -> 1;
  //   (1) -> the (3) row: mode 1. Euclidean distance on the codes would give 2 for the (3) row.
  const auto data = table({{1, 0}, {1, 0}, {3, 0}, {1, 0}, {1, 0}, {2, 0}, {2, 0}, {3, 0}, {1, 0}},
                          {0, 0, 0, 0, 0, 1, 1, 1, 1});
  const auto out = SMOTEN({.k_neighbors = 1}, SamplingStrategy("{min: 40}"), 0).fit_resample(data);
  std::set<int64_t> seeds;
  for (int64_t r = 9; r < out.size(); ++r) {
    const int64_t seed_row = out.parents[r][0].item<int64_t>();
    seeds.insert(seed_row);
    EXPECT_EQ(out.x[r][0].item<float>(), seed_row >= 7 ? 1.0f : 2.0f) << "seed " << seed_row;
  }
  EXPECT_EQ(seeds, (std::set<int64_t>{5, 6, 7, 8}));
}

TEST(SMOTEN, SameSeedSameBytesAndErrors) {
  const auto data = table({{1, 0}, {1, 0}, {1, 0}, {5, 0}, {3, 0}}, {0, 0, 0, 1, 1});
  const auto a = make_sampler("smoten:k_neighbors=1", 3)->fit_resample(data);
  const auto b = make_sampler("smoten:k_neighbors=1", 3)->fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.parents, b.parents));
  EXPECT_ERROR_MENTIONS(make_sampler("smoten:k_neighbors=2", 0)->fit_resample(data), "class \"min\"", "2 rows",
                        "k_neighbors=2");
  const auto one = table({{1, 0}, {1, 0}, {5, 0}}, {0, 0, 1});
  EXPECT_ERROR_MENTIONS(make_sampler("smoten", 0)->fit_resample(one), "single row");
}
