// StarGAN (Choi et al., CVPR 2018): one class-conditional image-to-image generator for every
// class at once, the alternative to one CycleGAN per minority class in seed 004's multi-class
// extension. The generator G(x, c) reads the target class c as K constant input channels and as
// class-conditional scales and shifts of two normalised feature maps (instance normalisation
// would otherwise erase a constant channel); the discriminator has a real/fake PatchGAN head and
// a K-way class head:
//
//   L_D = GAN(D_src(x), real) / 2 + GAN(D_src(G(x, c)), fake) / 2 + lambda_cls CE(D_cls(x), c_x)
//   L_G = GAN(D_src(G(x, c)), real) + lambda_cls CE(D_cls(G(x, c)), c)
//         + lambda_rec |G(G(x, c), c_x) - x|_1 [+ alpha |G(x, c_x) - x|_1] [+ the hook's term]
//
//   StarGAN gan({.steps = 1000, .decay_steps = 1000}, {1, 28, 28}, /*classes=*/10, /*seed=*/0);
//   gan.fit(x, y);                                   // images [n, 1, 28, 28], labels [n]
//   at::Tensor fake = gan.translate(majority_rows, 7);  // as class 7
//
// Departures from the paper, stated: least-squares (or log) adversarial loss as the CycleGAN here
// instead of WGAN-GP, one discriminator step per generator step, networks narrowed for 28x28 on 2
// cores, and training batches balanced over the classes (each row's class drawn uniformly, its
// target uniformly among the other classes) so a long tail's rare classes are seen as often as
// the head. The header keeps libtorch's heavy headers out.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rebalance/generative/translator.hpp"

namespace rebalance::generative {

/// Defaults: StarGAN's where they fit the budget (Adam 1e-4, betas (0.5, 0.999), lambda_cls 1,
/// lambda_rec 10, batches of 16, constant then linearly decayed learning rate), networks as the
/// CycleGAN here (16 base filters, 4 residual blocks), 1000 + 1000 steps.
struct StarGANOptions {
  int64_t ngf = 16;               ///< generator base filters (StarGAN: 64)
  int64_t ndf = 16;               ///< discriminator base filters (StarGAN: 64)
  int64_t blocks = 4;             ///< residual blocks (StarGAN: 6)
  /// Discriminator stride-2 layers; 0: auto, 2 below 64 pixels, 3 below 128, else 4. H and W
  /// must be multiples of 2^layers.
  int64_t d_layers = 0;
  std::string gan = "lsgan";      ///< lsgan or log
  double cls_weight = 1.0;        ///< lambda_cls
  double rec_weight = 10.0;       ///< lambda_rec, the cycle G(G(x, c), c_x) ~ x
  double identity_weight = 0.0;   ///< identity term as a multiple of rec_weight (StarGAN: none)
  double lr = 1e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  int64_t batch_size = 16;        ///< images per step
  int64_t steps = 1000;           ///< steps at the constant learning rate
  int64_t decay_steps = 1000;     ///< steps over which it then falls linearly to 0
};

struct StarGANLog {
  int64_t steps = 0;
  double generator_adv = 0, classification = 0, reconstruction = 0, identity = 0, extra = 0;  ///< weighted
  double discriminator = 0, discriminator_cls = 0;  ///< D's adversarial and (unweighted) class terms
  double seconds = 0;
};

/// An extra term for the generator's objective, given one step's rows in data units: the real
/// images and their classes, their translations (with gradients into G) and the target classes.
using StarGANHook = std::function<at::Tensor(const at::Tensor& real, const at::Tensor& real_class,
                                             const at::Tensor& fake, const at::Tensor& fake_class)>;

class StarGANState;

class StarGAN {
 public:
  StarGAN(StarGANOptions options, std::vector<int64_t> image_shape, int64_t classes, uint64_t seed = 0);
  ~StarGAN();
  StarGAN(StarGAN&&) noexcept;
  StarGAN& operator=(StarGAN&&) noexcept;

  /// Train on images x [n, C, H, W] with classes y [n] in [0, classes) for `steps` more steps
  /// (-1: until steps + decay_steps are done). Every class needs at least one image.
  StarGANLog fit(const at::Tensor& x, const at::Tensor& y, int64_t steps = -1, const StarGANHook& hook = {});
  int64_t steps_done() const;
  int64_t total_steps() const;
  const std::vector<StarGANLog>& history() const;

  /// Images x translated into class `target` (data units, no gradients, in batches).
  at::Tensor translate(const at::Tensor& x, int64_t target);
  /// The same with gradients into the generator, one target per row.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& target);
  /// Mean absolute error (data units) of G(G(x, target), source) against x.
  double cycle_error(const at::Tensor& x, int64_t source, int64_t target);
  /// The pair (a, b) as an ImageTranslator: translate_ab = G(., b), translate_ba = G(., a).
  static std::shared_ptr<ImageTranslator> pair(std::shared_ptr<StarGAN> gan, int64_t a, int64_t b);

  std::vector<at::Tensor> generator_parameters() const;
  void set_generator_trainable(bool trainable);

  void save(const std::string& path) const;
  static StarGAN load(const std::string& path);
  const std::vector<int64_t>& image_shape() const;
  int64_t classes() const;
  const StarGANOptions& options() const;
  /// Parameter counts of the generator and the discriminator.
  std::pair<int64_t, int64_t> parameter_counts() const;

 private:
  explicit StarGAN(std::unique_ptr<StarGANState> state);
  std::unique_ptr<StarGANState> s_;
};

void check_stargan_options(const StarGANOptions& o);
std::string stargan_options_text(const StarGANOptions& o);

}  // namespace rebalance::generative
