// StarGAN on libtorch: one class-conditional ResNet generator, a PatchGAN discriminator with a
// class head, class-balanced batches, and a file format that resumes training exactly.
#include "rebalance/generative/stargan.hpp"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "gan_nets.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/generative/cyclegan.hpp"
#include "rebalance/core/progress.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::generative {

namespace {

constexpr std::string_view kGeneratorMagic = "REBALANCE-GENERATOR 1\n";  // as the other generators' files
constexpr int64_t kTranslateBatch = 256;

using namespace torch::nn;

int64_t auto_layers(const std::vector<int64_t>& shape) {
  const int64_t side = std::min(shape[1], shape[2]);
  return side < 64 ? 2 : side < 128 ? 3 : 4;
}

using detail::shape_text;

nlohmann::json to_json(StarGANOptions o) {
  nlohmann::json j = {{"cls_weight", o.cls_weight}, {"rec_weight", o.rec_weight}};
  detail::each_common_option(o, [&j](const char* k, const auto& v) { j[k] = v; });
  return j;
}

StarGANOptions options_from_json(const nlohmann::json& j) {
  StarGANOptions o;
  detail::each_common_option(o, [&j](const char* k, auto& v) { v = j.at(k).get<std::decay_t<decltype(v)>>(); });
  o.cls_weight = j.at("cls_weight").get<double>();
  o.rec_weight = j.at("rec_weight").get<double>();
  return o;
}

/// StarGAN's discriminator: `layers` stride-2 4x4 convolutions with leaky ReLU (no
/// normalisation), then a 3x3 real/fake map and a class head spanning the remaining positions.
struct DiscriminatorImpl : Module {
  DiscriminatorImpl(int64_t c, int64_t ndf, int64_t layers, int64_t h, int64_t w, int64_t classes) {
    int64_t ch = ndf;
    trunk->push_back(Conv2d(Conv2dOptions(c, ch, 4).stride(2).padding(1)));
    trunk->push_back(LeakyReLU(LeakyReLUOptions().negative_slope(0.01)));
    for (int64_t n = 1; n < layers; ++n, ch *= 2) {
      trunk->push_back(Conv2d(Conv2dOptions(ch, ch * 2, 4).stride(2).padding(1)));
      trunk->push_back(LeakyReLU(LeakyReLUOptions().negative_slope(0.01)));
    }
    register_module("trunk", trunk);
    src = register_module("src", Conv2d(Conv2dOptions(ch, 1, 3).stride(1).padding(1).bias(false)));
    cls = register_module("cls", Conv2d(Conv2dOptions(ch, classes, {h >> layers, w >> layers}).bias(false)));
  }
  /// Real/fake map [n, 1, h', w'] and class logits [n, classes].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const auto f = trunk->forward(x);
    return {src->forward(f), cls->forward(f).flatten(1)};
  }
  Sequential trunk;
  Conv2d src{nullptr}, cls{nullptr};
};
TORCH_MODULE(Discriminator);

/// The class-conditional generator: CycleGAN's ResNet generator reading the target class as K
/// constant input channels (StarGAN's input) and, because instance normalisation removes a
/// constant channel's contribution everywhere but at the padded borders, also through
/// class-conditional feature-wise scale and shift (FiLM; conditional instance norm) after the
/// first and the last down-sampling normalisation.
struct ConditionalGeneratorImpl : Module {
  ConditionalGeneratorImpl(int64_t c, int64_t classes, int64_t ngf, int64_t blocks) {
    const auto full = detail::resnet_generator(c + classes, c, ngf, blocks);
    // resnet_generator's layers: 0 pad, 1 conv, 2 norm | 3 relu, 4-5 down, 6 relu, 7 conv, 8 norm | 9 relu ...
    size_t i = 0;
    for (const auto& m : *full) {
      (i <= 2 ? head : i <= 8 ? mid : tail)->push_back(m);
      ++i;
    }
    register_module("head", head), register_module("mid", mid), register_module("tail", tail);
    film1 = register_module("film1", Embedding(classes, 2 * ngf));
    film2 = register_module("film2", Embedding(classes, 2 * 4 * ngf));
  }
  static torch::Tensor modulate(const torch::Tensor& h, const torch::Tensor& film) {
    const auto parts = film.chunk(2, 1);
    return h * (1 + parts[0].unsqueeze(2).unsqueeze(3)) + parts[1].unsqueeze(2).unsqueeze(3);
  }
  torch::Tensor forward(const torch::Tensor& x_with_planes, const torch::Tensor& target) {
    auto h = modulate(head->forward(x_with_planes), film1->forward(target));
    h = modulate(mid->forward(h), film2->forward(target));
    return tail->forward(h);
  }
  Sequential head, mid, tail;
  Embedding film1{nullptr}, film2{nullptr};
};
TORCH_MODULE(ConditionalGenerator);

