#include "rebalance/mix/mix.hpp"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "../test_util.hpp"
#include "../train/digits_task.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using namespace rebalance::mix;

namespace {

/// B images [B, 1, 4, 5] whose every pixel names its row (row i: i + 1 + pixel / 100), so a
/// pasted pixel tells which row it came from.
at::Tensor numbered_images(int64_t b) {
  const auto rows = torch::arange(1, b + 1, torch::kFloat32).view({b, 1, 1, 1});
  return rows + torch::arange(20, torch::kFloat32).view({1, 1, 4, 5}) / 100.0;
}

at::Tensor index_of(const std::vector<int64_t>& v) { return torch::tensor(v, torch::kInt64); }

}  // namespace

TEST(Rng, BetaAndGammaDrawsHaveTheirMeans) {
  Rng rng(3);
  double beta = 0, gamma_small = 0, gamma_large = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    beta += rng.beta(2.0, 5.0);
    gamma_small += rng.gamma(0.5);
    gamma_large += rng.gamma(4.0);
  }
  EXPECT_NEAR(beta / n, 2.0 / 7.0, 0.005);
  EXPECT_NEAR(gamma_small / n, 0.5, 0.02);
  EXPECT_NEAR(gamma_large / n, 4.0, 0.05);
  const double u = Rng(1).beta(1e-300, 1e-300);
  EXPECT_TRUE(u == 0.0 || u == 1.0);
  EXPECT_ERROR_MENTIONS(rng.beta(0.0, 1.0), "a > 0");
}

TEST(Mix, MixupBlendsRowsAndLabelsInTheDrawnRatio) {
  const auto x = torch::arange(12, torch::kFloat32).view({4, 3});
  const auto y = index_of({0, 0, 1, 2});
  auto m = make_mix("mixup:alpha=0.4");
  Rng rng(7), replay(7);
  const auto b = m->apply(x, y, 0, 10, rng);
  const double lam = replay.beta(0.4, 0.4);
  const auto perm = index_of(replay.permutation(4));
  ASSERT_TRUE(b.mixed);
  EXPECT_FALSE(b.per_row);
  EXPECT_DOUBLE_EQ(b.ratio, lam);
  EXPECT_TRUE(torch::equal(b.x, x * lam + x.index_select(0, perm) * (1.0 - lam)));
  EXPECT_TRUE(torch::equal(b.y_a, y));
  EXPECT_TRUE(torch::equal(b.y_b, y.index_select(0, perm)));
  EXPECT_TRUE(torch::equal(b.lam, torch::full({4}, static_cast<float>(lam))));
  EXPECT_TRUE(torch::equal(x, torch::arange(12, torch::kFloat32).view({4, 3})));  // input unchanged
}

TEST(Mix, RemixGivesTheLabelToTheMinorityPartner) {
  // Chou et al.'s rule with kappa = 3, tau = 0.5: counts 100 (majority) and 10 (minority).
  EXPECT_EQ(remix_label_share(0.3, 100, 10, 3, 0.5), 0.0);  // majority row, image mostly minority
  EXPECT_EQ(remix_label_share(0.7, 100, 10, 3, 0.5), 0.7);  // majority row keeps most of the image
  EXPECT_EQ(remix_label_share(0.8, 10, 100, 3, 0.5), 1.0);  // minority row keeps most of the image
  EXPECT_EQ(remix_label_share(0.3, 10, 100, 3, 0.5), 0.3);
  EXPECT_EQ(remix_label_share(0.3, 20, 10, 3, 0.5), 0.3);   // a ratio of 2 is no imbalance at kappa 3
  EXPECT_EQ(remix_label_share(0.3, 30, 10, 3, 0.5), 0.0);   // exactly kappa
  EXPECT_EQ(remix_label_share(0.5, 100, 10, 3, 0.5), 0.5);  // lam == tau: not below it

  // On a batch: each row's share follows the rule for its own and its partner's counts.
  std::vector<int64_t> labels(90, 0);
  labels.resize(100, 1);
  auto m = make_mix("remix");
  m->set_training_set(torch::Tensor(), labels, 2);
  EXPECT_EQ(m->class_counts(), (std::vector<int64_t>{90, 10}));
  const auto x = torch::randn({8, 2});
  const auto y = index_of({0, 1, 0, 1, 0, 0, 1, 0});
  int shares_moved = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed), replay(seed);
    const auto b = m->apply(x, y, 0, 1, rng);
    const double lam = replay.beta(1, 1);
    const auto perm = replay.permutation(8);
    ASSERT_TRUE(b.per_row);
    EXPECT_TRUE(torch::equal(b.x, x * lam + x.index_select(0, index_of(perm)) * (1.0 - lam)));
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t a = y[i].item<int64_t>(), p = y[perm[i]].item<int64_t>();
      const double want = remix_label_share(lam, a ? 10 : 90, p ? 10 : 90, 3, 0.5);
      EXPECT_FLOAT_EQ(b.lam[i].item<float>(), static_cast<float>(want));
      shares_moved += want != lam;
    }
  }
  EXPECT_GT(shares_moved, 0);
}

