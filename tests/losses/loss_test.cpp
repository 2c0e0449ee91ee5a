#include "rebalance/losses/loss.hpp"

#include <torch/torch.h>

#include <sstream>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::losses;

namespace {
// Four samples, three classes with 100 / 10 / 1 training rows. Expected values below were worked
// out in float64 from the formulas (numpy, independent of this code).
const std::vector<int64_t> kCounts = {100, 10, 1};
at::Tensor logits() {
  return torch::tensor({2.0, 0.0, -1.0, 0.5, 1.0, 0.0, 0.0, 0.0, 3.0, 1.0, -1.0, 0.5}, torch::kFloat64).view({4, 3});
}
at::Tensor target() { return torch::tensor({0, 1, 2, 0}, torch::kInt64); }
double value(const std::string& spec) { return make_loss(spec, kCounts)->forward(logits(), target()).item<double>(); }
}  // namespace

TEST(Losses, CrossEntropyAndCostSensitive) {
  EXPECT_NEAR(value("ce"), 0.37499889156524285, 1e-12);
  // PyTorch's weighted mean: sum(w_y l) / sum(w_y); inverse and ratio weights are proportional here.
  EXPECT_NEAR(value("weighted_ce:weights=[1,10,100]"), 0.1519624579259972, 1e-12);
  EXPECT_NEAR(value("weighted_ce:weights=inverse"), 0.1519624579259972, 1e-12);
  EXPECT_NEAR(value("weighted_ce:weights=ratio"), 0.1519624579259972, 1e-12);
  const auto ref = torch::nn::functional::cross_entropy(
      logits(), target(), torch::nn::functional::CrossEntropyFuncOptions().weight(torch::tensor({1.0, 10.0, 100.0}, torch::kFloat64)));
  EXPECT_NEAR(value("weighted_ce:weights=[1,10,100]"), ref.item<double>(), 1e-12);
  EXPECT_EQ(make_loss("weighted_ce:weights=ratio", kCounts)->class_weights(), (std::vector<double>{1.0, 10.0, 100.0}));
  // Seed 003's re-weighting: 1/n_c scaled to sum C (here 3 / 1.11 times 1, 10, 100).
  EXPECT_NEAR(value("weighted_ce:weights=normalized"), 0.1519624579259972, 1e-12);
  const auto w = make_loss("weighted_ce:weights=normalized", kCounts)->class_weights();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NEAR(w[0] + w[1] + w[2], 3.0, 1e-12);
  EXPECT_NEAR(w[2] / w[0], 100.0, 1e-9);
}

TEST(Losses, FocalLoss) {
  EXPECT_NEAR(value("focal:gamma=2"), 0.06781893968944513, 1e-12);
  EXPECT_NEAR(value("focal:gamma=0"), value("ce"), 1e-12);
}

TEST(Losses, ClassBalancedWeightsFollowThePaper) {
  const auto w = class_balanced_weights(kCounts, 0.9);
  ASSERT_EQ(w.size(), 3u);
  // (1 - beta) / (1 - beta^n), normalised to sum to C = 3.
  EXPECT_NEAR(w[0], 0.23932924, 1e-8);
  EXPECT_NEAR(w[1], 0.36744197, 1e-8);
  EXPECT_NEAR(w[2], 2.39322879, 1e-8);
  EXPECT_NEAR(w[0] + w[1] + w[2], 3.0, 1e-12);
  const auto equal = class_balanced_weights(kCounts, 0.0);
  for (double v : equal) EXPECT_NEAR(v, 1.0, 1e-12);
  // beta -> 1 approaches inverse frequency.
  const auto near_one = class_balanced_weights({100, 10}, 0.999999);
  EXPECT_NEAR(near_one[1] / near_one[0], 10.0, 1e-3);
}

TEST(Losses, ClassBalancedVariants) {
  EXPECT_NEAR(value("cb:beta=0.9"), 0.16264962898417365, 1e-12);
  EXPECT_NEAR(value("cb:beta=0.9,base=sigmoid"), 1.2040062415343113, 1e-12);
  EXPECT_NEAR(value("cb:beta=0.9,base=focal,gamma=2"), 0.2972161848662061, 1e-12);
}

