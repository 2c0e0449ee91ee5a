// VAE, class-conditional VAE and MGVAE on libtorch. One Core holds what both models share: the
// network, the data scaling, the seeded noise source and the training loop.
#include "rebalance/generative/vae.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/progress.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::generative {

namespace {
constexpr std::string_view kGeneratorMagic = "REBALANCE-GENERATOR 1\n";
}  // namespace

constexpr double kLog2Pi = 1.8378770664093453;

at::Tensor bernoulli_nll(const at::Tensor& logits, const at::Tensor& x) {
  return torch::binary_cross_entropy_with_logits(logits.flatten(1), x.flatten(1), {}, {}, at::Reduction::None).sum(1);
}

at::Tensor squared_error(const at::Tensor& mean, const at::Tensor& x) {
  return (mean.flatten(1) - x.flatten(1)).pow(2).sum(1);
}

at::Tensor kl_standard_normal(const at::Tensor& mu, const at::Tensor& logvar) {
  const auto lv = logvar.expand_as(mu);
  return 0.5 * (mu.pow(2) + lv.exp() - 1.0 - lv).sum(1);
}

at::Tensor log_normal(const at::Tensor& z, const at::Tensor& mu, const at::Tensor& logvar) {
  const auto lv = logvar.expand_as(z);
  return -0.5 * (kLog2Pi + lv + (z - mu).pow(2) * torch::exp(-lv)).sum(1);
}

at::Tensor mixture_log_prior(const at::Tensor& z, const at::Tensor& centres, const at::Tensor& logvar) {
  REBALANCE_CHECK(z.dim() == 2 && centres.dim() == 2 && z.size(1) == centres.size(1),
                  "mixture_log_prior: z [B, L] and centres [K, L] expected, got {} and {} dimensions", z.dim(),
                  centres.dim());
  REBALANCE_CHECK(centres.size(0) >= 1, "mixture_log_prior: no exemplars");
  const int64_t latent = z.size(1), k = centres.size(0);
  // |z - c|^2 through one matrix product; clamped at 0 against rounding.
  const auto d2 = (z.pow(2).sum(1, true) + centres.pow(2).sum(1).unsqueeze(0) - 2.0 * z.matmul(centres.t())).clamp_min(0);
  const auto lv = logvar.reshape({});
  const auto logp = -0.5 * (latent * (kLog2Pi + lv) + d2 * torch::exp(-lv));
  return torch::logsumexp(logp, 1) - std::log(static_cast<double>(k));
}

at::Tensor ewc_penalty(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& anchors,
                       const std::vector<at::Tensor>& fisher, double lambda) {
  REBALANCE_CHECK(params.size() == anchors.size() && params.size() == fisher.size(),
                  "ewc_penalty: {} parameters, {} anchors, {} Fisher terms", params.size(), anchors.size(),
                  fisher.size());
  REBALANCE_CHECK(!params.empty(), "ewc_penalty: no parameters");
  at::Tensor total = torch::zeros({}, params.front().options());
  for (size_t i = 0; i < params.size(); ++i) total = total + (fisher[i] * (params[i] - anchors[i]).pow(2)).sum();
  return lambda * total;
}

std::vector<at::Tensor> empirical_fisher(const std::vector<at::Tensor>& params, int64_t n,
                                         const std::function<at::Tensor(int64_t)>& sample_loss) {
  REBALANCE_CHECK(n >= 1, "empirical_fisher: needs at least one sample, got {}", n);
  std::vector<at::Tensor> fisher;
  for (const auto& p : params) fisher.push_back(torch::zeros_like(p).detach());
  auto clear = [&] {
    for (auto p : params) p.mutable_grad() = at::Tensor();
  };
  for (int64_t s = 0; s < n; ++s) {
    clear();
    sample_loss(s).backward();
    torch::NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].grad().defined()) fisher[i] += params[i].grad().pow(2);
  }
  clear();
  for (auto& f : fisher) f /= static_cast<double>(n);
  return fisher;
}

// ---- the network ------------------------------------------------------------------------------

struct NetImpl : torch::nn::Module {
  NetImpl(const NetOptions& o, const std::vector<int64_t>& shape, int64_t num_classes, bool conv, bool prior_logvar)
      : conv(conv), num_classes(num_classes), latent(o.latent), diag(o.posterior == "diag") {
    d = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
    int64_t feat = 0;
    if (conv) {
      c = shape[0], h = shape[1], w = shape[2];
      const int64_t c0 = o.channels[0], c1 = o.channels[1];
      // 5x5 stride-2 layers as the seed 000 reference: H -> H/2 -> H/4, and back.
      enc_conv = register_module(
          "enc_conv", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c0, 5).stride(2).padding(2)),
                                            torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                                            torch::nn::Conv2d(torch::nn::Conv2dOptions(c0, c1, 5).stride(2).padding(2)),
                                            torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2))));
      feat = c1 * (h / 4) * (w / 4);
      dec_fc = register_module("dec_fc", torch::nn::Linear(latent + num_classes, feat));
      dec_conv = register_module(
          "dec_conv",
          torch::nn::Sequential(
              torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c1, c0, 5).stride(2).padding(2).output_padding(1)),
              torch::nn::ReLU(),
              torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(c0, c, 5).stride(2).padding(2).output_padding(1))));
      c_last = c1;
    } else {
      enc_mlp = register_module("enc_mlp", torch::nn::Sequential());
      int64_t in = d + num_classes;
      for (auto width : o.hidden) {
        enc_mlp->push_back(torch::nn::Linear(in, width));
        enc_mlp->push_back(torch::nn::ReLU());
        in = width;
      }
      feat = in;  // labels already joined the input
      dec_mlp = register_module("dec_mlp", torch::nn::Sequential());
      int64_t din = latent + num_classes;
      for (auto it = o.hidden.rbegin(); it != o.hidden.rend(); ++it) {
        dec_mlp->push_back(torch::nn::Linear(din, *it));
        dec_mlp->push_back(torch::nn::ReLU());
        din = *it;
      }
      dec_mlp->push_back(torch::nn::Linear(din, d));
    }
    const int64_t head_in = conv ? feat + num_classes : feat;
    mu_head = register_module("mu_head", torch::nn::Linear(head_in, latent));
    if (diag) lv_head = register_module("lv_head", torch::nn::Linear(head_in, latent));
    if (prior_logvar || !diag) log_var = register_parameter("log_var", torch::randn({1}));
  }

  /// (mu [B, L], logvar [B, L] or [1]) for x [B, shape...] and one-hot labels (or undefined).
  std::pair<at::Tensor, at::Tensor> encode(const at::Tensor& x, const at::Tensor& onehot) {
    at::Tensor hdn;
    if (conv) {
      hdn = enc_conv->forward(x.view({x.size(0), c, h, w})).flatten(1);
      if (num_classes) hdn = torch::cat({hdn, onehot}, 1);
    } else {
      hdn = x.view({x.size(0), d});
      if (num_classes) hdn = torch::cat({hdn, onehot}, 1);
      if (!enc_mlp->is_empty()) hdn = enc_mlp->forward(hdn);
    }
    return {mu_head->forward(hdn), diag ? lv_head->forward(hdn) : log_var};
  }

  /// Raw decoder output [B, D] (logits for a Bernoulli likelihood).
  at::Tensor decode(const at::Tensor& z, const at::Tensor& onehot) {
    const auto in = num_classes ? torch::cat({z, onehot}, 1) : z;
    if (conv) {
      auto t = torch::relu(dec_fc->forward(in)).view({-1, c_last, h / 4, w / 4});
      return dec_conv->forward(t).flatten(1);
    }
    return dec_mlp->forward(in);
  }

  bool conv;
  int64_t num_classes, latent, d = 0, c = 0, h = 0, w = 0, c_last = 0;
  bool diag;
  torch::nn::Sequential enc_conv{nullptr}, enc_mlp{nullptr}, dec_mlp{nullptr}, dec_conv{nullptr};
  torch::nn::Linear dec_fc{nullptr}, mu_head{nullptr}, lv_head{nullptr};
  at::Tensor log_var;
};
TORCH_MODULE(Net);

