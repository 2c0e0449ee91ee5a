// Network pieces shared by the image-to-image generators (CycleGAN, StarGAN); private to
// src/generative. Defined in cyclegan.cpp.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace rebalance::generative::detail {

/// CycleGAN's ResNet generator: c7s1-ngf, d(2 ngf), d(4 ngf), blocks x R(4 ngf), u(2 ngf), u(ngf),
/// c7s1-out, tanh; instance norm throughout. `in_channels` may exceed `out_channels` (StarGAN
/// feeds its target domain as extra channels).
torch::nn::Sequential resnet_generator(int64_t in_channels, int64_t out_channels, int64_t ngf, int64_t blocks);
/// CycleGAN's init_weights("normal", 0.02): convolution weights N(0, 0.02), biases 0.
void init_gan_weights(torch::nn::Module& m);

/// An image shape as "[C, H, W]" for error messages.
std::string shape_text(const std::vector<int64_t>& shape);
/// The learning rate at `step`: `lr` for `steps` steps, then falling linearly to 0 over
/// `decay_steps` (CycleGAN's and StarGAN's schedule).
inline double constant_then_linear(double lr, int64_t steps, int64_t decay_steps, int64_t step) {
  if (step < steps) return lr;
  return lr * std::max(0.0, 1.0 - static_cast<double>(step - steps + 1) / static_cast<double>(decay_steps + 1));
}

/// Calls f(name, field) for the options every image-to-image GAN here has (CycleGANOptions,
/// StarGANOptions): their files and fingerprints write and read them by these names.
template <class Options, class F>
void each_common_option(Options& o, F&& f) {
  f("ngf", o.ngf), f("ndf", o.ndf), f("blocks", o.blocks), f("d_layers", o.d_layers), f("gan", o.gan);
  f("identity_weight", o.identity_weight), f("lr", o.lr), f("beta1", o.beta1), f("beta2", o.beta2);
  f("batch_size", o.batch_size), f("steps", o.steps), f("decay_steps", o.decay_steps);
}

}  // namespace rebalance::generative::detail