TEST(Losses, LogitAdjustedAndLDAM) {
  EXPECT_NEAR(value("la:tau=1"), 0.9654812694458521, 1e-12);
  const auto m = ldam_margins(kCounts, 0.5);
  EXPECT_NEAR(m[0], 0.15811388, 1e-8);
  EXPECT_NEAR(m[2], 0.5, 1e-12);
  EXPECT_NEAR(value("ldam:max_margin=0.5,s=30"), 0.0003607816128265995, 1e-12);
  auto drw = make_loss("ldam:drw_epoch=3", kCounts);
  EXPECT_TRUE(drw->class_weights().empty());
  drw->set_epoch(3);
  EXPECT_EQ(drw->class_weights().size(), 3u);
  EXPECT_NEAR(drw->forward(logits(), target()).item<double>(), 0.00012606994983565214, 1e-12);
}

TEST(Losses, DeferredReweightingForEveryLoss) {
  // Before drw_epoch each loss is its uncorrected self; from it on, the corrected loss.
  const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> cases = {
      {"weighted_ce:weights=ratio,drw_epoch=2", {"ce", "weighted_ce:weights=ratio"}},
      {"cb:beta=0.9,drw_epoch=2", {"ce", "cb:beta=0.9"}},
      {"cb:beta=0.9,base=focal,drw_epoch=2", {"cb:beta=0,base=focal", "cb:beta=0.9,base=focal"}},
      {"la:tau=1,drw_epoch=2", {"ce", "la:tau=1"}},
      {"balanced_softmax:drw_epoch=2", {"ce", "balanced_softmax"}},
  };
  for (const auto& [spec, plain_corrected] : cases) {
    auto loss = make_loss(spec, kCounts);
    for (int64_t epoch : {0, 1, 2, 5}) {
      loss->set_epoch(epoch);
      const auto& want = epoch < 2 ? plain_corrected.first : plain_corrected.second;
      EXPECT_NEAR(loss->forward(logits(), target()).item<double>(), value(want), 1e-12) << spec << " epoch " << epoch;
    }
  }
  // cb's unweighted base: beta = 0 gives equal weights (all 1), so it is the plain sigmoid focal loss.
  // Focal gets class-balanced weights (beta) from drw_epoch, as the paper's mean of w_y l.
  auto focal = make_loss("focal:gamma=2,drw_epoch=1,beta=0.9", kCounts);
  EXPECT_TRUE(focal->class_weights().empty());
  EXPECT_NEAR(focal->forward(logits(), target()).item<double>(), value("focal:gamma=2"), 1e-12);
  focal->set_epoch(1);
  const auto w = class_balanced_weights(kCounts, 0.9);
  EXPECT_EQ(focal->class_weights(), w);
  const auto per = make_loss("focal:gamma=2", kCounts)->per_sample(logits(), target());
  const auto wy = torch::tensor(w, torch::kFloat64).index_select(0, target());
  EXPECT_NEAR(focal->forward(logits(), target()).item<double>(), (per * wy).mean().item<double>(), 1e-12);
  // drw_epoch=-1: never corrected.
  auto never = make_loss("la:drw_epoch=-1", kCounts);
  never->set_epoch(100);
  EXPECT_NEAR(never->forward(logits(), target()).item<double>(), value("ce"), 1e-12);
  EXPECT_ERROR_MENTIONS(make_loss("cb:drw_epoch=-2", kCounts), "drw_epoch", "-2");
}

TEST(Losses, BalancedSoftmaxIsCrossEntropyOnLogitsPlusLogCounts) {
  // Ren et al.'s balanced softmax: softmax over z_c + log n_c (the prior's normaliser cancels).
  const auto shifted = logits() + torch::log(torch::tensor({100.0, 10.0, 1.0}, torch::kFloat64));
  EXPECT_NEAR(value("balanced_softmax"), torch::nn::functional::cross_entropy(shifted, target()).item<double>(), 1e-12);
  EXPECT_NEAR(value("balanced_softmax"), value("la:tau=1"), 1e-12);
}

TEST(Losses, PerSampleTermsReduceToTheLoss) {
  for (const auto& info : loss_registry()) {
    auto loss = make_loss(info.name == "ldam" ? "ldam:drw_epoch=0" : info.name, kCounts);
    const auto terms = loss->per_sample(logits(), target());
    ASSERT_EQ(terms.size(0), 4) << info.name;
    const auto w = loss->class_weights();
    // PyTorch-weighted losses divide by the weights drawn, the others by the batch.
    const bool pytorch_weighted = info.name == "weighted_ce" || info.name == "ldam";
    const double denominator = pytorch_weighted && !w.empty()
                                   ? torch::tensor(w, torch::kFloat64).index_select(0, target()).sum().item<double>()
                                   : 4.0;
    EXPECT_NEAR(loss->forward(logits(), target()).item<double>(), terms.sum().item<double>() / denominator, 1e-12)
        << info.name;
  }
}