// ---- options as JSON (saved with the weights) ------------------------------------------------

namespace {

nlohmann::json to_json(const NetOptions& o) {
  return {{"arch", o.arch},         {"latent", o.latent},         {"hidden", o.hidden},
          {"channels", o.channels}, {"likelihood", o.likelihood}, {"posterior", o.posterior}};
}
NetOptions net_from_json(const nlohmann::json& j) {
  return {j.at("arch").get<std::string>(),       j.at("latent").get<int64_t>(),
          j.at("hidden").get<std::vector<int64_t>>(), j.at("channels").get<std::vector<int64_t>>(),
          j.at("likelihood").get<std::string>(), j.at("posterior").get<std::string>()};
}
nlohmann::json to_json(const TrainOptions& t) {
  nlohmann::json j = {{"epochs", t.epochs}, {"batch_size", t.batch_size}, {"lr", t.lr}, {"kl_weight", t.kl_weight}};
  if (t.steps > 0) j["steps"] = t.steps;  // files written before steps existed read as 0
  if (t.min_steps > 0) j["min_steps"] = t.min_steps;
  return j;
}
TrainOptions train_from_json(const nlohmann::json& j) {
  return {j.at("epochs").get<int64_t>(), j.at("batch_size").get<int64_t>(), j.at("lr").get<double>(),
          j.at("kl_weight").get<double>(), j.value("steps", int64_t(0)), j.value("min_steps", int64_t(0))};
}

std::string shape_text(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

void check_train(const TrainOptions& t, std::string_view what) {
  REBALANCE_CHECK(t.epochs >= 0, "{}: epochs must be >= 0, got {}", what, t.epochs);
  REBALANCE_CHECK(t.steps >= 0, "{}: steps must be >= 0 (0: the budget is epochs), got {}", what, t.steps);
  REBALANCE_CHECK(t.min_steps >= 0, "{}: min_steps must be >= 0, got {}", what, t.min_steps);
  REBALANCE_CHECK(t.batch_size >= 1, "{}: batch_size must be >= 1, got {}", what, t.batch_size);
  REBALANCE_CHECK(std::isfinite(t.lr) && t.lr > 0, "{}: lr must be > 0, got {}", what, t.lr);
  REBALANCE_CHECK(std::isfinite(t.kl_weight) && t.kl_weight >= 0, "{}: kl_weight must be >= 0, got {}", what,
                  t.kl_weight);
}

}  // namespace

// ---- Core ---------------------------------------------------------------------------------------

namespace {
thread_local const GradientSync* t_sync = nullptr;
const GradientSync* current_sync() { return t_sync; }
}  // namespace

DataParallelScope::DataParallelScope(GradientSync sync) : sync_(std::move(sync)), outer_(t_sync) { t_sync = &sync_; }
DataParallelScope::~DataParallelScope() { t_sync = outer_; }

class Core {
 public:
  Core(std::string kind, NetOptions net, std::vector<int64_t> shape, int64_t num_classes, uint64_t seed)
      : kind(std::move(kind)), net(std::move(net)), shape(std::move(shape)), num_classes(num_classes), seed(seed) {
    const std::string who = this->kind == "vae" ? "VAE" : "MGVAE";
    REBALANCE_CHECK(!this->shape.empty(), "{}: empty feature shape", who);
    for (auto s : this->shape) REBALANCE_CHECK(s >= 1, "{}: feature shape {} has an empty dimension", who, shape_text(this->shape));
    REBALANCE_CHECK(this->net.latent >= 1, "{}: latent must be >= 1 (the size of the code z), got {}", who,
                    this->net.latent);
    REBALANCE_CHECK(this->net.likelihood == "auto" || this->net.likelihood == "bernoulli" ||
                        this->net.likelihood == "gaussian",
                    "{}: likelihood must be auto, bernoulli or gaussian, got \"{}\"", who, this->net.likelihood);
    REBALANCE_CHECK(this->net.posterior == "diag" || this->net.posterior == "shared",
                    "{}: posterior must be diag or shared, got \"{}\"", who, this->net.posterior);
    for (auto v : this->net.hidden) REBALANCE_CHECK(v >= 1, "{}: hidden widths must be >= 1, got {}", who, v);
    const bool image = this->shape.size() == 3;
    if (this->net.arch == "auto") {
      conv = image && this->shape[1] % 4 == 0 && this->shape[2] % 4 == 0;
    } else if (this->net.arch == "conv") {
      REBALANCE_CHECK(image, "{}: arch=conv needs image rows [C, H, W], but the rows are tabular {}; use arch=mlp",
                      who, shape_text(this->shape));
      REBALANCE_CHECK(this->shape[1] % 4 == 0 && this->shape[2] % 4 == 0,
                      "{}: arch=conv needs H and W that are multiples of 4 (two stride-2 layers), got {}; use arch=mlp",
                      who, shape_text(this->shape));
      conv = true;
    } else {
      REBALANCE_CHECK(this->net.arch == "mlp", "{}: arch must be mlp, conv or auto, got \"{}\"", who, this->net.arch);
    }
    if (conv)
      REBALANCE_CHECK(this->net.channels.size() == 2 && this->net.channels[0] >= 1 && this->net.channels[1] >= 1,
                      "{}: channels must be two positive numbers, got {}", who, shape_text(this->net.channels));
    torch::manual_seed(seed);  // initial weights
    model = Net(this->net, this->shape, num_classes, conv, this->kind == "mgvae");
    gen = at::detail::createCPUGenerator(Rng(seed).fork(streams::kVaeSampling).next_u64() >> 1);
  }

