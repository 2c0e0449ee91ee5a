// The generative models as samplers: VAEOverSampler and MGVAEOverSampler sit behind the same
// Sampler interface and string factory as SMOTE, so the CLI, experiment configs and tests use
// them like any other over-sampler ("vae:latent=20,epochs=200", "mgvae:ewc_lambda=5e6").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "rebalance/generative/cyclegan.hpp"
#include "rebalance/generative/stargan.hpp"
#include "rebalance/generative/vae.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance::generative {

/// batch_size <= 0 in the sampler options means "auto": the model's default batch, lowered to
/// the class's row count when the class is smaller. An explicit batch_size larger than a class
/// is an error naming the class and both numbers.
/// The step floors the samplers' epoch budgets get by default ("min_steps=auto"), chosen on
/// bench/levers_fashion.toml (README): a 40-image class at batch 32 trains 2000 steps, not 200.
inline constexpr int64_t kVaeMinSteps = 2000;
inline constexpr int64_t kMgvaeFinetuneMinSteps = 1000;

/// What a generative sampler offers after fit_resample besides its rows: more rows of a class
/// from the networks it trained (without training again), and each network as a function of one
/// tensor, which rebalance.torch traces into TorchScript.
///
///   auto s = make_sampler("vae");
///   s->fit_resample(train);
///   auto& g = dynamic_cast<FittedGenerator&>(*s);
///   at::Tensor more = g.sample_class(train, 1, 500, /*draw=*/1, nullptr);
class FittedGenerator {
 public:
  virtual ~FittedGenerator() = default;
  /// n new rows of class `cls`, made as fit_resample made its rows, shaped as data.x's rows
  /// ([n, features...]). `data` must be the data fit_resample saw. Draw 0 repeats fit_resample's
  /// choice of source rows, draw k > 0 makes a fresh one (the VAEs' noise always moves on).
  /// `parents` (if given) receives the row of `data` each new row was made from (-1: none).
  virtual at::Tensor sample_class(const Dataset& data, int64_t cls, int64_t n, uint64_t draw,
                                  std::vector<int64_t>* parents) = 0;
  /// The classes fit_resample trained a network for, in order.
  virtual std::vector<int64_t> fitted_classes() const = 0;
  /// The network behind class `cls` as a function, in data units, with gradients when wanted:
  /// the VAEs' decoders take codes z [n, latent], the GANs' generators images [n, C, H, W].
  virtual at::Tensor network(int64_t cls, const at::Tensor& input) = 0;
  /// The latent size when network() takes codes; 0 when it takes images.
  virtual int64_t network_latent(int64_t cls) const = 0;
  /// The tensors network(cls) reads (weights and buffers; the same storage, not copies), so a
  /// tracer can hold them as a module's state rather than as constants.
  virtual std::vector<at::Tensor> network_tensors(int64_t cls) const = 0;
  /// Whether the networks' weights want gradients (false before tracing them for export).
  virtual void set_trainable(bool on) = 0;
};

struct VAEOverSamplerOptions {
  VAEOptions vae{.net = {},
                 .train = {.epochs = 100, .batch_size = 0, .lr = 1e-3, .kl_weight = 1.0, .steps = 0,
                           .min_steps = kVaeMinSteps}};
  /// false: one VAE per class to grow, trained on that class only (seed 000's approach 2);
  /// true: one class-conditional VAE trained on every row, sampled per class (long-tailed data).
  bool conditional = false;
  /// posterior: decode around the class's real rows, z = mu(x) + perturb * sigma(x) * eps (each
  /// new row's parents[0] is the real row it was drawn around); prior: decode z ~ N(0, I).
  std::string sample = "posterior";
  double perturb = 1.0;
  /// >= 1: generate filter * n candidates and keep the n that a logistic regression fitted on
  /// the real rows (the class against the rest) scores most like the class; 0: keep all.
  double filter = 0.0;
};

/// Seed 000's approach 2: fit a VAE on the rows of each class to grow and add decoded samples
/// until the class reaches its target count: around its real rows (sample=posterior, the
/// default; parents[0] names the row) or from the prior z ~ N(0, I) (sample=prior, seed 000's;
/// no parents). New rows have origin -1.
///
///   auto s = make_sampler("vae:latent=20,epochs=200");
///   Dataset balanced = s->fit_resample(train);   // 5000 / 100 -> 5000 / 5000
class VAEOverSampler final : public Sampler, public FittedGenerator {
 public:
  explicit VAEOverSampler(VAEOverSamplerOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);
  ~VAEOverSampler() override;
  const VAEOverSamplerOptions& options() const { return options_; }
  /// The mean squared reconstruction error of rows `x` of class `cls` under the VAE the last
  /// fit_resample trained for that class; NaN if it trained none.
  double reconstruction_error(int64_t cls, const at::Tensor& x) const;
  at::Tensor sample_class(const Dataset& data, int64_t cls, int64_t n, uint64_t draw,
                          std::vector<int64_t>* parents) override;
  std::vector<int64_t> fitted_classes() const override;
  at::Tensor network(int64_t cls, const at::Tensor& input) override;
  int64_t network_latent(int64_t cls) const override;
  std::vector<at::Tensor> network_tensors(int64_t cls) const override;
  void set_trainable(bool on) override;

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  VAE& fitted_for(int64_t cls) const;
  VAEOverSamplerOptions options_;
  std::map<int64_t, std::shared_ptr<VAE>> fitted_;  ///< by class; -1: the conditional VAE
  std::vector<int64_t> grown_;  ///< the classes the last fit_resample grew
};

