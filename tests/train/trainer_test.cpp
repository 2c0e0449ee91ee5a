#include "rebalance/train/trainer.hpp"

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "../test_util.hpp"
#include "digits_task.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/metrics/classification.hpp"

using namespace rebalance;
using namespace rebalance::train;
using rebalance::testing::TempDir;

namespace {

const Task& digits_task() { return rebalance::testing::digits_zero_six(); }

TrainOptions small(const std::string& dir = "") {
  TrainOptions o;
  o.model = "mlp:hidden=[16],dropout=0.1";
  o.epochs = 4;
  o.batch_size = 64;
  o.seed = 5;
  o.checkpoint_dir = dir;
  o.progress = false;
  return o;
}

double minority_recall(const TrainResult& r) {
  const auto& t = digits_task();
  const auto pred = r.decision->predict(predict_logits(*r.model, t.test.x));
  return metrics::per_class_metrics(metrics::confusion_matrix(t.test.y, pred, 2))[1].recall;
}

void expect_same_weights(const TrainResult& a, const TrainResult& b) {
  const auto pa = a.model->parameters(), pb = b.model->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

}  // namespace

TEST(Trainer, ClassAwareTrainingRaisesMinorityRecall) {
  // Plain cross-entropy on 720 vs 18 learns to say "0"; cost-sensitive weights and class-balanced
  // batches recover the minority on the balanced test set.
  const auto& t = digits_task();
  std::ostringstream log;
  auto o = small();
  o.model = "logreg";
  o.epochs = 5;
  const double ce = minority_recall(fit(t.train, t.validation, o, log));
  o.loss = "weighted_ce:weights=ratio";
  const double cs = minority_recall(fit(t.train, t.validation, o, log));
  o.loss = "ce";
  o.batch_policy = "balanced";
  const double bal = minority_recall(fit(t.train, t.validation, o, log));
  EXPECT_LT(ce, 0.5);
  EXPECT_GT(cs, ce + 0.3);
  EXPECT_GT(bal, ce + 0.3);
}

TEST(Trainer, ResumeEndsWithTheSameWeightsAsAnUninterruptedRun) {
  const auto& t = digits_task();
  TempDir a, b;
  std::ostringstream log;
  // {batch policy, mix, loss}: the policy's state, the mixing draws and deferred re-weighting's
  // switch (at epoch 2 of 4) all come back.
  const std::vector<std::array<std::string, 3>> variants = {
      {"uniform", "", "ce"}, {"dynamic", "", "ce"}, {"uniform", "mixup", "weighted_ce:drw_epoch=2"}};
  for (const auto& [policy, mix, loss] : variants) {
    const auto name = policy + mix;
    auto whole_opts = small((a.path() / name).string());
    whole_opts.batch_policy = policy, whole_opts.mix = mix, whole_opts.loss = loss;
    const auto whole = fit(t.train, t.validation, whole_opts, log);
    auto part = small((b.path() / name).string());
    part.batch_policy = policy, part.mix = mix, part.loss = loss;
    part.stop_after_epochs = 1;  // the "kill": this process ends after one epoch
    EXPECT_FALSE(fit(t.train, t.validation, part, log).finished);
    part.resume = true;
    part.stop_after_epochs = 2;  // killed again one epoch... later
    EXPECT_FALSE(fit(t.train, t.validation, part, log).finished);
    part.stop_after_epochs = -1;
    const auto resumed = fit(t.train, t.validation, part, log);
    ASSERT_TRUE(resumed.finished);
    expect_same_weights(whole, resumed);
    ASSERT_EQ(whole.history.size(), resumed.history.size());
    for (size_t e = 0; e < whole.history.size(); ++e)
      EXPECT_EQ(whole.history[e].train_loss, resumed.history[e].train_loss) << name << " epoch " << e;
    EXPECT_EQ(whole.best_epoch, resumed.best_epoch);
  }
}

TEST(TrainerErrors, ResumingWithAnotherConfigurationLeavesTheCheckpointAlone) {
  const auto& t = digits_task();
  TempDir dir;
  std::ostringstream log;
  auto o = small(dir.path().string());
  o.epochs = 1;
  fit(t.train, t.validation, o, log);
  const auto before = read_file(dir.file("state.json"));
  auto other = o;
  other.resume = true;
  other.lr = 0.1;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, other, log), "cannot resume", "lr = 0.001", "lr = 0.1");
  other = o;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, other, log), "already holds a checkpoint", "--resume");
  EXPECT_EQ(read_file(dir.file("state.json")), before);
}