  std::string who() const { return kind == "vae" ? "VAE" : kind == "mgvae" ? "MGVAE" : "DeepSMOTE"; }
  int64_t dim() const { return std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>()); }

  /// Rows as [n, D] float32 on the CPU, after checking their shape against the model's.
  at::Tensor rows2d(const at::Tensor& x, std::string_view what) const {
    REBALANCE_CHECK(x.defined() && x.dim() >= 1, "{}: {} is empty", who(), what);
    auto s = x.sizes().vec();
    s.erase(s.begin());
    const bool same = s == shape || (s.size() == 1 && s[0] == dim() && shape.size() == 1);
    REBALANCE_CHECK(same,
                    "{}: {} has rows of shape {}, but this generator was built for rows of shape {} (images and "
                    "tabular rows, or data of another shape, cannot be mixed)",
                    who(), what, shape_text(s), shape_text(shape));
    return x.to(torch::kCPU, torch::kFloat32).reshape({x.size(0), dim()}).contiguous();
  }

  /// Fix the data scaling from the first training data: [0, 1] data stays as is (sigmoid
  /// decoder), anything else is standardised per column (linear decoder).
  void fit_scaling(const at::Tensor& x2d) {
    if (scaled) return;
    REBALANCE_CHECK(torch::isfinite(x2d).all().item<bool>(), "{}: the training rows hold NaN or infinite values", who());
    const double lo = x2d.min().item<double>(), hi = x2d.max().item<double>();
    unit = lo >= 0.0 && hi <= 1.0;
    bernoulli = net.likelihood == "bernoulli" || (net.likelihood == "auto" && unit);
    REBALANCE_CHECK(!bernoulli || unit,
                    "{}: likelihood=bernoulli needs features in [0, 1], but they range over [{}, {}]; use "
                    "likelihood=gaussian (columns are then standardised)",
                    who(), lo, hi);
    if (!unit) {
      scale_mean = x2d.to(torch::kFloat64).mean(0).to(torch::kFloat32);
      scale_sd = x2d.to(torch::kFloat64).std(0, /*unbiased=*/false).to(torch::kFloat32);
      scale_sd = torch::where(scale_sd > 1e-12, scale_sd, torch::ones_like(scale_sd));
    }
    scaled = true;
  }
  at::Tensor to_model(const at::Tensor& x2d) const { return unit ? x2d : (x2d - scale_mean) / scale_sd; }
  at::Tensor from_model(const at::Tensor& xm) const { return unit ? xm : xm * scale_sd + scale_mean; }
  at::Tensor from_output(const at::Tensor& raw) const {
    return unit ? torch::sigmoid(raw) : raw * scale_sd + scale_mean;
  }
  /// Decoder mean in model units.
  at::Tensor output_mean(const at::Tensor& raw) const { return unit ? torch::sigmoid(raw) : raw; }
  at::Tensor shaped(const at::Tensor& rows) const {
    auto s = shape;
    s.insert(s.begin(), rows.size(0));
    return rows.reshape(s).contiguous();
  }
  /// Decoder means in data units for codes z [n, latent] (class `cls` when conditional), shaped
  /// as the rows. No size of z is read on the way (a traced copy takes any n).
  at::Tensor decode_data(const at::Tensor& z, int64_t cls) {
    REBALANCE_CHECK(scaled, "{}: not trained yet", who());
    REBALANCE_CHECK(z.dim() == 2 && z.size(1) == net.latent && z.scalar_type() == torch::kFloat32,
                    "{}: codes z must be float32 [n, {}], got {} [{}]", who(), net.latent,
                    c10::toString(z.scalar_type()), fmt::join(z.sizes(), ", "));
    REBALANCE_CHECK(num_classes == 0 || (cls >= 0 && cls < num_classes),
                    "{}: a class-conditional VAE decodes a class in 0..{}, got {}", who(), num_classes - 1, cls);
    model->eval();
    at::Tensor oh;
    // zeros [n, 1] + [1, C]: the one-hot rows broadcast to z's rows without reading n.
    if (num_classes)
      oh = torch::zeros_like(z.narrow(1, 0, 1)) + torch::one_hot(torch::full({1}, cls, torch::kInt64), num_classes).to(z.device(), torch::kFloat32);
    auto s = shape;
    s.insert(s.begin(), -1);
    return from_output(model->decode(z, oh)).reshape(s);
  }
  /// The network's parameters and buffers (shared), and whether the weights want gradients.
  std::vector<at::Tensor> network_tensors() const {
    auto t = model->parameters();
    for (auto& b : model->buffers()) t.push_back(b);
    return t;
  }
  void set_trainable(bool on) {
    for (auto& p : model->parameters()) p.set_requires_grad(on);
  }
  at::Tensor onehot(const at::Tensor& y) const {
    if (!num_classes) return {};
    return torch::one_hot(y, num_classes).to(torch::kFloat32);
  }

  at::Tensor reconstruction_term(const at::Tensor& raw, const at::Tensor& xm) const {
    return bernoulli ? bernoulli_nll(raw, xm) : squared_error(output_mean(raw), xm);
  }
  /// Latent noise for `rows` rows. In a data-parallel step (shard_rows > 0) the whole batch's
  /// noise is drawn, so the generator advances as on one process, and this shard's rows returned.
  at::Tensor noise(int64_t rows) {
    if (shard_rows == 0) return torch::randn({rows, net.latent}, gen, torch::kFloat32);
    const auto all = torch::randn({shard_rows, net.latent}, gen, torch::kFloat32);
    return all.slice(0, shard_from, shard_from + rows);
  }
  int64_t shard_rows = 0, shard_from = 0;

  /// Standard VAE negative ELBO per row: reconstruction + kl_weight * KL(q || N(0, I)).
  at::Tensor vae_loss(const at::Tensor& xm, const at::Tensor& oh, double kl_weight) {
    auto [mu, lv] = model->encode(xm, oh);
    const auto z = mu + torch::exp(0.5 * lv) * noise(xm.size(0));
    return reconstruction_term(model->decode(z, oh), xm) + kl_weight * kl_standard_normal(mu, lv);
  }

