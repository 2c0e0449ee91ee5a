// CycleGAN between a majority image domain A and a minority domain B (Zhu et al., ICCV 2017), the
// generator of seed 004 (Sahoo et al., "Mitigating Dataset Imbalance via Joint Generation and
// Classification", ECCV 2020 workshops): majority images translated into minority ones.
//
//   CycleGAN gan({.steps = 1000, .decay_steps = 1000}, {1, 28, 28}, /*seed=*/0);
//   gan.fit(majority, minority);              // [nA, 1, 28, 28], [nB, 1, 28, 28]
//   at::Tensor fake = gan.translate_ab(majority.slice(0, 0, 100));   // 100 minority-like images
//
// The joint trainer (rebalance/joint) adds the classifier's loss to the generators' objective
// through `GeneratorHook`. The header keeps libtorch's heavy headers out.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/generative/translator.hpp"

namespace rebalance::generative {

// ---- loss pieces (scalar tensors), exposed for tests and the joint trainer ----------------------

/// The adversarial score of discriminator outputs `d` against all-real (target_real) or all-fake
/// targets. mode "lsgan" (CycleGAN's default): mean (d - t)^2 with t = 1 or 0; "log" (the seed's
/// slides): mean binary cross-entropy of sigmoid(d) against t, that is -log D or -log(1 - D).
at::Tensor gan_loss(const at::Tensor& d, bool target_real, const std::string& mode);
/// A discriminator's loss, halved as in CycleGAN so it learns no faster than the generators:
/// 0.5 (gan_loss(D(real), real) + gan_loss(D(fake), fake)).
at::Tensor discriminator_loss(const at::Tensor& d_real, const at::Tensor& d_fake, const std::string& mode);
/// Mean absolute difference: the cycle and identity terms.
at::Tensor l1_distance(const at::Tensor& x, const at::Tensor& y);

// ---- options ----------------------------------------------------------------------------------

/// Defaults: the original CycleGAN's (ResNet generators, PatchGAN discriminators, least squares,
/// a pool of 50 fakes, Adam 2e-4 with betas (0.5, 0.999), cycle weight 10, identity 0.5 x cycle,
/// constant then linearly decayed learning rate), with networks narrowed for 28x28 images on 2
/// cores: 16 base filters instead of 64, 4 residual blocks instead of 9, batches of 8, 1000 + 1000
/// steps (274 s on seed 000's Fashion-MNIST pair on 2 cores, `rebalance generate --method cyclegan`).
struct CycleGANOptions {
  int64_t ngf = 16;            ///< generator base filters (CycleGAN: 64)
  int64_t ndf = 16;            ///< discriminator base filters (CycleGAN: 64)
  int64_t blocks = 4;          ///< residual blocks at 1/4 resolution (CycleGAN: 9 at 256x256)
  /// PatchGAN stride-2 layers; 0: auto, 1 below 64 pixels (16x16 patches), 2 below 128, else 3
  /// (CycleGAN's 70x70 patches at 256x256).
  int64_t d_layers = 0;
  std::string gan = "lsgan";   ///< lsgan or log
  double cycle_weight = 10.0;  ///< beta of the slides, lambda of CycleGAN
  double identity_weight = 0.5;  ///< identity term weight as a multiple of cycle_weight (0: off)
  int64_t pool_size = 50;      ///< past fakes the discriminators also see (0: only the newest)
  double lr = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  int64_t batch_size = 8;      ///< image pairs per step; the minority must hold at least this many
  int64_t steps = 1000;        ///< steps at the constant learning rate
  int64_t decay_steps = 1000;  ///< steps over which it then falls linearly to 0
};

/// Mean losses over the steps of one fit() call.
struct CycleGANLog {
  int64_t steps = 0;                     ///< steps run by this call
  double generator_adv = 0, cycle = 0, identity = 0, extra = 0;  ///< the generators' terms (weighted)
  double discriminator_a = 0, discriminator_b = 0;
  double seconds = 0;
};

/// An extra term for the generators' objective, given one step's batches in data units:
/// real_a, fake_b = G_A->B(real_a), real_b, fake_a = G_B->A(real_b) (fakes carry gradients into
/// the generators). The joint trainer's classifier loss.
using GeneratorHook = std::function<at::Tensor(const at::Tensor& real_a, const at::Tensor& fake_b,
                                               const at::Tensor& real_b, const at::Tensor& fake_a)>;

class CycleGANState;  // networks, optimisers, pools and scaling (src/generative/cyclegan.cpp)

/// Two generators G_A->B, G_B->A and two discriminators D_A, D_B trained with
///   L = GAN(G_A->B, D_B) + GAN(G_B->A, D_A) + beta (|G_B->A(G_A->B(a)) - a|_1 + |G_A->B(G_B->A(b)) - b|_1)
///     + alpha (|G_A->B(b) - b|_1 + |G_B->A(a) - a|_1)  [+ the hook's term],
/// alpha = identity_weight x beta. Images [C, H, W], H and W multiples of 4 and at least 8, are
/// mapped to [-1, 1] from the range of the first data fitted (tanh outputs, mapped back).
/// Every random choice (initial weights, batches, pool) comes from the seed; fit() may be called
/// in parts and a saved model resumes where it stopped, with the same result as one call.
class CycleGAN final : public ImageTranslator {
 public:
  CycleGAN(CycleGANOptions options, std::vector<int64_t> image_shape, uint64_t seed = 0);
  ~CycleGAN() override;
  CycleGAN(CycleGAN&&) noexcept;
  CycleGAN& operator=(CycleGAN&&) noexcept;