TEST(Losses, GradientsFlow) {
  for (const auto& info : loss_registry()) {
    auto z = logits().clone().requires_grad_(true);
    auto loss = make_loss(info.name, kCounts);
    auto l = loss->forward(z, target());
    l.backward();
    EXPECT_TRUE(torch::isfinite(l).item<bool>()) << info.name;
    EXPECT_GT(z.grad().abs().sum().item<double>(), 0.0) << info.name;
  }
}

TEST(LossesErrors, BadSpecs) {
  EXPECT_ERROR_MENTIONS(make_loss("hinge", kCounts), "unknown loss \"hinge\"", "focal");
  EXPECT_ERROR_MENTIONS(make_loss("cb:beta=1.0", kCounts), "beta", "[0, 1)", "1");
  EXPECT_ERROR_MENTIONS(make_loss("cb:beta=-0.1", kCounts), "beta", "-0.1");
  EXPECT_ERROR_MENTIONS(make_loss("cb:base=tanh", kCounts), "softmax, sigmoid or focal", "tanh");
  EXPECT_ERROR_MENTIONS(make_loss("weighted_ce:weights=[1,2]", kCounts), "2 given for 3 classes");
  EXPECT_ERROR_MENTIONS(make_loss("weighted_ce", {5, 0}), "class 1 has no training rows");
  EXPECT_ERROR_MENTIONS(make_loss("focal:alpha=1", kCounts), "unknown parameter \"alpha\"");
  EXPECT_ERROR_MENTIONS(make_loss("ce", kCounts)->forward(torch::zeros({4, 2}), target()), "built for 3 classes");
}

TEST(LossesErrors, EveryDeferredLossRefusesABadDrwEpochAndFocalABadBeta) {
  for (const std::string name : {"weighted_ce", "focal", "cb", "la", "balanced_softmax", "ldam"})
    EXPECT_ERROR_MENTIONS(make_loss(name + ":drw_epoch=-5", kCounts), std::string("loss \"") + name + ":drw_epoch=-5\"",
                          std::string("drw_epoch must be >= 0, or -1 for never"), std::string("-5"));
  // Focal's beta weighs only from drw_epoch on, but a bad one is refused even when never used.
  EXPECT_ERROR_MENTIONS(make_loss("focal:beta=1.5", kCounts), "beta", "[0, 1)", "1.5");
}

TEST(Losses, ASpecIsCheckedBeforeTheDataAgainstAsManyClassesAsItsWeightsName) {
  // Configs and searches check a loss before any data is loaded: a list of three weights is a
  // three-class loss, not an error about two classes.
  EXPECT_NO_THROW(check_loss_spec("weighted_ce:weights=[1,2,3]"));
  EXPECT_NO_THROW(check_loss_spec("weighted_ce:weights=1/2/3/4"));
  EXPECT_NO_THROW(check_loss_spec("ldam:drw_epoch=160"));
  EXPECT_ERROR_MENTIONS(check_loss_spec("weighted_ce:weights=[1,-2,3]"), "weight of class 1 is -2");
  EXPECT_ERROR_MENTIONS(check_loss_spec("focal:drw_epoch=-3"), "drw_epoch", "-3");
  EXPECT_ERROR_MENTIONS(check_loss_spec("hinge"), "unknown loss \"hinge\"");
}

TEST(Losses, ADeferralPastTheLastEpochIsWarnedAbout) {
  const auto warning = [](const std::string& spec, int64_t epochs) {
    std::ostringstream log;
    warn_if_deferred_past(*make_loss(spec, kCounts), epochs, log);
    return log.str();
  };
  EXPECT_NE(warning("ldam:drw_epoch=160", 20).find("defers its re-weighting to epoch 160 (0-based), but training "
                                                   "runs 20 epochs: it never applies"),
            std::string::npos);
  EXPECT_NE(warning("cb:drw_epoch=20", 20).find("never applies"), std::string::npos);
  EXPECT_EQ(warning("cb:drw_epoch=19", 20), "");
  EXPECT_EQ(warning("cb", 20), "");             // corrected from the start: nothing deferred
  EXPECT_EQ(warning("ldam", 20), "");           // never re-weighted: nothing deferred
  EXPECT_EQ(warning("la:drw_epoch=-1", 20), "");
  EXPECT_EQ(make_loss("focal:drw_epoch=4", kCounts)->deferred_from(), 4);
  EXPECT_EQ(make_loss("ldam:drw_epoch=0", kCounts)->deferred_from(), -1);
}