TEST(TrainerErrors, CheckpointOfAnotherModelShape) {
  const auto& t = digits_task();
  TempDir a, b;
  std::ostringstream log;
  auto o = small(a.path().string());
  o.epochs = 1;
  o.model = "mlp:hidden=[8]";
  fit(t.train, t.validation, o, log);
  auto p = small(b.path().string());
  p.epochs = 2;
  p.stop_after_epochs = 1;
  fit(t.train, t.validation, p, log);
  // A weights file of the 8-unit model where the 16-unit model's should be.
  std::filesystem::copy_file(a.file("model-0.pt"), b.file("model-0.pt"), std::filesystem::copy_options::overwrite_existing);
  p.resume = true;
  p.stop_after_epochs = -1;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, p, log), "model-0.pt", "does not fit model", "hidden=[16]");
}

TEST(TrainerErrors, ValidationMissingAClassAndBadStrings) {
  const auto& t = digits_task();
  std::ostringstream log;
  const auto only_zero = t.validation.subset(t.validation.indices_of(0));
  EXPECT_ERROR_MENTIONS(fit(t.train, only_zero, small(), log), "validation set has no rows of class 1 (\"6\")",
                        "undefined", "f1_macro");
  for (const auto& [field, value, fragment] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"model", "transformer", "unknown model"},
           {"loss", "cb:beta=1", "beta"},
           {"batch_policy", "random", "unknown batch policy"},
           {"decision", "vote", "unknown decision rule"},
           {"schedule", "linear", "unknown schedule"},
           {"monitor", "auc", "unknown monitor"}}) {
    auto o = small();
    if (field == "model") o.model = value;
    if (field == "loss") o.loss = value;
    if (field == "batch_policy") o.batch_policy = value;
    if (field == "decision") o.decision = value;
    if (field == "schedule") o.schedule = value;
    if (field == "monitor") o.monitor = value;
    EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, o, log), fragment);
  }
}

TEST(Trainer, SavedModelPredictsTheSame) {
  const auto& t = digits_task();
  TempDir dir;
  std::ostringstream log;
  auto o = small();
  o.decision = "threshold:metric=f1";
  const auto r = fit(t.train, t.validation, o, log);
  save_model(dir.file("m.rbm"), r, t.train);
  const auto loaded = load_model(dir.file("m.rbm"));
  const auto a = predict_logits(*r.model, t.test.x), b = predict_logits(*loaded.model, t.test.x);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::equal(r.decision->predict(a), loaded.decision->predict(b)));
  EXPECT_EQ(loaded.class_names, t.train.class_names);
  EXPECT_ERROR_MENTIONS(load_model(dir.write("bad.rbm", "hello")), "not a rebalance model file");
  // A damaged header: every layout error names the file, none escapes as std::invalid_argument
  // or a JSON parser's own exception.
  const std::string bytes = read_file(dir.file("m.rbm"));
  const size_t nl = bytes.find('\n');
  EXPECT_ERROR_MENTIONS(load_model(dir.write("len.rbm", bytes.substr(0, nl + 1) + "x12\n{}")), "len.rbm",
                        "corrupt model file", "header length 'x12'");
  EXPECT_ERROR_MENTIONS(load_model(dir.write("long.rbm", bytes.substr(0, nl + 1) + "999999\n{}")), "long.rbm",
                        "truncated model file");
  EXPECT_ERROR_MENTIONS(load_model(dir.write("json.rbm", bytes.substr(0, nl + 1) + "3\n{\"a")), "json.rbm",
                        "corrupt model file header");
  EXPECT_ERROR_MENTIONS(load_model(dir.write("nonl.rbm", bytes.substr(0, nl + 1) + "12")), "nonl.rbm",
                        "truncated model file");
}