  /// Train on a: [nA, C, H, W] (domain A) and b: [nB, C, H, W] (domain B) for `steps` more
  /// steps (-1: until steps + decay_steps are done). Each step draws batch_size rows of each at
  /// random. `hook` adds its term to the generators' loss.
  CycleGANLog fit(const at::Tensor& a, const at::Tensor& b, int64_t steps = -1, const GeneratorHook& hook = {});
  int64_t steps_done() const;
  int64_t total_steps() const;  ///< steps + decay_steps
  /// Every fit() call since construction or loading, in order (not saved with the model).
  const std::vector<CycleGANLog>& history() const;

  /// G_A->B(a) and G_B->A(b) in data units, without gradients, in batches.
  at::Tensor translate_ab(const at::Tensor& a) override;
  at::Tensor translate_ba(const at::Tensor& b) override;
  /// The same with gradients into the generators (for the joint trainer).
  at::Tensor forward_ab(const at::Tensor& a);
  at::Tensor forward_ba(const at::Tensor& b);
  /// Mean absolute error (data units) of the cycle reconstructions G_B->A(G_A->B(a)) of a and
  /// G_A->B(G_B->A(b)) of b.
  double cycle_error_a(const at::Tensor& a);
  double cycle_error_b(const at::Tensor& b);
  /// The generators' parameters (both), and whether the optimiser may change them.
  std::vector<at::Tensor> generator_parameters() const;
  void set_generators_trainable(bool trainable);

  /// Everything needed to resume: weights, optimiser moments, pools, scaling, the step count.
  void save(const std::string& path) const;
  static CycleGAN load(const std::string& path);
  const std::vector<int64_t>& image_shape() const;
  const CycleGANOptions& options() const;
  uint64_t seed() const;
  /// Parameter counts of one generator and one discriminator.
  std::pair<int64_t, int64_t> parameter_counts() const;

 private:
  explicit CycleGAN(std::unique_ptr<CycleGANState> state);
  std::unique_ptr<CycleGANState> s_;
};

/// Checks a CycleGANOptions (every number in range, gan known); Error naming the field.
void check_cyclegan_options(const CycleGANOptions& o);
/// Every field of `o` as one JSON object's text (checkpoint fingerprints, summaries).
std::string cyclegan_options_text(const CycleGANOptions& o);

}  // namespace rebalance::generative
