// CycleGAN on libtorch: ResNet-block generators, PatchGAN discriminators, image pools, Adam with
// a constant-then-linear learning rate, and a file format that resumes training exactly.
#include "rebalance/generative/cyclegan.hpp"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/progress.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "gan_nets.hpp"

namespace rebalance::generative {

namespace {
// The generator files' framing, shared with the VAE family (saved_generator_kind reads "kind").
constexpr std::string_view kGeneratorMagic = "REBALANCE-GENERATOR 1\n";
constexpr int64_t kTranslateBatch = 256;
}  // namespace

at::Tensor gan_loss(const at::Tensor& d, bool target_real, const std::string& mode) {
  const double t = target_real ? 1.0 : 0.0;
  if (mode == "lsgan") return (d - t).pow(2).mean();
  REBALANCE_CHECK(mode == "log", "CycleGAN: gan must be lsgan or log, got \"{}\"", mode);
  return torch::binary_cross_entropy_with_logits(d, torch::full_like(d, t));
}

at::Tensor discriminator_loss(const at::Tensor& d_real, const at::Tensor& d_fake, const std::string& mode) {
  return 0.5 * (gan_loss(d_real, true, mode) + gan_loss(d_fake, false, mode));
}

at::Tensor l1_distance(const at::Tensor& x, const at::Tensor& y) { return (x - y).abs().mean(); }

void check_cyclegan_options(const CycleGANOptions& o) {
  REBALANCE_CHECK(o.ngf >= 1, "CycleGAN: ngf must be >= 1, got {}", o.ngf);
  REBALANCE_CHECK(o.ndf >= 1, "CycleGAN: ndf must be >= 1, got {}", o.ndf);
  REBALANCE_CHECK(o.blocks >= 0, "CycleGAN: blocks must be >= 0, got {}", o.blocks);
  REBALANCE_CHECK(o.d_layers >= 0 && o.d_layers <= 6, "CycleGAN: d_layers must be 0 (auto) to 6, got {}", o.d_layers);
  REBALANCE_CHECK(o.gan == "lsgan" || o.gan == "log", "CycleGAN: gan must be lsgan or log, got \"{}\"", o.gan);
  REBALANCE_CHECK(std::isfinite(o.cycle_weight) && o.cycle_weight >= 0, "CycleGAN: cycle_weight must be >= 0, got {}",
                  o.cycle_weight);
  REBALANCE_CHECK(std::isfinite(o.identity_weight) && o.identity_weight >= 0,
                  "CycleGAN: identity_weight must be >= 0, got {}", o.identity_weight);
  REBALANCE_CHECK(o.pool_size >= 0, "CycleGAN: pool_size must be >= 0, got {}", o.pool_size);
  REBALANCE_CHECK(std::isfinite(o.lr) && o.lr > 0, "CycleGAN: lr must be > 0, got {}", o.lr);
  REBALANCE_CHECK(o.beta1 >= 0 && o.beta1 < 1, "CycleGAN: beta1 must be in [0, 1), got {}", o.beta1);
  REBALANCE_CHECK(o.beta2 >= 0 && o.beta2 < 1, "CycleGAN: beta2 must be in [0, 1), got {}", o.beta2);
  REBALANCE_CHECK(o.batch_size >= 1, "CycleGAN: batch_size must be >= 1, got {}", o.batch_size);
  REBALANCE_CHECK(o.steps >= 0, "CycleGAN: steps must be >= 0, got {}", o.steps);
  REBALANCE_CHECK(o.decay_steps >= 0, "CycleGAN: decay_steps must be >= 0, got {}", o.decay_steps);
}

// ---- shared pieces (gan_nets.hpp) ---------------------------------------------------------------

namespace detail {

namespace {

using namespace torch::nn;

struct ResBlockImpl : Module {
  explicit ResBlockImpl(int64_t c) {
    body = register_module(
        "body", Sequential(ReflectionPad2d(ReflectionPad2dOptions(1)), Conv2d(Conv2dOptions(c, c, 3)),
                           InstanceNorm2d(InstanceNorm2dOptions(c)), ReLU(), ReflectionPad2d(ReflectionPad2dOptions(1)),
                           Conv2d(Conv2dOptions(c, c, 3)), InstanceNorm2d(InstanceNorm2dOptions(c))));
  }
  torch::Tensor forward(torch::Tensor x) { return x + body->forward(x); }
  Sequential body{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace

Sequential resnet_generator(int64_t in_channels, int64_t out_channels, int64_t ngf, int64_t blocks) {
  Sequential g;
  g->push_back(ReflectionPad2d(ReflectionPad2dOptions(3)));
  g->push_back(Conv2d(Conv2dOptions(in_channels, ngf, 7)));
  g->push_back(InstanceNorm2d(InstanceNorm2dOptions(ngf)));
  g->push_back(ReLU());
  int64_t ch = ngf;
  for (int i = 0; i < 2; ++i, ch *= 2) {
    g->push_back(Conv2d(Conv2dOptions(ch, ch * 2, 3).stride(2).padding(1)));
    g->push_back(InstanceNorm2d(InstanceNorm2dOptions(ch * 2)));
    g->push_back(ReLU());
  }
  for (int64_t i = 0; i < blocks; ++i) g->push_back(ResBlock(ch));
  for (int i = 0; i < 2; ++i, ch /= 2) {
    g->push_back(ConvTranspose2d(ConvTranspose2dOptions(ch, ch / 2, 3).stride(2).padding(1).output_padding(1)));
    g->push_back(InstanceNorm2d(InstanceNorm2dOptions(ch / 2)));
    g->push_back(ReLU());
  }
  g->push_back(ReflectionPad2d(ReflectionPad2dOptions(3)));
  g->push_back(Conv2d(Conv2dOptions(ngf, out_channels, 7)));
  g->push_back(Tanh());
  return g;
}

std::string shape_text(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

void init_gan_weights(Module& m) {
  torch::NoGradGuard ng;
  for (auto& p : m.named_parameters()) {
    if (p.key().ends_with("weight") && p.value().dim() == 4) p.value().normal_(0.0, 0.02);
    if (p.key().ends_with("bias")) p.value().zero_();
  }
}

}  // namespace detail

// ---- networks ---------------------------------------------------------------------------------

namespace {

using namespace torch::nn;

Sequential make_generator(int64_t c, int64_t ngf, int64_t blocks) { return detail::resnet_generator(c, c, ngf, blocks); }

/// PatchGAN: C(ndf, s2) [no norm], (layers - 1) x C(s2), C(s1), then a 1-channel 4x4 convolution.
Sequential make_discriminator(int64_t c, int64_t ndf, int64_t layers) {
  Sequential d;
  auto lrelu = [] { return LeakyReLU(LeakyReLUOptions().negative_slope(0.2)); };
  d->push_back(Conv2d(Conv2dOptions(c, ndf, 4).stride(2).padding(1)));
  d->push_back(lrelu());
  int64_t mult = 1;
  for (int64_t n = 1; n <= layers; ++n) {
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t(1) << n, 8);
    d->push_back(Conv2d(Conv2dOptions(ndf * prev, ndf * mult, 4).stride(n < layers ? 2 : 1).padding(1)));
    d->push_back(InstanceNorm2d(InstanceNorm2dOptions(ndf * mult)));
    d->push_back(lrelu());
  }
  d->push_back(Conv2d(Conv2dOptions(ndf * mult, 1, 4).stride(1).padding(1)));
  return d;
}

int64_t auto_layers(const std::vector<int64_t>& shape) {
  const int64_t side = std::min(shape[1], shape[2]);
  return side < 64 ? 1 : side < 128 ? 2 : 3;
}

using detail::shape_text;

nlohmann::json to_json(CycleGANOptions o) {
  nlohmann::json j = {{"cycle_weight", o.cycle_weight}, {"pool_size", o.pool_size}};
  detail::each_common_option(o, [&j](const char* k, const auto& v) { j[k] = v; });
  return j;
}
CycleGANOptions options_from_json(const nlohmann::json& j) {
  CycleGANOptions o;
  detail::each_common_option(o, [&j](const char* k, auto& v) { v = j.at(k).get<std::decay_t<decltype(v)>>(); });
  o.cycle_weight = j.at("cycle_weight").get<double>();
  o.pool_size = j.at("pool_size").get<int64_t>();
  return o;
}

}  // namespace

std::string cyclegan_options_text(const CycleGANOptions& o) { return to_json(o).dump(); }

// ---- state ------------------------------------------------------------------------------------

class CycleGANState {
 public:
  CycleGANState(CycleGANOptions options, std::vector<int64_t> image_shape, uint64_t seed)
      : o(std::move(options)), shape(std::move(image_shape)), seed(seed) {
    check_cyclegan_options(o);
    REBALANCE_CHECK(shape.size() == 3,
                    "CycleGAN: translates images [C, H, W], but the rows have shape {} (tabular rows cannot be "
                    "translated; use smote, vae or mgvae)",
                    shape_text(shape));
    REBALANCE_CHECK(shape[0] >= 1 && shape[1] >= 8 && shape[2] >= 8 && shape[1] % 4 == 0 && shape[2] % 4 == 0,
                    "CycleGAN: images must be at least 8x8 with H and W multiples of 4 (two stride-2 layers), got {}",
                    shape_text(shape));
    layers = o.d_layers > 0 ? o.d_layers : auto_layers(shape);
    // The PatchGAN's output must keep at least 2x2 positions before its last normalisation.
    int64_t side = std::min(shape[1], shape[2]);
    for (int64_t n = 0; n < layers; ++n) side = (side - 2) / 2 + 1;  // 4x4, stride 2, padding 1
    REBALANCE_CHECK(side - 1 >= 2, "CycleGAN: d_layers={} is too deep for {} images; use at most {}", layers,
                    shape_text(shape), auto_layers(shape));
    torch::manual_seed(seed);
    g_ab = make_generator(shape[0], o.ngf, o.blocks);
    g_ba = make_generator(shape[0], o.ngf, o.blocks);
    d_a = make_discriminator(shape[0], o.ndf, layers);
    d_b = make_discriminator(shape[0], o.ndf, layers);
    for (Module* m : {g_ab.ptr().get(), g_ba.ptr().get(), d_a.ptr().get(), d_b.ptr().get()}) detail::init_gan_weights(*m);
    std::vector<at::Tensor> gp = g_ab->parameters(), dp = d_a->parameters();
    for (auto& p : g_ba->parameters()) gp.push_back(p);
    for (auto& p : d_b->parameters()) dp.push_back(p);
    const auto adam = torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2});
    opt_g = std::make_unique<torch::optim::Adam>(gp, adam);
    opt_d = std::make_unique<torch::optim::Adam>(dp, adam);
  }

