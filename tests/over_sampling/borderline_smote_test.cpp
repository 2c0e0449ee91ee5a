#include "rebalance/over_sampling/borderline_smote.hpp"

#include <torch/torch.h>

#include <set>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Points on a line (second coordinate 0). Class 0 at 0..5 and far away at -10..-13; class 1 at
/// 2.4, 5.6, 8, 9, 10, 4.6 (rows 10..15). With m = 3 (other-class rows among the 3 nearest):
///   2.4 -> 2, 3, 1          3 others: noise, not danger
///   5.6 -> 5, 4.6, 4        2 others: danger
///   8   -> 9, 10, 5.6       0 others: safe
///   9   -> 8, 10, 5.6       0
///   10  -> 9, 8, 5.6        0
///   4.6 -> 5, 4, 5.6        2 others: danger
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

TEST(BorderlineSMOTE, DangerSetMatchesHandComputation) {
  const auto mask = BorderlineSMOTE::danger_mask(line(), 1, 3);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({false, true, false, false, false, true})));
  // m = 1: danger needs 0.5 <= n_other < 1, impossible; m = 2: exactly one other among two.
  EXPECT_FALSE(BorderlineSMOTE::danger_mask(line(), 1, 1).any().item<bool>());
  // 2.4 -> 2, 3 (2 others: noise); 5.6 -> 5, 4.6 (1: danger); 4.6 -> 5, 4 (2: noise); others safe.
  EXPECT_TRUE(torch::equal(BorderlineSMOTE::danger_mask(line(), 1, 2),
                           torch::tensor({false, true, false, false, false, false})));
}

TEST(BorderlineSMOTE, Kind1SeedsOnlyFromDangerRowsTowardsSameClassNeighbours) {
  const auto data = line();
  const auto out = BorderlineSMOTE({.k_neighbors = 2, .m_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 10}));
  // 2-NN within class 1: 5.6 (row 11) -> 4.6 (15), 8 (12); 4.6 (row 15) -> 5.6 (11), 2.4 (10).
  const std::map<int64_t, std::set<int64_t>> allowed = {{11, {15, 12}}, {15, {11, 10}}};
  for (int64_t r = 16; r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    ASSERT_TRUE(allowed.count(a)) << "seed row " << a << " is not in danger";
    EXPECT_TRUE(allowed.at(a).count(b)) << b;
    const float xa = data.x[a][0].item<float>(), xb = data.x[b][0].item<float>(), xr = out.x[r][0].item<float>();
    EXPECT_GE(xr, std::min(xa, xb) - 1e-6);
    EXPECT_LE(xr, std::max(xa, xb) + 1e-6);
    EXPECT_EQ(out.x[r][1].item<float>(), 0.0f);
    EXPECT_EQ(out.origin[r].item<int64_t>(), -1);
  }
}

TEST(BorderlineSMOTE, Kind2MakesExactlyTheCountAndStaysNearTheMinority) {
  const auto data = line();
  const auto out = BorderlineSMOTE({.k_neighbors = 2, .m_neighbors = 3, .kind = "borderline-2"},
                                   SamplingStrategy("auto"), 1)
                       .fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 10}));
  // Other-class 2-NN of both danger rows: 5 and 4 (rows 5 and 4).
  for (int64_t r = 16; r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    ASSERT_TRUE(a == 11 || a == 15) << a;
    const float xa = data.x[a][0].item<float>(), xb = data.x[b][0].item<float>(), xr = out.x[r][0].item<float>();
    if (data.y[b].item<int64_t>() == 0) {
      EXPECT_TRUE(b == 4 || b == 5) << b;
      // u in [0, 0.5): at most half way towards the other class.
      EXPECT_LE(std::abs(xr - xa), 0.5f * std::abs(xb - xa) + 1e-6f);
    }
  }
}

TEST(BorderlineSMOTE, SameSeedSameBytes) {
  const auto data = line();
  for (const char* kind : {"borderline-1", "borderline-2"}) {
    BorderlineSMOTEOptions o{.k_neighbors = 2, .m_neighbors = 3, .kind = kind};
    const auto a = BorderlineSMOTE(o, SamplingStrategy("auto"), 8).fit_resample(data);
    const auto b = BorderlineSMOTE(o, SamplingStrategy("auto"), 8).fit_resample(data);
    EXPECT_TRUE(torch::equal(a.x, b.x)) << kind;
    EXPECT_TRUE(torch::equal(a.parents, b.parents)) << kind;
  }
}

TEST(BorderlineSMOTE, RefusesWhenNoRowIsInDanger) {
  // m = 1 can never flag a row: say so instead of returning the data unchanged.
  EXPECT_ERROR_MENTIONS(
      BorderlineSMOTE({.k_neighbors = 2, .m_neighbors = 1}, SamplingStrategy("auto"), 0).fit_resample(line()),
      "no row of class \"min\" is in danger", "m_neighbors=1");
}

TEST(BorderlineSMOTE, RefusesBadNeighbourCountsAndKind) {
  EXPECT_ERROR_MENTIONS(
      BorderlineSMOTE({.k_neighbors = 6, .m_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(line()),
      "class \"min\"", "6 rows", "k_neighbors=6");
  EXPECT_ERROR_MENTIONS(
      BorderlineSMOTE({.k_neighbors = 2, .m_neighbors = 16}, SamplingStrategy("auto"), 0).fit_resample(line()),
      "m_neighbors=16", "16 rows");
  EXPECT_ERROR_MENTIONS(BorderlineSMOTE({.kind = "borderline-3"}), "borderline-1", "borderline-3");
  EXPECT_ERROR_MENTIONS(make_sampler("borderline_smote:kind=borderline-3"), "borderline-3");
  const auto d = line();
  EXPECT_ERROR_MENTIONS(BorderlineSMOTE().fit_resample(d.subset(d.indices_of(1))), "more than 1 class");
}

TEST(BorderlineSMOTE, AClassWithoutDangerRowsIsLeftAsImblearnDoes) {
  // A third class far away (100..105) has only its own rows around it: nothing in danger, so it
  // gets no new rows while class "min" still does.
  const auto base = line();
  auto x = torch::cat({base.x, torch::zeros({6, 2})});
  for (int64_t i = 0; i < 6; ++i) x[16 + i][0] = static_cast<float>(100 + i);
  auto y = torch::cat({base.y, torch::full({6}, int64_t(2))});
  const auto data = Dataset::from_tensors(x, y, {"maj", "min", "far"});
  const auto out = BorderlineSMOTE({.k_neighbors = 2, .m_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{10, 10, 6}));
}
