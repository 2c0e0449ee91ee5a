// Level 1: each augmentation op against pixels computed by hand on tiny images.
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "../test_util.hpp"
#include "rebalance/augment/augment.hpp"

using namespace rebalance;
using namespace rebalance::augment;

namespace {

at::Tensor ramp(int64_t c, int64_t h, int64_t w) {
  return torch::arange(c * h * w, torch::kFloat32).view({1, c, h, w}) / float(c * h * w);
}

at::Tensor run(const std::string& spec, const at::Tensor& x, uint64_t seed = 0) {
  return make_augmentation(spec)->apply(x, seed);
}

double gauss(double t, double sigma, int64_t r) {
  double z = 0;
  for (int64_t k = -r; k <= r; ++k) z += std::exp(-double(k * k) / (2 * sigma * sigma));
  return std::exp(-t * t / (2 * sigma * sigma)) / z;
}

}  // namespace

TEST(Augment, BlurOfAnImpulseIsTheKernelWithReflectedBorders) {
  auto x = torch::zeros({1, 1, 7, 7});
  x[0][0][3][3] = 1;
  const auto out = run("blur:sigma=1", x);
  const double k0 = gauss(0, 1, 3), k1 = gauss(1, 1, 3), k3 = gauss(3, 1, 3);
  EXPECT_NEAR(out[0][0][3][3].item<double>(), k0 * k0, 1e-6);
  EXPECT_NEAR(out[0][0][3][4].item<double>(), k0 * k1, 1e-6);
  // Column 0 is 3 from the impulse, and the reflected border (column -3 reads column 3) brings
  // the impulse in a second time: k(3) from each side.
  EXPECT_NEAR(out[0][0][3][0].item<double>(), k0 * (k3 + k3), 1e-6);
  auto small = torch::zeros({1, 1, 5, 5});
  small[0][0][2][2] = 1;
  const auto s = run("blur:sigma=0.9", small);  // r = 3 < 5: reflected
  const double m0 = gauss(0, 0.9, 3), m2 = gauss(2, 0.9, 3);
  EXPECT_NEAR(s[0][0][2][0].item<double>(), m0 * (m2 + m2), 1e-6);
  EXPECT_EQ(x.sum().item<float>(), 1.0f);           // the input is untouched
}

TEST(Augment, UnsharpSharpensDetailAboveTheThresholdOnly) {
  auto x = torch::full({1, 1, 7, 7}, 0.5f);
  x[0][0][3][3] = 0.6f;
  const auto out = run("unsharp:sigma=1,amount=1.5,threshold=0.05", x);
  const double k0 = gauss(0, 1, 3);
  // Centre: detail 0.1 (1 - k0^2) >= 0.05, so 0.6 + 1.5 * detail; neighbours' detail is below 0.05.
  EXPECT_NEAR(out[0][0][3][3].item<double>(), 0.6 + 1.5 * 0.1 * (1 - k0 * k0), 1e-6);
  EXPECT_FLOAT_EQ(out[0][0][3][4].item<float>(), 0.5f);
  // Without a threshold the neighbour darkens by 1.5 times its detail; values stay within [0, 1].
  const auto all = run("unsharp:sigma=1,amount=1.5,threshold=0", x);
  const double k1 = gauss(1, 1, 3);
  EXPECT_NEAR(all[0][0][3][4].item<double>(), 0.5 - 1.5 * 0.1 * k0 * k1, 1e-6);
  EXPECT_LE(run("unsharp:amount=50,threshold=0", x).max().item<float>(), 1.0f);
}

TEST(Augment, FlipsAndChannelSplit) {
  const auto x = ramp(1, 2, 3);
  EXPECT_TRUE(torch::equal(run("hflip:p=1", x), x.flip({3})));
  EXPECT_TRUE(torch::equal(run("vflip:p=1", x), x.flip({2})));
  EXPECT_TRUE(torch::equal(run("hflip:p=0", x), x));
  const auto rgb = ramp(3, 2, 2);
  const auto g = run("channel:which=g", rgb);
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(torch::equal(g[0][c], rgb[0][1]));
  EXPECT_TRUE(torch::equal(run("channel:which=2", rgb)[0][0], rgb[0][2]));
  // Random per image: every image's channels all equal one of its own channels.
  const auto batch = torch::rand({16, 3, 4, 4});
  const auto r = run("channel", batch, 3);
  std::set<int> seen;
  for (int i = 0; i < 16; ++i) {
    int hit = -1;
    for (int c = 0; c < 3; ++c)
      if (torch::equal(r[i][0], batch[i][c]) && torch::equal(r[i][1], batch[i][c]) && torch::equal(r[i][2], batch[i][c]))
        hit = c;
    ASSERT_GE(hit, 0) << "image " << i;
    seen.insert(hit);
  }
  EXPECT_GT(seen.size(), 1u);
  EXPECT_TRUE(torch::equal(run("channel", ramp(1, 3, 3)), ramp(1, 3, 3)));  // grey: itself
  EXPECT_TRUE(torch::equal(run("channel:which=b", ramp(1, 3, 3)), ramp(1, 3, 3)));
  EXPECT_ERROR_MENTIONS(run("channel:which=b", ramp(2, 3, 3)), "channel 2 of images with 2 channels");
}