/// Target classes as constant channels: [n] -> [n, classes, H, W] one-hot planes.
torch::Tensor class_planes(const torch::Tensor& target, int64_t classes, int64_t h, int64_t w) {
  return torch::one_hot(target, classes).to(torch::kFloat32).view({-1, classes, 1, 1}).expand({-1, classes, h, w});
}

}  // namespace

void check_stargan_options(const StarGANOptions& o) {
  REBALANCE_CHECK(o.ngf >= 1, "StarGAN: ngf must be >= 1, got {}", o.ngf);
  REBALANCE_CHECK(o.ndf >= 1, "StarGAN: ndf must be >= 1, got {}", o.ndf);
  REBALANCE_CHECK(o.blocks >= 0, "StarGAN: blocks must be >= 0, got {}", o.blocks);
  REBALANCE_CHECK(o.d_layers >= 0 && o.d_layers <= 7, "StarGAN: d_layers must be 0 (auto) to 7, got {}", o.d_layers);
  REBALANCE_CHECK(o.gan == "lsgan" || o.gan == "log", "StarGAN: gan must be lsgan or log, got \"{}\"", o.gan);
  for (const auto& [name, v] : {std::pair<const char*, double>{"cls_weight", o.cls_weight},
                                {"rec_weight", o.rec_weight},
                                {"identity_weight", o.identity_weight}})
    REBALANCE_CHECK(std::isfinite(v) && v >= 0, "StarGAN: {} must be >= 0, got {}", name, v);
  REBALANCE_CHECK(std::isfinite(o.lr) && o.lr > 0, "StarGAN: lr must be > 0, got {}", o.lr);
  REBALANCE_CHECK(o.beta1 >= 0 && o.beta1 < 1, "StarGAN: beta1 must be in [0, 1), got {}", o.beta1);
  REBALANCE_CHECK(o.beta2 >= 0 && o.beta2 < 1, "StarGAN: beta2 must be in [0, 1), got {}", o.beta2);
  REBALANCE_CHECK(o.batch_size >= 1, "StarGAN: batch_size must be >= 1, got {}", o.batch_size);
  REBALANCE_CHECK(o.steps >= 0, "StarGAN: steps must be >= 0, got {}", o.steps);
  REBALANCE_CHECK(o.decay_steps >= 0, "StarGAN: decay_steps must be >= 0, got {}", o.decay_steps);
}

std::string stargan_options_text(const StarGANOptions& o) { return to_json(o).dump(); }

// ---- state ------------------------------------------------------------------------------------

