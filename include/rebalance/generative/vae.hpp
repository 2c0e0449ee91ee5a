// Generative oversampling models: a VAE trained on the minority class (seed 000), its
// class-conditional form, and the majority-guided VAE with EWC fine-tuning (MGVAE, seed 003).
//
//   VAE vae({.latent = 20, .epochs = 200}, {1, 28, 28});
//   vae.fit(minority_images);                       // [n, 1, 28, 28] in [0, 1]
//   at::Tensor fake = vae.sample(4900);             // [4900, 1, 28, 28]
//
//   MGVAE mg({}, {1, 28, 28});
//   mg.pretrain(majority);                          // stage 1: the majority against its own prior
//   mg.finetune(minority, majority);                // stage 2: EWC-regularised, majority prior
//   std::vector<int64_t> src;
//   at::Tensor fake = mg.generate(majority, 4900, &src);   // src[i]: majority row translated
//
// The header keeps libtorch's heavy headers out; the networks live in src/generative.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/rng.hpp"

namespace rebalance::generative {

// ---- ELBO pieces (per sample: [B] tensors), exposed for tests and reuse -----------------------

/// Bernoulli negative log-likelihood: sum over features of BCE(sigmoid(logits), x).
at::Tensor bernoulli_nll(const at::Tensor& logits, const at::Tensor& x);
/// Squared error summed over features: the reference MGVAE's "MSE" reconstruction term (a
/// unit-variance Gaussian's -2 log-likelihood less its constant).
at::Tensor squared_error(const at::Tensor& mean, const at::Tensor& x);
/// KL(N(mu, exp(logvar)) || N(0, I)) = 0.5 sum(mu^2 + exp(logvar) - 1 - logvar).
at::Tensor kl_standard_normal(const at::Tensor& mu, const at::Tensor& logvar);
/// log N(z; mu, exp(logvar) I) summed over dimensions; logvar broadcasts ([B, L], [L] or [1]).
at::Tensor log_normal(const at::Tensor& z, const at::Tensor& mu, const at::Tensor& logvar);
/// The majority-guided prior: log r(z) = logsumexp_k log N(z; centres_k, exp(logvar) I) - log K
/// for z [B, L], centres [K, L], logvar a scalar tensor ([1]).
at::Tensor mixture_log_prior(const at::Tensor& z, const at::Tensor& centres, const at::Tensor& logvar);
/// Elastic Weight Consolidation: lambda * sum_i F_i (theta_i - anchor_i)^2 (no 1/2, as the
/// reference MGVAE), a scalar tensor carrying gradients to `params`.
at::Tensor ewc_penalty(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& anchors,
                       const std::vector<at::Tensor>& fisher, double lambda);

/// Diagonal empirical Fisher: F_i = (1/n) sum_s (d loss_s / d theta_i)^2 over n samples, where
/// `sample_loss(s)` builds sample s's scalar loss from `params` (gradients are cleared after).
std::vector<at::Tensor> empirical_fisher(const std::vector<at::Tensor>& params, int64_t n,
                                         const std::function<at::Tensor(int64_t)>& sample_loss);

// ---- Options ---------------------------------------------------------------------------------

/// Network shape and likelihood, shared by VAE and MGVAE.
struct NetOptions {
  std::string arch = "auto";             ///< mlp, conv ([C, H, W] images, H and W multiples of 4), auto
  int64_t latent = 20;                   ///< latent dimensions (>= 1)
  std::vector<int64_t> hidden = {400};   ///< MLP encoder widths; the decoder mirrors them
  std::vector<int64_t> channels = {16, 32};  ///< conv encoder channels (two stride-2 layers)
  /// bernoulli (BCE; features must lie in [0, 1]), gaussian (squared error), or auto: bernoulli
  /// for [0, 1] data, gaussian otherwise (columns then standardised).
  std::string likelihood = "auto";
  /// diag: a log-variance head per input (the usual VAE); shared: one learned scalar
  /// log-variance, also the prior's (the reference MGVAE).
  std::string posterior = "diag";
};

struct TrainOptions {
  int64_t epochs = 100;
  int64_t batch_size = 100;
  double lr = 1e-3;
  double kl_weight = 1.0;
  /// > 0: the budget is this many optimiser steps (batches) instead of `epochs`, whatever the
  /// class's size (seed 000's reference: 1000 steps of 100 rows on a 100-row class).
  int64_t steps = 0;
  /// With an epoch budget (steps = 0): keep running whole epochs until at least this many steps
  /// are done, so a small class trains as long as a large one (40 rows at batch 32 are 2 steps
  /// an epoch: 100 epochs would be 200 steps).
  int64_t min_steps = 0;
};

struct VAEOptions {
  NetOptions net;
  TrainOptions train;
};

/// Defaults are the reference MGVAE's (Ai et al., AISTATS 2023; github.com/Aiqz/MGVAE): MLP
/// 784-300-300 encoder, latent 10, one learned log-variance, decoder 10-300-300-784 with a
/// sigmoid, squared-error likelihood, Adam lr 5e-3, batch 100, 10,000 exemplars per step with
/// gradients through their encodings, EWC lambda 5e6 from a Fisher of 100 samples.
struct MGVAEOptions {
  NetOptions net{.arch = "mlp", .latent = 10, .hidden = {300, 300}, .channels = {16, 32}, .likelihood = "gaussian",
                 .posterior = "shared"};
  TrainOptions pretrain{.epochs = 20, .batch_size = 100, .lr = 5e-3, .kl_weight = 1.0};
  TrainOptions finetune{.epochs = 100, .batch_size = 100, .lr = 5e-3, .kl_weight = 1.0};
  int64_t exemplars = 10000;      ///< majority exemplars in the prior per step (all if fewer)
  bool exemplar_grad = true;      ///< back-propagate through the exemplars' encodings
  double ewc_lambda = 5e6;        ///< 0: fine-tune without EWC
  int64_t fisher_samples = 100;   ///< samples whose squared gradients estimate F
  /// What the Fisher is estimated on: "translations" (the reference's: the model's own
  /// translations of the first fisher_samples majority rows, each with the full loss at batch 1)
  /// or "majority" (fisher_samples real majority rows drawn at random).
  std::string fisher_source = "translations";
};

struct FitLog {
  std::string stage;               ///< fit, pretrain, fisher or finetune
  std::vector<double> epoch_loss;  ///< mean negative ELBO (plus penalty) per epoch
  double seconds = 0.0;
};

/// Data-parallel training of the VAE and MGVAE across processes: every process runs the same
/// seeded steps on the same rows; each step's batch is cut into world_size contiguous shards, a
/// process's loss is its shard's scaled by the shard's share of the batch (its latent noise the
/// shard's rows of the whole batch's draw), and `sum` adds the gradients of every process in
/// place (an all-reduce; the communicator lives in train/distributed.hpp, reached by the caller),
/// so each process takes the step one process takes on the whole batch. Exact up to the order of
/// float sums for losses that average over the batch (every stage's, EWC's penalty included).
struct GradientSync {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::function<void(std::vector<at::Tensor>&)> sum;
};

/// While alive, generator training on this thread is data-parallel under `sync` (a scope, like
/// torch::NoGradGuard, rather than a parameter of every training entry point).
class DataParallelScope {
 public:
  explicit DataParallelScope(GradientSync sync);
  ~DataParallelScope();
  DataParallelScope(const DataParallelScope&) = delete;
  DataParallelScope& operator=(const DataParallelScope&) = delete;