  /// MGVAE negative ELBO per row, single-sample KL estimate against the majority mixture prior.
  at::Tensor mgvae_loss(const at::Tensor& xm, const at::Tensor& exemplars_m, double kl_weight) {
    auto [mu, lv] = model->encode(xm, {});
    const auto z = mu + torch::exp(0.5 * lv) * noise(xm.size(0));
    at::Tensor centres;
    if (mg.exemplar_grad) {
      centres = model->encode(exemplars_m, {}).first;
    } else {
      torch::NoGradGuard ng;
      centres = model->encode(exemplars_m, {}).first;
    }
    const auto kl = log_normal(z, mu, lv) - mixture_log_prior(z, centres, model->log_var);
    return reconstruction_term(model->decode(z, {}), xm) + kl_weight * kl;
  }

  /// K majority rows (model units) for one step: all when K >= N, else K distinct at random.
  at::Tensor draw_exemplars(const at::Tensor& majority_m, Rng& rng) const {
    const int64_t n = majority_m.size(0);
    if (mg.exemplars >= n) return majority_m;
    const auto pick = rng.choice_without_replacement(n, mg.exemplars);
    return majority_m.index_select(0, torch::tensor(pick, torch::kInt64));
  }

  /// Adam over shuffled batches; `step_loss(batch rows)` returns the scalar to minimise.
  FitLog train(std::string stage, int64_t n, const TrainOptions& t, uint64_t stream,
               const std::function<at::Tensor(const at::Tensor&)>& step_loss) {
    const auto t0 = std::chrono::steady_clock::now();
    FitLog log;
    log.stage = std::move(stage);
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(t.lr));
    Rng rng = Rng(seed).fork(stream);
    const GradientSync* sync = current_sync();
    if (sync) {
      REBALANCE_CHECK(sync->rank >= 0 && sync->rank < sync->world_size && sync->sum,
                      "{}: data-parallel training needs a rank in [0, {}) and a gradient sum", who(), sync->world_size);
      if (sync->world_size == 1) sync = nullptr;
    }
    // A step budget runs whole shuffled passes until the steps are spent (the last one partial).
    int64_t steps = 0;
    const int64_t per_epoch = (n + t.batch_size - 1) / std::max<int64_t>(1, t.batch_size);
    const int64_t planned = t.steps > 0 ? t.steps
                                        : per_epoch * std::max<int64_t>(t.epochs, (t.min_steps + per_epoch - 1) /
                                                                                      std::max<int64_t>(1, per_epoch));
    ProgressMeter meter(fmt::format("{} {}", who(), log.stage), planned);
    for (int64_t e = 0; t.steps > 0 ? steps < t.steps : (e < t.epochs || steps < t.min_steps); ++e) {
      const auto perm = rng.permutation(n);
      double total = 0.0;
      int64_t batches = 0;
      for (int64_t b0 = 0; b0 < n && (t.steps == 0 || steps < t.steps); b0 += t.batch_size, ++steps, meter.advance()) {
        const int64_t b1 = std::min(n, b0 + t.batch_size);
        auto idx = torch::tensor(std::vector<int64_t>(perm.begin() + b0, perm.begin() + b1), torch::kInt64);
        double share = 1.0;
        if (sync) {
          // This process's contiguous shard of the batch. An empty shard (a batch smaller than
          // the world) still runs one row, weighted 0, so every random draw stays in step.
          const int64_t bn = b1 - b0, s0 = bn * sync->rank / sync->world_size,
                        s1 = bn * (sync->rank + 1) / sync->world_size;
          share = static_cast<double>(s1 - s0) / static_cast<double>(bn);
          shard_rows = bn;
          shard_from = s1 > s0 ? s0 : 0;
          idx = s1 > s0 ? idx.slice(0, s0, s1) : idx.slice(0, 0, 1);
        }
        opt.zero_grad();
        const auto loss = step_loss(idx);
        shard_rows = 0;
        REBALANCE_CHECK(std::isfinite(loss.item<double>()),
                        "{}: the loss became {} in epoch {}; lower lr (now {})", who(), loss.item<double>(), e + 1, t.lr);
        double value = loss.item<double>();
        if (sync) {
          (loss * share).backward();
          std::vector<at::Tensor> grads;
          for (auto& p : model->parameters())
            if (p.grad().defined()) grads.push_back(p.grad());
          auto batch_loss = (loss.detach() * share).reshape({1}).contiguous();
          grads.push_back(batch_loss);
          sync->sum(grads);  // every process's gradients, and the whole batch's loss
          value = batch_loss.item<double>();
        } else {
          loss.backward();
        }
        opt.step();
        total += value;
        ++batches;
      }
      log.epoch_loss.push_back(total / std::max<int64_t>(1, batches));
    }
    model->eval();
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(log);
    return log;
  }

  void check_rows(int64_t n, int64_t batch_size, std::string_view what) const {
    REBALANCE_CHECK(n >= 2, "{}: {} has {} row{}; a generator needs at least 2 rows to learn from", who(), what, n,
                    n == 1 ? "" : "s");
    REBALANCE_CHECK(n >= batch_size,
                    "{}: {} has {} rows, fewer than batch_size={}; lower batch_size to at most {}", who(), what, n,
                    batch_size, n);
  }

  double reconstruction_error(const at::Tensor& x, const at::Tensor& y) {
    torch::NoGradGuard ng;
    const auto x2 = rows2d(x, "x");
    REBALANCE_CHECK(scaled, "{}: not trained yet", who());
    const auto rec = reconstruct2d(x2, y);
    return (rec - x2).pow(2).mean().item<double>();
  }
  at::Tensor reconstruct2d(const at::Tensor& x2, const at::Tensor& y) {
    torch::NoGradGuard ng;
    model->eval();
    const auto oh = onehot(y);
    const auto mu = model->encode(to_model(x2), oh).first;
    return from_output(model->decode(mu, oh));
  }

  // -- saving --
  nlohmann::json meta() const {
    nlohmann::json j = {{"kind", kind},   {"net", to_json(net)}, {"shape", shape}, {"num_classes", num_classes},
                        {"seed", seed},   {"scaled", scaled},    {"unit", unit},   {"bernoulli", bernoulli},
                        {"pretrained", pretrained}};
    if (kind == "vae") j["train"] = to_json(vae_train);
    if (kind == "mgvae")
      j["mgvae"] = {{"pretrain", to_json(mg.pretrain)}, {"finetune", to_json(mg.finetune)},
                    {"exemplars", mg.exemplars},       {"exemplar_grad", mg.exemplar_grad},
                    {"ewc_lambda", mg.ewc_lambda},     {"fisher_samples", mg.fisher_samples},
                    {"fisher_source", mg.fisher_source}};
    return j;
  }
  std::string serialise() const {
    TensorWriter archive;
    archive.add_module("model", *model);
    if (!unit && scaled) {
      archive.add("scale_mean", scale_mean);
      archive.add("scale_std", scale_sd);
    }
    for (size_t i = 0; i < fisher.size(); ++i) {
      archive.add("fisher_" + std::to_string(i), fisher[i]);
      archive.add("anchor_" + std::to_string(i), anchors[i]);
    }
    return frame_header(kGeneratorMagic, meta()) + archive.bytes();
  }
  /// The JSON header of a generator file and the offset where its weights start.
  static std::pair<nlohmann::json, size_t> header(const std::string& bytes, const std::string& where) {
    auto u = unframe(bytes, kGeneratorMagic, "generator file", where);
    return {std::move(u.header), u.payload_offset};
  }
  static std::unique_ptr<Core> deserialise(const std::string& bytes, const std::string& where) {
    const auto [j, weights_at] = header(bytes, where);
    const auto kind = j.at("kind").get<std::string>();
    REBALANCE_CHECK(kind == "vae" || kind == "mgvae", "{}: holds a {} generator, not a VAE or MGVAE", where, kind);
    auto core = std::make_unique<Core>(j.at("kind").get<std::string>(), net_from_json(j.at("net")),
                                       j.at("shape").get<std::vector<int64_t>>(), j.at("num_classes").get<int64_t>(),
                                       j.at("seed").get<uint64_t>());
    core->scaled = j.at("scaled").get<bool>();
    core->unit = j.at("unit").get<bool>();
    core->bernoulli = j.at("bernoulli").get<bool>();
    core->pretrained = j.at("pretrained").get<bool>();
    if (j.contains("train")) core->vae_train = train_from_json(j.at("train"));
    if (j.contains("mgvae")) {
      const auto& m = j.at("mgvae");
      core->mg.net = core->net;
      core->mg.pretrain = train_from_json(m.at("pretrain"));
      core->mg.finetune = train_from_json(m.at("finetune"));
      core->mg.exemplars = m.at("exemplars").get<int64_t>();
      core->mg.exemplar_grad = m.at("exemplar_grad").get<bool>();
      core->mg.ewc_lambda = m.at("ewc_lambda").get<double>();
      core->mg.fisher_samples = m.at("fisher_samples").get<int64_t>();
      // Files written before the option existed estimated it on majority rows.
      core->mg.fisher_source = m.value("fisher_source", std::string("majority"));
    }
    const std::string_view weights = std::string_view(bytes).substr(weights_at);
    const auto params = core->model->parameters();
    if (is_tensor_payload(weights)) {
      const TensorReader archive(weights, where);
      archive.load_module("model", *core->model);
      if (core->scaled && !core->unit) {
        core->scale_mean = archive.get("scale_mean");
        core->scale_sd = archive.get("scale_std");
        int64_t features = 1;
        for (const auto d : core->shape) features *= d;
        for (const auto* t : {&core->scale_mean, &core->scale_sd})
          REBALANCE_CHECK(t->dim() == 1 && t->numel() == features && t->scalar_type() == torch::kFloat,
                          "{}: corrupt generator file: the scaling holds {} values, the header's shape {}", where,
                          t->numel(), features);
      }
      if (archive.has("fisher_0"))
        for (size_t i = 0; i < params.size(); ++i) {
          const auto f = archive.get("fisher_" + std::to_string(i)), a = archive.get("anchor_" + std::to_string(i));
          REBALANCE_CHECK(f.sizes() == params[i].sizes() && a.sizes() == params[i].sizes(), "{}: corrupt generator "
                          "file: Fisher information {} does not match its parameter", where, i);
          core->fisher.push_back(f);
          core->anchors.push_back(a);
        }
    } else {
      require_trusted_legacy(where);
      std::istringstream in{std::string(weights)};
      torch::serialize::InputArchive archive;
      archive.load_from(in);
      core->model->load(archive);
      if (core->scaled && !core->unit) {
        archive.read("scale_mean", core->scale_mean);
        archive.read("scale_std", core->scale_sd);
      }
      at::Tensor t;
      if (archive.try_read("fisher_0", t)) {
        for (size_t i = 0; i < params.size(); ++i) {
          at::Tensor f, a;
          archive.read("fisher_" + std::to_string(i), f);
          archive.read("anchor_" + std::to_string(i), a);
          core->fisher.push_back(f);
          core->anchors.push_back(a);
        }
      }
    }
    core->model->eval();
    return core;
  }

  void save(const std::string& path) const {
    const auto bytes = serialise();
    write_atomic(path, [&](std::ostream& out) { out << bytes; });
  }
  /// A saved generator of `want` ("vae", "mgvae"); `name` for the error ("a VAE").
  static std::unique_ptr<Core> load(const std::string& path, const std::string& want, std::string_view name) {
    const auto bytes = read_file(path);
    auto core = read_framed(path, "generator file", [&] { return deserialise(bytes, path); });
    REBALANCE_CHECK(core->kind == want, "{}: holds a {} generator, not {}", path, core->kind, name);
    return core;
  }

  std::string kind;
  NetOptions net;
  std::vector<int64_t> shape;
  int64_t num_classes;
  uint64_t seed;
  bool conv = false, scaled = false, unit = true, bernoulli = false, pretrained = false;
  at::Tensor scale_mean, scale_sd;
  Net model{nullptr};
  at::Generator gen;
  TrainOptions vae_train;
  MGVAEOptions mg;
  std::vector<at::Tensor> fisher, anchors;
  at::Tensor fisher_inputs;  ///< the rows (model units) the last Fisher estimate scored
  std::vector<FitLog> history;
};