class StarGANState {
 public:
  StarGANState(StarGANOptions options, std::vector<int64_t> image_shape, int64_t classes, uint64_t seed)
      : o(std::move(options)), shape(std::move(image_shape)), k(classes), seed(seed) {
    check_stargan_options(o);
    REBALANCE_CHECK(shape.size() == 3,
                    "StarGAN: translates images [C, H, W], but the rows have shape {} (tabular rows cannot be "
                    "translated; use smote, vae or mgvae)",
                    shape_text(shape));
    REBALANCE_CHECK(shape[0] >= 1 && shape[1] >= 8 && shape[2] >= 8 && shape[1] % 4 == 0 && shape[2] % 4 == 0,
                    "StarGAN: images must be at least 8x8 with H and W multiples of 4 (two stride-2 layers), got {}",
                    shape_text(shape));
    REBALANCE_CHECK(k >= 2, "StarGAN: needs at least 2 classes to translate between, got {}", k);
    layers = o.d_layers > 0 ? o.d_layers : auto_layers(shape);
    const int64_t unit = int64_t(1) << layers;
    REBALANCE_CHECK(shape[1] % unit == 0 && shape[2] % unit == 0,
                    "StarGAN: d_layers={} needs H and W multiples of {}, got {}; use at most {}", layers, unit,
                    shape_text(shape), auto_layers(shape));
    torch::manual_seed(seed);
    g = ConditionalGenerator(shape[0], k, o.ngf, o.blocks);
    d = Discriminator(shape[0], o.ndf, layers, shape[1], shape[2], k);
    detail::init_gan_weights(*g);
    detail::init_gan_weights(*d);
    {
      torch::NoGradGuard ng;
      // Scales and shifts start apart, N(0, 0.3): from zero, Adam's steps of about lr each would
      // take thousands of steps to tell the classes apart (measured on digits 0/6/8 after 400
      // steps: translations into 6 and 8 differ by 0.001 from zero, 0.055 from N(0, 0.3)).
      g->film1->weight.normal_(0.0, 0.3), g->film2->weight.normal_(0.0, 0.3);
    }
    const auto adam = torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2});
    opt_g = std::make_unique<torch::optim::Adam>(g->parameters(), adam);
    opt_d = std::make_unique<torch::optim::Adam>(d->parameters(), adam);
  }

  at::Tensor images(const at::Tensor& x, std::string_view what) const {
    REBALANCE_CHECK(x.defined() && x.dim() >= 1 && x.size(0) >= 1, "StarGAN: {} holds no images", what);
    auto s = x.sizes().vec();
    s.erase(s.begin());
    REBALANCE_CHECK(s == shape, "StarGAN: {} holds rows of shape {}, but this model translates images of shape {}",
                    what, shape_text(s), shape_text(shape));
    auto t = x.to(torch::kCPU, torch::kFloat32).contiguous();
    REBALANCE_CHECK(torch::isfinite(t).all().item<bool>(), "StarGAN: {} holds NaN or infinite values", what);
    return t;
  }
  void check_class(int64_t c, std::string_view what) const {
    REBALANCE_CHECK(c >= 0 && c < k, "StarGAN: {} class {} is not among its {} classes", what, c, k);
  }
  at::Tensor to_model(const at::Tensor& x) const { return (x - lo) * (2.0 / (hi - lo)) - 1.0; }
  at::Tensor to_data(const at::Tensor& m) const { return (m + 1.0) * (0.5 * (hi - lo)) + lo; }
  at::Tensor generate(const at::Tensor& model_x, const at::Tensor& target) {
    return g->forward(torch::cat({model_x, class_planes(target, k, shape[1], shape[2])}, 1), target);
  }
  double lr_at(int64_t step) const { return detail::constant_then_linear(o.lr, o.steps, o.decay_steps, step); }
  static void set_lr(torch::optim::Adam& opt, double lr) {
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
  static void set_requires_grad(Module& m, bool on) {
    for (auto& p : m.parameters()) p.set_requires_grad(on);
  }

  StarGANLog fit(const at::Tensor& x_in, const at::Tensor& y_in, int64_t steps, const StarGANHook& hook) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto x = images(x_in, "the training images");
    REBALANCE_CHECK(y_in.defined() && y_in.dim() == 1 && y_in.size(0) == x.size(0),
                    "StarGAN: needs one class per image ({} images, {} labels)", x.size(0),
                    y_in.defined() ? y_in.numel() : 0);
    const auto y = y_in.to(torch::kCPU, torch::kInt64).contiguous();
    REBALANCE_CHECK(steps >= -1, "StarGAN: steps must be >= 0 (or -1: all that remain), got {}", steps);
    std::vector<std::vector<int64_t>> rows(static_cast<size_t>(k));
    const auto* py = y.data_ptr<int64_t>();
    for (int64_t i = 0; i < y.size(0); ++i) {
      check_class(py[i], "a training image's");
      rows[static_cast<size_t>(py[i])].push_back(i);
    }
    for (int64_t c = 0; c < k; ++c)
      REBALANCE_CHECK(!rows[static_cast<size_t>(c)].empty(),
                      "StarGAN: class {} has no training images; every one of the {} classes needs at least one", c, k);
    if (!scaled) {
      const double mn = x.min().item<double>(), mx = x.max().item<double>();
      if (mn >= 0.0 && mx <= 1.0)
        lo = 0.0, hi = 1.0;
      else
        lo = mn, hi = mx > mn ? mx : mn + 1.0;
      scaled = true;
    }
    const int64_t total = o.steps + o.decay_steps, bs = o.batch_size;
    const int64_t end = steps < 0 ? total : std::min(total, step + steps);
    StarGANLog log;
    set_requires_grad(*g, true);
    g->train(), d->train();
    ProgressMeter meter("StarGAN", end - step);
    for (; step < end; ++step, meter.advance()) {
      // A class-balanced batch: each row's class uniform, then a row of it; its target class
      // uniform among the others.
      Rng rng = Rng(seed).fork(streams::kStarGANStep + static_cast<uint64_t>(step));
      std::vector<int64_t> pick(bs), src(bs), dst(bs);
      for (int64_t i = 0; i < bs; ++i) {
        src[i] = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(k)));
        const auto& r = rows[static_cast<size_t>(src[i])];
        pick[i] = r[rng.uniform_int(r.size())];
        const auto t = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(k - 1)));
        dst[i] = t >= src[i] ? t + 1 : t;
      }
      const auto data_x = x.index_select(0, torch::tensor(pick, torch::kInt64));
      const auto real = to_model(data_x);
      const auto c_src = torch::tensor(src, torch::kInt64), c_dst = torch::tensor(dst, torch::kInt64);
      set_lr(*opt_g, lr_at(step)), set_lr(*opt_d, lr_at(step));

      // Generator, the discriminator held fixed. The generator normalises per image, so its
      // calls on the translations and the identity images are one call.
      set_requires_grad(*d, false);
      opt_g->zero_grad();
      const bool identity = o.identity_weight > 0;
      const auto out = generate(identity ? torch::cat({real, real}) : real,
                                identity ? torch::cat({c_dst, c_src}) : c_dst);
      const auto fake = out.slice(0, 0, bs);
      const auto rec = generate(fake, c_src);
      const auto [d_fake, cls_fake] = d->forward(fake);
      const auto adv = gan_loss(d_fake, true, o.gan);
      const auto cls = o.cls_weight * torch::nn::functional::cross_entropy(cls_fake, c_dst);
      const auto recon = o.rec_weight * l1_distance(rec, real);
      at::Tensor idt = torch::zeros({});
      if (identity) idt = o.identity_weight * o.rec_weight * l1_distance(out.slice(0, bs, 2 * bs), real);
      at::Tensor extra = torch::zeros({});
      if (hook) extra = hook(data_x, c_src, to_data(fake), c_dst);
      const auto loss_g = adv + cls + recon + idt + extra;
      REBALANCE_CHECK(std::isfinite(loss_g.item<double>()),
                      "StarGAN: the generator's loss became {} at step {}; lower lr (now {})", loss_g.item<double>(),
                      step + 1, o.lr);
      loss_g.backward();
      opt_g->step();

      // Discriminator: real rows (real, and their class) and the translations (fake).
      set_requires_grad(*d, true);
      opt_d->zero_grad();
      const auto [d_out, cls_out] = d->forward(torch::cat({real, fake.detach()}));
      const auto loss_adv = discriminator_loss(d_out.slice(0, 0, bs), d_out.slice(0, bs), o.gan);
      const auto loss_cls = torch::nn::functional::cross_entropy(cls_out.slice(0, 0, bs), c_src);
      (loss_adv + o.cls_weight * loss_cls).backward();
      opt_d->step();

      log.generator_adv += adv.item<double>(), log.classification += cls.item<double>();
      log.reconstruction += recon.item<double>(), log.identity += idt.item<double>();
      log.extra += extra.item<double>();
      log.discriminator += loss_adv.item<double>(), log.discriminator_cls += loss_cls.item<double>();
      ++log.steps;
    }
    g->eval(), d->eval();
    if (log.steps > 0) {
      const double n = static_cast<double>(log.steps);
      for (double* v : {&log.generator_adv, &log.classification, &log.reconstruction, &log.identity, &log.extra,
                        &log.discriminator, &log.discriminator_cls})
        *v /= n;
    }
    set_requires_grad(*g, trainable);
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(log);
    return log;
  }

  at::Tensor translate(const at::Tensor& x, int64_t target) {
    REBALANCE_CHECK(scaled, "StarGAN: not trained yet");
    check_class(target, "the target");
    const auto t = images(x, "the images to translate");
    torch::NoGradGuard ng;
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < t.size(0); i += kTranslateBatch) {
      const auto part = t.slice(0, i, std::min(t.size(0), i + kTranslateBatch));
      out.push_back(to_data(generate(to_model(part), torch::full({part.size(0)}, target, torch::kInt64))));
    }
    return torch::cat(out);
  }

  // -- files --
  std::string serialise() const {
    nlohmann::json j = {{"kind", "stargan"}, {"options", to_json(o)}, {"shape", shape},   {"classes", k},
                        {"seed", seed},      {"step", step},          {"scaled", scaled}, {"lo", lo},
                        {"hi", hi},          {"trainable", trainable}};
    TensorWriter archive;
    archive.add_module("g", *g), archive.add_module("d", *d);
    archive.add_optimizer("opt_g", *opt_g), archive.add_optimizer("opt_d", *opt_d);
    return frame_header(kGeneratorMagic, j) + archive.bytes();
  }
  static std::unique_ptr<StarGANState> deserialise(const std::string& bytes, const std::string& where) {
    const auto u = unframe(bytes, kGeneratorMagic, "generator file", where);
    const auto& j = u.header;
    const auto kind = j.at("kind").get<std::string>();
    REBALANCE_CHECK(kind == "stargan", "{}: holds a {} generator, not a StarGAN", where, kind);
    auto s = std::make_unique<StarGANState>(options_from_json(j.at("options")), j.at("shape").get<std::vector<int64_t>>(),
                                            j.at("classes").get<int64_t>(), j.at("seed").get<uint64_t>());
    s->step = j.at("step").get<int64_t>();
    s->scaled = j.at("scaled").get<bool>();
    s->lo = j.at("lo").get<double>();
    s->hi = j.at("hi").get<double>();
    s->trainable = j.at("trainable").get<bool>();
    const std::string_view weights = std::string_view(bytes).substr(u.payload_offset);
    if (is_tensor_payload(weights)) {
      const TensorReader archive(weights, where);
      archive.load_module("g", *s->g), archive.load_module("d", *s->d);
      archive.load_optimizer("opt_g", *s->opt_g), archive.load_optimizer("opt_d", *s->opt_d);
    } else {
      require_trusted_legacy(where);
      std::istringstream in{std::string(weights)};
      torch::serialize::InputArchive archive, ga, da, og, od;
      archive.load_from(in);
      archive.read("g", ga), archive.read("d", da), archive.read("opt_g", og), archive.read("opt_d", od);
      s->g->load(ga), s->d->load(da), s->opt_g->load(og), s->opt_d->load(od);
    }
    s->g->eval(), s->d->eval();
    set_requires_grad(*s->g, s->trainable);
    return s;
  }

  StarGANOptions o;
  std::vector<int64_t> shape;
  int64_t k;
  uint64_t seed;
  int64_t layers = 2;
  ConditionalGenerator g{nullptr};
  Discriminator d{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
  int64_t step = 0;
  std::vector<StarGANLog> history;
  bool scaled = false, trainable = true;
  double lo = 0.0, hi = 1.0;
};

