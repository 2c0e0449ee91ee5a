// An image translator between the majority domain A and one class B: what the joint trainer, the
// experiment runner's translation grids and the quality measures need of a trained generator,
// whether it is a CycleGAN of its own for the pair or one class-conditional StarGAN shared by
// every class (`StarGAN::pair`).
#pragma once

#include <ATen/core/Tensor.h>

namespace rebalance::generative {

class ImageTranslator {
 public:
  virtual ~ImageTranslator() = default;
  /// A -> B and B -> A in data units, without gradients, images [n, C, H, W].
  virtual at::Tensor translate_ab(const at::Tensor& a) = 0;
  virtual at::Tensor translate_ba(const at::Tensor& b) = 0;
};

}  // namespace rebalance::generative
