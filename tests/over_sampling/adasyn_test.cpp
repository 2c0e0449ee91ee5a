#include "rebalance/over_sampling/adasyn.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Points on a line (second coordinate 0): class 0 at 0..5 and -10..-13, class 1 at 2.4, 5.6, 8,
/// 9, 10, 4.6 (rows 10..15). Other-class rows among the 3 nearest of each class-1 row:
///   2.4 -> 2, 3, 1: 3    5.6 -> 5, 4.6, 4: 2    8, 9, 10: 0    4.6 -> 5, 4, 5.6: 2
Dataset line() {
  const std::vector<float> pos = {0, 1, 2, 3, 4, 5, -10, -11, -12, -13, 2.4f, 5.6f, 8, 9, 10, 4.6f};
  auto x = torch::zeros({16, 2});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 16; ++i) {
    x[i][0] = pos[i];
    y.push_back(i < 10 ? 0 : 1);
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "line");
}

}  // namespace

TEST(ADASYN, GenerationCountsMatchHandComputation) {
  // r = (1, 2/3, 0, 0, 0, 2/3) / (7/3) = (3/7, 2/7, 0, 0, 0, 2/7); G = 4 -> rint(12/7, 8/7, 8/7).
  EXPECT_EQ(ADASYN::generation_counts(line(), 1, 3, 4), (std::vector<int64_t>{2, 1, 0, 0, 0, 1}));
  // G = 7 -> 3, 2, 2 exactly; G = 3 -> rint(9/7, 6/7, 6/7) = 1, 1, 1.
  EXPECT_EQ(ADASYN::generation_counts(line(), 1, 3, 7), (std::vector<int64_t>{3, 2, 0, 0, 0, 2}));
  EXPECT_EQ(ADASYN::generation_counts(line(), 1, 3, 3), (std::vector<int64_t>{1, 1, 0, 0, 0, 1}));
}

TEST(ADASYN, RoundsHalfToEvenLikeNumpyAndMayMissTheAskedTotal) {
  // Isolated groups (k = 2): class 1 at 100 and 101.2 beside class 0 at 100.5 (one other each),
  // class 1 at 200 between class 0 at 199.6 and 200.3 (two others), class 1 at 300..302 (none);
  // class 0 also at -50..-56. r = (.5, .5, 1, 0, 0, 0) / 2 = (1/4, 1/4, 1/2, 0, 0, 0).
  const std::vector<float> pos = {100.5f, 199.6f, 200.3f, -50, -51, -52, -53, -54, -55, -56,
                                  100, 101.2f, 200, 300, 301, 302};
  auto x = torch::zeros({16, 2});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 16; ++i) {
    x[i][0] = pos[i];
    y.push_back(i < 10 ? 0 : 1);
  }
  const auto data = Dataset::from_tensors(x, torch::tensor(y));
  // G = 2: (0.5, 0.5, 1) -> rint -> (0, 0, 1); G = 6: (1.5, 1.5, 3) -> (2, 2, 3), 7 rows, not 6.
  EXPECT_EQ(ADASYN::generation_counts(data, 1, 2, 2), (std::vector<int64_t>{0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(ADASYN::generation_counts(data, 1, 2, 6), (std::vector<int64_t>{2, 2, 3, 0, 0, 0}));
  EXPECT_EQ(ADASYN::generation_counts(data, 1, 2, 10), (std::vector<int64_t>{2, 2, 5, 0, 0, 0}));
  // As imbalanced-learn, the rounded counts are what is made: 6 + 7 rows, not the 12 asked.
  const auto out = ADASYN({.n_neighbors = 2}, SamplingStrategy("{1: 12}"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 13}));
  // G = 1: (0.25, 0.25, 0.5) all round to 0, which imbalanced-learn refuses.
  EXPECT_ERROR_MENTIONS(ADASYN::generation_counts(data, 1, 2, 1), "No samples will be generated");
}

TEST(ADASYN, NewRowsFollowTheCountsAndLieOnSegments) {
  const auto data = line();
  const auto out = ADASYN({.n_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(data);
  // G = 10 - 6 = 4 -> (2, 1, 0, 0, 0, 1): exactly 4 new rows seeded by rows 10, 11 and 15.
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 10}));
  std::map<int64_t, int64_t> seeds;
  for (int64_t r = 16; r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    ++seeds[a];
    EXPECT_EQ(data.y[b].item<int64_t>(), 1);
    const float xa = data.x[a][0].item<float>(), xb = data.x[b][0].item<float>(), xr = out.x[r][0].item<float>();
    EXPECT_GE(xr, std::min(xa, xb) - 1e-6);
    EXPECT_LE(xr, std::max(xa, xb) + 1e-6);
  }
  EXPECT_EQ(seeds, (std::map<int64_t, int64_t>{{10, 2}, {11, 1}, {15, 1}}));
  // Rows are grouped by seed, as imbalanced-learn's np.repeat.
  EXPECT_TRUE(torch::equal(out.parents.slice(0, 16).select(1, 0), torch::tensor({10, 10, 11, 15})));
}

TEST(ADASYN, SameSeedSameBytes) {
  const auto a = ADASYN({.n_neighbors = 3}, SamplingStrategy("auto"), 5).fit_resample(line());
  const auto b = ADASYN({.n_neighbors = 3}, SamplingStrategy("auto"), 5).fit_resample(line());
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.parents, b.parents));
}

TEST(ADASYN, RefusesAClassWithoutOtherClassNeighbours) {
  auto x = torch::zeros({14, 2});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 14; ++i) {
    x[i][0] = i < 10 ? static_cast<float>(i) : static_cast<float>(100 + i);
    y.push_back(i < 10 ? 0 : 1);
  }
  const auto data = Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"});
  EXPECT_ERROR_MENTIONS(ADASYN({.n_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(data),
                        "Not any neighbours belong to the majority class", "\"min\"", "Use SMOTE instead");
}

TEST(ADASYN, RefusesTooManyNeighbours) {
  EXPECT_ERROR_MENTIONS(ADASYN({.n_neighbors = 6}, SamplingStrategy("auto"), 0).fit_resample(line()),
                        "class \"min\"", "6 rows", "n_neighbors=6");
  EXPECT_ERROR_MENTIONS(ADASYN({.n_neighbors = 0}), "n_neighbors must be >= 1");
}