TEST(Mix, CutMixPastesOneBoxAndSharesLabelsByArea) {
  const auto x = numbered_images(6);
  const auto y = index_of({0, 1, 2, 0, 1, 2});
  auto m = make_mix("cutmix:beta=1");
  int boxes = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Rng rng(seed), replay(seed);
    const auto b = m->apply(x, y, 0, 1, rng);
    const double lam = replay.beta(1, 1);
    const auto perm = replay.permutation(6);
    const auto box = cutmix_box(4, 5, lam, replay);
    EXPECT_DOUBLE_EQ(b.ratio, 1.0 - box.area() / 20.0);
    EXPECT_TRUE(torch::equal(b.y_b, y.index_select(0, index_of(perm))));
    boxes += box.area() > 0;
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t c = 0; c < 5; ++c) {
          const bool inside = r >= box.y0 && r < box.y1 && c >= box.x0 && c < box.x1;
          const int64_t from = inside ? perm[i] : i;
          EXPECT_EQ(b.x[i][0][r][c].item<float>(), x[from][0][r][c].item<float>());
        }
  }
  EXPECT_GT(boxes, 10);
  // The box: side sqrt(1 - lam) of the image's, centred on a drawn pixel, clipped at the borders.
  Rng rng(1);
  const auto whole = cutmix_box(8, 8, 0.0, rng);
  EXPECT_LE(whole.area(), 64);
  EXPECT_EQ(cutmix_box(8, 8, 1.0, rng).area(), 0);
}

TEST(Mix, CMOPastesClassBalancedForegroundsOntoTheBatch) {
  // 90 rows of class 0 and 10 of class 1; every image names its row.
  const auto all = numbered_images(100);
  std::vector<int64_t> labels(100, 0);
  for (int i = 90; i < 100; ++i) labels[i] = 1;
  auto m = make_mix("cmo:p=1");
  m->set_training_set(all, labels, 2);
  const auto idx = index_of({0, 1, 2, 3, 4, 5, 6, 7});
  const auto x = all.index_select(0, idx);
  const auto y = torch::zeros({8}, torch::kInt64);
  int64_t minority = 0, drawn = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    const auto b = m->apply(x, y, 0, 1, rng);
    ASSERT_TRUE(b.mixed);
    minority += b.y_b.sum().item<int64_t>();
    drawn += 8;
    // Inside the box a pixel names the foreground row, whose class is y_b.
    const auto changed = (b.x != x).any(1).any(1).any(1);
    for (int64_t i = 0; i < 8; ++i) {
      if (!changed[i].item<bool>()) continue;
      const auto diff = (b.x[i] != x[i]).nonzero();
      const auto px = b.x[i][0][diff[0][1]][diff[0][2]].item<float>();
      const auto row = static_cast<int64_t>(std::floor(px)) - 1;
      EXPECT_EQ(labels[row], b.y_b[i].item<int64_t>());
    }
    EXPECT_DOUBLE_EQ(b.lam[0].item<float>(), static_cast<float>(b.ratio));
  }
  // power 1: each class drawn about equally often although the minority has 10% of the rows.
  EXPECT_NEAR(static_cast<double>(minority) / drawn, 0.5, 0.05);
  // power 0: rows drawn uniformly, the minority about 10% of the time.
  auto uniform = make_mix("cmo:p=1,power=0");
  uniform->set_training_set(all, labels, 2);
  minority = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    minority += uniform->apply(x, y, 0, 1, rng).y_b.sum().item<int64_t>();
  }
  EXPECT_NEAR(static_cast<double>(minority) / drawn, 0.1, 0.03);
}