// ---- VAE ----------------------------------------------------------------------------------------

VAE::VAE(VAEOptions options, std::vector<int64_t> feature_shape, int64_t num_classes, uint64_t seed) {
  REBALANCE_CHECK(num_classes >= 0, "VAE: num_classes must be >= 0, got {}", num_classes);
  check_train(options.train, "VAE");
  core_ = std::make_unique<Core>("vae", options.net, std::move(feature_shape), num_classes, seed);
  core_->vae_train = options.train;
}
VAE::VAE(std::unique_ptr<Core> core) : core_(std::move(core)) {}
VAE::~VAE() = default;
VAE::VAE(VAE&&) noexcept = default;
VAE& VAE::operator=(VAE&&) noexcept = default;

FitLog VAE::fit(const at::Tensor& x, const at::Tensor& y) {
  Core& c = *core_;
  const auto x2 = c.rows2d(x, "the training rows");
  const int64_t n = x2.size(0);
  c.check_rows(n, c.vae_train.batch_size, "the training data");
  at::Tensor yy;
  if (c.num_classes) {
    REBALANCE_CHECK(y.defined() && y.dim() == 1 && y.size(0) == n,
                    "VAE: a class-conditional VAE needs one label per row ({} rows)", n);
    yy = y.to(torch::kCPU, torch::kInt64);
    REBALANCE_CHECK(yy.min().item<int64_t>() >= 0 && yy.max().item<int64_t>() < c.num_classes,
                    "VAE: labels must lie in 0..{}", c.num_classes - 1);
  }
  c.fit_scaling(x2);
  const auto xm = c.to_model(x2);
  const auto oh = c.onehot(yy);
  return c.train("fit", n, c.vae_train, streams::kVaeFit, [&](const at::Tensor& idx) {
    return c.vae_loss(xm.index_select(0, idx), c.num_classes ? oh.index_select(0, idx) : at::Tensor(),
                      c.vae_train.kl_weight)
        .mean();
  });
}

