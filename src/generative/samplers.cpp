// VAEOverSampler and MGVAEOverSampler, and their declarations for the sampler factory.
#include "rebalance/generative/samplers.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "../over_sampling/detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/generative/quality.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/sampling/sampler_call.hpp"

namespace rebalance::generative {

namespace {

/// The batch for a class of `rows` rows: an explicit batch_size must fit the class; auto
/// (<= 0) takes `fallback` lowered to the class size.
int64_t batch_for(int64_t batch_size, int64_t fallback, int64_t rows, const std::string& sampler,
                  const std::string& class_name) {
  REBALANCE_CHECK(rows >= 2,
                  "{}: class \"{}\" has {} row{}; a generator needs at least 2 rows of the class to learn from",
                  sampler, class_name, rows, rows == 1 ? "" : "s");
  if (batch_size <= 0) return std::min(fallback, rows);
  REBALANCE_CHECK(batch_size <= rows,
                  "{}: batch_size={} is larger than class \"{}\", which has {} rows; lower batch_size to at most {} "
                  "(or leave it at auto)",
                  sampler, batch_size, class_name, rows, rows);
  return batch_size;
}

uint64_t class_seed(uint64_t seed, int64_t cls) { return Rng(seed).fork(streams::kGeneratorClass + static_cast<uint64_t>(cls)).next_u64() >> 1; }

std::vector<int64_t> shape_of(const Dataset& d) { return d.feature_shape(); }

}  // namespace

namespace {

/// A VAE trained on the rows of class `cls` (one-class form), as the sampler trains it.
VAE fit_class_vae(const VAEOverSamplerOptions& options, const Dataset& data, const at::Tensor& x, int64_t cls,
                  uint64_t seed) {
  VAEOptions o = options.vae;
  const auto counts = data.class_counts();
  o.train.batch_size = batch_for(o.train.batch_size, 32, counts[cls], "VAEOverSampler", data.class_names[cls]);
  VAE vae(o, shape_of(data), 0, class_seed(seed, cls));
  vae.fit(x.index_select(0, data.indices_of(cls).to(torch::kCPU)));
  return vae;
}

int64_t guiding_class(const MGVAEOverSamplerOptions& options, const Dataset& data) {
  const auto counts = data.class_counts();
  if (options.majority != "auto") return data.class_index(options.majority);
  return std::max_element(counts.begin(), counts.end()) - counts.begin();
}

void check_not_guide(const Dataset& data, int64_t cls, int64_t major) {
  REBALANCE_CHECK(cls != major,
                  "MGVAEOverSampler: class \"{}\" is the guiding majority class and cannot also be grown; choose "
                  "another majority= or a sampling_strategy without it",
                  data.class_names[cls]);
}

/// Stage 1 on the guiding class (skipped in the no-pre-training ablation).
MGVAE pretrained_mgvae(const MGVAEOverSamplerOptions& options, const Dataset& data, const at::Tensor& xmaj,
                       int64_t major, uint64_t seed) {
  MGVAEOptions o = options.mgvae;
  o.pretrain.batch_size = batch_for(o.pretrain.batch_size, 100, xmaj.size(0), "MGVAEOverSampler",
                                    data.class_names[major]);
  o.finetune.batch_size = std::max<int64_t>(1, o.finetune.batch_size);  // set per class in finetuned()
  MGVAE base(o, shape_of(data), class_seed(seed, major));
  if (options.pretrain) base.pretrain(xmaj);
  return base;
}

/// Stage 2: a copy of `base` fine-tuned on class `cls`.
MGVAE finetuned(const MGVAE& base, const MGVAEOverSamplerOptions& options, const Dataset& data, const at::Tensor& x,
                const at::Tensor& xmaj, int64_t cls, int64_t major) {
  check_not_guide(data, cls, major);
  const auto counts = data.class_counts();
  MGVAE mg = base.clone();
  mg.set_finetune_batch_size(
      batch_for(options.mgvae.finetune.batch_size, 100, counts[cls], "MGVAEOverSampler", data.class_names[cls]));
  mg.finetune(x.index_select(0, data.indices_of(cls).to(torch::kCPU)), xmaj);
  return mg;
}

/// Generator-side filtering: of m candidate rows of class `cls`, the positions of the `n` that a
/// logistic regression fitted on the data (class `cls` against the rest, at most 5000 rows of
/// each, a seeded draw) scores most like the class, in candidate order.
std::vector<int64_t> most_typical(const at::Tensor& candidates, int64_t n, const Dataset& data, const at::Tensor& x,
                                  int64_t cls, uint64_t seed) {
  Rng rng = Rng(seed).fork(streams::kTypicalRows + static_cast<uint64_t>(cls));
  const auto y = data.y.to(torch::kCPU);
  auto draw = [&](const at::Tensor& rows) {
    if (rows.size(0) <= 5000) return rows;
    return rows.index_select(0, torch::tensor(rng.choice_without_replacement(rows.size(0), 5000), torch::kInt64));
  };
  const auto pos = draw((y == cls).nonzero().flatten()), neg = draw((y != cls).nonzero().flatten());
  const auto rows = torch::cat({neg, pos});
  const auto labels = torch::cat({torch::zeros({neg.size(0)}, torch::kInt64), torch::ones({pos.size(0)}, torch::kInt64)});
  const auto flat = x.reshape({x.size(0), -1});
  const auto scores = logistic_scores(flat.index_select(0, rows), labels, candidates.reshape({candidates.size(0), -1}));
  const auto keep = std::get<0>(std::get<1>(scores.topk(n)).sort()).contiguous();
  return std::vector<int64_t>(keep.data_ptr<int64_t>(), keep.data_ptr<int64_t>() + n);
}

/// Rows `keep` of `rows` and of `parents`.
void keep_rows(at::Tensor& rows, std::vector<int64_t>& parents, const std::vector<int64_t>& keep) {
  rows = rows.index_select(0, torch::tensor(keep, torch::kInt64));
  std::vector<int64_t> p;
  p.reserve(keep.size());
  for (const auto k : keep) p.push_back(parents[k]);
  parents = std::move(p);
}

/// Candidates to generate for n rows: n, or ceil(filter * n) when filtering (filter >= 1).
int64_t pool_size(double filter, int64_t n) {
  return filter > 0 ? static_cast<int64_t>(std::ceil(filter * static_cast<double>(n))) : n;
}

/// The classes a target grows (n > 0), in order.
std::vector<int64_t> grown(const std::map<int64_t, int64_t>& target) {
  std::vector<int64_t> out;
  for (const auto& [c, n] : target)
    if (n > 0) out.push_back(c);
  return out;
}

/// Rows [n, ...] reshaped as data.x's rows.
at::Tensor as_rows_of(const at::Tensor& made, const Dataset& data) {
  auto s = data.x.sizes().vec();
  s[0] = made.size(0);
  return made.reshape(s);
}

/// A generator's factory string read by its own declarations, as the sampler factory reads it (any
/// of its names, sampling_strategy, seed=): the options, and the spec's seed= or else `seed`.
template <class O>
std::pair<O, uint64_t> read_generator(const std::string& text, const char* want, O (*options)(const Params&),
                                      uint64_t seed) {
  const auto spec = parse_spec(text);
  const SamplerInfo* info = find_sampler(spec.name);
  REBALANCE_CHECK(info != nullptr && info->name == want, "\"{}\" is not a {} spec", text, want);
  const auto call = read_sampler_call(spec, *info, seed);
  return {options(call.params), call.seed};
}

}  // namespace

VAEOverSampler::VAEOverSampler(VAEOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("vae", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  REBALANCE_CHECK(options_.vae.net.latent >= 1, "VAEOverSampler: latent must be >= 1 (the size of the code z), got {}",
                  options_.vae.net.latent);
}

Dataset VAEOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto counts = data.class_counts();
  // Every class first, so a bad batch size or a one-row class fails before any training.
  for (const auto& [c, n] : target)
    if (n > 0) batch_for(options_.vae.train.batch_size, 32, counts[c], "VAEOverSampler", data.class_names[c]);
  fitted_.clear();
  grown_ = grown(target);
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  if (options_.conditional) {
    VAEOptions o = options_.vae;
    o.train.batch_size = batch_for(o.train.batch_size, 64, data.size(), "VAEOverSampler", "(all rows)");
    auto vae = std::make_shared<VAE>(o, shape_of(data), data.num_classes(), class_seed(seed(), -1));
    vae->fit(x, data.y.to(torch::kCPU, torch::kInt64));
    fitted_[-1] = vae;
  }
  over_sampling::detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    if (!options_.conditional) fitted_[c] = std::make_shared<VAE>(fit_class_vae(options_, data, x, c, seed()));
    std::vector<int64_t> src;
    const auto made = sample_class(data, c, n, 0, &src);
    out.add_rows(c, made.reshape({n, -1}), std::move(src), {});
  }
  return out.append_to(data);
}

