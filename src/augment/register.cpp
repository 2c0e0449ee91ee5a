// The augment family's samplers, as the factory sees them.
#include "rebalance/augment/augmentation_over_sampler.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

void add_augment_samplers(std::vector<SamplerInfo>& out) {
  out.push_back(
      {"augment", "AugmentationOverSampler", {"augmentation"}, SamplingType::Over,
       "top up image classes with augmented copies of their own images (Chatterjee's whale post: R/G/B, blur, unsharp)",
       {{"transforms", "channel:which=r|channel:which=g|channel:which=b|blur|unsharp",
         "augmentation spec ('+' composes, '|' alternatives used in turn, one round each; see `rebalance methods "
         "augmentations`)"},
        {"min_count", "0", "> 0: grow every class below this many rows to it (Chatterjee's whale post: 10), as "
                           "sampling_strategy=at_least:N"},
        {"image_shape", "auto", "[C,H,W] of flattened image rows; auto: the rows are images already"}},
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         augment::AugmentationOverSamplerOptions o;
         o.transforms = p.get_string("transforms");
         if (p.get_string("image_shape") != "auto") o.image_shape = p.get_ints("image_shape");
         const int64_t min_count = p.get_int_in("min_count", 0, int64_t(1) << 40);
         if (min_count == 0) return std::make_unique<augment::AugmentationOverSampler>(o, s, seed);
         REBALANCE_CHECK(!p.has("sampling_strategy") || s.text() == "auto", "AugmentationOverSampler: give min_count={} "
                         "or sampling_strategy={}, not both", min_count, s.text());
         return std::make_unique<augment::AugmentationOverSampler>(
             o, SamplingStrategy(fmt::format("at_least:{}", min_count)), seed);
       }});
  out.back().streaming = {"transforms images; out-of-core input is rows of features"};
}

}  // namespace rebalance