struct MGVAEOverSamplerOptions {
  /// finetune.batch_size <= 0: auto (see above)
  MGVAEOptions mgvae = [] {
    MGVAEOptions o;
    o.finetune.min_steps = kMgvaeFinetuneMinSteps;
    return o;
  }();
  bool pretrain = true;              ///< false: the "no pre-training" ablation
  std::string majority = "auto";     ///< the guiding class (name or number); auto: the largest
  double filter = 0.0;               ///< as VAEOverSamplerOptions::filter
};

/// Majority-guided VAE over-sampling (Ai et al., AISTATS 2023; seed 003). Pre-train once on the
/// majority class against its own mixture prior, estimate the Fisher, then for each class to grow
/// fine-tune a copy on that class with EWC and translate majority rows into new rows of it:
///   x_new = decode(z),  z ~ N(mu(x+), sigma^2 I),  x+ a majority row.
/// Each new row's parents are (that majority row, -1), so provenance points at the majority.
///
///   auto s = make_sampler("mgvae:latent=10,ewc_lambda=5e6");
///   Dataset balanced = s->fit_resample(train);
///   // balanced.parents[i][0] is the majority row that synthetic row i was translated from
class MGVAEOverSampler final : public Sampler, public FittedGenerator {
 public:
  explicit MGVAEOverSampler(MGVAEOverSamplerOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);
  ~MGVAEOverSampler() override;
  const MGVAEOverSamplerOptions& options() const { return options_; }
  /// As VAEOverSampler's: under the model the last fit_resample fine-tuned for class `cls`.
  double reconstruction_error(int64_t cls, const at::Tensor& x) const;
  at::Tensor sample_class(const Dataset& data, int64_t cls, int64_t n, uint64_t draw,
                          std::vector<int64_t>* parents) override;
  std::vector<int64_t> fitted_classes() const override;
  at::Tensor network(int64_t cls, const at::Tensor& input) override;
  int64_t network_latent(int64_t cls) const override;
  std::vector<at::Tensor> network_tensors(int64_t cls) const override;
  void set_trainable(bool on) override;

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  MGVAE& fitted_for(int64_t cls) const;
  MGVAEOverSamplerOptions options_;
  std::map<int64_t, std::shared_ptr<MGVAE>> fitted_;
  std::vector<int64_t> grown_;  ///< the classes the last fit_resample grew
};

struct CycleGANOverSamplerOptions {
  CycleGANOptions gan;
  std::string majority = "auto";  ///< domain A, the class translated from (name or number); auto: the largest
};

/// Seed 004's generator as a sampler (Sahoo et al., ECCV 2020 workshops; Zhu et al., ICCV 2017):
/// for each class to grow, a CycleGAN between the majority class (domain A) and that class (B),
/// then majority images translated by G_A->B until the class reaches its target. Each new row's
/// parents are (the majority row it was translated from, -1). Images only ([C, H, W]).
///
///   auto s = make_sampler("cyclegan:steps=500,decay_steps=500");
///   Dataset balanced = s->fit_resample(train);   // parents[i][0]: the translated majority row
class CycleGANOverSampler final : public Sampler, public FittedGenerator {
 public:
  explicit CycleGANOverSampler(CycleGANOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                               uint64_t seed = 0);
  ~CycleGANOverSampler() override;
  const CycleGANOverSamplerOptions& options() const { return options_; }
  /// The CycleGAN the last fit_resample trained for class `cls` (nullptr if none).
  std::shared_ptr<CycleGAN> fitted(int64_t cls) const;
  at::Tensor sample_class(const Dataset& data, int64_t cls, int64_t n, uint64_t draw,
                          std::vector<int64_t>* parents) override;
  std::vector<int64_t> fitted_classes() const override;
  at::Tensor network(int64_t cls, const at::Tensor& input) override;
  int64_t network_latent(int64_t) const override { return 0; }
  std::vector<at::Tensor> network_tensors(int64_t cls) const override;
  void set_trainable(bool on) override;

 private:
  int64_t major_ = -1;
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  CycleGANOverSamplerOptions options_;
  std::map<int64_t, std::shared_ptr<CycleGAN>> fitted_;
  std::vector<int64_t> grown_;  ///< the classes the last fit_resample grew
};

struct StarGANOverSamplerOptions {
  StarGANOptions gan;
  std::string majority = "auto";  ///< the class translated from (name or number); auto: the largest
};