TEST(Mix, ProbabilityAndEpochWindow) {
  const auto x = torch::randn({4, 3});
  const auto y = index_of({0, 1, 0, 1});
  Rng rng(1);
  EXPECT_FALSE(make_mix("mixup:p=0")->apply(x, y, 0, 1, rng).mixed);
  auto windowed = make_mix("mixup:start=2,end=3");
  EXPECT_FALSE(windowed->active(1, 10));
  EXPECT_TRUE(windowed->active(2, 10));
  EXPECT_TRUE(windowed->active(6, 10));
  EXPECT_FALSE(windowed->active(7, 10));
  const auto off = windowed->apply(x, y, 1, 10, rng);
  EXPECT_FALSE(off.mixed);
  EXPECT_TRUE(torch::equal(off.x, x));
  EXPECT_TRUE(torch::equal(off.lam, torch::ones({4})));
  int mixed = 0;
  auto half = make_mix("cmo");  // p = 0.5 by default, Park et al.'s
  half->set_training_set(numbered_images(4), {0, 0, 0, 1}, 2);
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Rng r(seed);
    mixed += half->apply(numbered_images(4), y, 0, 1, r).mixed;
  }
  EXPECT_NEAR(mixed / 400.0, 0.5, 0.08);
}

TEST(Mix, MixedLossIsThePublishedCriterion) {
  torch::manual_seed(0);
  const auto logits = torch::randn({6, 3}, torch::kFloat64);
  const auto y_a = index_of({0, 1, 2, 0, 1, 2}), y_b = index_of({1, 1, 0, 2, 2, 0});
  const std::vector<int64_t> counts{50, 10, 5};
  for (const std::string spec : {"ce", "weighted_ce", "focal:gamma=2", "ldam:s=1"}) {
    SCOPED_TRACE(spec);
    auto loss = losses::make_loss(spec, counts);
    MixedBatch b;
    b.x = torch::zeros({6, 1});
    b.y_a = y_a;
    b.y_b = y_b;
    b.mixed = true;
    b.ratio = 0.3;
    b.lam = torch::full({6}, 0.3f);
    const auto whole = mixed_loss(*loss, logits, b);
    EXPECT_NEAR(whole.item<double>(),
                (loss->forward(logits, y_a) * 0.3 + loss->forward(logits, y_b) * 0.7).item<double>(), 1e-12);
    b.mixed = false;
    EXPECT_NEAR(mixed_loss(*loss, logits, b).item<double>(), loss->forward(logits, y_a).item<double>(), 1e-12);
  }
  // Per-row shares: PyTorch's cross_entropy with probability targets (and its class weights).
  const std::vector<float> share{1.0f, 0.0f, 0.25f, 0.5f, 0.9f, 0.0f};
  MixedBatch b;
  b.y_a = y_a;
  b.y_b = y_b;
  b.mixed = b.per_row = true;
  b.lam = torch::tensor(share);
  auto target = torch::zeros({6, 3}, torch::kFloat64);
  for (int64_t i = 0; i < 6; ++i) {
    target[i][y_a[i].item<int64_t>()] += share[i];
    target[i][y_b[i].item<int64_t>()] += 1.0 - share[i];
  }
  auto ce = losses::make_loss("ce", counts);
  const auto plain = torch::nn::functional::cross_entropy(logits, target);
  EXPECT_NEAR(mixed_loss(*ce, logits, b).item<double>(), plain.item<double>(), 1e-12);
  auto weighted = losses::make_loss("weighted_ce", counts);
  const auto w = torch::tensor(weighted->class_weights(), torch::kFloat64);
  const auto pytorch = torch::nn::functional::cross_entropy(
      logits, target, torch::nn::functional::CrossEntropyFuncOptions().weight(w));
  EXPECT_NEAR(mixed_loss(*weighted, logits, b).item<double>(), pytorch.item<double>(), 1e-12);
}