VAE& VAEOverSampler::fitted_for(int64_t cls) const {
  const auto it = fitted_.find(options_.conditional ? -1 : cls);
  REBALANCE_CHECK(it != fitted_.end(), "VAEOverSampler: no VAE was trained for class {}; fit_resample trains one for "
                  "each class it grows", cls);
  return *it->second;
}

at::Tensor VAEOverSampler::sample_class(const Dataset& data, int64_t c, int64_t n, uint64_t, std::vector<int64_t>* parents) {
  VAE& vae = fitted_for(c);
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t cls = options_.conditional ? c : -1;
  const int64_t m = pool_size(options_.filter, n);
  at::Tensor made;
  std::vector<int64_t> src;
  if (options_.sample == "prior") {
    made = vae.sample(m, cls);
    src.assign(m, -1);
  } else {
    // Around the class's real rows, whose positions in `data` become the parents.
    const auto rows = data.indices_of(c).to(torch::kCPU);
    made = vae.sample_around(x.index_select(0, rows), m, options_.perturb, &src,
                             options_.conditional ? data.y.to(torch::kCPU, torch::kInt64).index_select(0, rows)
                                                  : at::Tensor());
    const auto* pr = rows.data_ptr<int64_t>();
    for (auto& s : src) s = pr[s];
  }
  if (m > n) keep_rows(made, src, most_typical(made, n, data, x, c, seed()));
  if (parents) *parents = std::move(src);
  return as_rows_of(made, data);
}

std::vector<int64_t> VAEOverSampler::fitted_classes() const { return grown_; }

at::Tensor VAEOverSampler::network(int64_t cls, const at::Tensor& z) {
  return fitted_for(cls).decode(z, options_.conditional ? cls : -1);
}
int64_t VAEOverSampler::network_latent(int64_t cls) const { return fitted_for(cls).latent(); }
std::vector<at::Tensor> VAEOverSampler::network_tensors(int64_t cls) const { return fitted_for(cls).network_tensors(); }
void VAEOverSampler::set_trainable(bool on) {
  for (auto& [c, v] : fitted_) v->set_trainable(on);
}

VAEOverSampler::~VAEOverSampler() = default;

double VAEOverSampler::reconstruction_error(int64_t cls, const at::Tensor& x) const {
  if (auto it = fitted_.find(-1); it != fitted_.end())
    return it->second->reconstruction_error(x, torch::full({x.size(0)}, cls, torch::kInt64));
  const auto it = fitted_.find(cls);
  return it == fitted_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second->reconstruction_error(x);
}

MGVAEOverSampler::MGVAEOverSampler(MGVAEOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("mgvae", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  REBALANCE_CHECK(options_.mgvae.net.latent >= 1, "MGVAEOverSampler: latent must be >= 1 (the size of the code z), got {}",
                  options_.mgvae.net.latent);
}

Dataset MGVAEOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto counts = data.class_counts();
  const int64_t major = guiding_class(options_, data);
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    check_not_guide(data, c, major);
    batch_for(options_.mgvae.finetune.batch_size, 100, counts[c], "MGVAEOverSampler", data.class_names[c]);
  }
  fitted_.clear();
  grown_ = grown(target);
  if (grown_.empty()) return data;
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto xmaj = x.index_select(0, data.indices_of(major).to(torch::kCPU));
  // Stage 1 once, shared by every class to grow; stage 2 per class.
  const MGVAE base = pretrained_mgvae(options_, data, xmaj, major, seed());
  over_sampling::detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    fitted_[c] = std::make_shared<MGVAE>(finetuned(base, options_, data, x, xmaj, c, major));
    std::vector<int64_t> src;
    const auto fake = sample_class(data, c, n, 0, &src);
    out.add_rows(c, fake.reshape({n, -1}), std::move(src), {});
  }
  return out.append_to(data);
}