TEST(Augment, RotationZoomAndTranslationByHand) {
  // 90 degrees on 3x3 with v[r][c] = 3r + c: out[r][c] = v[2 - c][r].
  const auto x = torch::arange(9, torch::kFloat32).view({1, 1, 3, 3});
  const auto rot = run("rotate:degrees=[90,90]", x);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(rot[0][0][r][c].item<float>(), 3 * (2 - c) + r, 1e-5) << r << "," << c;
  // Shift by one pixel right and down: out[r][c] = x[r-1][c-1], zero where that is outside.
  const auto sh = run("translate:pixels=[1,1]", torch::arange(12, torch::kFloat32).view({1, 1, 3, 4}) + 1);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_NEAR(sh[0][0][r][c].item<float>(), r == 0 || c == 0 ? 0.0f : 4 * (r - 1) + (c - 1) + 1, 1e-5);
  // Zoom x2 about the centre of a 4-wide row of 0,1,2,3: pixel centres -1.5..1.5 read the input at
  // half the distance, columns 0.75, 1.25, 1.75, 2.25, bilinearly.
  const auto cols = torch::arange(4, torch::kFloat32).repeat({4, 1}).view({1, 1, 4, 4});
  const auto z = run("zoom:scale=[2,2]", cols);
  const float want[] = {0.75f, 1.25f, 1.75f, 2.25f};
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(z[0][0][1][c].item<float>(), want[c], 1e-5);
}

TEST(Augment, BrightnessAndContrast) {
  const auto x = ramp(1, 2, 2) + 0.2;  // 0.2, 0.45, 0.7, 0.95
  EXPECT_TRUE(torch::allclose(run("brightness:factor=[0.5,0.5]", x), x * 0.5));
  EXPECT_TRUE(torch::allclose(run("brightness:factor=[2,2]", x), (x * 2).clamp(0, 1)));
  const auto flat = run("contrast:factor=[0,0]", x);
  EXPECT_TRUE(torch::allclose(flat, torch::full_like(x, x.mean().item<float>())));
  // RGB: the mean grey is torchvision's luminance (0.2989, 0.587, 0.114).
  auto rgb = torch::zeros({1, 3, 1, 2});
  rgb[0][0] = 1.0;  // pure red
  const auto c = run("contrast:factor=[0.5,0.5]", rgb);
  EXPECT_NEAR(c[0][0][0][0].item<float>(), 0.5 * 1 + 0.5 * 0.2989, 1e-6);
  EXPECT_NEAR(c[0][1][0][0].item<float>(), 0.5 * 0.2989, 1e-6);
}

TEST(Augment, SeedsReproduceBytesAndAlternatives) {
  const auto x = torch::rand({32, 3, 8, 8}, torch::TensorOptions().dtype(torch::kFloat32));
  const std::string spec = "rotate:degrees=20+zoom+translate+brightness+contrast+hflip|blur:sigma=1+vflip";
  const auto a = run(spec, x, 7), b = run(spec, x, 7), c = run(spec, x, 8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  torch::set_num_threads(1);
  EXPECT_TRUE(torch::equal(run(spec, x, 7), a));  // whatever the thread count
  torch::set_num_threads(2);
  const auto aug = make_augmentation("hflip:p=1|vflip:p=1");
  EXPECT_EQ(aug->alternatives(), 2);
  Rng rng(0);
  EXPECT_TRUE(torch::equal(aug->apply_alternative(1, x, rng), x.flip({2})));
  // Drawn at random: each image is one of the two.
  const auto mixed = aug->apply(x, 5);
  int h = 0, v = 0;
  for (int i = 0; i < 32; ++i) {
    h += torch::equal(mixed[i], x[i].flip({2}));
    v += torch::equal(mixed[i], x[i].flip({1}));
  }
  EXPECT_EQ(h + v, 32);
  EXPECT_GT(h, 0);
  EXPECT_GT(v, 0);
  // float64 in, float64 out.
  EXPECT_EQ(run(spec, x.to(torch::kFloat64), 7).scalar_type(), torch::kFloat64);
}

TEST(Augment, BadSpecsAndInputsAreRefused) {
  const auto x = ramp(1, 4, 4);
  EXPECT_ERROR_MENTIONS(make_augmentation("swirl"), "unknown augmentation \"swirl\"", "blur", "unsharp");
  EXPECT_ERROR_MENTIONS(make_augmentation("blur:radius=2"), "unknown parameter \"radius\"", "sigma");
  EXPECT_ERROR_MENTIONS(make_augmentation("hflip:p=2"), "p");
  EXPECT_ERROR_MENTIONS(make_augmentation("rotate:degrees=[10,5]"), "empty");
  EXPECT_ERROR_MENTIONS(make_augmentation(""), "empty augmentation");
  EXPECT_ERROR_MENTIONS(run("hflip", torch::rand({4, 10})), "expects images [N, C, H, W]");
  EXPECT_ERROR_MENTIONS(run("hflip", torch::ones({1, 1, 2, 2}, torch::kInt64)), "floating-point");
  const auto text = describe_method_docs(op_docs());
  for (const auto& op : op_registry()) EXPECT_NE(text.find(op.name), std::string::npos);
}
