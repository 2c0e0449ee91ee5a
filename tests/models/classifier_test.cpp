#include "rebalance/models/classifier.hpp"

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::models;

TEST(Models, EveryModelMapsABatchToLogits) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> cases = {
      {"logreg", {1, 28, 28}}, {"mlp:hidden=[32,16],dropout=0.1", {1, 28, 28}}, {"lenet", {1, 28, 28}},
      {"resnet:depth=8", {3, 16, 16}}, {"mlp", {20}}};
  for (const auto& [spec, shape] : cases) {
    auto m = make_model(spec, shape, 4, 0);
    std::vector<int64_t> batch = {5};
    batch.insert(batch.end(), shape.begin(), shape.end());
    const auto out = m->forward(torch::randn(batch));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, 4})) << spec;
    EXPECT_EQ(m->spec(), spec);
  }
}

TEST(Models, SeededInitialisationAndSizes) {
  auto a = make_model("mlp:hidden=[512,256]", {784}, 10, 3), b = make_model("mlp:hidden=[512,256]", {784}, 10, 3);
  int64_t params = 0;
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
    params += a->parameters()[i].numel();
  }
  EXPECT_EQ(params, 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  int64_t resnet = 0;
  for (const auto& p : make_model("resnet:depth=20", {3, 32, 32}, 10, 0)->parameters()) resnet += p.numel();
  EXPECT_NEAR(static_cast<double>(resnet), 0.27e6, 0.01e6);  // ResNet-20 has 0.27M parameters
}

TEST(ModelsErrors, BadSpecsAndShapes) {
  EXPECT_ERROR_MENTIONS(make_model("vgg", {784}, 2, 0), "unknown model \"vgg\"", "lenet");
  EXPECT_ERROR_MENTIONS(make_model("lenet", {784}, 2, 0), "needs images");
  EXPECT_ERROR_MENTIONS(make_model("lenet", {1, 32, 32}, 2, 0), "28x28");
  EXPECT_ERROR_MENTIONS(make_model("resnet:depth=21", {3, 32, 32}, 2, 0), "6n+2");
  EXPECT_ERROR_MENTIONS(make_model("mlp:hidden=[0]", {4}, 2, 0), "hidden widths must be > 0");
  EXPECT_ERROR_MENTIONS(make_model("mlp", {4}, 1, 0), "at least 2 classes");
}

TEST(Models, LeakyReluMlpMatchesItsFormula) {
  // mlp:negative_slope=0.1 is Linear -> LeakyReLU(0.1) -> Linear, with ReLU's initial weights.
  auto leaky = make_model("mlp:hidden=[8],negative_slope=0.1", {5}, 2, 4);
  auto relu = make_model("mlp:hidden=[8]", {5}, 2, 4);
  const auto x = torch::randn({6, 5});
  const auto p = leaky->parameters();
  const auto h = torch::matmul(x, p[0].t()) + p[1];
  const auto expected = torch::matmul(torch::where(h > 0, h, 0.1 * h), p[2].t()) + p[3];
  EXPECT_TRUE(torch::allclose(leaky->forward(x), expected, 1e-5, 1e-6));
  for (size_t i = 0; i < p.size(); ++i) EXPECT_TRUE(torch::equal(p[i], relu->parameters()[i]));
  EXPECT_FALSE(torch::allclose(leaky->forward(x), relu->forward(x)));
  EXPECT_ERROR_MENTIONS(make_model("mlp:negative_slope=2", {4}, 2, 0), "negative_slope");
}