MGVAE& MGVAEOverSampler::fitted_for(int64_t cls) const {
  const auto it = fitted_.find(cls);
  REBALANCE_CHECK(it != fitted_.end(), "MGVAEOverSampler: no MGVAE was fine-tuned for class {}; fit_resample "
                  "fine-tunes one for each class it grows", cls);
  return *it->second;
}

at::Tensor MGVAEOverSampler::sample_class(const Dataset& data, int64_t c, int64_t n, uint64_t,
                                          std::vector<int64_t>* parents) {
  MGVAE& mg = fitted_for(c);
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto major_rows = data.indices_of(guiding_class(options_, data)).to(torch::kCPU);
  const auto* pmaj = major_rows.data_ptr<int64_t>();
  std::vector<int64_t> src;
  const int64_t m = pool_size(options_.filter, n);
  auto fake = mg.generate(x.index_select(0, major_rows), m, &src);
  std::vector<int64_t> parent0(m);
  for (int64_t i = 0; i < m; ++i) parent0[i] = pmaj[src[i]];
  if (m > n) keep_rows(fake, parent0, most_typical(fake, n, data, x, c, seed()));
  if (parents) *parents = std::move(parent0);
  return as_rows_of(fake, data);
}

std::vector<int64_t> MGVAEOverSampler::fitted_classes() const { return grown_; }
at::Tensor MGVAEOverSampler::network(int64_t cls, const at::Tensor& z) { return fitted_for(cls).decode(z); }
int64_t MGVAEOverSampler::network_latent(int64_t cls) const { return fitted_for(cls).latent(); }
std::vector<at::Tensor> MGVAEOverSampler::network_tensors(int64_t cls) const { return fitted_for(cls).network_tensors(); }
void MGVAEOverSampler::set_trainable(bool on) {
  for (auto& [c, m] : fitted_) m->set_trainable(on);
}

MGVAEOverSampler::~MGVAEOverSampler() = default;

double MGVAEOverSampler::reconstruction_error(int64_t cls, const at::Tensor& x) const {
  const auto it = fitted_.find(cls);
  return it == fitted_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second->reconstruction_error(x);
}

// ---- CycleGAN ---------------------------------------------------------------------------------

namespace {

int64_t domain_a_class(const CycleGANOverSamplerOptions& options, const Dataset& data) {
  const auto counts = data.class_counts();
  if (options.majority != "auto") return data.class_index(options.majority);
  return std::max_element(counts.begin(), counts.end()) - counts.begin();
}

/// Every check a class to grow must pass before any training starts.
void check_cyclegan_class(const CycleGANOverSamplerOptions& options, const Dataset& data, int64_t cls, int64_t major) {
  const auto shape = data.feature_shape();
  REBALANCE_CHECK(shape.size() == 3,
                  "CycleGANOverSampler: translates images [C, H, W], but the rows of \"{}\" are tabular ({} "
                  "features); use smote, vae or mgvae for tabular data",
                  data.name, data.num_features());
  REBALANCE_CHECK(cls != major,
                  "CycleGANOverSampler: class \"{}\" is domain A (the class translated from) and cannot also be "
                  "grown; choose another majority= or a sampling_strategy without it",
                  data.class_names[cls]);
  const auto counts = data.class_counts();
  REBALANCE_CHECK(counts[cls] >= options.gan.batch_size,
                  "CycleGANOverSampler: class \"{}\" has {} image{}, fewer than batch_size={}; lower batch_size to "
                  "at most {}",
                  data.class_names[cls], counts[cls], counts[cls] == 1 ? "" : "s", options.gan.batch_size,
                  counts[cls]);
  REBALANCE_CHECK(counts[major] >= options.gan.batch_size,
                  "CycleGANOverSampler: domain A, class \"{}\", has {} images, fewer than batch_size={}",
                  data.class_names[major], counts[major], options.gan.batch_size);
}

CycleGAN fit_class_cyclegan(const CycleGANOverSamplerOptions& options, const Dataset& data, const at::Tensor& x,
                            const at::Tensor& xmaj, int64_t cls, int64_t major, uint64_t seed) {
  check_cyclegan_class(options, data, cls, major);
  CycleGAN gan(options.gan, data.feature_shape(), class_seed(seed, cls));
  gan.fit(xmaj, x.index_select(0, data.indices_of(cls).to(torch::kCPU)));
  return gan;
}

/// Images of x [N, D] as [N, C, H, W].
at::Tensor as_images(const at::Tensor& x, const Dataset& data) {
  auto s = data.feature_shape();
  s.insert(s.begin(), x.size(0));
  return x.reshape(s);
}

/// The majority images the GAN samplers translate into class c: n rows of class `major` in
/// seeded permutations, one after another (draw 0 is fit_resample's order), as float32
/// [n, C, H, W], and the row of `data` each one is (the new rows' parents).
std::pair<at::Tensor, std::vector<int64_t>> translation_sources(const Dataset& data, int64_t major, uint64_t seed,
                                                                int64_t c, uint64_t draw, int64_t n) {
  const auto major_rows = data.indices_of(major).to(torch::kCPU);
  Rng rng = Rng(seed).fork(streams::kTranslatedSources + static_cast<uint64_t>(c));
  if (draw > 0) rng = rng.fork(draw);
  const auto src = rng.cycled_permutations(major_rows.size(0), n);
  const auto* pmaj = major_rows.data_ptr<int64_t>();
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = pmaj[src[i]];
  const auto idx = torch::tensor(rows, torch::kInt64).to(data.x.device());
  return {as_images(data.x.index_select(0, idx).to(torch::kCPU, torch::kFloat32).contiguous(), data), std::move(rows)};
}

}  // namespace