TEST(Mix, EveryRuleKeepsShapesLabelsAndSeeds) {
  // The conformance walk: every registered rule on images, with its defaults and p=1.
  const auto all = numbered_images(20);
  std::vector<int64_t> labels;
  for (int i = 0; i < 20; ++i) labels.push_back(i < 14 ? 0 : i < 18 ? 1 : 2);
  const auto idx = index_of({0, 3, 5, 14, 15, 18, 19, 2});
  const auto x = all.index_select(0, idx), y = torch::tensor(labels).index_select(0, idx);
  const auto x_before = x.clone();
  for (const auto& info : mix_registry()) {
    SCOPED_TRACE(info.name);
    auto m = make_mix(info.name + ":p=1");
    EXPECT_EQ(m->spec(), info.name + ":p=1");
    m->set_training_set(all, labels, 3);
    Rng r1(4), r2(4);
    const auto a = m->apply(x, y, 0, 1, r1), b = m->apply(x, y, 0, 1, r2);
    ASSERT_TRUE(a.mixed);
    EXPECT_TRUE(torch::equal(a.x, b.x) && torch::equal(a.y_b, b.y_b) && torch::equal(a.lam, b.lam));
    EXPECT_EQ(a.x.sizes(), x.sizes());
    EXPECT_EQ(a.x.scalar_type(), x.scalar_type());
    EXPECT_TRUE(torch::equal(a.y_a, y));
    EXPECT_EQ(a.y_b.sizes(), y.sizes());
    EXPECT_TRUE(((a.y_b >= 0) & (a.y_b < 3)).all().item<bool>());
    EXPECT_TRUE(((a.lam >= 0) & (a.lam <= 1)).all().item<bool>());
    EXPECT_TRUE(a.ratio >= 0 && a.ratio <= 1);
    EXPECT_TRUE(torch::equal(x, x_before));
    // The loss of the mixed batch reaches the logits.
    auto loss = losses::make_loss("ce", {14, 4, 2});
    auto z = torch::randn({8, 3}, torch::kFloat64).requires_grad_(true);
    mixed_loss(*loss, z, a).backward();
    EXPECT_GT(z.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST(MixErrors, BadSpecsAndInputsAreNamed) {
  EXPECT_ERROR_MENTIONS(make_mix("manifold_mixup"), "unknown mixing rule \"manifold_mixup\"", "mixup, remix, cutmix, cmo");
  EXPECT_ERROR_MENTIONS(make_mix("mixup:alpha=0"), "alpha=0", "> 0");
  EXPECT_ERROR_MENTIONS(make_mix("mixup:gamma=1"), "gamma");
  EXPECT_ERROR_MENTIONS(make_mix("remix:kappa=0.5"), "kappa");
  EXPECT_ERROR_MENTIONS(make_mix("cmo:p=2"), "p");
  Rng rng(0);
  EXPECT_ERROR_MENTIONS(make_mix("cutmix")->apply(torch::zeros({4, 6}), torch::zeros({4}, torch::kInt64), 0, 1, rng),
                        "images [B, C, H, W]", "[4,6]");
  EXPECT_ERROR_MENTIONS(make_mix("mixup")->apply(torch::zeros({4, 6}), torch::zeros({3}, torch::kInt64), 0, 1, rng),
                        "labels must be [4] int64");
  EXPECT_ERROR_MENTIONS(make_mix("remix")->apply(torch::zeros({4, 6}), torch::zeros({4}, torch::kInt64), 0, 1, rng),
                        "set_training_set");
  EXPECT_ERROR_MENTIONS(make_mix("cmo:p=1")->apply(numbered_images(2), torch::zeros({2}, torch::kInt64), 0, 1, rng),
                        "set_training_set");
  EXPECT_ERROR_MENTIONS(make_mix("cmo")->set_training_set(torch::Tensor(), {0, 3}, 2), "label 3");
}

TEST(Mix, TrainingWithEachRuleIsSeededAndChangesTheModel) {
  // Real images: MNIST digits 0 (all training rows) vs 6 (20 rows).
  const auto& task = rebalance::testing::digits_zero_six();
  ASSERT_EQ(task.train.x.dim(), 4);
  train::TrainOptions o;
  o.model = "mlp:hidden=[16]";
  o.epochs = 2;
  o.batch_size = 64;
  o.monitor = "none";
  o.progress = false;
  std::ostringstream log;
  const auto none = train::fit(task.train, task.validation, o, log);
  for (const std::string spec : {"mixup", "remix", "cutmix", "cmo"}) {
    SCOPED_TRACE(spec);
    o.mix = spec;
    const auto a = train::fit(task.train, task.validation, o, log);
    const auto b = train::fit(task.train, task.validation, o, log);
    EXPECT_TRUE(rebalance::testing::same_tensors(a.model->parameters(), b.model->parameters()));
    EXPECT_FALSE(rebalance::testing::same_tensors(a.model->parameters(), none.model->parameters()));
    EXPECT_EQ(train::options_to_json(o)["mix"], spec);
  }
  // No mixing epoch at all: the unmixed run exactly, and a warning that says so.
  o.mix = "mixup:end=2";
  std::ostringstream unmixed;
  EXPECT_TRUE(rebalance::testing::same_tensors(train::fit(task.train, task.validation, o, unmixed).model->parameters(),
                                               none.model->parameters()));
  EXPECT_NE(unmixed.str().find("leave none of the 2 epochs to mix"), std::string::npos) << unmixed.str();
  Dataset flat = task.train;
  flat.x = task.train.x.reshape({task.train.size(), -1});
  o.mix = "cutmix";
  EXPECT_ERROR_MENTIONS(train::fit(flat, flat.subset(torch::empty({0}, torch::kInt64)), o, log), "cuts boxes",
                        "mixup");
  o.mix = "mixup";
  o.synthetic_weight = 0.5;
  EXPECT_ERROR_MENTIONS(train::fit(task.train, task.validation, o, log), "synthetic_weight 0.5");
}