 private:
  GradientSync sync_;
  const GradientSync* outer_;
};

class Core;  // network, data scaling and optimiser state (src/generative/core.hpp)

/// Variational auto-encoder (Kingma & Welling, ICLR 2014) trained on one class (seed 000's
/// approach 2), or class-conditional (num_classes > 0: one-hot labels join the encoder input
/// and the latent code) for multi-class long-tailed data.
class VAE {
 public:
  VAE(VAEOptions options, std::vector<int64_t> feature_shape, int64_t num_classes = 0, uint64_t seed = 0);
  ~VAE();
  VAE(VAE&&) noexcept;
  VAE& operator=(VAE&&) noexcept;

  /// x: [n, feature_shape...] float32; y: [n] labels in 0..num_classes-1 when conditional.
  FitLog fit(const at::Tensor& x, const at::Tensor& y = {});
  /// n new rows decoded from z ~ N(0, I) (decoder means), of class `cls` when conditional.
  at::Tensor sample(int64_t n, int64_t cls = -1);
  /// n new rows decoded around real rows: z = mu(x_i) + scale * sigma(x_i) * eps, x_i the rows of
  /// `x` in a seeded random order (cycling when n exceeds them). scale 1 samples the posterior,
  /// 0 decodes the posterior mean. `source` (if given) receives each row's i. `y`: x's labels
  /// when conditional.
  at::Tensor sample_around(const at::Tensor& x, int64_t n, double scale, std::vector<int64_t>* source = nullptr,
                           const at::Tensor& y = {});
  /// Decoder means (data units, shaped as the rows) for codes z: float32 [n, latent()], of class
  /// `cls` when conditional. With gradients when z or the weights want them; reads no size of z,
  /// so a traced copy (rebalance.torch's TorchScript export) takes any n.
  at::Tensor decode(const at::Tensor& z, int64_t cls = -1);
  int64_t latent() const;
  /// Whether the weights want gradients (false: frozen, e.g. before tracing for export).
  void set_trainable(bool on);
  /// The network's parameters and buffers (shared, not copies).
  std::vector<at::Tensor> network_tensors() const;
  /// Decoder mean at z = mu(x): the reconstruction.
  at::Tensor reconstruct(const at::Tensor& x, const at::Tensor& y = {});
  /// Mean squared reconstruction error per row (data units): lower is better.
  double reconstruction_error(const at::Tensor& x, const at::Tensor& y = {});