CycleGANOverSampler::CycleGANOverSampler(CycleGANOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("cyclegan", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  check_cyclegan_options(options_.gan);
}

CycleGANOverSampler::~CycleGANOverSampler() = default;

std::shared_ptr<CycleGAN> CycleGANOverSampler::fitted(int64_t cls) const {
  const auto it = fitted_.find(cls);
  return it == fitted_.end() ? nullptr : it->second;
}

Dataset CycleGANOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t major = domain_a_class(options_, data);
  for (const auto& [c, n] : target)
    if (n > 0) check_cyclegan_class(options_, data, c, major);
  fitted_.clear();
  grown_ = grown(target);
  major_ = major;
  if (grown_.empty()) return data;
  const auto x = as_images(data.x.to(torch::kCPU, torch::kFloat32).contiguous(), data);
  const auto xmaj = x.index_select(0, data.indices_of(major).to(torch::kCPU));
  over_sampling::detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    fitted_[c] = std::make_shared<CycleGAN>(fit_class_cyclegan(options_, data, x, xmaj, c, major, seed()));
    std::vector<int64_t> src;
    const auto fake = sample_class(data, c, n, 0, &src);
    out.add_rows(c, fake.reshape({n, -1}), std::move(src), {});
  }
  return out.append_to(data);
}

at::Tensor CycleGANOverSampler::sample_class(const Dataset& data, int64_t c, int64_t n, uint64_t draw,
                                             std::vector<int64_t>* parents) {
  const auto gan = fitted(c);
  REBALANCE_CHECK(gan != nullptr, "CycleGANOverSampler: no CycleGAN was trained for class {}; fit_resample trains "
                  "one for each class it grows", c);
  auto [images, rows] = translation_sources(data, major_, seed(), c, draw, n);
  const auto fake = gan->translate_ab(images);
  if (parents) *parents = std::move(rows);
  return as_rows_of(fake, data);
}

std::vector<int64_t> CycleGANOverSampler::fitted_classes() const { return grown_; }
at::Tensor CycleGANOverSampler::network(int64_t cls, const at::Tensor& x) {
  const auto gan = fitted(cls);
  REBALANCE_CHECK(gan != nullptr, "CycleGANOverSampler: no CycleGAN was trained for class {}", cls);
  return gan->forward_ab(x);
}
std::vector<at::Tensor> CycleGANOverSampler::network_tensors(int64_t cls) const {
  const auto gan = fitted(cls);
  REBALANCE_CHECK(gan != nullptr, "CycleGANOverSampler: no CycleGAN was trained for class {}", cls);
  return gan->generator_parameters();
}
void CycleGANOverSampler::set_trainable(bool on) {
  for (auto& [c, g] : fitted_) g->set_generators_trainable(on);
}

// ---- StarGAN ----------------------------------------------------------------------------------

StarGANOverSampler::StarGANOverSampler(StarGANOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("stargan", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  check_stargan_options(options_.gan);
}

StarGANOverSampler::~StarGANOverSampler() = default;

Dataset StarGANOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto shape = data.feature_shape();
  REBALANCE_CHECK(shape.size() == 3,
                  "StarGANOverSampler: translates images [C, H, W], but the rows of \"{}\" are tabular ({} "
                  "features); use smote, vae or mgvae for tabular data",
                  data.name, data.num_features());
  const auto counts = data.class_counts();
  const int64_t major = options_.majority != "auto"
                            ? data.class_index(options_.majority)
                            : std::max_element(counts.begin(), counts.end()) - counts.begin();
  bool any = false;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    REBALANCE_CHECK(c != major,
                    "StarGANOverSampler: class \"{}\" is the class translated from (majority) and cannot also be "
                    "grown; choose another majority= or a sampling_strategy without it",
                    data.class_names[c]);
    any = true;
  }
  for (int64_t c = 0; c < data.num_classes(); ++c)
    REBALANCE_CHECK(counts[c] >= 1,
                    "StarGANOverSampler: class \"{}\" has no images; the class-conditional generator learns every "
                    "class of the data and needs at least one image of each",
                    data.class_names[c]);
  fitted_.reset();
  major_ = major;
  grown_ = grown(target);
  if (!any) return data;
  const auto x = as_images(data.x.to(torch::kCPU, torch::kFloat32).contiguous(), data);
  fitted_ = std::make_shared<StarGAN>(options_.gan, shape, data.num_classes(), class_seed(seed(), -1));
  fitted_->fit(x, data.y.to(torch::kCPU));
  over_sampling::detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    std::vector<int64_t> src;
    const auto fake = sample_class(data, c, n, 0, &src);
    out.add_rows(c, fake.reshape({n, -1}), std::move(src), {});
  }
  return out.append_to(data);
}

at::Tensor StarGANOverSampler::sample_class(const Dataset& data, int64_t c, int64_t n, uint64_t draw,
                                            std::vector<int64_t>* parents) {
  REBALANCE_CHECK(fitted_ != nullptr && c >= 0 && c < fitted_->classes() && c != major_,
                  "StarGANOverSampler: class {} was not grown by the last fit_resample", c);
  auto [images, rows] = translation_sources(data, major_, seed(), c, draw, n);
  const auto fake = fitted_->translate(images, c);
  if (parents) *parents = std::move(rows);
  return as_rows_of(fake, data);
}

std::vector<int64_t> StarGANOverSampler::fitted_classes() const { return grown_; }
at::Tensor StarGANOverSampler::network(int64_t cls, const at::Tensor& x) {
  REBALANCE_CHECK(fitted_ != nullptr && cls >= 0 && cls < fitted_->classes(),
                  "StarGANOverSampler: no class {} in the StarGAN trained", cls);
  REBALANCE_CHECK(x.dim() == 4, "StarGANOverSampler: the generator takes images [n, C, H, W], got {}-D", x.dim());
  // The target class for every row, made from x itself so that a traced copy takes any n.
  const auto target = torch::zeros_like(x.select(1, 0).select(1, 0).select(1, 0), torch::kInt64) + cls;
  return fitted_->forward(x, target);
}
std::vector<at::Tensor> StarGANOverSampler::network_tensors(int64_t) const {
  REBALANCE_CHECK(fitted_ != nullptr, "StarGANOverSampler: no StarGAN was trained");
  return fitted_->generator_parameters();
}
void StarGANOverSampler::set_trainable(bool on) {
  if (fitted_) fitted_->set_generator_trainable(on);
}