at::Tensor VAE::sample(int64_t n, int64_t cls) {
  Core& c = *core_;
  REBALANCE_CHECK(n >= 0, "VAE: cannot sample {} rows", n);
  REBALANCE_CHECK(c.scaled, "VAE: not trained yet");
  REBALANCE_CHECK(c.num_classes == 0 || (cls >= 0 && cls < c.num_classes),
                  "VAE: a class-conditional VAE samples a class in 0..{}, got {}", c.num_classes - 1, cls);
  torch::NoGradGuard ng;
  c.model->eval();
  std::vector<at::Tensor> parts;
  for (int64_t r0 = 0; r0 < n; r0 += 4096) {
    const int64_t m = std::min<int64_t>(4096, n - r0);
    const auto oh = c.num_classes ? c.onehot(torch::full({m}, cls, torch::kInt64)) : at::Tensor();
    parts.push_back(c.from_output(c.model->decode(c.noise(m), oh)));
  }
  return c.shaped(parts.empty() ? torch::empty({0, c.dim()}) : torch::cat(parts));
}

at::Tensor VAE::sample_around(const at::Tensor& x, int64_t n, double scale, std::vector<int64_t>* source,
                              const at::Tensor& y) {
  Core& c = *core_;
  REBALANCE_CHECK(n >= 0, "VAE: cannot sample {} rows", n);
  REBALANCE_CHECK(std::isfinite(scale) && scale >= 0, "VAE: the latent perturbation scale must be >= 0, got {}", scale);
  REBALANCE_CHECK(c.scaled, "VAE: not trained yet");
  const auto x2 = c.rows2d(x, "x");
  REBALANCE_CHECK(x2.size(0) >= 1, "VAE: sampling around real rows needs at least one row");
  REBALANCE_CHECK(c.num_classes == 0 || (y.defined() && y.size(0) == x2.size(0)),
                  "VAE: a class-conditional VAE needs the labels of the rows it samples around");
  torch::NoGradGuard ng;
  c.model->eval();
  std::vector<int64_t> src = Rng(c.seed).fork(streams::kVaeSources).cycled_permutations(x2.size(0), n);
  const auto xm = c.to_model(x2);
  const auto yy = y.defined() ? y.to(torch::kInt64) : y;
  std::vector<at::Tensor> parts;
  for (int64_t r0 = 0; r0 < n; r0 += 4096) {
    const int64_t m = std::min<int64_t>(4096, n - r0);
    const auto idx = torch::tensor(std::vector<int64_t>(src.begin() + r0, src.begin() + r0 + m), torch::kInt64);
    const auto oh = c.num_classes ? c.onehot(yy.index_select(0, idx)) : at::Tensor();
    const auto [mu, lv] = c.model->encode(xm.index_select(0, idx), oh);
    const auto z = mu + scale * torch::exp(0.5 * lv) * c.noise(m);
    parts.push_back(c.from_output(c.model->decode(z, oh)));
  }
  if (source) *source = std::move(src);
  return c.shaped(parts.empty() ? torch::empty({0, c.dim()}) : torch::cat(parts));
}

at::Tensor VAE::reconstruct(const at::Tensor& x, const at::Tensor& y) {
  REBALANCE_CHECK(core_->scaled, "VAE: not trained yet");
  return core_->shaped(core_->reconstruct2d(core_->rows2d(x, "x"), y.defined() ? y.to(torch::kInt64) : y));
}
double VAE::reconstruction_error(const at::Tensor& x, const at::Tensor& y) {
  return core_->reconstruction_error(x, y.defined() ? y.to(torch::kInt64) : y);
}
at::Tensor VAE::decode(const at::Tensor& z, int64_t cls) { return core_->decode_data(z, cls); }
int64_t VAE::latent() const { return core_->net.latent; }
std::vector<at::Tensor> VAE::network_tensors() const { return core_->network_tensors(); }
void VAE::set_trainable(bool on) { core_->set_trainable(on); }
void VAE::save(const std::string& path) const { core_->save(path); }
VAE VAE::load(const std::string& path) { return VAE(Core::load(path, "vae", "a VAE")); }
const std::vector<int64_t>& VAE::feature_shape() const { return core_->shape; }
const std::vector<FitLog>& VAE::history() const { return core_->history; }
int64_t VAE::num_classes() const { return core_->num_classes; }

// ---- MGVAE --------------------------------------------------------------------------------------

MGVAE::MGVAE(MGVAEOptions options, std::vector<int64_t> feature_shape, uint64_t seed) {
  check_train(options.pretrain, "MGVAE pre-training");
  check_train(options.finetune, "MGVAE fine-tuning");
  REBALANCE_CHECK(options.exemplars >= 1, "MGVAE: exemplars must be >= 1, got {}", options.exemplars);
  REBALANCE_CHECK(std::isfinite(options.ewc_lambda) && options.ewc_lambda >= 0, "MGVAE: ewc_lambda must be >= 0, got {}",
                  options.ewc_lambda);
  REBALANCE_CHECK(options.fisher_samples >= 1, "MGVAE: fisher_samples must be >= 1, got {}", options.fisher_samples);
  REBALANCE_CHECK(options.fisher_source == "translations" || options.fisher_source == "majority",
                  "MGVAE: fisher_source must be translations or majority, got \"{}\"", options.fisher_source);
  core_ = std::make_unique<Core>("mgvae", options.net, std::move(feature_shape), 0, seed);
  core_->mg = std::move(options);
}
MGVAE::MGVAE(std::unique_ptr<Core> core) : core_(std::move(core)) {}
MGVAE::~MGVAE() = default;
MGVAE::MGVAE(MGVAE&&) noexcept = default;
MGVAE& MGVAE::operator=(MGVAE&&) noexcept = default;