// ---- StarGAN ------------------------------------------------------------------------------------

namespace {

/// One (a, b) pair of a shared StarGAN, as the per-pair CycleGANs are used.
class StarGANPair final : public ImageTranslator {
 public:
  StarGANPair(std::shared_ptr<StarGAN> gan, int64_t a, int64_t b) : gan_(std::move(gan)), a_(a), b_(b) {}
  at::Tensor translate_ab(const at::Tensor& x) override { return gan_->translate(x, b_); }
  at::Tensor translate_ba(const at::Tensor& x) override { return gan_->translate(x, a_); }

 private:
  std::shared_ptr<StarGAN> gan_;
  int64_t a_, b_;
};

}  // namespace

StarGAN::StarGAN(StarGANOptions options, std::vector<int64_t> image_shape, int64_t classes, uint64_t seed)
    : s_(std::make_unique<StarGANState>(std::move(options), std::move(image_shape), classes, seed)) {}
StarGAN::StarGAN(std::unique_ptr<StarGANState> state) : s_(std::move(state)) {}
StarGAN::~StarGAN() = default;
StarGAN::StarGAN(StarGAN&&) noexcept = default;
StarGAN& StarGAN::operator=(StarGAN&&) noexcept = default;

StarGANLog StarGAN::fit(const at::Tensor& x, const at::Tensor& y, int64_t steps, const StarGANHook& hook) {
  return s_->fit(x, y, steps, hook);
}
int64_t StarGAN::steps_done() const { return s_->step; }
int64_t StarGAN::total_steps() const { return s_->o.steps + s_->o.decay_steps; }
const std::vector<StarGANLog>& StarGAN::history() const { return s_->history; }
at::Tensor StarGAN::translate(const at::Tensor& x, int64_t target) { return s_->translate(x, target); }
at::Tensor StarGAN::forward(const at::Tensor& x, const at::Tensor& target) {
  REBALANCE_CHECK(s_->scaled, "StarGAN: not trained yet");
  REBALANCE_CHECK(x.defined() && x.dim() == 4 && target.defined() && target.dim() == 1 && target.size(0) == x.size(0),
                  "StarGAN: forward takes images [n, C, H, W] and n target classes");
  return s_->to_data(s_->generate(s_->to_model(x), target.to(torch::kInt64)));
}
double StarGAN::cycle_error(const at::Tensor& x, int64_t source, int64_t target) {
  s_->check_class(source, "the source");
  const auto there = translate(x, target);
  const auto back = translate(there, source);
  return (back - x.to(torch::kCPU, torch::kFloat32)).abs().mean().item<double>();
}
std::shared_ptr<ImageTranslator> StarGAN::pair(std::shared_ptr<StarGAN> gan, int64_t a, int64_t b) {
  REBALANCE_CHECK(gan != nullptr, "StarGAN::pair: no model");
  gan->s_->check_class(a, "domain A's");
  gan->s_->check_class(b, "domain B's");
  return std::make_shared<StarGANPair>(std::move(gan), a, b);
}
std::vector<at::Tensor> StarGAN::generator_parameters() const { return s_->g->parameters(); }
void StarGAN::set_generator_trainable(bool trainable) {
  s_->trainable = trainable;
  StarGANState::set_requires_grad(*s_->g, trainable);
}
void StarGAN::save(const std::string& path) const {
  const auto bytes = s_->serialise();
  write_atomic(path, [&](std::ostream& out) { out << bytes; });
}
StarGAN StarGAN::load(const std::string& path) {
  const auto bytes = read_file(path);
  return StarGAN(read_framed(path, "generator file", [&] { return StarGANState::deserialise(bytes, path); }));
}
const std::vector<int64_t>& StarGAN::image_shape() const { return s_->shape; }
int64_t StarGAN::classes() const { return s_->k; }
const StarGANOptions& StarGAN::options() const { return s_->o; }
std::pair<int64_t, int64_t> StarGAN::parameter_counts() const {
  auto count = [](const std::vector<at::Tensor>& ps) {
    int64_t n = 0;
    for (const auto& p : ps) n += p.numel();
    return n;
  };
  return {count(s_->g->parameters()), count(s_->d->parameters())};
}

}  // namespace rebalance::generative