namespace {

constexpr int64_t kBig = int64_t(1) << 31;

constexpr const char* kFilterHelp =
    ">= 1: generate filter x the rows asked for and keep those a logistic regression fitted on the real rows "
    "scores most like the class; 0: keep every generated row";

/// A step floor: an integer, or auto (`fallback`, or 0 where the user set the budget himself
/// through one of `budget_keys`: "vae:epochs=3" trains 3 epochs).
int64_t min_steps_param(const Params& p, const char* key, std::initializer_list<const char*> budget_keys,
                        int64_t fallback) {
  if (p.get_string(key) != "auto") return p.get_int_in(key, 0, kBig);
  for (const char* k : budget_keys)
    if (p.has(k)) return 0;
  return fallback;
}

double filter_param(const Params& p) {
  const double f = p.get_double_in("filter", 0.0, 1000.0);
  REBALANCE_CHECK(f == 0.0 || f >= 1.0, "filter must be 0 (off) or >= 1 (the candidate pool's size over the rows "
                  "kept), got {}", f);
  return f;
}

int64_t batch_param(const Params& p) {
  const auto v = p.get_string("batch_size");
  return v == "auto" ? 0 : p.get_int_in("batch_size", 1, kBig);
}

NetOptions net_params(const Params& p, NetOptions net) {
  net.arch = p.get_string("arch");
  net.latent = p.get_int_in("latent", 1, 1 << 20);
  net.hidden = p.get_ints("hidden");
  for (auto h : net.hidden) REBALANCE_CHECK(h >= 1, "hidden widths must be >= 1, got {}", h);
  net.channels = p.get_ints("channels");
  net.likelihood = p.get_string("likelihood");
  net.posterior = p.get_string("posterior");
  return net;
}

/// The parameters the image-to-image GANs share (CycleGAN, StarGAN), `max_layers` discriminator
/// stride-2 layers at most.
template <class Options>
void read_common_gan_params(const Params& p, Options& g, int64_t max_layers) {
  g.ngf = p.get_int_in("ngf", 1, 4096);
  g.ndf = p.get_int_in("ndf", 1, 4096);
  g.blocks = p.get_int_in("blocks", 0, 64);
  g.d_layers = p.get_string("d_layers") == "auto" ? 0 : p.get_int_in("d_layers", 1, max_layers);
  g.gan = p.get_string("gan");
  g.identity_weight = p.get_double_in("identity_weight", 0.0, 1e6);
  g.lr = p.get_double_in("lr", 1e-12, 1e3);
  g.beta1 = p.get_double_in("beta1", 0.0, 0.999999);
  g.beta2 = p.get_double_in("beta2", 0.0, 0.999999);
  g.batch_size = p.get_int_in("batch_size", 1, 1 << 20);
  g.steps = p.get_int_in("steps", 0, kBig);
  g.decay_steps = p.get_int_in("decay_steps", 0, kBig);
}

/// The network's shape parameters the VAE and DeepSMOTE share, with the given latent default.
std::vector<ParamDecl> network_params(const std::string& latent) {
  return {{"latent", latent, "latent dimensions"},
        {"arch", "auto", "mlp, conv (images [C,H,W], H and W multiples of 4), auto: conv for such images"},
        {"hidden", "[400]", "MLP encoder widths (the decoder mirrors them)"},
        {"channels", "[16,32]", "conv encoder channels (two 5x5 stride-2 layers)"}};
}

}  // namespace

const std::vector<ParamDecl>& vae_params() {
  static const std::vector<ParamDecl> decls = [] {
    auto d = network_params("20");
    d.insert(d.end(), {
        {"likelihood", "auto", "bernoulli (BCE, data in [0,1]), gaussian (squared error), auto"},
        {"posterior", "diag", "diag (per-dimension log-variance head) or shared (one learned log-variance)"},
        {"kl_weight", "1", "weight of the KL term (beta-VAE)"},
        {"epochs", "100", "training epochs over the class's rows"},
        {"steps", "0", "> 0: train this many optimiser steps instead of epochs (Mishra's VAE post: 1000)"},
        {"min_steps", "auto", "with an epoch budget, train at least this many steps, so small classes train fully; "
                              "auto: 2000, or 0 where epochs or steps is given"},
        {"batch_size", "auto", "rows per step; auto: 32 (64 conditional), at most the class size"},
        {"lr", "0.001", "Adam learning rate"},
        {"conditional", "false", "one class-conditional VAE over all rows instead of one VAE per class"},
        {"sample", "posterior", "posterior (decode around real rows of the class: z = mu(x) + perturb * sigma(x) * "
                                "eps; parents[0] is that row) or prior (decode z ~ N(0, I), as Mishra's VAE post does)"},
        {"perturb", "1", "posterior sampling: scale of the latent noise (0: the posterior mean)"},
        {"filter", "0", kFilterHelp}});
    return d;
  }();
  return decls;
}

VAEOverSamplerOptions vae_options(const Params& p) {
  VAEOverSamplerOptions o;
  o.vae.net = net_params(p, o.vae.net);
  o.vae.train.kl_weight = p.get_double_in("kl_weight", 0.0, 1e12);
  o.vae.train.epochs = p.get_int_in("epochs", 0, kBig);
  o.vae.train.steps = p.get_int_in("steps", 0, kBig);
  o.vae.train.min_steps = min_steps_param(p, "min_steps", {"epochs", "steps"}, generative::kVaeMinSteps);
  o.vae.train.batch_size = batch_param(p);
  o.vae.train.lr = p.get_double_in("lr", 1e-12, 1e6);
  o.conditional = p.get_bool("conditional");
  o.sample = p.get_string("sample");
  REBALANCE_CHECK(o.sample == "prior" || o.sample == "posterior",
                  "VAEOverSampler: sample must be prior or posterior, got \"{}\"", o.sample);
  o.perturb = p.get_double_in("perturb", 0.0, 1e6);
  o.filter = filter_param(p);
  return o;
}