  /// Every training stage run since construction, in order (not saved with the model).
  const std::vector<FitLog>& history() const;

  void save(const std::string& path) const;
  static VAE load(const std::string& path);
  const std::vector<int64_t>& feature_shape() const;
  int64_t num_classes() const;

 private:
  explicit VAE(std::unique_ptr<Core> core);
  std::unique_ptr<Core> core_;
};

/// Majority-guided VAE. Stage 1 (`pretrain`) fits the majority with the mixture prior over
/// majority exemplars; the diagonal Fisher of that fit is then estimated from squared per-sample
/// gradients on fisher_samples of the model's translations of majority rows (the reference's) or
/// on real majority rows (fisher_source). Stage 2 (`finetune`)
/// fits the minority with the same prior (majority exemplars) plus the EWC penalty. Without
/// `pretrain` it is the "no pre-training" ablation; ewc_lambda = 0 is "no EWC".
class MGVAE {
 public:
  MGVAE(MGVAEOptions options, std::vector<int64_t> feature_shape, uint64_t seed = 0);
  ~MGVAE();
  MGVAE(MGVAE&&) noexcept;
  MGVAE& operator=(MGVAE&&) noexcept;
  /// A copy with its own network (for fine-tuning one pre-trained model per minority class).
  MGVAE clone() const;