  // -- units --
  /// Images as [n, C, H, W] float32 on the CPU, after checking their shape and values.
  at::Tensor images(const at::Tensor& x, std::string_view what) const {
    REBALANCE_CHECK(x.defined() && x.dim() >= 1 && x.size(0) >= 1, "CycleGAN: {} holds no images", what);
    auto s = x.sizes().vec();
    s.erase(s.begin());
    REBALANCE_CHECK(s == shape,
                    "CycleGAN: {} holds rows of shape {}, but this model translates images of shape {} (domains A "
                    "and B must have the same shape)",
                    what, shape_text(s), shape_text(shape));
    auto t = x.to(torch::kCPU, torch::kFloat32).contiguous();
    REBALANCE_CHECK(torch::isfinite(t).all().item<bool>(), "CycleGAN: {} holds NaN or infinite values", what);
    return t;
  }
  void fit_scaling(const at::Tensor& a, const at::Tensor& b) {
    if (scaled) return;
    const double mn = std::min(a.min().item<double>(), b.min().item<double>());
    const double mx = std::max(a.max().item<double>(), b.max().item<double>());
    if (mn >= 0.0 && mx <= 1.0) {
      lo = 0.0, hi = 1.0;  // images in [0, 1] keep that range exactly
    } else {
      lo = mn, hi = mx > mn ? mx : mn + 1.0;
    }
    scaled = true;
  }
  at::Tensor to_model(const at::Tensor& x) const { return (x - lo) * (2.0 / (hi - lo)) - 1.0; }
  at::Tensor to_data(const at::Tensor& m) const { return (m + 1.0) * (0.5 * (hi - lo)) + lo; }