const std::vector<ParamDecl>& deepsmote_params() {
  static const std::vector<ParamDecl> decls = [] {
    auto d = network_params("32");
    d.insert(d.end(), {
        {"epochs", "50", "training epochs over every row"},
        {"min_steps", "1000", "train at least this many optimiser steps"},
        {"batch_size", "100", "rows per step (Dablain et al.: 100)"},
        {"lr", "0.0002", "Adam learning rate (Dablain et al.: 2e-4)"},
        {"penalty", "1", "weight of the class penalty: a random class's codes decoded against its rows"},
        {"k_neighbors", "5", "nearest codes of the class to interpolate towards"}});
    return d;
  }();
  return decls;
}

DeepSMOTEOverSamplerOptions deepsmote_options(const Params& p) {
  DeepSMOTEOverSamplerOptions o;
  // The network's shape as the VAE's; the loss is DeepSMOTE's own (squared error, no likelihood).
  o.ae.net.arch = p.get_string("arch");
  o.ae.net.latent = p.get_int_in("latent", 1, 1 << 20);
  o.ae.net.hidden = p.get_ints("hidden");
  for (auto h : o.ae.net.hidden) REBALANCE_CHECK(h >= 1, "hidden widths must be >= 1, got {}", h);
  o.ae.net.channels = p.get_ints("channels");
  o.ae.train.epochs = p.get_int_in("epochs", 0, kBig);
  o.ae.train.min_steps = p.get_int_in("min_steps", 0, kBig);
  o.ae.train.batch_size = p.get_int_in("batch_size", 1, 1 << 20);
  o.ae.train.lr = p.get_double_in("lr", 1e-12, 1e6);
  o.ae.penalty = p.get_double_in("penalty", 0.0, 1e6);
  o.k_neighbors = p.get_int_in("k_neighbors", 1, 1 << 20);
  return o;
}

DeepSMOTEOverSampler::DeepSMOTEOverSampler(DeepSMOTEOverSamplerOptions options, SamplingStrategy strategy,
                                           uint64_t seed)
    : Sampler("deepsmote", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {}
DeepSMOTEOverSampler::~DeepSMOTEOverSampler() = default;

Dataset DeepSMOTEOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto counts = data.class_counts();
  for (const auto& [c, n] : target)
    REBALANCE_CHECK(n == 0 || counts[c] >= 2, "DeepSMOTEOverSampler: class \"{}\" has {} row; SMOTE among its codes "
                    "needs at least 2", data.class_names[c], counts[c]);
  auto o = options_.ae;
  o.train.batch_size = std::min<int64_t>(o.train.batch_size, data.size());
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  ae_ = std::make_shared<DeepSMOTEAutoencoder>(o, shape_of(data), class_seed(seed(), -1));
  ae_->fit(x, data.y.to(torch::kCPU, torch::kInt64));
  over_sampling::detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const auto rows = data.indices_of(c).to(torch::kCPU);
    const auto codes = ae_->encode(x.index_select(0, rows));
    Rng rng = Rng(seed()).fork(streams::kDeepSmoteDraws + static_cast<uint64_t>(c));
    std::vector<int64_t> base, neighbour;
    const auto z = latent_smote(codes, n, options_.k_neighbors, rng, &base, &neighbour);
    at::Tensor made;
    {
      torch::NoGradGuard ng;
      made = ae_->decode(z);
    }
    const auto* pr = rows.data_ptr<int64_t>();
    for (auto& b : base) b = pr[b];
    for (auto& j : neighbour) j = pr[j];
    out.add_rows(c, as_rows_of(made, data).reshape({n, -1}), std::move(base), std::move(neighbour));
  }
  return out.append_to(data);
}

const std::vector<ParamDecl>& mgvae_params() {
  static const std::vector<ParamDecl> decls = {{"latent", "10", "latent dimensions"},
        {"arch", "mlp", "mlp, conv (images [C,H,W], H and W multiples of 4), auto"},
        {"hidden", "[300,300]", "MLP encoder widths (the decoder mirrors them)"},
        {"channels", "[16,32]", "conv encoder channels"},
        {"likelihood", "gaussian", "gaussian (squared error, the reference's), bernoulli, auto"},
        {"posterior", "shared", "shared (one learned log-variance, also the prior's) or diag"},
        {"kl_weight", "1", "weight of the KL term"},
        {"pretrain", "true", "stage 1 on the majority (false: the no-pre-training ablation)"},
        {"pretrain_epochs", "20", "stage-1 epochs over the majority"},
        {"finetune_epochs", "100", "stage-2 epochs over the class's rows"},
        {"pretrain_steps", "0", "> 0: stage 1 trains this many optimiser steps instead of epochs"},
        {"finetune_steps", "0", "> 0: stage 2 trains this many optimiser steps instead of epochs"},
        {"finetune_min_steps", "auto", "with an epoch budget, stage 2 trains at least this many steps; auto: 1000, "
                                       "or 0 where finetune_epochs or finetune_steps is given"},
        {"batch_size", "auto", "rows per step; auto: 100, at most the class size"},
        {"lr", "0.005", "Adam learning rate (both stages)"},
        {"exemplars", "10000", "majority exemplars in the mixture prior, redrawn every step"},
        {"exemplar_grad", "true", "back-propagate through the exemplars' encodings"},
        {"ewc_lambda", "5e6", "EWC strength; 0: the no-EWC ablation"},
        {"fisher_samples", "100", "samples whose squared gradients estimate the Fisher"},
        {"fisher_source", "translations", "translations (the model's own, of the first majority rows: the "
                                          "reference's) or majority (real majority rows at random)"},
        {"majority", "auto", "the guiding class (name or number); auto: the largest"},
        {"filter", "0", kFilterHelp}};
  return decls;
}

