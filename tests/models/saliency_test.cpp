// RISE saliency on a classifier whose evidence is known: a logistic regression that looks only at
// the top-left quarter of an 8x8 image must get a map that is high there and flat elsewhere.
#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/models/saliency.hpp"

using namespace rebalance;
using namespace rebalance::models;

namespace {

/// logreg over 1x8x8 inputs: class 1's logit is 0.5 x the sum of the top-left 4x4 pixels - 2.
LogisticRegression top_left_model() {
  LogisticRegression m(64, 2);
  torch::NoGradGuard ng;
  auto params = m->named_parameters();
  auto weight = params["fc.weight"], bias = params["fc.bias"];
  weight.zero_(), bias.zero_();
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 4; ++c) weight[1][r * 8 + c] = 0.5;
  bias[1] = -2.0;
  return m;
}

}  // namespace

TEST(Rise, MapIsHighWhereTheModelLooks) {
  auto m = top_left_model();
  const auto x = torch::ones({2, 1, 8, 8});
  RiseOptions o;
  o.masks = 400, o.cells = 4, o.seed = 3;
  const auto maps = rise_saliency(*m, x, 1, o);
  ASSERT_EQ(maps.sizes().vec(), (std::vector<int64_t>{2, 8, 8}));
  const auto inside = maps.slice(1, 0, 3).slice(2, 0, 3).mean().item<double>();
  const auto outside = maps.slice(1, 5, 8).slice(2, 5, 8).mean().item<double>();
  EXPECT_GT(inside, outside + 0.05) << "inside " << inside << ", outside " << outside;
  // Same masks for every image and every call with the seed: identical images, identical maps.
  EXPECT_TRUE(torch::allclose(maps[0], maps[1]));
  EXPECT_TRUE(torch::equal(maps, rise_saliency(*m, x, 1, o)));
  // For class 0 the evidence is reversed: lower inside than outside.
  const auto maps0 = rise_saliency(*m, x, 0, o);
  EXPECT_LT(maps0[0].slice(0, 0, 3).slice(1, 0, 3).mean().item<double>(),
            maps0[0].slice(0, 5, 8).slice(1, 5, 8).mean().item<double>());
}

TEST(Rise, OverlayAndErrors) {
  auto m = top_left_model();
  const auto x = torch::rand({3, 1, 8, 8});
  const auto maps = rise_saliency(*m, x, 1, {.masks = 20, .cells = 2});
  const auto tiles = saliency_overlay(x, maps);
  EXPECT_EQ(tiles.sizes().vec(), (std::vector<int64_t>{6, 3, 8, 8}));
  EXPECT_GE(tiles.min().item<float>(), 0.0f);
  EXPECT_LE(tiles.max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::allclose(tiles[0][1], x[0][0])) << "each image first, as it is";
  EXPECT_ERROR_MENTIONS(rise_saliency(*m, torch::rand({8, 8}), 1), "[n, C, H, W]");
  EXPECT_ERROR_MENTIONS(rise_saliency(*m, x, 5), "class 5", "2 outputs");
  EXPECT_ERROR_MENTIONS(rise_saliency(*m, x, 1, {.keep = 1.0}), "keep must be in (0, 1)");
  EXPECT_ERROR_MENTIONS(saliency_overlay(x, maps.slice(0, 0, 2)), "same n");
}