  double lr_at(int64_t step) const { return detail::constant_then_linear(o.lr, o.steps, o.decay_steps, step); }
  static void set_lr(torch::optim::Adam& opt, double lr) {
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
  static void set_requires_grad(Sequential& m, bool on) {
    for (auto& p : m->parameters()) p.set_requires_grad(on);
  }

  /// CycleGAN's ImagePool: until full, every fake is stored and returned; then each fake is, with
  /// probability 1/2, swapped for a stored one (returned) or returned as is.
  at::Tensor query(at::Tensor& pool, const at::Tensor& fakes, Rng& rng) const {
    if (o.pool_size == 0) return fakes;
    torch::NoGradGuard ng;
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < fakes.size(0); ++i) {
      const auto img = fakes[i];
      const int64_t held = pool.defined() ? pool.size(0) : 0;
      if (held < o.pool_size) {
        pool = held ? torch::cat({pool, img.unsqueeze(0).clone()}) : img.unsqueeze(0).clone();
        out.push_back(img);
      } else if (rng.uniform() > 0.5) {
        const auto j = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(o.pool_size)));
        out.push_back(pool[j].clone());
        pool[j].copy_(img);
      } else {
        out.push_back(img);
      }
    }
    return torch::stack(out);
  }

  CycleGANLog fit(const at::Tensor& a_in, const at::Tensor& b_in, int64_t steps, const GeneratorHook& hook) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = images(a_in, "domain A"), b = images(b_in, "domain B");
    const int64_t na = a.size(0), nb = b.size(0), bs = o.batch_size;
    REBALANCE_CHECK(nb >= bs,
                    "CycleGAN: domain B (the minority) has {} image{}, fewer than batch_size={}; lower batch_size "
                    "to at most {}",
                    nb, nb == 1 ? "" : "s", bs, nb);
    REBALANCE_CHECK(na >= bs, "CycleGAN: domain A has {} images, fewer than batch_size={}; lower batch_size to at most {}",
                    na, bs, na);
    REBALANCE_CHECK(steps >= -1, "CycleGAN: steps must be >= 0 (or -1: all that remain), got {}", steps);
    fit_scaling(a, b);
    const int64_t total = o.steps + o.decay_steps;
    const int64_t end = steps < 0 ? total : std::min(total, step + steps);
    CycleGANLog log;
    set_requires_grad(g_ab, true), set_requires_grad(g_ba, true);
    for (auto* m : {&g_ab, &g_ba, &d_a, &d_b}) (*m)->train();
    ProgressMeter meter("CycleGAN", end - step);
    for (; step < end; ++step, meter.advance()) {
      Rng rng = Rng(seed).fork(streams::kCycleGANStep + static_cast<uint64_t>(step));
      const auto ia = torch::tensor(rng.choice_without_replacement(na, bs), torch::kInt64);
      const auto ib = torch::tensor(rng.choice_without_replacement(nb, bs), torch::kInt64);
      const auto data_a = a.index_select(0, ia), data_b = b.index_select(0, ib);
      const auto real_a = to_model(data_a), real_b = to_model(data_b);
      set_lr(*opt_g, lr_at(step)), set_lr(*opt_d, lr_at(step));

      // Generators, the discriminators held fixed.
      set_requires_grad(d_a, false), set_requires_grad(d_b, false);
      opt_g->zero_grad();
      // Every network normalises per image (InstanceNorm), so the calls of one network on several
      // batches are made as one call on their concatenation: three generator passes instead of
      // six, the same values as separate calls.
      const bool identity = o.identity_weight > 0;
      const auto ab = g_ab->forward(identity ? torch::cat({real_a, real_b}) : real_a);  // fake_b [, idt_b]
      const auto fake_b = ab.slice(0, 0, bs);
      const auto ba = g_ba->forward(identity ? torch::cat({real_b, fake_b, real_a}) : torch::cat({real_b, fake_b}));
      const auto fake_a = ba.slice(0, 0, bs), rec_a = ba.slice(0, bs, 2 * bs);
      const auto rec_b = g_ab->forward(fake_a);
      const auto adv = gan_loss(d_b->forward(fake_b), true, o.gan) + gan_loss(d_a->forward(fake_a), true, o.gan);
      const auto cyc = o.cycle_weight * (l1_distance(rec_a, real_a) + l1_distance(rec_b, real_b));
      at::Tensor idt = torch::zeros({});
      if (identity)
        idt = o.identity_weight * o.cycle_weight *
              (l1_distance(ab.slice(0, bs, 2 * bs), real_b) + l1_distance(ba.slice(0, 2 * bs, 3 * bs), real_a));
      at::Tensor extra = torch::zeros({});
      if (hook) extra = hook(data_a, to_data(fake_b), data_b, to_data(fake_a));
      const auto loss_g = adv + cyc + idt + extra;
      REBALANCE_CHECK(std::isfinite(loss_g.item<double>()),
                      "CycleGAN: the generators' loss became {} at step {}; lower lr (now {})", loss_g.item<double>(),
                      step + 1, o.lr);
      loss_g.backward();
      opt_g->step();

      // Discriminators, on the real batch and on fakes from the pools.
      set_requires_grad(d_a, true), set_requires_grad(d_b, true);
      opt_d->zero_grad();
      const auto pooled_b = query(pool_b, fake_b.detach(), rng), pooled_a = query(pool_a, fake_a.detach(), rng);
      const auto out_a = d_a->forward(torch::cat({real_a, pooled_a})), out_b = d_b->forward(torch::cat({real_b, pooled_b}));
      const auto loss_da = discriminator_loss(out_a.slice(0, 0, bs), out_a.slice(0, bs), o.gan);
      const auto loss_db = discriminator_loss(out_b.slice(0, 0, bs), out_b.slice(0, bs), o.gan);
      (loss_da + loss_db).backward();
      opt_d->step();

      log.generator_adv += adv.item<double>(), log.cycle += cyc.item<double>(), log.identity += idt.item<double>();
      log.extra += extra.item<double>();
      log.discriminator_a += loss_da.item<double>(), log.discriminator_b += loss_db.item<double>();
      ++log.steps;
    }
    for (auto* m : {&g_ab, &g_ba, &d_a, &d_b}) (*m)->eval();
    if (log.steps > 0) {
      const double n = static_cast<double>(log.steps);
      for (double* v : {&log.generator_adv, &log.cycle, &log.identity, &log.extra, &log.discriminator_a,
                        &log.discriminator_b})
        *v /= n;
    }
    set_requires_grad(g_ab, trainable), set_requires_grad(g_ba, trainable);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(log);
    return log;
  }

  at::Tensor translate(Sequential& g, const at::Tensor& x, std::string_view what) {
    REBALANCE_CHECK(scaled, "CycleGAN: not trained yet");
    const auto t = images(x, what);
    torch::NoGradGuard ng;
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < t.size(0); i += kTranslateBatch)
      out.push_back(to_data(g->forward(to_model(t.slice(0, i, std::min(t.size(0), i + kTranslateBatch))))));
    return torch::cat(out);
  }
  at::Tensor forward(Sequential& g, const at::Tensor& x, std::string_view what) {
    REBALANCE_CHECK(scaled, "CycleGAN: not trained yet");
    REBALANCE_CHECK(x.defined() && x.dim() == 4, "CycleGAN: {} must be [n, C, H, W]", what);
    return to_data(g->forward(to_model(x)));
  }
  double cycle_error(Sequential& there, Sequential& back, const at::Tensor& x, std::string_view what) {
    const auto t = images(x, what);
    REBALANCE_CHECK(scaled, "CycleGAN: not trained yet");
    torch::NoGradGuard ng;
    double total = 0;
    for (int64_t i = 0; i < t.size(0); i += kTranslateBatch) {
      const auto part = t.slice(0, i, std::min(t.size(0), i + kTranslateBatch));
      total += (to_data(back->forward(there->forward(to_model(part)))) - part).abs().sum().item<double>();
    }
    return total / static_cast<double>(t.numel());
  }

  // -- files --
  std::string serialise() const {
    nlohmann::json j = {{"kind", "cyclegan"}, {"options", to_json(o)}, {"shape", shape}, {"seed", seed},
                        {"step", step},       {"scaled", scaled},      {"lo", lo},       {"hi", hi},
                        {"trainable", trainable}};
    TensorWriter archive;
    archive.add_module("g_ab", *g_ab), archive.add_module("g_ba", *g_ba);
    archive.add_module("d_a", *d_a), archive.add_module("d_b", *d_b);
    archive.add_optimizer("opt_g", *opt_g), archive.add_optimizer("opt_d", *opt_d);
    if (pool_a.defined()) archive.add("pool_a", pool_a);
    if (pool_b.defined()) archive.add("pool_b", pool_b);
    return frame_header(kGeneratorMagic, j) + archive.bytes();
  }
  static std::unique_ptr<CycleGANState> deserialise(const std::string& bytes, const std::string& where) {
    const auto u = unframe(bytes, kGeneratorMagic, "generator file", where);
    const auto& j = u.header;
    const auto kind = j.at("kind").get<std::string>();
    REBALANCE_CHECK(kind == "cyclegan", "{}: holds a {} generator, not a CycleGAN", where, kind);
    auto s = std::make_unique<CycleGANState>(options_from_json(j.at("options")),
                                             j.at("shape").get<std::vector<int64_t>>(), j.at("seed").get<uint64_t>());
    s->step = j.at("step").get<int64_t>();
    s->scaled = j.at("scaled").get<bool>();
    s->lo = j.at("lo").get<double>();
    s->hi = j.at("hi").get<double>();
    s->trainable = j.at("trainable").get<bool>();
    const std::string_view weights = std::string_view(bytes).substr(u.payload_offset);
    if (is_tensor_payload(weights)) {
      const TensorReader archive(weights, where);
      archive.load_module("g_ab", *s->g_ab), archive.load_module("g_ba", *s->g_ba);
      archive.load_module("d_a", *s->d_a), archive.load_module("d_b", *s->d_b);
      archive.load_optimizer("opt_g", *s->opt_g), archive.load_optimizer("opt_d", *s->opt_d);
      for (auto [name, pool] : {std::pair{"pool_a", &s->pool_a}, std::pair{"pool_b", &s->pool_b}}) {
        if (!archive.has(name)) continue;
        const auto t = archive.get(name);
        REBALANCE_CHECK(t.dim() == 4 && t.size(0) <= s->o.pool_size && t.scalar_type() == torch::kFloat &&
                            t.sizes().slice(1) == c10::IntArrayRef(s->shape),
                        "{}: corrupt generator file: {} is [{}], the header's images {} (at most {})", where, name,
                        fmt::join(t.sizes(), ", "), shape_text(s->shape), s->o.pool_size);
        *pool = t;
      }
    } else {
      require_trusted_legacy(where);
      std::istringstream in{std::string(weights)};
      torch::serialize::InputArchive archive, ga, gb, da, db, og, od;
      archive.load_from(in);
      archive.read("g_ab", ga), archive.read("g_ba", gb), archive.read("d_a", da), archive.read("d_b", db);
      archive.read("opt_g", og), archive.read("opt_d", od);
      s->g_ab->load(ga), s->g_ba->load(gb), s->d_a->load(da), s->d_b->load(db);
      s->opt_g->load(og), s->opt_d->load(od);
      // One tensor per read: reading into a defined tensor overwrites it in place.
      at::Tensor pa, pb;
      if (archive.try_read("pool_a", pa)) s->pool_a = pa;
      if (archive.try_read("pool_b", pb)) s->pool_b = pb;
    }
    for (auto* m : {&s->g_ab, &s->g_ba, &s->d_a, &s->d_b}) (*m)->eval();
    set_requires_grad(s->g_ab, s->trainable), set_requires_grad(s->g_ba, s->trainable);
    return s;
  }

  CycleGANOptions o;
  std::vector<int64_t> shape;
  uint64_t seed;
  int64_t layers = 1;
  Sequential g_ab{nullptr}, g_ba{nullptr}, d_a{nullptr}, d_b{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
  at::Tensor pool_a, pool_b;  ///< past fakes (model units), up to pool_size each
  int64_t step = 0;
  std::vector<CycleGANLog> history;
  bool scaled = false, trainable = true;
  double lo = 0.0, hi = 1.0;
};