TEST(Trainer, IterationBudgetAndNoValidationKeepTheFinalWeights) {
  // Seed 000's protocol: 1000 iterations (here 13) of balanced batches, no validation set, the
  // final weights kept.
  const auto& t = digits_task();
  auto o = small();
  o.iterations = 13;
  o.monitor = "none";
  o.batch_policy = "balanced";
  std::ostringstream log;
  const Dataset none = t.validation.subset(torch::empty({0}, torch::kInt64));
  const auto r = fit(t.train, none, o, log);
  EXPECT_EQ(r.steps, 13);
  const int64_t per_epoch = (t.train.size() + o.batch_size - 1) / o.batch_size;
  const int64_t epochs = (13 + per_epoch - 1) / per_epoch;
  ASSERT_EQ(static_cast<int64_t>(r.history.size()), epochs);
  EXPECT_EQ(r.best_epoch, epochs - 1);
  EXPECT_NE(log.str().find(fmt::format("kept the final weights: epoch {}, 13 steps", epochs)), std::string::npos)
      << log.str();
  // Seeded: a rerun ends on the same weights.
  const auto again = fit(t.train, none, o, log);
  expect_same_weights(r, again);
  // An epoch budget still works with monitor = none and a validation set (final weights kept).
  auto e = small();
  e.monitor = "none";
  EXPECT_EQ(fit(t.train, t.validation, e, log).best_epoch, e.epochs - 1);

  // What needs a validation set says so when there is none.
  auto bad = o;
  bad.monitor = "f1_macro";
  EXPECT_ERROR_MENTIONS(fit(t.train, none, bad, log), "validation set is empty", "monitor = none");
  bad = o;
  bad.decision = "threshold:metric=f1,source=validation";
  EXPECT_ERROR_MENTIONS(fit(t.train, none, bad, log), "threshold", "fitted on the validation set");
  bad = o;
  bad.batch_policy = "dynamic";
  EXPECT_ERROR_MENTIONS(fit(t.train, none, bad, log), "dynamic", "validation F1");
  bad = o;
  bad.patience = 2;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, bad, log), "patience = 2");
  bad = o;
  bad.iterations = -1;
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, bad, log), "iterations must be >= 0");
}

TEST(Trainer, ExponentialScheduleDecaysOncePerEpoch) {
  // PyTorch's ExponentialLR(gamma) stepped per epoch, as seed 003's reference trains.
  const auto& t = digits_task();
  auto o = small();
  o.epochs = 3;
  o.lr = 1e-3;
  o.schedule = "exp:gamma=0.5";
  std::ostringstream log;
  const auto r = fit(t.train, t.validation, o, log);
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_DOUBLE_EQ(r.history[0].lr, 1e-3);
  EXPECT_DOUBLE_EQ(r.history[1].lr, 5e-4);
  EXPECT_DOUBLE_EQ(r.history[2].lr, 2.5e-4);
  o.schedule = "exp:gamma=2";
  EXPECT_ERROR_MENTIONS(fit(t.train, t.validation, o, log), "gamma");
}

