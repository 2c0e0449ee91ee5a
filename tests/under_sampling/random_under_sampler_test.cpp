#include "rebalance/under_sampling/random_under_sampler.hpp"

#include <torch/torch.h>

#include <set>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

Dataset three_classes() {
  auto y = torch::zeros({300}, torch::kInt64);
  y.slice(0, 200, 260).fill_(1);
  y.slice(0, 260).fill_(2);
  return Dataset::from_tensors(torch::randn({300, 3}), y);
}

}  // namespace

TEST(RandomUnderSampler, CountsOrderAndSeeds) {
  const auto data = three_classes();
  const auto a = RandomUnderSampler(SamplingStrategy(), false, 7).fit_resample(data);
  EXPECT_EQ(a.class_counts(), (std::vector<int64_t>{40, 40, 40}));
  // Class by class; the minority whole and in order; no row twice.
  const auto o = origins(a);
  for (int64_t i = 80; i < 120; ++i) EXPECT_EQ(o[i], 260 + (i - 80));
  EXPECT_EQ(std::set<int64_t>(o.begin(), o.end()).size(), o.size());
  EXPECT_TRUE(torch::equal(a.x, data.x.index_select(0, a.origin)));
  EXPECT_EQ(origins(RandomUnderSampler(SamplingStrategy(), false, 7).fit_resample(data)), o);
  EXPECT_NE(origins(RandomUnderSampler(SamplingStrategy(), false, 8).fit_resample(data)), o);
}

TEST(RandomUnderSampler, EachClassDrawsFromItsOwnStream) {
  // Changing what class 1 keeps does not change class 0's draw.
  const auto data = three_classes();
  const auto a = origins(RandomUnderSampler(SamplingStrategy("{0: 30, 1: 10}"), false, 3).fit_resample(data));
  const auto b = origins(RandomUnderSampler(SamplingStrategy("{0: 30, 1: 20}"), false, 3).fit_resample(data));
  EXPECT_EQ(std::vector<int64_t>(a.begin(), a.begin() + 30), std::vector<int64_t>(b.begin(), b.begin() + 30));
}

TEST(RandomUnderSampler, ReplacementMayRepeatRows) {
  const auto data = Dataset::from_tensors(torch::randn({60, 2}), (torch::arange(60) < 50).to(torch::kInt64));
  const auto out = make_sampler("random_under:replacement=true,sampling_strategy={1:50}", 1)->fit_resample(data);
  const auto o = origins(out);
  EXPECT_EQ(out.class_counts()[1], 50);
  EXPECT_LT(std::set<int64_t>(o.begin(), o.end()).size(), o.size());
}

TEST(RandomUnderSampler, Errors) {
  const auto data = three_classes();
  EXPECT_ERROR_MENTIONS(make_sampler("random_under:sampling_strategy={0:500}")->fit_resample(data), "200 samples",
                        "500 samples");
  EXPECT_ERROR_MENTIONS(make_sampler("random_under:replacement=sometimes"), "replacement");
  EXPECT_ERROR_MENTIONS(make_sampler("random_under:sampling_strategy=0.5")->fit_resample(data), "binary");
  const auto one = Dataset::from_tensors(torch::randn({4, 2}), torch::zeros({4}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("rus")->fit_resample(one), "more than 1 class");
}
