// Augmentation oversampling: a rare image class is topped up with transformed copies of its own
// images (seed 002: every whale with fewer than 10 photographs copied as R, G and B channels,
// blurred and unsharpened until it has 10).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::augment {

class Augmentation;

struct AugmentationOverSamplerOptions {
  /// An augmentation factory string; '|' alternatives are used in turn: every image of the class
  /// gets a copy through the first alternative, then every image one through the second, ...
  std::string transforms = "channel:which=r|channel:which=g|channel:which=b|blur|unsharp";
  /// [C, H, W] of flat rows ([N, C*H*W], e.g. images read from a CSV); empty: the rows must
  /// already be images [N, C, H, W].
  std::vector<int64_t> image_shape;
};

/// Over-sampling by augmentation (the copying that seed 002 took from fast.ai): the k-th added
/// row of a class is image src_k of that class, drawn in seeded rounds (each round visits every
/// image of the class once, in a fresh random order), passed through alternative
/// (round mod alternatives) of the transforms. New rows are synthetic (origin -1) and name their
/// source image in parents[:, 0].
///
///   AugmentationOverSampler aug({}, SamplingStrategy("at_least:10"), /*seed=*/0);
///   Dataset topped = aug.fit_resample(whales);  // or make_sampler("augment:min_count=10")
///   auto source = topped.parents.select(1, 0);  // the image each copy was made from
/// Which image each added copy of a class is made from, and through which alternative: copy k
/// is image source[k] (0-based within the class's `class_rows` images, seeded rounds that each
/// visit every image once in a fresh order) through alternative (k / class_rows) mod
/// `alternatives`. The sampler below and rebalance.torch's dataset over-sampler share it.
struct CopyPlan {
  std::vector<int64_t> source;
  std::vector<int64_t> alternative;
};
CopyPlan copy_plan(int64_t class_rows, int64_t add, int64_t alternatives, uint64_t seed, int64_t cls);

class AugmentationOverSampler final : public Sampler {
 public:
  explicit AugmentationOverSampler(AugmentationOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                                   uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  AugmentationOverSamplerOptions options_;
  std::shared_ptr<const Augmentation> augmentation_;  ///< built from options_.transforms once
};

}  // namespace rebalance::augment

namespace rebalance {

/// The augmentation samplers' declarations, appended to `out` (the registry assembles every
/// family: src/experiment/registry.cpp).
void add_augment_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance
