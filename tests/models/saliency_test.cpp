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

namespace {

/// A convolutional classifier whose Grad-CAM is known in closed form: the feature map is a 1x1
/// convolution of the image, A_k = u_k x (k = 0, 1), and class 1's logit is sum_k v_k mean(A_k).
/// So dy/dA_k(i, j) = v_k / (h w), alpha_k = v_k / (h w) and the map is
/// ReLU(sum_k v_k u_k x(i, j) / (h w)), at the image's own size (no upsampling).
class PooledConv : public Classifier {
 public:
  PooledConv() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 1).bias(false)));
    torch::NoGradGuard ng;
    conv->weight.view(-1).copy_(torch::tensor({2.0f, -1.0f}));  // u
  }
  torch::Tensor forward(torch::Tensor x) override { return forward_with_features(std::move(x)).first; }
  std::pair<torch::Tensor, torch::Tensor> forward_with_features(torch::Tensor x) override {
    const auto a = conv->forward(x);  // [n, 2, h, w]
    const auto m = a.mean({2, 3});    // [n, 2]
    const auto y1 = 3.0 * m.select(1, 0) + 0.5 * m.select(1, 1);  // v = (3, 0.5)
    return {torch::stack({-y1, y1}, 1), a};
  }
  torch::nn::Conv2d conv{nullptr};
};

}  // namespace

TEST(GradCam, MatchesTheClosedFormOnAPooledConvolution) {
  PooledConv m;
  const auto x = torch::rand({2, 1, 4, 5}, torch::TensorOptions().dtype(torch::kFloat32)) - 0.3;
  const auto cam = grad_cam(m, x, 1);
  ASSERT_EQ(cam.sizes().vec(), (std::vector<int64_t>{2, 4, 5}));
  // sum_k v_k u_k = 3 * 2 + 0.5 * (-1) = 5.5; h w = 20.
  const auto expected = torch::relu(x.squeeze(1) * (5.5 / 20.0));
  EXPECT_TRUE(torch::allclose(cam, expected, 1e-5, 1e-6)) << cam << expected;
  // Class 0's logit is -y1: the signs flip, so its map is the other half of the pixels.
  const auto cam0 = grad_cam(m, x, 0);
  EXPECT_TRUE(torch::allclose(cam0, torch::relu(-x.squeeze(1) * (5.5 / 20.0)), 1e-5, 1e-6));
  EXPECT_FALSE(m.conv->weight.grad().defined()) << "Grad-CAM writes no gradient into the weights";
  EXPECT_TRUE(m.conv->weight.requires_grad()) << "and leaves them trainable";
}

TEST(GradCam, LeNetAndResNetMapsOnImages) {
  const auto x = torch::rand({3, 1, 28, 28});
  for (const std::string spec : {"lenet", "resnet:depth=8"}) {
    auto m = make_model(spec, {1, 28, 28}, 2, 0);
    const auto before = m->parameters()[0].clone();
    const auto [logits, features] = m->forward_with_features(x);
    m->eval();
    EXPECT_TRUE(torch::allclose(m->forward(x), m->forward_with_features(x).first)) << spec;
    ASSERT_TRUE(features.defined()) << spec;
    EXPECT_EQ(features.dim(), 4) << spec;
    const auto cam = grad_cam(*m, x, 1);
    EXPECT_EQ(cam.sizes().vec(), (std::vector<int64_t>{3, 28, 28})) << spec;
    EXPECT_GE(cam.min().item<float>(), 0.0f) << spec;
    EXPECT_TRUE(torch::equal(cam, grad_cam(*m, x, 1))) << spec;
    EXPECT_TRUE(torch::equal(before, m->parameters()[0])) << spec;
    for (const auto& p : m->parameters()) EXPECT_FALSE(p.grad().defined()) << spec;
    EXPECT_TRUE(has_feature_map(*m, x)) << spec;
  }
}

TEST(GradCam, RefusesModelsWithoutAFeatureMap) {
  auto mlp = make_model("mlp:hidden=[8]", {1, 8, 8}, 2, 0);
  const auto x = torch::rand({2, 1, 8, 8});
  EXPECT_FALSE(has_feature_map(*mlp, x));
  EXPECT_ERROR_MENTIONS(grad_cam(*mlp, x, 1), "no convolutional feature map", "mlp", "RISE");
  auto lenet = make_model("lenet", {1, 28, 28}, 2, 0);
  EXPECT_ERROR_MENTIONS(grad_cam(*lenet, torch::rand({2, 1, 28, 28}), 4), "class 4", "2 outputs");
  EXPECT_ERROR_MENTIONS(grad_cam(*lenet, torch::rand({28, 28}), 1), "[n, C, H, W]");
}