MGVAE MGVAE::clone() const {
  auto copy = Core::deserialise(core_->serialise(), "MGVAE::clone");
  copy->gen = core_->gen.clone();
  copy->history = core_->history;
  return MGVAE(std::move(copy));
}

FitLog MGVAE::pretrain(const at::Tensor& majority) {
  Core& c = *core_;
  const auto x2 = c.rows2d(majority, "the majority rows");
  const int64_t n = x2.size(0);
  c.check_rows(n, c.mg.pretrain.batch_size, "the majority class");
  c.fit_scaling(x2);
  const auto xm = c.to_model(x2);
  Rng ex_rng = Rng(c.seed).fork(streams::kMgvaePretrainExamples);
  auto log = c.train("pretrain", n, c.mg.pretrain, streams::kMgvaePretrain, [&](const at::Tensor& idx) {
    return c.mgvae_loss(xm.index_select(0, idx), c.draw_exemplars(xm, ex_rng), c.mg.pretrain.kl_weight).mean();
  });
  // Diagonal empirical Fisher of the stage-1 objective: squared per-sample gradients of the full
  // loss at batch 1, all against one exemplar draw, averaged over fisher_samples samples: the
  // model's translations of the first majority rows (the reference's get_fisher_info, which
  // scores index_sample(i)), or real majority rows at random.
  const auto tf = std::chrono::steady_clock::now();
  c.model->train();
  auto params = c.model->parameters();
  c.anchors.clear();
  Rng f_rng = Rng(c.seed).fork(streams::kMgvaeFisher);
  const int64_t m = std::min(n, c.mg.fisher_samples);
  at::Tensor samples;
  if (c.mg.fisher_source == "translations") {
    torch::NoGradGuard ng;
    const auto mu = c.model->encode(xm.slice(0, 0, m), {}).first;
    // In model units, as the loss compares them; detached: they are data to the estimate.
    samples = c.output_mean(c.model->decode(mu + torch::exp(0.5 * c.model->log_var) * c.noise(m), {})).detach();
  } else {
    const auto rows = f_rng.choice_without_replacement(n, m);
    samples = xm.index_select(0, torch::tensor(rows, torch::kInt64));
  }
  c.fisher_inputs = samples;
  const auto ex = c.draw_exemplars(xm, f_rng);
  c.fisher = empirical_fisher(params, m, [&](int64_t s) {
    return c.mgvae_loss(samples.slice(0, s, s + 1), ex, c.mg.pretrain.kl_weight).sum();
  });
  for (auto& p : params) c.anchors.push_back(p.detach().clone());
  c.model->eval();
  c.pretrained = true;
  c.history.push_back({"fisher", {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - tf).count()});
  return log;
}

void MGVAE::set_finetune_batch_size(int64_t batch_size) {
  REBALANCE_CHECK(batch_size >= 1, "MGVAE fine-tuning: batch_size must be >= 1, got {}", batch_size);
  core_->mg.finetune.batch_size = batch_size;
}

FitLog MGVAE::finetune(const at::Tensor& minority, const at::Tensor& majority) {
  Core& c = *core_;
  const auto x2 = c.rows2d(minority, "the minority rows");
  const auto maj2 = c.rows2d(majority, "the majority rows");
  const int64_t n = x2.size(0);
  c.check_rows(n, c.mg.finetune.batch_size, "the minority class");
  REBALANCE_CHECK(maj2.size(0) >= 1, "MGVAE: no majority rows to guide the prior");
  c.fit_scaling(torch::cat({maj2, x2}));
  const auto xm = c.to_model(x2), maj = c.to_model(maj2);
  const bool ewc = c.pretrained && c.mg.ewc_lambda > 0 && !c.fisher.empty();
  auto params = c.model->parameters();
  Rng ex_rng = Rng(c.seed).fork(streams::kMgvaeFinetuneExamples);
  return c.train("finetune", n, c.mg.finetune, streams::kMgvaeFinetune, [&](const at::Tensor& idx) {
    auto loss = c.mgvae_loss(xm.index_select(0, idx), c.draw_exemplars(maj, ex_rng), c.mg.finetune.kl_weight).mean();
    if (ewc) loss = loss + ewc_penalty(params, c.anchors, c.fisher, c.mg.ewc_lambda);
    return loss;
  });
}

at::Tensor MGVAE::generate(const at::Tensor& majority, int64_t n, std::vector<int64_t>* source) {
  Core& c = *core_;
  REBALANCE_CHECK(n >= 0, "MGVAE: cannot generate {} rows", n);
  REBALANCE_CHECK(c.scaled, "MGVAE: not trained yet");
  const auto maj2 = c.rows2d(majority, "the majority rows");
  const int64_t n_maj = maj2.size(0);
  REBALANCE_CHECK(n_maj >= 1, "MGVAE: generation translates majority rows, but there are none");
  torch::NoGradGuard ng;
  c.model->eval();
  // Majority sources in a seeded random order, cycling when more rows are wanted than exist.
  std::vector<int64_t> src = Rng(c.seed).fork(streams::kMgvaeSources).cycled_permutations(n_maj, n);
  std::vector<at::Tensor> parts;
  const auto maj = c.to_model(maj2);
  for (int64_t r0 = 0; r0 < n; r0 += 4096) {
    const int64_t m = std::min<int64_t>(4096, n - r0);
    const auto idx = torch::tensor(std::vector<int64_t>(src.begin() + r0, src.begin() + r0 + m), torch::kInt64);
    const auto mu = c.model->encode(maj.index_select(0, idx), {}).first;
    const auto z = mu + torch::exp(0.5 * c.model->log_var) * c.noise(m);
    parts.push_back(c.from_output(c.model->decode(z, {})));
  }
  if (source) *source = std::move(src);
  return c.shaped(parts.empty() ? torch::empty({0, c.dim()}) : torch::cat(parts));
}

at::Tensor MGVAE::decode(const at::Tensor& z) { return core_->decode_data(z, -1); }
int64_t MGVAE::latent() const { return core_->net.latent; }
std::vector<at::Tensor> MGVAE::network_tensors() const { return core_->network_tensors(); }
void MGVAE::set_trainable(bool on) { core_->set_trainable(on); }

at::Tensor MGVAE::reconstruct(const at::Tensor& x) {
  REBALANCE_CHECK(core_->scaled, "MGVAE: not trained yet");
  return core_->shaped(core_->reconstruct2d(core_->rows2d(x, "x"), {}));
}
double MGVAE::reconstruction_error(const at::Tensor& x) { return core_->reconstruction_error(x, {}); }
const std::vector<at::Tensor>& MGVAE::fisher() const { return core_->fisher; }
at::Tensor MGVAE::fisher_inputs() const {
  return core_->fisher_inputs.defined() ? core_->from_model(core_->fisher_inputs) : at::Tensor();
}
void MGVAE::save(const std::string& path) const { core_->save(path); }
MGVAE MGVAE::load(const std::string& path) { return MGVAE(Core::load(path, "mgvae", "an MGVAE")); }
const std::vector<int64_t>& MGVAE::feature_shape() const { return core_->shape; }
const std::vector<FitLog>& MGVAE::history() const { return core_->history; }

