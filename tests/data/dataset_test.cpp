#include "rebalance/data/dataset.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;

namespace {
Dataset tiny() {
  return Dataset::from_tensors(torch::arange(12, torch::kFloat32).reshape({6, 2}),
                               torch::tensor({0, 1, 0, 2, 0, 1}), {"a", "b", "c"}, "tiny");
}
}  // namespace

TEST(Dataset, CountsIndicesAndNames) {
  const auto d = tiny();
  EXPECT_EQ(d.size(), 6);
  EXPECT_EQ(d.num_features(), 2);
  EXPECT_EQ(d.class_counts(), (std::vector<int64_t>{3, 2, 1}));
  EXPECT_TRUE(torch::equal(d.indices_of(1), torch::tensor({1, 5}, torch::kInt64)));
  EXPECT_EQ(d.class_index("c"), 2);
  EXPECT_EQ(d.class_index("1"), 1);
  EXPECT_ERROR_MENTIONS(d.class_index("zebra"), "no class named \"zebra\"", "0=a, 1=b, 2=c");
}

TEST(Dataset, SubsetKeepsProvenance) {
  const auto d = tiny();
  const auto s = d.subset(torch::tensor({4, 1}, torch::kInt64));
  EXPECT_TRUE(torch::equal(s.origin, torch::tensor({4, 1}, torch::kInt64)));
  const auto ss = s.subset(torch::tensor({1}, torch::kInt64));
  EXPECT_EQ(ss.origin[0].item<int64_t>(), 1);  // still the source row, not the position in s
  EXPECT_TRUE(torch::equal(ss.x, d.x[1].unsqueeze(0)));
}

TEST(Dataset, ShuffleIsSeededAndAPermutation) {
  const auto d = tiny();
  const auto a = d.shuffled(7), b = d.shuffled(7), c = d.shuffled(8);
  EXPECT_TRUE(torch::equal(a.origin, b.origin));
  EXPECT_FALSE(torch::equal(a.origin, c.origin));
  EXPECT_TRUE(torch::equal(std::get<0>(a.origin.sort()), torch::arange(6)));
  // Each row still carries its own label.
  EXPECT_TRUE(torch::equal(a.y, d.y.index_select(0, a.origin)));
}

TEST(Dataset, ConcatChecksCompatibility) {
  const auto d = tiny();
  const auto both = Dataset::concat(d, d.subset(torch::tensor({0}, torch::kInt64)));
  EXPECT_EQ(both.size(), 7);
  EXPECT_EQ(both.class_counts(), (std::vector<int64_t>{4, 2, 1}));
  auto other = d;
  other.class_names = {"x", "y", "z"};
  EXPECT_ERROR_MENTIONS(Dataset::concat(d, other), "class names differ");
}

TEST(DatasetErrors, BadTensorsAreRefused) {
  EXPECT_ERROR_MENTIONS(Dataset::from_tensors(torch::zeros({3, 2}), torch::zeros({4}, torch::kInt64)),
                        "3 feature rows but 4 labels");
  EXPECT_ERROR_MENTIONS(Dataset::from_tensors(torch::zeros({2, 2}), torch::tensor({0, 5}), {"a", "b"}),
                        "row 1 has label 5");
  auto x = torch::zeros({3, 2});
  x[2][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_ERROR_MENTIONS(Dataset::from_tensors(x, torch::tensor({0, 1, 0})), "row 2, feature 1", "nan",
                        "must be finite");
  EXPECT_ERROR_MENTIONS(Dataset::from_tensors(torch::zeros({2, 2, 2}), torch::tensor({0, 1})), "3 dimensions");
}

TEST(Dataset, ImagesKeepTheirShape) {
  const auto d = Dataset::from_tensors(torch::rand({4, 1, 28, 28}), torch::tensor({0, 1, 1, 0}));
  EXPECT_EQ(d.num_features(), 784);
  EXPECT_EQ(d.x2d().sizes(), (std::vector<int64_t>{4, 784}));
  EXPECT_EQ(d.feature_shape(), (std::vector<int64_t>{1, 28, 28}));
}