// ---- CycleGAN -----------------------------------------------------------------------------------

CycleGAN::CycleGAN(CycleGANOptions options, std::vector<int64_t> image_shape, uint64_t seed)
    : s_(std::make_unique<CycleGANState>(std::move(options), std::move(image_shape), seed)) {}
CycleGAN::CycleGAN(std::unique_ptr<CycleGANState> state) : s_(std::move(state)) {}
CycleGAN::~CycleGAN() = default;
CycleGAN::CycleGAN(CycleGAN&&) noexcept = default;
CycleGAN& CycleGAN::operator=(CycleGAN&&) noexcept = default;

CycleGANLog CycleGAN::fit(const at::Tensor& a, const at::Tensor& b, int64_t steps, const GeneratorHook& hook) {
  return s_->fit(a, b, steps, hook);
}
int64_t CycleGAN::steps_done() const { return s_->step; }
int64_t CycleGAN::total_steps() const { return s_->o.steps + s_->o.decay_steps; }
const std::vector<CycleGANLog>& CycleGAN::history() const { return s_->history; }
at::Tensor CycleGAN::translate_ab(const at::Tensor& a) { return s_->translate(s_->g_ab, a, "a"); }
at::Tensor CycleGAN::translate_ba(const at::Tensor& b) { return s_->translate(s_->g_ba, b, "b"); }
at::Tensor CycleGAN::forward_ab(const at::Tensor& a) { return s_->forward(s_->g_ab, a, "a"); }
at::Tensor CycleGAN::forward_ba(const at::Tensor& b) { return s_->forward(s_->g_ba, b, "b"); }
double CycleGAN::cycle_error_a(const at::Tensor& a) { return s_->cycle_error(s_->g_ab, s_->g_ba, a, "a"); }
double CycleGAN::cycle_error_b(const at::Tensor& b) { return s_->cycle_error(s_->g_ba, s_->g_ab, b, "b"); }
std::vector<at::Tensor> CycleGAN::generator_parameters() const {
  auto p = s_->g_ab->parameters();
  for (auto& q : s_->g_ba->parameters()) p.push_back(q);
  return p;
}
void CycleGAN::set_generators_trainable(bool trainable) {
  s_->trainable = trainable;
  CycleGANState::set_requires_grad(s_->g_ab, trainable), CycleGANState::set_requires_grad(s_->g_ba, trainable);
}
void CycleGAN::save(const std::string& path) const {
  const auto bytes = s_->serialise();
  write_atomic(path, [&](std::ostream& out) { out << bytes; });
}
CycleGAN CycleGAN::load(const std::string& path) {
  const auto bytes = read_file(path);
  return CycleGAN(read_framed(path, "generator file", [&] { return CycleGANState::deserialise(bytes, path); }));
}
const std::vector<int64_t>& CycleGAN::image_shape() const { return s_->shape; }
const CycleGANOptions& CycleGAN::options() const { return s_->o; }
uint64_t CycleGAN::seed() const { return s_->seed; }
std::pair<int64_t, int64_t> CycleGAN::parameter_counts() const {
  auto count = [](const Sequential& m) {
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    return n;
  };
  return {count(s_->g_ab), count(s_->d_a)};
}

}  // namespace rebalance::generative
