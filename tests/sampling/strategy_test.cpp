#include "rebalance/sampling/strategy.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using Map = std::map<int64_t, int64_t>;

namespace {
/// Classes a: 10, b: 3, c: 6 rows.
Dataset three() {
  std::vector<int64_t> y;
  for (int i = 0; i < 10; ++i) y.push_back(0);
  for (int i = 0; i < 3; ++i) y.push_back(1);
  for (int i = 0; i < 6; ++i) y.push_back(2);
  return Dataset::from_tensors(torch::zeros({19, 2}), torch::tensor(y), {"a", "b", "c"});
}
Dataset two() {
  return Dataset::from_tensors(torch::zeros({12, 1}), torch::tensor({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}), {"maj", "min"});
}
}  // namespace

TEST(SamplingStrategy, NamedStrategiesAsImblearn) {
  const auto d = three();
  // over: rows to add up to the majority; under/clean: rows to keep = the minority count.
  EXPECT_EQ(SamplingStrategy("auto").resolve(d, SamplingType::Over), (Map{{1, 7}, {2, 4}}));
  EXPECT_EQ(SamplingStrategy("auto").resolve(d, SamplingType::Under), (Map{{0, 3}, {2, 3}}));
  EXPECT_EQ(SamplingStrategy("minority").resolve(d, SamplingType::Over), (Map{{1, 7}}));
  EXPECT_EQ(SamplingStrategy("majority").resolve(d, SamplingType::Under), (Map{{0, 3}}));
  EXPECT_EQ(SamplingStrategy("not minority").resolve(d, SamplingType::Over), (Map{{0, 0}, {2, 4}}));
  EXPECT_EQ(SamplingStrategy("not_majority").resolve(d, SamplingType::Clean), (Map{{1, 3}, {2, 3}}));
  EXPECT_EQ(SamplingStrategy("all").resolve(d, SamplingType::Under), (Map{{0, 3}, {1, 3}, {2, 3}}));
}

TEST(SamplingStrategy, FloatIsBinaryOnly) {
  const auto d = two();
  EXPECT_EQ(SamplingStrategy("0.5").resolve(d, SamplingType::Over), (Map{{1, 3}}));   // int(10*0.5 - 2)
  EXPECT_EQ(SamplingStrategy("0.5").resolve(d, SamplingType::Under), (Map{{0, 4}}));  // int(2/0.5)
  EXPECT_ERROR_MENTIONS(SamplingStrategy("0.1").resolve(d, SamplingType::Over), "remove samples from the minority");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("0.1").resolve(d, SamplingType::Under), "generate new sample in the majority");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("0.5").resolve(d, SamplingType::Clean), "'clean-sampling' methods");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("0.5").resolve(three(), SamplingType::Over), "only when the type of target is binary");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("1.5"), "(0, 1]", "1.5");
}

TEST(SamplingStrategy, DictByNameOrNumber) {
  const auto d = three();
  EXPECT_EQ(SamplingStrategy("{b: 8, 2: 6}").resolve(d, SamplingType::Over), (Map{{1, 5}, {2, 0}}));
  EXPECT_EQ(SamplingStrategy("{a:4}").resolve(d, SamplingType::Under), (Map{{0, 4}}));
  EXPECT_ERROR_MENTIONS(SamplingStrategy("{b: 2}").resolve(d, SamplingType::Over), "greater or equal",
                        "there is 3 samples and 2 samples are asked", "\"b\"");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("{a: 11}").resolve(d, SamplingType::Under), "less or equal",
                        "there is 10 samples and 11 samples are asked");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("{zebra: 3}").resolve(d, SamplingType::Over), "{zebra}",
                        "not present in the data");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("{a: -1}").resolve(d, SamplingType::Under), "cannot be negative");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("{a: 3}").resolve(d, SamplingType::Clean), "dict for cleaning methods");
}

TEST(SamplingStrategy, ListForCleaningOnly) {
  const auto d = three();
  EXPECT_EQ(SamplingStrategy("[a, c]").resolve(d, SamplingType::Clean), (Map{{0, 3}, {2, 3}}));
  EXPECT_ERROR_MENTIONS(SamplingStrategy("[a]").resolve(d, SamplingType::Under), "cannot be a list");
}

TEST(SamplingStrategy, RefusesNonsenseAndSingleClass) {
  EXPECT_ERROR_MENTIONS(SamplingStrategy("most"), "unknown sampling_strategy \"most\"");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("minority").resolve(three(), SamplingType::Under), "cannot be used with under");
  EXPECT_ERROR_MENTIONS(SamplingStrategy("majority").resolve(three(), SamplingType::Over), "cannot be used with over");
  const auto one = Dataset::from_tensors(torch::zeros({3, 1}), torch::tensor({1, 1, 1}), {"x", "y"});
  EXPECT_ERROR_MENTIONS(SamplingStrategy("auto").resolve(one, SamplingType::Over), "more than 1 class", "Got 1 class",
                        "\"y\", 3 rows");
}
