#include "rebalance/train/decouple.hpp"

#include <torch/torch.h>

#include <sstream>

#include "../test_util.hpp"
#include "digits_task.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/metrics/classification.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using namespace rebalance::train;

namespace {

const Task& digits() { return rebalance::testing::digits_zero_six(); }

TrainOptions stage_one(const std::string& decouple = "") {
  TrainOptions o;
  o.model = "mlp:hidden=[16],dropout=0.1";
  o.epochs = 3;
  o.batch_size = 64;
  o.seed = 5;
  o.monitor = "none";
  o.progress = false;
  o.decouple = decouple;
  return o;
}

/// Every parameter but the head's, cloned.
std::vector<at::Tensor> body_of(models::Classifier& m) {
  const auto head = m.head();
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters())
    if (!p.is_same(head->weight) && !p.is_same(head->bias)) out.push_back(p.detach().clone());
  for (const auto& b : m.buffers()) out.push_back(b.detach().clone());  // batch norm's running statistics
  return out;
}

double minority_recall(const TrainResult& r) {
  const auto& t = digits();
  const auto pred = predict_logits(*r.model, t.test.x).argmax(1);
  return metrics::per_class_metrics(metrics::confusion_matrix(t.test.y, pred, 2))[1].recall;
}

}  // namespace

TEST(Decouple, TauNormalisationClosedForm) {
  const auto w = torch::tensor({{3.0, 4.0}, {0.6, 0.8}, {0.0, 0.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(tau_normalized(w, 0.0), w));
  // Row norms 5, 1, 0: tau = 1 gives unit rows (the zero row kept), tau = 0.5 divides by sqrt(norm).
  EXPECT_TRUE(torch::allclose(tau_normalized(w, 1.0),
                              torch::tensor({{0.6, 0.8}, {0.6, 0.8}, {0.0, 0.0}}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(tau_normalized(w, 0.5).select(0, 0), w.select(0, 0) / std::sqrt(5.0)));
  EXPECT_TRUE(torch::allclose(tau_normalized(w, 2.0).select(0, 0), w.select(0, 0) / 25.0));
}

TEST(Decouple, MaxNormProjectsOnlyTheLongRows) {
  auto w = torch::tensor({{3.0, 4.0}, {0.3, 0.4}}, torch::kFloat64);
  project_max_norm_(w, 1.0);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({{0.6, 0.8}, {0.3, 0.4}}, torch::kFloat64)));
  EXPECT_ERROR_MENTIONS(project_max_norm_(w, 0.0), "radius > 0");
}

TEST(Decouple, EveryModelIsItsHeadOnItsFeatures) {
  rebalance::testing::TempDir dir;
  const auto backbone = dir.file("b.pt");
  models::make_cnn_backbone({1, 28, 28}, {2}, 4, 0).save(backbone);
  const auto x = torch::rand({3, 1, 28, 28});
  for (const std::string spec : {std::string("logreg"), std::string("mlp:hidden=[8],dropout=0.5"), std::string("lenet"), std::string("resnet:depth=8"),
                                 "backbone:path=" + backbone}) {
    SCOPED_TRACE(spec);
    auto m = models::make_model(spec, {1, 28, 28}, 3, 0);
    m->eval();
    torch::NoGradGuard guard;
    const auto f = m->features(x);
    ASSERT_EQ(f.dim(), 2);
    EXPECT_EQ(m->head()->weight.size(0), 3);
    EXPECT_TRUE(torch::allclose(m->head()->forward(f), m->forward(x), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(extract_features(*m, x, 2), f, 1e-6, 1e-7));
  }
}

TEST(Decouple, CosineHeadsGiveTheCosinesOfFeaturesAndClassWeights) {
  // Closed form: rows (3, 4) and (0, 0) against class rows (1, 0) and (0, 2).
  const auto c = models::cosine_logits(torch::tensor({{3.0, 4.0}, {0.0, 0.0}}), torch::tensor({{1.0, 0.0}, {0.0, 2.0}}));
  EXPECT_TRUE(torch::allclose(c, torch::tensor({{0.6, 0.8}, {0.0, 0.0}})));
  rebalance::testing::TempDir dir;
  const auto backbone = dir.file("b.pt");
  models::make_cnn_backbone({1, 28, 28}, {2}, 4, 0).save(backbone);
  const auto x = torch::rand({3, 1, 28, 28});
  for (const std::string spec : {std::string("logreg:head=cosine"), std::string("mlp:hidden=[8],head=cosine"),
                                 std::string("lenet:head=cosine"), std::string("resnet:depth=8,head=cosine"),
                                 "backbone:path=" + backbone + ",head=cosine"}) {
    SCOPED_TRACE(spec);
    auto m = models::make_model(spec, {1, 28, 28}, 3, 0);
    m->eval();
    EXPECT_TRUE(m->cosine_head());
    auto head = m->head();
    EXPECT_TRUE(torch::equal(head->bias, torch::zeros_like(head->bias)));
    EXPECT_FALSE(head->bias.requires_grad());
    torch::NoGradGuard guard;
    const auto logits = m->forward(x);
    EXPECT_TRUE(torch::allclose(logits, models::cosine_logits(m->features(x), head->weight), 1e-5, 1e-6));
    EXPECT_TRUE((logits.abs() <= 1 + 1e-6).all().item<bool>());
    EXPECT_FALSE(torch::allclose(logits, head->forward(m->features(x)), 1e-3, 1e-3));
  }
  EXPECT_FALSE(models::make_model("lenet", {1, 28, 28}, 3, 0)->cosine_head());
  EXPECT_ERROR_MENTIONS(models::make_model("lenet:head=norm", {1, 28, 28}, 3, 0), "head must be linear or cosine",
                        "\"norm\"");
}

TEST(Decouple, LdamTrainsOnACosineHeadWhichDecouplingRefuses) {
  // LDAM's s=30 scales cosines (Cao et al.'s NormedLinear): the minority class is learnt.
  std::ostringstream log;
  const auto& t = digits();
  auto o = stage_one();
  o.model = "mlp:hidden=[16],head=cosine";
  o.epochs = 6;
  o.loss = "ldam:drw_epoch=4";
  const auto r = fit(t.train, t.validation, o, log);
  EXPECT_TRUE(r.model->cosine_head());
  EXPECT_GT(minority_recall(r), 0.9);  // 20 sixes beside ~720 zeros; plain ERM recalls none
  EXPECT_GT(minority_recall(r), minority_recall(fit(t.train, t.validation, stage_one(), log)));
  EXPECT_EQ(log.str().find("cosine head"), std::string::npos);
  auto ce = o;
  ce.loss = "ce";  // cosines in [-1, 1] unscaled: two classes' cross-entropy stays above log(1 + e^-2)
  fit(t.train, t.validation, ce, log);
  EXPECT_NE(log.str().find("cannot fall below 0.127"), std::string::npos) << log.str();
  o.decouple = "tau_norm";
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, o, log), "decouple \"tau_norm\"", "cosine head", "head=linear");
  o.decouple = "crt";
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, o, log), "decouple \"crt\"", "linear head", "head=linear");
  o.decouple.clear();
  o.max_norm = 1.0;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, o, log), "max_norm", "cosine head");
}