  FitLog pretrain(const at::Tensor& majority);
  /// Stage 2's batch size (a sampler picks it per class, after pre-training).
  void set_finetune_batch_size(int64_t batch_size);
  FitLog finetune(const at::Tensor& minority, const at::Tensor& majority);
  /// n rows, each translated from a majority row: z ~ N(mu(x+), sigma^2 I), decoder mean.
  /// `source` (if given) receives the majority row (position in `majority`) of each.
  at::Tensor generate(const at::Tensor& majority, int64_t n, std::vector<int64_t>* source = nullptr);
  /// As VAE::decode (MGVAE is unconditional).
  at::Tensor decode(const at::Tensor& z);
  int64_t latent() const;
  void set_trainable(bool on);
  std::vector<at::Tensor> network_tensors() const;
  at::Tensor reconstruct(const at::Tensor& x);
  double reconstruction_error(const at::Tensor& x);
  /// The diagonal Fisher estimate (one tensor per parameter); empty before pretrain().
  const std::vector<at::Tensor>& fisher() const;
  /// The rows (data units, [m, D]) the last Fisher estimate scored; undefined before pretrain.
  at::Tensor fisher_inputs() const;

  /// Every training stage run since construction, in order (not saved with the model).
  const std::vector<FitLog>& history() const;

  void save(const std::string& path) const;
  static MGVAE load(const std::string& path);
  const std::vector<int64_t>& feature_shape() const;

 private:
  explicit MGVAE(std::unique_ptr<Core> core);
  std::unique_ptr<Core> core_;
};

struct DeepSMOTEOptions {
  NetOptions net{.latent = 32};
  TrainOptions train{.epochs = 50, .batch_size = 100, .lr = 2e-4, .kl_weight = 0.0, .steps = 0, .min_steps = 1000};
  /// Weight of the class penalty term (1 in Dablain et al.).
  double penalty = 1.0;
  /// Rows of the class the penalty decodes each step (at most; Dablain et al.: 100).
  int64_t penalty_rows = 100;
};

/// DeepSMOTE's autoencoder (Dablain, Krawczyk & Chawla, "DeepSMOTE: Fusing Deep Learning and
/// SMOTE for Imbalanced Data", IEEE TNNLS 2022) on the VAE's networks, deterministic: the code of a
/// row is the encoder's mean. Trained on every row with the squared reconstruction error plus the
/// class penalty: each step also decodes the codes of up to `penalty_rows` rows of one class drawn
/// at random, the codes detached from the encoder (the paper's permutation pairs each code with
/// its own row), against those rows.
class DeepSMOTEAutoencoder {
 public:
  DeepSMOTEAutoencoder(DeepSMOTEOptions options, std::vector<int64_t> feature_shape, uint64_t seed = 0);
  ~DeepSMOTEAutoencoder();
  DeepSMOTEAutoencoder(DeepSMOTEAutoencoder&&) noexcept;
  DeepSMOTEAutoencoder& operator=(DeepSMOTEAutoencoder&&) noexcept;
  /// x: [n, feature_shape...]; y: [n] class of each row (the penalty's classes).
  FitLog fit(const at::Tensor& x, const at::Tensor& y);
  /// Codes [n, latent] of rows x (no gradient).
  at::Tensor encode(const at::Tensor& x);
  /// Rows (data units, shaped as the training rows) decoded from codes z: float32 [n, latent].
  at::Tensor decode(const at::Tensor& z);
  int64_t latent() const;
  void set_trainable(bool on);
  std::vector<at::Tensor> network_tensors() const;
  double reconstruction_error(const at::Tensor& x);
  const std::vector<FitLog>& history() const;

 private:
  std::unique_ptr<Core> core_;
  DeepSMOTEOptions options_;
};

/// SMOTE in a latent space: n codes z = z_i + u (z_j - z_i), z_i a row of `codes` drawn uniformly,
/// z_j one of its k nearest other rows (Euclidean) drawn uniformly, u ~ U[0, 1). `base`,
/// `neighbour` and `gap` (if given) receive i, j and u of each new code. codes: [m, L], m >= 2.
at::Tensor latent_smote(const at::Tensor& codes, int64_t n, int64_t k, Rng& rng, std::vector<int64_t>* base = nullptr,
                        std::vector<int64_t>* neighbour = nullptr, std::vector<double>* gap = nullptr);

/// "vae" or "mgvae": the kind a saved generator file holds (Error if not a generator file).
std::string saved_generator_kind(const std::string& path);

}  // namespace rebalance::generative