MGVAEOverSamplerOptions mgvae_options(const Params& p) {
  MGVAEOverSamplerOptions o;
  auto& m = o.mgvae;
  m.net = net_params(p, m.net);
  const double kl = p.get_double_in("kl_weight", 0.0, 1e12), lr = p.get_double_in("lr", 1e-12, 1e6);
  const int64_t bs = batch_param(p);
  m.pretrain = {p.get_int_in("pretrain_epochs", 0, kBig), bs, lr, kl, p.get_int_in("pretrain_steps", 0, kBig)};
  m.finetune = {p.get_int_in("finetune_epochs", 0, kBig), bs, lr, kl, p.get_int_in("finetune_steps", 0, kBig),
                min_steps_param(p, "finetune_min_steps", {"finetune_epochs", "finetune_steps"},
                                generative::kMgvaeFinetuneMinSteps)};
  m.exemplars = p.get_int_in("exemplars", 1, kBig);
  m.exemplar_grad = p.get_bool("exemplar_grad");
  m.ewc_lambda = p.get_double_in("ewc_lambda", 0.0, 1e300);
  m.fisher_samples = p.get_int_in("fisher_samples", 1, kBig);
  m.fisher_source = p.get_string("fisher_source");
  o.pretrain = p.get_bool("pretrain");
  o.majority = p.get_string("majority");
  o.filter = filter_param(p);
  return o;
}

const std::vector<ParamDecl>& cyclegan_params() {
  static const std::vector<ParamDecl> decls = {{"ngf", "16", "generator base filters (CycleGAN: 64; narrowed for 28x28 on 2 cores)"},
        {"ndf", "16", "discriminator base filters (CycleGAN: 64)"},
        {"blocks", "4", "residual blocks at 1/4 resolution (CycleGAN: 9)"},
        {"d_layers", "auto", "PatchGAN stride-2 layers; auto: 1 below 64 pixels, 2 below 128, else 3"},
        {"gan", "lsgan", "adversarial loss: lsgan (least squares, CycleGAN's) or log (the seed's slides)"},
        {"cycle_weight", "10", "weight of the L1 cycle terms (beta)"},
        {"identity_weight", "0.5", "identity L1 terms' weight as a multiple of cycle_weight (0: off)"},
        {"pool_size", "50", "past fakes each discriminator also sees"},
        {"lr", "0.0002", "Adam learning rate (betas beta1, beta2)"},
        {"beta1", "0.5", "Adam beta1"},
        {"beta2", "0.999", "Adam beta2"},
        {"batch_size", "8", "image pairs per step; every class to grow needs at least this many images"},
        {"steps", "1000", "steps at the constant learning rate (with decay_steps: 2000 steps, about 4.5 minutes "
                                   "at 28x28 on 2 cores)"},
        {"decay_steps", "1000", "steps over which the learning rate then falls linearly to 0"},
        {"majority", "auto", "domain A, the class translated from (name or number); auto: the largest"}};
  return decls;
}

CycleGANOverSamplerOptions cyclegan_options(const Params& p) {
  generative::CycleGANOverSamplerOptions o;
  read_common_gan_params(p, o.gan, 6);
  o.gan.cycle_weight = p.get_double_in("cycle_weight", 0.0, 1e6);
  o.gan.pool_size = p.get_int_in("pool_size", 0, 1 << 20);
  o.majority = p.get_string("majority");
  return o;
}

const std::vector<ParamDecl>& stargan_params() {
  static const std::vector<ParamDecl> decls = {{"ngf", "16", "generator base filters (StarGAN: 64; narrowed for 28x28 on 2 cores)"},
        {"ndf", "16", "discriminator base filters (StarGAN: 64)"},
        {"blocks", "4", "residual blocks (StarGAN: 6)"},
        {"d_layers", "auto", "discriminator stride-2 layers; auto: 2 below 64 pixels, 3 below 128, else 4"},
        {"gan", "lsgan", "adversarial loss: lsgan (least squares) or log (StarGAN itself uses WGAN-GP)"},
        {"cls_weight", "1", "weight of the discriminator's class term (lambda_cls)"},
        {"rec_weight", "10", "weight of the L1 reconstruction G(G(x, c), c_x) ~ x (lambda_rec)"},
        {"identity_weight", "0", "identity L1 term G(x, c_x) ~ x as a multiple of rec_weight (StarGAN: none)"},
        {"lr", "0.0001", "Adam learning rate (StarGAN's)"},
        {"beta1", "0.5", "Adam beta1"},
        {"beta2", "0.999", "Adam beta2"},
        {"batch_size", "16", "images per step, their classes drawn uniformly (a long tail's rare classes as often "
                             "as the head)"},
        {"steps", "1000", "steps at the constant learning rate"},
        {"decay_steps", "1000", "steps over which the learning rate then falls linearly to 0"},
        {"majority", "auto", "the class translated from (name or number); auto: the largest"}};
  return decls;
}

StarGANOverSamplerOptions stargan_options(const Params& p) {
  generative::StarGANOverSamplerOptions o;
  read_common_gan_params(p, o.gan, 7);
  o.gan.cls_weight = p.get_double_in("cls_weight", 0.0, 1e6);
  o.gan.rec_weight = p.get_double_in("rec_weight", 0.0, 1e6);
  o.majority = p.get_string("majority");
  return o;
}

CycleGAN train_cyclegan_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed,
                                  int64_t* majority) {
  const auto [o, s] = read_generator(spec, "cyclegan", cyclegan_options, seed);
  data.validate();
  const int64_t major = domain_a_class(o, data);
  if (majority) *majority = major;
  check_cyclegan_class(o, data, cls, major);
  const auto x = as_images(data.x.to(torch::kCPU, torch::kFloat32).contiguous(), data);
  return fit_class_cyclegan(o, data, x, x.index_select(0, data.indices_of(major).to(torch::kCPU)), cls, major, s);
}

int64_t cyclegan_majority_class(const std::string& spec, const Dataset& data) {
  return domain_a_class(read_generator(spec, "cyclegan", cyclegan_options, 0).first, data);
}