TEST(Decouple, ClassifierRetrainingLeavesTheBackboneAndRaisesMinorityRecall) {
  std::ostringstream log;
  const auto& t = digits();
  const auto plain = fit(t.train, t.validation, stage_one(), log);
  const auto crt = fit(t.train, t.validation, stage_one("crt:epochs=5"), log);
  EXPECT_TRUE(rebalance::testing::same_tensors(body_of(*plain.model), body_of(*crt.model)));
  EXPECT_FALSE(torch::equal(plain.model->head()->weight, crt.model->head()->weight));
  EXPECT_NE(log.str().find("decouple crt:epochs=5: head re-initialised and retrained, 5 epochs"), std::string::npos);
  const auto again = fit(t.train, t.validation, stage_one("crt:epochs=5"), log);
  EXPECT_TRUE(torch::equal(again.model->head()->weight, crt.model->head()->weight));
  EXPECT_GT(minority_recall(crt), minority_recall(plain));
  // A convolutional backbone with batch normalisation: its weights and its running statistics
  // (features are computed in evaluation mode) stay as stage one left them.
  auto conv = stage_one();
  conv.model = "resnet:depth=8";
  conv.epochs = 1;
  const auto conv_plain = fit(t.train, t.validation, conv, log);
  conv.decouple = "crt:epochs=2";
  const auto conv_crt = fit(t.train, t.validation, conv, log);
  ASSERT_FALSE(conv_crt.model->buffers().empty());
  EXPECT_TRUE(rebalance::testing::same_tensors(body_of(*conv_plain.model), body_of(*conv_crt.model)));
  EXPECT_FALSE(torch::equal(conv_plain.model->head()->weight, conv_crt.model->head()->weight));
}

