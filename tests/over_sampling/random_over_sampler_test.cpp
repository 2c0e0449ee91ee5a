#include "rebalance/over_sampling/random_over_sampler.hpp"

#include <torch/torch.h>

#include <cmath>

#include "../test_util.hpp"
#include "rebalance/core/rng.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Class 0: n0 rows, class 1: n1 rows, 2 features; class 1's columns have spread 1 and 3.
Dataset two_classes(int64_t n0, int64_t n1) {
  Rng rng(2);
  auto x = torch::empty({n0 + n1, 2});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n0 + n1; ++i) {
    const bool one = i >= n0;
    y.push_back(one);
    x[i][0] = static_cast<float>(rng.normal() + (one ? 5 : 0));
    x[i][1] = static_cast<float>((one ? 3 : 1) * rng.normal());
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"a", "b"}, "two");
}

}  // namespace

TEST(RandomOverSampler, CopiesRowsOfTheClassAndRecordsThem) {
  const auto data = two_classes(20, 5);
  const auto out = RandomOverSampler({}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{20, 20}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 25), data.x));
  const auto src = out.parents.slice(0, 25).select(1, 0);
  EXPECT_TRUE(torch::all(src >= 20).item<bool>());
  EXPECT_TRUE(torch::equal(out.x.slice(0, 25), data.x.index_select(0, src)));
  EXPECT_TRUE(torch::all(out.parents.slice(0, 25).select(1, 1) == -1).item<bool>());
  EXPECT_TRUE(torch::all(out.origin.slice(0, 25) == -1).item<bool>());
  // Every row of the class is drawn sometime over a larger draw (uniform with replacement).
  const auto many = RandomOverSampler({}, SamplingStrategy("{b: 400}"), 1).fit_resample(data);
  EXPECT_EQ(std::get<0>(torch::_unique(many.parents.slice(0, 25).select(1, 0))).numel(), 5);
}

TEST(RandomOverSampler, SameSeedSameBytes) {
  const auto data = two_classes(20, 5);
  for (auto o : {RandomOverSamplerOptions{}, RandomOverSamplerOptions{.shrinkage = 1.0}}) {
    const auto a = RandomOverSampler(o, SamplingStrategy("auto"), 3).fit_resample(data);
    const auto b = RandomOverSampler(o, SamplingStrategy("auto"), 3).fit_resample(data);
    EXPECT_TRUE(torch::equal(a.x, b.x));
    EXPECT_TRUE(torch::equal(a.parents, b.parents));
  }
}

TEST(RandomOverSampler, SmoothedBootstrapNoiseFollowsImblearnsScale) {
  const auto data = two_classes(3000, 40);
  const double h = 0.8;
  const auto out = RandomOverSampler({.shrinkage = h}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{3000, 3000}));
  const auto src = out.parents.slice(0, 3040).select(1, 0);
  const auto noise = (out.x.slice(0, 3040) - data.x.index_select(0, src)).to(torch::kFloat64);
  const double n = 3040, d = 2;
  const double s = std::pow(4.0 / ((d + 2) * n), 1.0 / (d + 4));
  const auto sigma = data.x.slice(0, 3000).to(torch::kFloat64).std(0, false);
  for (int64_t j = 0; j < 2; ++j) {
    const double expected = h * s * sigma[j].item<double>();
    EXPECT_NEAR(noise.select(1, j).std().item<double>(), expected, 0.06 * expected) << "feature " << j;
    EXPECT_NEAR(noise.select(1, j).mean().item<double>(), 0.0, 0.1 * expected);
  }
  // Shrinkage 0 is the plain bootstrap.
  const auto zero = RandomOverSampler({.shrinkage = 0.0}, SamplingStrategy("auto"), 0).fit_resample(data);
  const auto plain = RandomOverSampler({}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_TRUE(torch::equal(zero.x, plain.x));
}

TEST(RandomOverSampler, PerClassShrinkage) {
  const auto data = two_classes(20, 5);
  const auto o = RandomOverSamplerOptions::parse_shrinkage("{b: 0.5}");
  ASSERT_EQ(o.class_shrinkage.size(), 1u);
  const auto out = RandomOverSampler(o, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_FALSE(torch::equal(out.x.slice(0, 25), data.x.index_select(0, out.parents.slice(0, 25).select(1, 0))));
  // Class a is not resampled under "auto", so it needs no factor; under "all" it does.
  EXPECT_ERROR_MENTIONS(RandomOverSampler(o, SamplingStrategy("all"), 0).fit_resample(data),
                        "shrinkage factor for each class", "{a}");
  EXPECT_ERROR_MENTIONS(RandomOverSampler(RandomOverSamplerOptions::parse_shrinkage("{zebra: 1}")).fit_resample(data),
                        "zebra");
}

TEST(RandomOverSampler, RefusesBadShrinkageAndBadData) {
  EXPECT_ERROR_MENTIONS(RandomOverSamplerOptions::parse_shrinkage("-1"), "needs to be >= 0", "-1");
  EXPECT_ERROR_MENTIONS(RandomOverSamplerOptions::parse_shrinkage("{a: -2}"), ">= 0", "class a");
  EXPECT_ERROR_MENTIONS(RandomOverSamplerOptions::parse_shrinkage("lots"), "not a number");
  EXPECT_ERROR_MENTIONS(make_sampler("ros:shrinkage=-0.5"), ">= 0");
  const auto data = two_classes(20, 5);
  EXPECT_ERROR_MENTIONS(RandomOverSampler().fit_resample(data.subset(data.indices_of(0))), "more than 1 class");
  EXPECT_ERROR_MENTIONS(RandomOverSampler({}, SamplingStrategy("0.1"), 0).fit_resample(data), "remove samples");
}

TEST(RandomOverSampler, SingleRowClassIsCopied) {
  const auto data = two_classes(6, 1);
  const auto out = make_sampler("ros", 0)->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{6, 6}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 7), data.x[6].unsqueeze(0).expand({5, 2})));
}