double generator_reconstruction_error(const Sampler& sampler, int64_t cls, const at::Tensor& x) {
  if (const auto* v = dynamic_cast<const VAEOverSampler*>(&sampler)) return v->reconstruction_error(cls, x);
  if (const auto* m = dynamic_cast<const MGVAEOverSampler*>(&sampler)) return m->reconstruction_error(cls, x);
  if (const auto* g = dynamic_cast<const CycleGANOverSampler*>(&sampler)) {
    // The cycle B -> A -> B of the class's rows, in the VAEs' units (mean squared error).
    const auto gan = g->fitted(cls);
    if (!gan) return std::numeric_limits<double>::quiet_NaN();
    auto s = gan->image_shape();
    s.insert(s.begin(), x.size(0));
    const auto img = x.to(torch::kCPU, torch::kFloat32).reshape(s);
    return (gan->translate_ab(gan->translate_ba(img)) - img).pow(2).mean().item<double>();
  }
  if (const auto* g = dynamic_cast<const StarGANOverSampler*>(&sampler)) {
    // The cycle class -> majority -> class, as the CycleGAN's.
    const auto gan = g->fitted();
    if (!gan || cls == g->fitted_majority()) return std::numeric_limits<double>::quiet_NaN();
    auto s = gan->image_shape();
    s.insert(s.begin(), x.size(0));
    const auto img = x.to(torch::kCPU, torch::kFloat32).reshape(s);
    return (gan->translate(gan->translate(img, g->fitted_majority()), cls) - img).pow(2).mean().item<double>();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

VAE train_vae_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed) {
  // A seed= in the spec wins over the caller's, as the sampler factory resolves it.
  const auto [o, s] = read_generator(spec, "vae", vae_options, seed);
  REBALANCE_CHECK(!o.conditional, "rebalance generate trains one-class VAEs; drop conditional=true");
  data.validate();
  return fit_class_vae(o, data, data.x.to(torch::kCPU, torch::kFloat32).contiguous(), cls, s);
}

std::vector<MethodDoc> generator_docs() {
  std::vector<MethodDoc> docs;
  for (const char* name : {"vae", "mgvae", "cyclegan"}) {
    const SamplerInfo* info = find_sampler(name);
    REBALANCE_CHECK(info != nullptr, "internal: no \"{}\" sampler is registered", name);
    std::vector<ParamDecl> params;
    for (const auto& p : info->params)
      if (p.name != "conditional") params.push_back(p);
    std::vector<std::string> aliases{info->class_name};
    aliases.insert(aliases.end(), info->aliases.begin(), info->aliases.end());
    docs.push_back({info->name, aliases, "", "", info->description, params});
  }
  return docs;
}

int64_t mgvae_majority_class(const std::string& spec, const Dataset& data) {
  return guiding_class(read_generator(spec, "mgvae", mgvae_options, 0).first, data);
}

MGVAE train_mgvae_for_class(const std::string& spec, const Dataset& data, int64_t cls, uint64_t seed,
                            int64_t* majority) {
  const auto [o, s] = read_generator(spec, "mgvae", mgvae_options, seed);
  data.validate();
  const int64_t major = guiding_class(o, data);
  if (majority) *majority = major;
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto xmaj = x.index_select(0, data.indices_of(major).to(torch::kCPU));
  return finetuned(pretrained_mgvae(o, data, xmaj, major, s), o, data, x, xmaj, cls, major);
}

}  // namespace rebalance::generative

namespace rebalance {

void add_generative_samplers(std::vector<SamplerInfo>& out) {
  const size_t first = out.size();
  out.push_back(
      {"vae", "VAEOverSampler", {"vae_over"}, SamplingType::Over,
       "train a VAE on each class to grow (or one class-conditional VAE) and add decoded z ~ N(0, I) "
       "(Kingma & Welling 2014; approach 2 of Mishra's VAE post)",
       generative::vae_params(),
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         return std::make_unique<generative::VAEOverSampler>(generative::vae_options(p), s, seed);
       }});
  out.push_back(
      {"mgvae", "MGVAEOverSampler", {"mg_vae"}, SamplingType::Over,
       "majority-guided VAE: pre-train on the majority, fine-tune on the class with EWC, translate majority "
       "rows into new rows (Ai et al., AISTATS 2023)",
       generative::mgvae_params(),
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         return std::make_unique<generative::MGVAEOverSampler>(generative::mgvae_options(p), s, seed);
       }});
  out.push_back(
      {"deepsmote", "DeepSMOTEOverSampler", {"deep_smote"}, SamplingType::Over,
       "SMOTE among the codes of an autoencoder trained on every row, decoded (Dablain, Krawczyk & Chawla, "
       "IEEE TNNLS 2022); parents are the two real rows interpolated",
       generative::deepsmote_params(),
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         return std::make_unique<generative::DeepSMOTEOverSampler>(generative::deepsmote_options(p), s, seed);
       }});
  out.push_back(
      {"cyclegan", "CycleGANOverSampler", {"cycle_gan"}, SamplingType::Over,
       "train a CycleGAN between the majority images (A) and each class to grow (B) and add majority images "
       "translated by G_A->B (Zhu et al. 2017; Sahoo et al.'s generator); images [C,H,W] only",
       generative::cyclegan_params(),
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         return std::make_unique<generative::CycleGANOverSampler>(generative::cyclegan_options(p), s, seed);
       }});
  out.push_back(
      {"stargan", "StarGANOverSampler", {"star_gan"}, SamplingType::Over,
       "train one class-conditional StarGAN on every class (Choi et al. 2018; the multi-class alternative to a "
       "CycleGAN per class) and add majority images translated into each class to grow; images [C,H,W] only",
       generative::stargan_params(),
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         return std::make_unique<generative::StarGANOverSampler>(generative::stargan_options(p), s, seed);
       }});
  for (size_t i = first; i < out.size(); ++i)
    out[i].streaming = {"trains a generator on the grown classes (held in memory, like SMOTE's); generating in bounded "
                        "chunks is not built yet"};
}

}  // namespace rebalance