TEST(Decouple, LearnableWeightScalingScalesEachClassRow) {
  std::ostringstream log;
  const auto& t = digits();
  const auto plain = fit(t.train, t.validation, stage_one(), log);
  const auto lws = fit(t.train, t.validation, stage_one("lws"), log);
  EXPECT_TRUE(rebalance::testing::same_tensors(body_of(*plain.model), body_of(*lws.model)));
  const auto before = plain.model->head()->weight, after = lws.model->head()->weight;
  const auto b0 = plain.model->head()->bias, b1 = lws.model->head()->bias;
  for (int64_t c = 0; c < 2; ++c) {
    const auto s = (after[c] / before[c]).mean().item<double>();
    EXPECT_TRUE(torch::allclose(after[c], before[c] * s, 1e-4, 1e-6)) << c;
    EXPECT_NEAR((b1[c] / b0[c]).item<double>(), s, 1e-4) << c;
  }
  EXPECT_FALSE(torch::equal(before, after));
}

TEST(Decouple, TauNormOnTheTrainedHeadAndTauChosenOnValidation) {
  std::ostringstream log;
  const auto& t = digits();
  const auto plain = fit(t.train, t.validation, stage_one(), log);
  const auto tn = fit(t.train, t.validation, stage_one("tau_norm:tau=0.5"), log);
  EXPECT_TRUE(torch::allclose(tn.model->head()->weight, tau_normalized(plain.model->head()->weight, 0.5)));
  EXPECT_TRUE(torch::equal(tn.model->head()->bias, torch::zeros({2})));
  EXPECT_TRUE(rebalance::testing::same_tensors(body_of(*plain.model), body_of(*tn.model)));
  const auto automatic = fit(t.train, t.validation, stage_one("tau_norm:tau=auto"), log);
  EXPECT_NE(log.str().find("(chosen on the validation set)"), std::string::npos);
  const auto none = t.validation.subset(torch::empty({0}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(fit(t.train, none, stage_one("tau_norm:tau=auto"), log), "tau=auto", "has none");
}

TEST(Decouple, WeightBalancingKeepsEveryClassRowWithinMaxNorm) {
  std::ostringstream log;
  const auto& t = digits();
  auto o = stage_one("wb:max_norm=0.5,epochs=3");
  o.weight_decay = 5e-3;
  o.max_norm = 2.0;  // stage one's MaxNorm
  const auto wb = fit(t.train, t.validation, o, log);
  const auto norms = wb.model->head()->weight.norm(2, {1});
  EXPECT_TRUE((norms <= 0.5 + 1e-6).all().item<bool>()) << norms;
  EXPECT_NE(log.str().find("fine-tuned, 3 epochs"), std::string::npos);
  EXPECT_NE(log.str().find("MaxNorm 0.5"), std::string::npos);
  // Stage one alone: MaxNorm after every step keeps the rows within its radius.
  auto first = stage_one();
  first.max_norm = 0.3;
  const auto r = fit(t.train, t.validation, first, log);
  EXPECT_TRUE((r.model->head()->weight.norm(2, {1}) <= 0.3 + 1e-6).all().item<bool>());
  EXPECT_EQ(options_to_json(first)["max_norm"], 0.3);
  EXPECT_EQ(options_to_json(o)["decouple"], "wb:max_norm=0.5,epochs=3");
}

TEST(DecoupleErrors, BadSpecsAreNamed) {
  EXPECT_ERROR_MENTIONS(make_decoupler("snow"), "unknown decoupling method \"snow\"", "crt, lws, tau_norm, wb");
  EXPECT_ERROR_MENTIONS(make_decoupler("tau_norm:tau=3"), "tau", "3");
  EXPECT_ERROR_MENTIONS(make_decoupler("wb:max_norm=0"), "max_norm must be > 0");
  EXPECT_ERROR_MENTIONS(make_decoupler("crt:policy=nope"), "unknown batch policy \"nope\"");
  EXPECT_ERROR_MENTIONS(make_decoupler("crt:loss=hinge"), "unknown loss \"hinge\"");
  EXPECT_ERROR_MENTIONS(make_decoupler("lws:epochs=0"), "epochs");
  EXPECT_ERROR_MENTIONS(make_decoupler("crt:tau=1"), "tau");
}
