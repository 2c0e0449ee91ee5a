#include "rebalance/over_sampling/smotenc.hpp"

#include <torch/torch.h>

#include <set>

#include "../test_util.hpp"
#include "rebalance/core/rng.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Columns: 0 continuous, 1 categorical, 2 continuous, 3 categorical. Class 0: 20 rows, class 1:
/// 6 rows whose column 1 is 7 except one row with 3, and whose column 3 is 1 or 2.
Dataset mixed() {
  Rng rng(12);
  auto x = torch::empty({26, 4});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 26; ++i) {
    const bool one = i >= 20;
    y.push_back(one);
    x[i][0] = static_cast<float>(rng.normal() + (one ? 4 : 0));
    x[i][1] = one ? (i == 22 ? 3.0f : 7.0f) : static_cast<float>(rng.uniform_int(4));
    x[i][2] = static_cast<float>(rng.normal());
    x[i][3] = static_cast<float>(1 + rng.uniform_int(2));
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "mixed");
}

}  // namespace

TEST(SMOTENC, ContinuousColumnsInterpolateCategoricalColumnsVote) {
  const auto data = mixed();
  const auto out = SMOTENC({.categorical_features = {1, 3}, .k_neighbors = 3}, SamplingStrategy("auto"), 0)
                       .fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{20, 20}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 26), data.x));
  for (int64_t r = 26; r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    EXPECT_GE(a, 20);
    EXPECT_GE(b, 20);
    // At most one of 3 neighbours carries 3 in column 1: the vote is always 7.
    EXPECT_EQ(out.x[r][1].item<float>(), 7.0f);
    const float c3 = out.x[r][3].item<float>();
    EXPECT_TRUE(c3 == 1.0f || c3 == 2.0f) << c3;
    // Both continuous columns at the same position t on the segment.
    const auto xa = data.x[a], xb = data.x[b], xr = out.x[r];
    const double t = (xr[0].item<double>() - xa[0].item<double>()) / (xb[0].item<double>() - xa[0].item<double>());
    EXPECT_GE(t, -1e-5);
    EXPECT_LE(t, 1 + 1e-5);
    EXPECT_NEAR(xr[2].item<double>(), xa[2].item<double>() + t * (xb[2].item<double>() - xa[2].item<double>()), 1e-4);
  }
}

TEST(SMOTENC, TiedVotesPickOneOfTheTiedValues) {
  // k = 2 over two neighbours with different values in column 3: either may win, nothing else.
  const auto data = mixed();
  const auto out = SMOTENC({.categorical_features = {1, 3}, .k_neighbors = 2}, SamplingStrategy("{min: 200}"), 2)
                       .fit_resample(data);
  std::set<float> seen;
  for (int64_t r = 26; r < out.size(); ++r) seen.insert(out.x[r][3].item<float>());
  EXPECT_EQ(seen, (std::set<float>{1.0f, 2.0f}));
}

TEST(SMOTENC, SameSeedSameBytes) {
  const auto data = mixed();
  const auto a = make_sampler("smotenc:categorical_features=[1,3],k_neighbors=2", 5)->fit_resample(data);
  const auto b = make_sampler("smotenc:categorical_features=[3,1],k_neighbors=2", 5)->fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
}

TEST(SMOTENC, RefusesMissingAllOrOutOfRangeCategoricalColumns) {
  const auto data = mixed();
  EXPECT_ERROR_MENTIONS(make_sampler("smotenc"), "requires some categorical features", "categorical_features=");
  EXPECT_ERROR_MENTIONS(SMOTENC({}), "requires some categorical features");
  EXPECT_ERROR_MENTIONS(SMOTENC({.categorical_features = {0, 1, 2, 3}}).fit_resample(data),
                        "not designed to work only with categorical features", "SMOTEN");
  EXPECT_ERROR_MENTIONS(SMOTENC({.categorical_features = {1, 4}}).fit_resample(data), "out of range",
                        "between 0 and 3", "got 4");
  EXPECT_ERROR_MENTIONS(SMOTENC({.categorical_features = {-1}}).fit_resample(data), "out of range");
  EXPECT_ERROR_MENTIONS(SMOTENC({.categorical_features = {1, 1}}), "listed twice");
  EXPECT_ERROR_MENTIONS(SMOTENC({.categorical_features = {1}, .k_neighbors = 6}).fit_resample(data), "class \"min\"",
                        "6 rows", "k_neighbors=6");
}
