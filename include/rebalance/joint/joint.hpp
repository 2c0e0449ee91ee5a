// Joint generation and classification (seed 004: Sahoo, Singh, Panda, Feris, Das, "Mitigating
// Dataset Imbalance via Joint Generation and Classification", ECCV 2020 workshops): a CycleGAN
// between the majority (A) and the minority (B) trained with the classifier, in two modes.
//
//   joint::JointOptions j;   j.mode = "alt";  j.rounds = 4;
//   auto r = joint::fit(train, validation, train_options, j, std::cout);
//   r.train.model   // the classifier, as train::fit returns it;  r.gan: the CycleGAN
//
// AUG trains the CycleGAN once, then the classifier with the generators frozen. ALT alternates
// generator phases (the classifier's loss back-propagated into the generators: the classifier
// as teacher) and classifier phases. Lives above train/ and generative/ and reaches down only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/generative/cyclegan.hpp"
#include "rebalance/generative/stargan.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::joint {

/// The slides' classifier loss for one step, each term the mean cross-entropy of its batch:
///   L_cls^B = -E_b log z(b) - E_a log z(G_A->B(a))          (counted as minority)
///   L_cls^A = -E_a log(1 - z(a)) - E_b log(1 - z(G_B->A(b)))  (counted as majority)
///   L_cls   = L_cls^B + (1 / gamma) L_cls^A,
/// z(x) = softmax(logits)[minority]. Logits [B, C]; `minority`, `majority` are class indices.
struct ClassifierLoss {
  at::Tensor total, minority_term, majority_term;  ///< L_cls, L_cls^B, L_cls^A (scalars)
};
ClassifierLoss classifier_loss(const at::Tensor& logits_b, const at::Tensor& logits_ab, const at::Tensor& logits_a,
                               const at::Tensor& logits_ba, int64_t minority, int64_t majority, double gamma);

struct JointOptions {
  std::string mode = "aug";        ///< aug or alt
  /// cyclegan: one CycleGAN per minority class against the majority (the seed's, for one class);
  /// stargan: one class-conditional StarGAN shared by every class (its teacher term: the weighted
  /// cross-entropy of the real rows and their translations, majority targets counting 1/gamma).
  std::string generator = "cyclegan";
  generative::CycleGANOptions gan;  ///< its steps + decay_steps are the generators' whole budget
  generative::StarGANOptions star;  ///< the same for generator = stargan
  /// Cost-sensitive weight: the majority terms count 1 / gamma (1: the terms alike).
  double gamma = 1.0;
  /// ALT: generator / classifier phase pairs. The generator budget and TrainOptions::epochs are
  /// split evenly over them (the first generator phase has no teacher yet: the classifier is
  /// untrained, so its term starts with round 2).
  int64_t rounds = 4;
  double teacher_weight = 1.0;      ///< ALT: weight of L_cls in the generators' objective
  std::string majority = "auto";    ///< domain A (name or number); auto: the largest class
  std::string minority = "auto";    ///< domain B (binary data); auto: every class but the majority
  int64_t stop_after_phases = -1;   ///< end this process after so many phases (tests: a "kill")
};

/// Parse "aug" / "alt:rounds=4,gamma=2,steps=500,..." (every cyclegan parameter is accepted too).
JointOptions parse_joint(const std::string& spec);
/// The joint modes as `rebalance methods joint` lists them.
std::vector<MethodDoc> joint_docs();

struct JointPhase {
  std::string kind;   ///< generators or classifier
  int64_t round = 0;  ///< 0-based
  int64_t steps = 0;  ///< optimiser steps of the phase
  double loss = 0;    ///< mean loss (the generators' cycle term, or L_cls)
  double seconds = 0;
};

/// The phases as JSON (kind, round, steps, loss, seconds): the checkpoint's, the summary's and the
/// results rows' form; and back.
nlohmann::json phases_json(const std::vector<JointPhase>& phases);
std::vector<JointPhase> phases_from_json(const nlohmann::json& phases);

struct JointResult {
  train::TrainResult train;  ///< the classifier (best epoch by TrainOptions::monitor) and its rule
  std::shared_ptr<generative::CycleGAN> gan;  ///< the first minority class's (binary data: the one)
  std::map<int64_t, std::shared_ptr<generative::CycleGAN>> gans;  ///< by minority class (generator=cyclegan)
  std::shared_ptr<generative::StarGAN> stargan;                    ///< generator=stargan: the one model
  /// Majority <-> class translation for every minority class, whichever the generator.
  std::map<int64_t, std::shared_ptr<generative::ImageTranslator>> translators;
  std::vector<JointPhase> phases;
  int64_t majority = -1, minority = -1;  ///< minority: the first minority class
  std::vector<int64_t> minorities;       ///< every class with a CycleGAN (all but the majority)
  bool finished = false;  ///< false when stop_after_phases ended the run early
};

/// Train a classifier (TrainOptions: model, loss, optimizer, lr, schedule, weight decay, epochs,
/// batch size, monitor, decision, decouple, max_norm, seed, checkpoint_dir, resume, device)
/// jointly with a CycleGAN on image data: binary (the seed) or several minority classes, each with
/// a CycleGAN of its own against the majority (the slides' "multiclass ???"). Each classifier step
/// takes batch_size / 2 majority rows and as many rows of each minority class, with their
/// translations; the loss is
///   sum_c [L(b_c, c) + L(G_A->c(a), c)] + (1/gamma) [L(a, A) + mean_c L(G_c->A(b_c), A)],
/// each L the mean of the loss's per-row terms over that part (w_c l_i: a class weight, deferred
/// re-weighting's from its epoch, times the row's loss; the counts are the training set's). With
/// loss "ce" this is the slides' L_cls for one minority class. Decoupling re-balances the head of
/// the kept weights after the last phase, on the real training rows. Mixing and augmentation are
/// refused (a mixed row belongs to no one part). With checkpoint_dir every phase is written
/// atomically and resume continues after the last complete phase, ending with the same weights.
JointResult fit(const Dataset& train, const Dataset& validation, const train::TrainOptions& options,
                const JointOptions& joint, std::ostream& log);

}  // namespace rebalance::joint
