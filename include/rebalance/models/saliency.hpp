// Where a trained classifier looks: RISE saliency maps (Petsiuk, Das, Saenko, BMVC 2018), the
// model-agnostic heat maps of seed 004's figure (Vanilla against ALT and AUG on test images).
//
//   auto maps = rise_saliency(*model, test_images, /*cls=*/1, {});   // [n, H, W]
//   auto tiles = saliency_overlay(test_images, maps);                // [2n, 3, H, W] for a PNG grid
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rebalance::models {

class Classifier;

struct RiseOptions {
  int64_t masks = 500;   ///< random masks (the paper: 4000-8000 at 224x224; 500 suffice at 28x28)
  int64_t cells = 7;     ///< each mask is a cells x cells binary grid, upsampled bilinearly
  double keep = 0.5;     ///< probability that a grid cell is kept
  int64_t batch = 250;   ///< masked images per forward pass
  uint64_t seed = 0;
};

/// RISE: S(x) = E_M[p(cls | x * M) M] / keep, over `masks` random masks M (a coarse binary grid,
/// upsampled bilinearly and shifted by a random sub-cell offset). x: [n, C, H, W] images;
/// returns [n, H, W] float32 maps (the same masks for every image: maps are comparable across
/// images and models). The model is put in evaluation mode.
at::Tensor rise_saliency(Classifier& model, const at::Tensor& x, int64_t cls, const RiseOptions& options = {});

/// For a PNG grid: each image (grey or RGB, in [0, 1]) followed by its map as a heat overlay
/// (the map scaled to [0, 1] per image, red where high, blue where low, over the image).
/// x: [n, C, H, W], maps: [n, H, W]; returns [2n, 3, H, W].
at::Tensor saliency_overlay(const at::Tensor& x, const at::Tensor& maps);

}  // namespace rebalance::models
