// The generator side of joint generation and classification: what the joint trainer needs of it,
// whichever model it is (a CycleGAN per minority class against the majority, or one
// class-conditional StarGAN for every class). The trainer runs phases and checkpoints; each
// implementation owns its networks, its teacher term and its files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "rebalance/train/checkpoint.hpp"

namespace rebalance::joint {

struct JointOptions;
struct JointResult;

/// The frozen classifier as the generators' teacher (ALT mode, from round 2): `classify` gives the
/// logits of images (CPU in, CPU out); the majority terms count 1 / gamma; the term is scaled by
/// `weight`.
struct Teacher {
  std::function<at::Tensor(const at::Tensor& images)> classify;
  int64_t majority = 0;
  double gamma = 1.0;
  double weight = 1.0;
};

/// One generator phase: optimiser steps taken and the generators' mean reconstruction loss (the
/// cycle term, averaged over the CycleGANs; the StarGAN's reconstruction term).
struct GeneratorPhase {
  int64_t steps = 0;
  double loss = 0;
};

class JointGenerator {
 public:
  virtual ~JointGenerator() = default;

  /// The whole budget in steps (steps + decay_steps), split over the generator phases.
  virtual int64_t total_steps() const = 0;
  /// Train `steps` steps, with the teacher's term when `teacher` is given, then freeze the
  /// generators. `label` starts each log line ("alt round 2").
  virtual GeneratorPhase train(int64_t steps, const Teacher* teacher, const std::string& label, std::ostream& log) = 0;
  /// Freeze the generators (no gradients; the classifier phase reads translations).
  virtual void freeze() = 0;
  /// Majority images as class `c`, and class-`c` images as the majority (no gradients, CPU).
  virtual at::Tensor to_class(const at::Tensor& majority_images, int64_t c) = 0;
  virtual at::Tensor to_majority(const at::Tensor& class_images, int64_t c) = 0;

  /// This phase's files for the checkpoint, and loading them back on resume.
  virtual void add_files(train::Checkpoint::Files& files, size_t phase) = 0;
  virtual void load(const train::Checkpoint& checkpoint, size_t phase) = 0;
  /// The trained models and every minority class's translator, into the result.
  virtual void publish(JointResult& result) const = 0;
  /// The generator's options as the checkpoint's config holds them.
  virtual nlohmann::json config() const = 0;
};

/// The generator `j.generator` names, for `minorities` against `majority`, its initial weights drawn
/// from `seed`. `x` holds the training images [N, C, H, W] (CPU, float32), `y` their labels;
/// `class_names` name the classes in log lines.
std::unique_ptr<JointGenerator> make_joint_generator(const JointOptions& j, const at::Tensor& x, const at::Tensor& y,
                                                     int64_t num_classes, int64_t majority,
                                                     const std::vector<int64_t>& minorities,
                                                     const std::vector<std::string>& class_names, uint64_t seed);

/// Refuses an unknown generator or invalid options of the one named.
void check_joint_generator(const JointOptions& j);

/// The fewest images a minority class needs for `j.generator` (the CycleGAN's batch size; one
/// for the StarGAN, whose batches draw the classes).
int64_t min_class_images(const JointOptions& j);

}  // namespace rebalance::joint
