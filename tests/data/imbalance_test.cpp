#include "rebalance/data/imbalance.hpp"

#include <torch/torch.h>

#include <set>

#include "../test_util.hpp"
#include "rebalance/data/registry.hpp"

using namespace rebalance;

namespace {
/// 10 classes x 50 rows; feature 0 holds the row index so provenance can be checked.
Dataset balanced() {
  auto y = torch::arange(500, torch::kInt64).remainder(10);
  auto x = torch::stack({torch::arange(500, torch::kFloat32), y.to(torch::kFloat32)}, 1);
  return Dataset::from_tensors(x, y, {}, "balanced");
}
}  // namespace

TEST(Imbalance, MakeImbalanceKeepsRequestedCounts) {
  const auto d = balanced();
  const auto im = make_imbalance(d, {{3, 5}, {7, 0}}, 1);
  auto counts = im.class_counts();
  EXPECT_EQ(counts[3], 5);
  EXPECT_EQ(counts[7], 0);
  EXPECT_EQ(counts[0], 50);
  // Rows are real rows: feature 0 equals the origin index.
  EXPECT_TRUE(torch::equal(im.x.select(1, 0).to(torch::kInt64), im.origin));
  EXPECT_TRUE(torch::equal(make_imbalance(d, {{3, 5}}, 1).origin, make_imbalance(d, {{3, 5}}, 1).origin));
  EXPECT_FALSE(torch::equal(make_imbalance(d, {{3, 5}}, 1).origin, make_imbalance(d, {{3, 5}}, 2).origin));
  EXPECT_ERROR_MENTIONS(make_imbalance(d, {{3, 51}}, 0), "class 3", "has 50 rows", "cannot keep 51");
  EXPECT_ERROR_MENTIONS(make_imbalance(d, {{12, 1}}, 0), "class 12 does not exist");
}

TEST(Imbalance, BinaryPairRelabels) {
  const auto d = balanced();
  const auto p = binary_pair(d, 0, 40, 6, 4, 3);
  EXPECT_EQ(p.class_counts(), (std::vector<int64_t>{40, 4}));
  EXPECT_EQ(p.class_names, (std::vector<std::string>{"0", "6"}));
  // Label 1 rows came from class 6.
  EXPECT_TRUE(torch::all(p.x.select(1, 1).index_select(0, p.indices_of(1)) == 6.0f).item<bool>());
  EXPECT_ERROR_MENTIONS(binary_pair(d, 2, 10, 2, 10, 0), "two different classes");
}

TEST(Imbalance, BinaryGroupsAsInSeed003) {
  const auto d = balanced();
  const auto g = binary_groups(d, {0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}, {{5, 2}, {6, 2}, {7, 2}, {8, 2}, {9, 2}}, 0);
  EXPECT_EQ(g.class_counts(), (std::vector<int64_t>{250, 10}));
  EXPECT_EQ(g.class_names[1], "5+6+7+8+9");
}

TEST(Imbalance, LongTailMatchesTheFormula) {
  // n_i = floor(n_max * rho^(-i/(C-1))) with n_max = 5000, rho = 100, C = 10 (CIFAR-10-LT).
  const auto c = long_tail_counts(5000, 10, 100.0);
  const std::vector<int64_t> expected = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
  EXPECT_EQ(c, expected);
  EXPECT_EQ(long_tail_counts(100, 2, 1.0), (std::vector<int64_t>{100, 100}));
  EXPECT_ERROR_MENTIONS(long_tail_counts(10, 3, 0.5), "rho must be >= 1", "0.5");
}

TEST(Imbalance, StepProfile) {
  EXPECT_EQ(step_counts(1000, 4, 10.0), (std::vector<int64_t>{1000, 1000, 100, 100}));
  EXPECT_EQ(step_counts(1000, 10, 100.0, 0.2), (std::vector<int64_t>{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000,
                                                                    10, 10}));
  const auto d = apply_profile(balanced(), long_tail_counts(50, 10, 10.0), 0);
  EXPECT_EQ(d.class_counts().front(), 50);
  EXPECT_EQ(d.class_counts().back(), 5);
}

TEST(Split, StratifiedAndDisjoint) {
  const auto d = balanced();
  const auto s = stratified_split(d, 0.2, 0.2, 0);
  for (int64_t c = 0; c < 10; ++c) {
    EXPECT_EQ(s.train.class_counts()[c], 30);
    EXPECT_EQ(s.validation.class_counts()[c], 10);
    EXPECT_EQ(s.test.class_counts()[c], 10);
  }
  std::set<int64_t> seen;
  for (const auto* part : {&s.train, &s.validation, &s.test})
    for (int64_t i = 0; i < part->size(); ++i) EXPECT_TRUE(seen.insert(part->origin[i].item<int64_t>()).second);
  EXPECT_EQ(seen.size(), 500u);
  EXPECT_TRUE(torch::equal(stratified_split(d, 0.2, 0.2, 0).test.origin, s.test.origin));
}

TEST(Split, TinyClassesStayInTraining) {
  auto d = make_imbalance(balanced(), {{1, 1}, {2, 2}}, 0);
  const auto s = stratified_split(d, 0.3, 0.4, 5);
  EXPECT_EQ(s.train.class_counts()[1], 1);  // its only row goes to training
  EXPECT_GE(s.train.class_counts()[2], 1);
  EXPECT_ERROR_MENTIONS(stratified_split(d, 0.5, 0.5, 0), "sum below 1");
}

TEST(Imbalance, Seed000ScaleOnFashionMnist) {
  // T-shirt (0) vs Shirt (6): 5000 vs 100 training images, as the experiments use.
  const auto f = load_builtin("fashion-mnist");
  const auto p = binary_pair(f, f.class_index("T-shirt/top"), 5000, f.class_index("Shirt"), 100, 0);
  EXPECT_EQ(p.class_counts(), (std::vector<int64_t>{5000, 100}));
  EXPECT_EQ(p.class_names, (std::vector<std::string>{"T-shirt/top", "Shirt"}));
}
