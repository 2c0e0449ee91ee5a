// Where a trained classifier looks, the two heat maps of seed 004's figure (Vanilla against ALT
// and AUG on test images): RISE (Petsiuk, Das, Saenko, BMVC 2018), model-agnostic, and Grad-CAM
// (Selvaraju et al., ICCV 2017), for models with a convolutional feature map.
//
//   auto maps = rise_saliency(*model, test_images, /*cls=*/1, {});   // [n, H, W]
//   auto cams = grad_cam(*model, test_images, /*cls=*/1);             // [n, H, W]
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

/// Grad-CAM: with A the model's last convolutional feature map [K, h, w] (forward_with_features)
/// and y the class's logit, L = ReLU(sum_k alpha_k A_k), alpha_k = mean over (i, j) of dy/dA_k(i, j),
/// upsampled bilinearly to the image. x: [n, C, H, W]; returns [n, H, W] float32 maps (0 where
/// nothing speaks for the class). The model is put in evaluation mode; its weights get no gradient.
/// Refused for models without a convolutional feature map (logreg, mlp: use RISE).
at::Tensor grad_cam(Classifier& model, const at::Tensor& x, int64_t cls);

/// Whether grad_cam works on this model (it has a convolutional feature map).
bool has_feature_map(Classifier& model, const at::Tensor& x);

/// For a PNG grid: each image (grey or RGB, in [0, 1]) followed by its map as a heat overlay
/// (the map scaled to [0, 1] per image, red where high, blue where low, over the image).
/// x: [n, C, H, W], maps: [n, H, W]; returns [2n, 3, H, W].
at::Tensor saliency_overlay(const at::Tensor& x, const at::Tensor& maps);

}  // namespace rebalance::models