TEST(Trainer, MixedLossWeighsSyntheticRows) {
  // Against per-row cross-entropy by hand: real rows count 1, synthetic rows w.
  torch::manual_seed(3);
  const auto logits = torch::randn({6, 3}, torch::kFloat64);
  const auto target = torch::tensor({0, 1, 2, 1, 0, 2}, torch::kInt64);
  const auto synthetic = torch::tensor({false, true, false, true, true, false});
  auto ce = losses::make_loss("ce", {5, 5, 5});
  const auto per_row = torch::nn::functional::cross_entropy(
      logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const auto w = torch::where(synthetic, torch::full({6}, 0.25, torch::kFloat64), torch::ones({6}, torch::kFloat64));
  EXPECT_NEAR(mixed_loss(*ce, logits, target, synthetic, 0.25).item<double>(), (per_row * w).sum().item<double>() / 6,
              1e-12);
  // Weight 1, or a batch without synthetic rows: the loss itself.
  EXPECT_NEAR(mixed_loss(*ce, logits, target, synthetic, 1.0).item<double>(), per_row.mean().item<double>(), 1e-12);
  EXPECT_NEAR(mixed_loss(*ce, logits, target, torch::zeros({6}, torch::kBool), 0.25).item<double>(),
              per_row.mean().item<double>(), 1e-12);
  // Only synthetic rows: w times their mean.
  EXPECT_NEAR(mixed_loss(*ce, logits, target, torch::ones({6}, torch::kBool), 0.5).item<double>(),
              0.5 * per_row.mean().item<double>(), 1e-12);
  EXPECT_ERROR_MENTIONS(mixed_loss(*ce, logits, target, torch::ones({5}, torch::kBool), 0.5), "5 synthetic flags",
                        "6 rows");
}

TEST(Trainer, SyntheticWeightZeroPassesNoGradientFromSyntheticRows) {
  // Random oversampling adds synthetic copies of the minority (origin < 0). With weight 0 their
  // labels cannot matter: flipping them all leaves the trained weights bit for bit the same; with
  // weight 1 (or 0.5) the flipped labels change the model.
  const auto& t = digits_task();
  const auto grown = make_sampler("random_over", 2)->fit_resample(t.train);
  ASSERT_GT(grown.size(), t.train.size());
  Dataset flipped = grown;
  flipped.y = torch::where(grown.origin < 0, 1 - grown.y, grown.y);
  ASSERT_FALSE(torch::equal(flipped.y, grown.y));
  auto o = small();
  o.epochs = 2;
  std::ostringstream log;
  o.synthetic_weight = 0.0;
  expect_same_weights(fit(grown, t.validation, o, log), fit(flipped, t.validation, o, log));
  for (double w : {1.0, 0.5}) {
    o.synthetic_weight = w;
    const auto a = fit(grown, t.validation, o, log), b = fit(flipped, t.validation, o, log);
    EXPECT_FALSE(torch::equal(a.model->parameters()[0], b.model->parameters()[0])) << "weight " << w;
  }
  // Recorded with the options (checkpoints refuse to resume across a change), and checked.
  EXPECT_FALSE(options_to_json(small()).contains("synthetic_weight"));
  o.synthetic_weight = 0.5;
  EXPECT_EQ(options_to_json(o)["synthetic_weight"].get<double>(), 0.5);
  o.synthetic_weight = -1;
  EXPECT_ERROR_MENTIONS(fit(grown, t.validation, o, log), "synthetic_weight", "[0, 100]");
}

TEST(Trainer, ThresholdMovesOnOutOfFoldScoresWhenValidationHoldsFewPositives) {
  // Seed 004's TS at small minority sizes: MNIST 4 against 9 (15 training nines, 2 in
  // validation). Tuned on two validation nines the threshold has nothing to move on; on the
  // out-of-fold scores of the training rows (five models, each without its fold) it moves.
  TaskOptions to;
  to.data = "mnist-digits";
  to.pair = "4:400,9:17";
  to.seed = 2;
  const Task t = build_task(to);
  ASSERT_LE(t.validation.class_counts()[1], 3);
  auto o = small();
  o.model = "logreg";
  o.epochs = 3;
  o.monitor = "none";
  std::ostringstream log;
  o.decision = "threshold:metric=f1";
  const auto oof = fit(t.train, t.validation, o, log);
  EXPECT_NE(log.str().find("out-of-fold scores of the"), std::string::npos) << log.str();
  const double moved = oof.decision->state()[0];
  EXPECT_LT(moved, 0.5) << "the rare class's scores sit low: its threshold comes down";
  const auto logits = predict_logits(*oof.model, t.test.x);
  const auto ts = oof.decision->predict(logits), argmax = logits.argmax(1);
  EXPECT_GT(ts.sum().item<int64_t>(), argmax.sum().item<int64_t>()) << "TS calls more test images the rare class";
  // The fold models start from the same seed whatever the thread count: a rerun tunes the same.
  EXPECT_DOUBLE_EQ(fit(t.train, t.validation, o, log).decision->state()[0], moved);
  // Forced onto the validation set, or with too few positives for two folds, it says so.
  o.decision = "threshold:metric=f1,source=validation";
  std::ostringstream vlog;
  (void)fit(t.train, t.validation, o, vlog);
  EXPECT_EQ(vlog.str().find("out-of-fold"), std::string::npos);
  o.decision = "threshold:source=oof";
  const auto one = t.train.subset(torch::cat({t.train.indices_of(0), t.train.indices_of(1).slice(0, 0, 1)}));
  EXPECT_ERROR_MENTIONS(fit(one, t.validation, o, log), "out-of-fold", "class \"9\" has 1 training row");
}

TEST(Trainer, MonitorOnAFewValidationRowsOfAClassWarns) {
  const auto& t = digits_task();
  // One validation six: the monitor warns and names the class; monitor = none does not.
  const auto rows = torch::cat({t.validation.indices_of(0), t.validation.indices_of(1).slice(0, 0, 1)});
  const auto one_six = t.validation.subset(rows);
  auto o = small();
  o.epochs = 1;
  std::ostringstream log;
  fit(t.train, one_six, o, log);
  EXPECT_NE(log.str().find("warning: the validation set holds 1 row of class \"6\": f1_macro picks the epoch"),
            std::string::npos)
      << log.str();
  o.monitor = "none";
  std::ostringstream quiet;
  fit(t.train, one_six, o, quiet);
  EXPECT_EQ(quiet.str().find("warning"), std::string::npos) << quiet.str();
}

TEST(Trainer, LossCountsRealTakesTheLossCorrectionsFromTheRealRowsOnly) {
  // Balanced by random oversampling, the training counts are equal: balanced softmax on them is
  // plain cross-entropy (and says so). With loss_counts = real its prior is the real rows' counts
  // (the imbalance the sampler's copies hide), so it corrects again and the model differs.
  const auto& t = digits_task();
  const auto balanced = make_sampler("random_over", 0)->fit_resample(t.train);
  ASSERT_GT(balanced.size(), t.train.size());
  auto o = small();
  o.epochs = 1;
  o.loss = "balanced_softmax";
  std::ostringstream all_log, real_log;
  const auto all = fit(balanced, t.validation, o, all_log);
  o.loss_counts = "real";
  const auto real = fit(balanced, t.validation, o, real_log);
  EXPECT_NE(all_log.str().find("note: loss"), std::string::npos);
  EXPECT_EQ(real_log.str().find("note: loss"), std::string::npos) << real_log.str();
  EXPECT_FALSE(torch::equal(all.model->parameters()[0], real.model->parameters()[0]));
  EXPECT_EQ(real.train_counts, all.train_counts);  // the data itself is the same
  // Without synthetic rows the two are one: the same weights bit for bit.
  o.loss_counts = "all";
  const auto a = fit(t.train, t.validation, o, all_log);
  o.loss_counts = "real";
  expect_same_weights(a, fit(t.train, t.validation, o, real_log));
  EXPECT_EQ(options_to_json(o)["loss_counts"], "real");
  EXPECT_FALSE(options_to_json(small()).contains("loss_counts"));
  // A class whose every row is synthetic has no real count; a bad value is named.
  Dataset all_synthetic = balanced;
  all_synthetic.origin = torch::where(balanced.y == 1, torch::full_like(balanced.origin, -1), balanced.origin);
  EXPECT_ERROR_MENTIONS(fit(all_synthetic, t.validation, o, real_log), "loss_counts = real", "class 1",
                        "no real training rows");
  o.loss_counts = "most";
  EXPECT_ERROR_MENTIONS(fit(balanced, t.validation, o, real_log), "loss_counts", "all or real", "most");
}

TEST(Trainer, APriorAdjustedLossOnBalancedCountsSaysItIsPlainCrossEntropy) {
  // A sampler that balances every class leaves balanced softmax nothing to correct: said once.
  const auto& t = digits_task();
  const auto balanced = make_sampler("random_over", 0)->fit_resample(t.train);
  auto o = small();
  o.epochs = 1;
  o.loss = "balanced_softmax";
  std::ostringstream said, quiet;
  (void)fit(balanced, t.validation, o, said);
  EXPECT_NE(said.str().find("note: loss \"balanced_softmax\" adjusts the logits by the training counts, which are "
                            "balanced here"), std::string::npos) << said.str();
  EXPECT_NE(said.str().find("sampling_strategy=at_least:N"), std::string::npos);
  (void)fit(t.train, t.validation, o, quiet);
  EXPECT_EQ(quiet.str().find("note: loss"), std::string::npos);
}