// ---- DeepSMOTE's autoencoder ------------------------------------------------------------------

DeepSMOTEAutoencoder::DeepSMOTEAutoencoder(DeepSMOTEOptions options, std::vector<int64_t> feature_shape, uint64_t seed)
    : options_(std::move(options)) {
  check_train(options_.train, "DeepSMOTE");
  REBALANCE_CHECK(options_.penalty >= 0 && std::isfinite(options_.penalty), "DeepSMOTE: penalty must be >= 0, got {}",
                  options_.penalty);
  REBALANCE_CHECK(options_.penalty_rows >= 1, "DeepSMOTE: penalty_rows must be >= 1, got {}", options_.penalty_rows);
  core_ = std::make_unique<Core>("deepsmote", options_.net, std::move(feature_shape), 0, seed);
}
DeepSMOTEAutoencoder::~DeepSMOTEAutoencoder() = default;
DeepSMOTEAutoencoder::DeepSMOTEAutoencoder(DeepSMOTEAutoencoder&&) noexcept = default;
DeepSMOTEAutoencoder& DeepSMOTEAutoencoder::operator=(DeepSMOTEAutoencoder&&) noexcept = default;

FitLog DeepSMOTEAutoencoder::fit(const at::Tensor& x, const at::Tensor& y) {
  Core& c = *core_;
  const auto x2 = c.rows2d(x, "the training rows");
  const int64_t n = x2.size(0);
  c.check_rows(n, options_.train.batch_size, "the training data");
  REBALANCE_CHECK(y.defined() && y.dim() == 1 && y.size(0) == n, "DeepSMOTE: needs one label per row ({} rows)", n);
  const auto labels = y.to(torch::kCPU, torch::kInt64).contiguous();
  std::map<int64_t, std::vector<int64_t>> rows_of;
  const auto* label = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) rows_of[label[i]].push_back(i);
  std::vector<const std::vector<int64_t>*> classes;
  for (const auto& [cls, rows] : rows_of) classes.push_back(&rows);
  c.fit_scaling(x2);
  const auto xm = c.to_model(x2);
  Rng penalty_rng = Rng(c.seed).fork(streams::kDeepSmotePenalty);
  return c.train("fit", n, options_.train, streams::kDeepSmoteFit, [&](const at::Tensor& idx) {
    const auto batch = xm.index_select(0, idx);
    const auto z = c.model->encode(batch, {}).first;
    auto loss = squared_error(c.output_mean(c.model->decode(z, {})), batch).mean();
    if (options_.penalty > 0) {
      const auto& rows = *classes[penalty_rng.uniform_int(classes.size())];
      const auto take = std::min<int64_t>(options_.penalty_rows, static_cast<int64_t>(rows.size()));
      std::vector<int64_t> pick;
      for (auto k : penalty_rng.choice_without_replacement(static_cast<int64_t>(rows.size()), take)) pick.push_back(rows[k]);
      const auto xc = xm.index_select(0, torch::tensor(pick, torch::kInt64));
      const auto zc = c.model->encode(xc, {}).first.detach();
      loss = loss + options_.penalty * squared_error(c.output_mean(c.model->decode(zc, {})), xc).mean();
    }
    return loss;
  });
}

at::Tensor DeepSMOTEAutoencoder::encode(const at::Tensor& x) {
  Core& c = *core_;
  REBALANCE_CHECK(c.scaled, "DeepSMOTE: not trained yet");
  torch::NoGradGuard ng;
  c.model->eval();
  return c.model->encode(c.to_model(c.rows2d(x, "x")), {}).first;
}

at::Tensor DeepSMOTEAutoencoder::decode(const at::Tensor& z) { return core_->decode_data(z, -1); }
int64_t DeepSMOTEAutoencoder::latent() const { return core_->net.latent; }
void DeepSMOTEAutoencoder::set_trainable(bool on) { core_->set_trainable(on); }
std::vector<at::Tensor> DeepSMOTEAutoencoder::network_tensors() const { return core_->network_tensors(); }
double DeepSMOTEAutoencoder::reconstruction_error(const at::Tensor& x) { return core_->reconstruction_error(x, {}); }
const std::vector<FitLog>& DeepSMOTEAutoencoder::history() const { return core_->history; }

at::Tensor latent_smote(const at::Tensor& codes_in, int64_t n, int64_t k, Rng& rng, std::vector<int64_t>* base,
                        std::vector<int64_t>* neighbour, std::vector<double>* gap) {
  REBALANCE_CHECK(codes_in.dim() == 2 && codes_in.size(0) >= 2, "latent SMOTE needs at least 2 codes [m, L], got {}",
                  codes_in.dim() == 2 ? codes_in.size(0) : 0);
  REBALANCE_CHECK(k >= 1, "latent SMOTE: k_neighbors must be >= 1, got {}", k);
  const auto codes = codes_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t m = codes.size(0), kk = std::min<int64_t>(k, m - 1);
  // Each code's kk nearest others: distances with the code itself pushed to infinity, ties to the lower index.
  auto d = torch::cdist(codes.to(torch::kFloat64), codes.to(torch::kFloat64));
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  const auto order = std::get<1>(torch::sort(d, c10::optional<bool>(true), /*dim=*/1, /*descending=*/false)).narrow(1, 0, kk).contiguous();
  const auto* nn = order.data_ptr<int64_t>();
  auto out = torch::empty({n, codes.size(1)}, torch::kFloat32);
  if (base) base->assign(n, 0);
  if (neighbour) neighbour->assign(n, 0);
  if (gap) gap->assign(n, 0.0);
  for (int64_t t = 0; t < n; ++t) {
    const auto i = static_cast<int64_t>(rng.uniform_int(m));
    const int64_t j = nn[i * kk + static_cast<int64_t>(rng.uniform_int(kk))];
    const double u = rng.uniform();
    out[t] = codes[i] + u * (codes[j] - codes[i]);
    if (base) (*base)[t] = i;
    if (neighbour) (*neighbour)[t] = j;
    if (gap) (*gap)[t] = u;
  }
  return out;
}

std::string saved_generator_kind(const std::string& path) {
  return Core::header(read_file(path), path).first.at("kind").get<std::string>();
}

}  // namespace rebalance::generative
