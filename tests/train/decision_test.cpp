#include "rebalance/train/decision.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::train;

namespace {
/// Logits whose softmax p(class 1) equals p.
at::Tensor logits_for(const std::vector<double>& p) {
  auto t = torch::tensor(p, torch::kFloat64);
  return torch::stack({torch::zeros_like(t), torch::log(t / (1 - t))}, 1);
}
}  // namespace

TEST(Decision, ThresholdMovingFindsTheKnownBestThreshold) {
  // The three positives score 0.35, 0.4 and 0.8, the negatives 0.1-0.3: any threshold in (0.3,
  // 0.35] separates them; the midpoint 0.325 is chosen. At 0.5 only one positive is found.
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.35, 0.4, 0.8};
  const auto y = torch::tensor({0, 0, 0, 1, 1, 1}, torch::kInt64);
  EXPECT_NEAR(best_threshold(torch::tensor(p, torch::kFloat64), y, "f1"), 0.325, 1e-12);
  auto rule = make_decision_rule("threshold:metric=balanced_accuracy");
  rule->fit(logits_for(p), y, {100, 3});
  EXPECT_NEAR(rule->state()[0], 0.325, 1e-12);
  EXPECT_TRUE(torch::equal(rule->predict(logits_for(p)), y));
  EXPECT_TRUE(torch::equal(make_decision_rule("argmax")->predict(logits_for(p)),
                           torch::tensor({0, 0, 0, 0, 0, 1}, torch::kInt64)));
}

TEST(Decision, ThresholdPrefersHalfOnTies) {
  // Perfectly separated at 0.5 already: keep 0.5.
  const auto y = torch::tensor({0, 1}, torch::kInt64);
  EXPECT_DOUBLE_EQ(best_threshold(torch::tensor({0.2, 0.9}, torch::kFloat64), y, "f1"), 0.5);
}

TEST(Decision, PriorCorrection) {
  // Equal logits: argmax says class 0; subtracting log prior (0.9, 0.1) favours the rare class.
  auto rule = make_decision_rule("prior:tau=1");
  rule->fit({}, {}, {900, 100});
  const auto z = torch::zeros({3, 2}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(rule->predict(z), torch::ones({3}, torch::kInt64)));
  // A logit gap of log(9) exactly balances the prior; a larger one still wins for class 0.
  auto z2 = torch::tensor({{2.3, 0.0}}, torch::kFloat64);
  EXPECT_EQ(rule->predict(z2).item<int64_t>(), 0);
  auto none = make_decision_rule("prior:tau=0");
  none->fit({}, {}, {900, 100});
  EXPECT_EQ(none->predict(z).sum().item<int64_t>(), 0);
}

TEST(Decision, PriorTauAutoIsChosenOnTheValidationSet) {
  // A model that learnt the training prior (900 : 100): its logits are the balanced log-posterior
  // plus log prior. On validation rows drawn evenly, the best correction is tau near 1.
  torch::manual_seed(3);
  const auto y = torch::cat({torch::zeros({500}, torch::kInt64), torch::ones({500}, torch::kInt64)});
  const auto signal = torch::randn({1000}, torch::kFloat64) + 1.2 * (2 * y.to(torch::kFloat64) - 1);
  const auto balanced = torch::stack({-signal / 2, signal / 2}, 1);
  const auto prior = torch::log(torch::tensor({0.9, 0.1}, torch::kFloat64));
  auto rule = make_decision_rule("prior:tau=auto");
  rule->fit(balanced + prior, y, {900, 100});
  const double tau = rule->state()[1] / prior[1].item<double>();
  EXPECT_NEAR(tau, 1.0, 0.3);
  // Logits that never saw the prior need no correction: tau near 0.
  auto plain = make_decision_rule("prior:tau=auto");
  plain->fit(balanced, y, {900, 100});
  EXPECT_NEAR(plain->state()[1] / prior[1].item<double>(), 0.0, 0.3);
  // The chosen tau is one of the grid's and its balanced accuracy is the grid's best.
  EXPECT_NEAR(std::round(tau / 0.05) * 0.05, tau, 1e-9);
  EXPECT_ERROR_MENTIONS(make_decision_rule("prior:tau=auto")->fit(torch::zeros({0, 2}), torch::zeros({0}, torch::kInt64),
                                                                  {900, 100}),
                        "tau=auto", "validation");
  EXPECT_ERROR_MENTIONS(make_decision_rule("prior:tau=sometimes"), "tau", "sometimes");
}

TEST(DecisionErrors, BadRulesAndData) {
  EXPECT_ERROR_MENTIONS(make_decision_rule("vote"), "unknown decision rule \"vote\"");
  EXPECT_ERROR_MENTIONS(make_decision_rule("threshold:metric=auc"), "f1 or balanced_accuracy", "auc");
  EXPECT_ERROR_MENTIONS(make_decision_rule("threshold:source=test"), "auto, validation or oof", "test");
  // Out-of-fold scores when the validation set holds fewer than min_positives of class 1.
  EXPECT_EQ(make_decision_rule("threshold")->folds_wanted({500, 9}), 5);
  EXPECT_EQ(make_decision_rule("threshold")->folds_wanted({500, 10}), 0);
  EXPECT_EQ(make_decision_rule("threshold:min_positives=3,folds=4")->folds_wanted({500, 2}), 4);
  EXPECT_EQ(make_decision_rule("threshold:source=validation")->folds_wanted({500, 0}), 0);
  EXPECT_EQ(make_decision_rule("threshold:source=oof")->folds_wanted({500, 400}), 5);
  EXPECT_EQ(make_decision_rule("argmax")->folds_wanted({500, 0}), 0);
  auto rule = make_decision_rule("threshold");
  EXPECT_ERROR_MENTIONS(rule->fit(torch::zeros({4, 3}), torch::zeros({4}, torch::kInt64), {1, 1, 1}), "binary tasks",
                        "3 classes");
  EXPECT_ERROR_MENTIONS(rule->fit(logits_for({0.2, 0.4}), torch::zeros({2}, torch::kInt64), {1, 1}),
                        "both classes in the validation set");
}
