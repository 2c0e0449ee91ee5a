// Image augmentation as batched tensor ops (CPU or CUDA, whatever device the batch is on):
// channel split, Gaussian blur, unsharp mask, flips, rotation, zoom, translation, brightness and
// contrast, composed by factory string ("blur:sigma=1+unsharp+hflip") and seeded.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance::augment {

/// One transform of a batch of images. Random parameters (an angle, whether to flip) are drawn
/// per image from the caller's Rng on the CPU, so the same seed gives the same bytes on any
/// device and thread count; the pixels are then computed as tensor ops on the batch's device.
class Op {
 public:
  virtual ~Op() = default;
  /// @param x [N, C, H, W] floating point, values nominally in [0, 1]
  /// @return [N, C, H, W] of the same dtype and device; `x` is never changed
  virtual at::Tensor apply(const at::Tensor& x, Rng& rng) const = 0;
  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }

 private:
  std::string spec_;
};

/// A factory string made into transforms: '+' composes ops left to right, '|' separates
/// alternatives, of which each image gets one (apply: drawn at random; apply_alternative: the
/// one the caller names, as seed 002's copies cycle through R, G, B, blur and unsharp).
///
///   auto aug = make_augmentation("rotate:degrees=10+hflip");
///   at::Tensor out = aug->apply(batch, /*seed=*/7);  // batch: [N, C, H, W]
class Augmentation {
 public:
  explicit Augmentation(std::vector<std::vector<std::unique_ptr<Op>>> alternatives, std::string spec);
  /// Each image passes through one alternative drawn at random (the only one, if there is one).
  at::Tensor apply(const at::Tensor& x, uint64_t seed) const;
  at::Tensor apply(const at::Tensor& x, Rng& rng) const;
  /// Every image passes through alternative `k` (0-based, < alternatives()).
  at::Tensor apply_alternative(int64_t k, const at::Tensor& x, Rng& rng) const;
  int64_t alternatives() const { return static_cast<int64_t>(alternatives_.size()); }
  const std::string& spec() const { return spec_; }

 private:
  std::vector<std::vector<std::unique_ptr<Op>>> alternatives_;
  std::string spec_;
};

struct OpInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};

/// Every op the factory builds, with its parameters (one declaration list).
const std::vector<OpInfo>& op_registry();
/// Every op as `rebalance methods augmentations` lists it.
std::vector<MethodDoc> op_docs();

/// Build one op from "name:key=value,..." (unknown names or parameters refused, listing the
/// accepted ones).
std::unique_ptr<Op> make_op(const std::string& spec);
/// Build a pipeline: "blur:sigma=1+unsharp+hflip", or alternatives "channel:which=r|blur".
std::unique_ptr<Augmentation> make_augmentation(const std::string& spec);

/// Check that `x` is a batch of images [N, C, H, W] of a floating dtype; `what` names the caller.
void check_images(const at::Tensor& x, const std::string& what);

/// Separable Gaussian blur with reflected borders: kernel exp(-t^2 / (2 sigma^2)) over
/// t = -r..r, r = ceil(3 sigma), normalised to sum 1. [N, C, H, W] -> same shape.
at::Tensor gaussian_blur(const at::Tensor& x, double sigma);

}  // namespace rebalance::augment