/// The multi-class alternative to one CycleGAN per class: one class-conditional StarGAN (Choi et
/// al., CVPR 2018) trained on every class at once, then majority images translated into each
/// class to grow until it reaches its target. Parents as the cyclegan sampler's: (the majority row
/// translated, -1). Images only ([C, H, W]); every class needs at least one image.
///
///   auto s = make_sampler("stargan:steps=2000,decay_steps=2000");
class StarGANOverSampler final : public Sampler, public FittedGenerator {
 public:
  explicit StarGANOverSampler(StarGANOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                              uint64_t seed = 0);
  ~StarGANOverSampler() override;
  const StarGANOverSamplerOptions& options() const { return options_; }
  /// The StarGAN the last fit_resample trained (nullptr if it trained none), and its majority class.
  std::shared_ptr<StarGAN> fitted() const { return fitted_; }
  int64_t fitted_majority() const { return major_; }
  at::Tensor sample_class(const Dataset& data, int64_t cls, int64_t n, uint64_t draw,
                          std::vector<int64_t>* parents) override;
  std::vector<int64_t> fitted_classes() const override;
  at::Tensor network(int64_t cls, const at::Tensor& input) override;
  int64_t network_latent(int64_t) const override { return 0; }
  std::vector<at::Tensor> network_tensors(int64_t cls) const override;
  void set_trainable(bool on) override;

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  StarGANOverSamplerOptions options_;
  std::shared_ptr<StarGAN> fitted_;
  std::vector<int64_t> grown_;  ///< the classes the last fit_resample grew
  int64_t major_ = -1;
};

/// Each generator's parameters (its single declaration) and the one parser from them, used by its
/// sampler, `rebalance generate` and joint training alike.
struct DeepSMOTEOverSamplerOptions {
  DeepSMOTEOptions ae;
  int64_t k_neighbors = 5;
};

/// DeepSMOTE (Dablain, Krawczyk & Chawla, IEEE TNNLS 2022): one autoencoder trained on every row
/// (reconstruction plus the class penalty), then for each class to grow SMOTE among the codes of
/// its rows, decoded: x_new = decode(z_i + u (z_j - z_i)), z_j one of z_i's k nearest codes of the
/// class. Each new row's parents are (i, j), its two real rows, as SMOTE's.
///
///   auto s = make_sampler("deepsmote:latent=32,epochs=50");
class DeepSMOTEOverSampler final : public Sampler {
 public:
  explicit DeepSMOTEOverSampler(DeepSMOTEOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                                uint64_t seed = 0);
  ~DeepSMOTEOverSampler() override;
  const DeepSMOTEOverSamplerOptions& options() const { return options_; }
  /// The autoencoder the last fit_resample trained (nullptr before).
  std::shared_ptr<DeepSMOTEAutoencoder> autoencoder() const { return ae_; }

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  DeepSMOTEOverSamplerOptions options_;
  std::shared_ptr<DeepSMOTEAutoencoder> ae_;
};

const std::vector<ParamDecl>& deepsmote_params();
DeepSMOTEOverSamplerOptions deepsmote_options(const Params& params);
const std::vector<ParamDecl>& vae_params();
VAEOverSamplerOptions vae_options(const Params& params);
const std::vector<ParamDecl>& mgvae_params();
MGVAEOverSamplerOptions mgvae_options(const Params& params);
const std::vector<ParamDecl>& cyclegan_params();
CycleGANOverSamplerOptions cyclegan_options(const Params& params);
const std::vector<ParamDecl>& stargan_params();
StarGANOverSamplerOptions stargan_options(const Params& params);

/// The CycleGAN a "cyclegan:..." sampler would train for class `cls` of `data` (for `rebalance
/// generate`); `majority` receives domain A's class.
CycleGAN train_cyclegan_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed,
                                  int64_t* majority = nullptr);
/// Domain A's class for a "cyclegan:..." spec on `data` (majority=, or the largest class).
int64_t cyclegan_majority_class(const std::string& spec, const Dataset& data);

/// The reconstruction error of rows `x` of class `cls` under the generator `sampler` last
/// trained for it (VAEOverSampler, MGVAEOverSampler); NaN for samplers without an encoder.
double generator_reconstruction_error(const Sampler& sampler, int64_t cls, const at::Tensor& x);

/// The trained generator a sampler would use for class `cls` of `data` (for `rebalance
/// generate`, which saves it). `spec` is a "vae:..." factory string; `seed` as the sampler's.
VAE train_vae_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed);
/// The same for "mgvae:...": pre-trained on the guiding majority class, fine-tuned on `cls`.
/// `majority` receives the guiding class.
MGVAE train_mgvae_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed,
                            int64_t* majority = nullptr);
/// The guiding class an "mgvae:..." spec picks for `data` (majority=, or the largest class).
int64_t mgvae_majority_class(const std::string& spec, const Dataset& data);

/// The generator methods of `rebalance generate` (`vae`, `mgvae`) as `rebalance methods
/// generators` lists them: the samplers' own declarations, less sampling_strategy and seed (the
/// command takes --class, --count and --seed instead) and conditional (generate trains one class).
std::vector<MethodDoc> generator_docs();

}  // namespace rebalance::generative

namespace rebalance {

/// The generative samplers' declarations, appended to `out`
/// (src/experiment/registry.cpp assembles every family).
void add_generative_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance
