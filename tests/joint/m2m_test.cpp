#include "rebalance/joint/m2m.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "../generative/digits.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using namespace rebalance::joint;

namespace {

using rebalance::testing::zeros_and_sixes;

}  // namespace

TEST(M2m, TranslationsChangeThePretrainedClassifiersPrediction) {
  const auto data = zeros_and_sixes();
  auto s = make_sampler("m2m:model=mlp:hidden=[32],epochs=30,steps=10,step_size=1,gamma=0.5", 3);
  const auto out = s->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{200, 200}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, data.size()), data.x));
  auto& m = dynamic_cast<M2mOverSampler&>(*s);
  auto g = m.classifier();
  ASSERT_TRUE(g);
  const int64_t accepted = m.accepted().at(1);
  EXPECT_GT(accepted, 0);
  const auto made = out.x.slice(0, data.size()).to(torch::kFloat32);
  const auto parents = out.parents.slice(0, data.size()).select(1, 0);
  const auto pred_made = train::predict_logits(*g, made).argmax(1);
  const auto pred_seed = train::predict_logits(*g, data.x.index_select(0, parents)).argmax(1);
  int64_t translated = 0, moved = 0;
  for (int64_t i = 0; i < made.size(0); ++i) {
    const int64_t parent = parents[i].item<int64_t>();
    if (data.y[parent].item<int64_t>() == 1) {
      // A rejected translation: a copy of a real 6.
      EXPECT_TRUE(torch::equal(made[i], data.x[parent].to(torch::kFloat32)));
      continue;
    }
    ++translated;
    EXPECT_EQ(pred_made[i].item<int64_t>(), 1) << "row " << i;  // g now calls it a 6
    moved += pred_seed[i].item<int64_t>() == 0;                  // where it called the seed a 0
    EXPECT_FALSE(torch::equal(made[i], data.x[parent].to(torch::kFloat32)));
  }
  EXPECT_EQ(translated, accepted);
  EXPECT_GT(moved, translated * 9 / 10);
}

TEST(M2m, TranslateTakesNormalisedStepsWithinTheUnitBox) {
  torch::manual_seed(0);
  auto g = models::make_model("logreg", {4}, 2, 0);
  const auto x0 = torch::rand({5, 4});
  M2mOptions o;
  o.steps = 3;
  o.step_size = 0.2;
  o.noise = 0.0;
  Rng rng(1);
  const auto x = m2m_translate(*g, x0, torch::ones({5}, torch::kInt64), torch::zeros({5}, torch::kInt64), o, false, rng);
  // Each step has L2 length step_size: three steps move a row at most 0.6.
  EXPECT_TRUE(((x - x0).norm(2, {1}) <= 0.6 + 1e-5).all().item<bool>());
  EXPECT_TRUE(((x - x0).norm(2, {1}) > 0.5).all().item<bool>());  // a linear model's gradient keeps its direction
  // With the noise and the box: every value stays in [0, 1].
  o.noise = 5.0;
  const auto boxed = m2m_translate(*g, x0, torch::ones({5}, torch::kInt64), torch::zeros({5}, torch::kInt64), o, true, rng);
  EXPECT_TRUE(((boxed >= 0) & (boxed <= 1)).all().item<bool>());
}

TEST(M2mErrors, NamesTheClassAndParameters) {
  auto data = zeros_and_sixes();
  EXPECT_ERROR_MENTIONS(make_sampler("m2m:epochs=1,sampling_strategy={0:250}", 0)->fit_resample(data),
                        "class \"0\"", "no larger class");
  EXPECT_ERROR_MENTIONS(make_sampler("m2m:beta=1", 0), "beta must be below 1");
  EXPECT_ERROR_MENTIONS(make_sampler("m2m:steps=-1", 0), "steps");
}
