#include "rebalance/joint/m2m.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/train/trainer.hpp"
#include "../over_sampling/detail.hpp"

namespace rebalance::joint {

at::Tensor m2m_translate(models::Classifier& g, const at::Tensor& x0, const at::Tensor& to, const at::Tensor& from,
                         const M2mOptions& o, bool unit, Rng& rng) {
  g.eval();
  const int64_t n = x0.size(0);
  if (n == 0) return x0.clone();
  // The random start: a direction drawn per row, of L2 length `noise`.
  std::vector<float> dir(static_cast<size_t>(x0.numel()));
  for (auto& v : dir) v = static_cast<float>(rng.normal());
  auto delta = torch::tensor(dir).view(x0.sizes());
  const auto norm_of = [](const at::Tensor& t) {
    auto shape = std::vector<int64_t>(static_cast<size_t>(t.dim()), 1);
    shape[0] = t.size(0);
    return t.flatten(1).norm(2, {1}).clamp_min(1e-12).view(shape);
  };
  auto x = (x0 + o.noise * delta / norm_of(delta)).detach();
  if (unit) x = x.clamp(0.0, 1.0);
  const auto seed_class = from.view({n, 1});
  for (int64_t t = 0; t < o.steps; ++t) {
    x.set_requires_grad(true);
    const auto logits = g.forward(x);
    const auto objective = torch::nn::functional::cross_entropy(logits, to) + o.lam * logits.gather(1, seed_class).mean();
    const auto grad = torch::autograd::grad({objective}, {x})[0];
    x = (x - o.step_size * grad / norm_of(grad)).detach();
    if (unit) x = x.clamp(0.0, 1.0);
  }
  return x;
}

namespace {

std::string model_for(const std::string& model, const Dataset& data) {
  if (model != "auto") return model;
  const auto shape = data.feature_shape();
  return shape.size() == 3 && shape[1] == 28 && shape[2] == 28 ? "lenet" : "mlp:hidden=[256]";
}

}  // namespace

M2mOverSampler::M2mOverSampler(M2mOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("m2m", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {}
M2mOverSampler::~M2mOverSampler() = default;

Dataset M2mOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto counts = data.class_counts();
  const int64_t c = data.num_classes();
  for (const auto& [k, n] : target) {
    if (n == 0) continue;
    bool larger = false;
    for (int64_t j = 0; j < c; ++j) larger = larger || counts[j] > counts[k];
    REBALANCE_CHECK(larger, "M2mOverSampler: class \"{}\" ({} rows) has no larger class to translate rows from",
                    data.class_names[k], counts[k]);
  }
  // g: the classifier trained on the imbalanced rows as they are.
  train::TrainOptions t;
  t.model = model_for(options_.model, data);
  t.epochs = options_.epochs;
  t.batch_size = std::min<int64_t>(options_.batch_size, data.size());
  t.lr = options_.lr;
  t.seed = seed();
  t.monitor = "none";
  t.progress = false;
  std::ostringstream quiet;
  g_ = train::fit(data, data.subset(torch::empty({0}, torch::kInt64)), t, quiet).model;
  const auto x = data.x.to(torch::kCPU, torch::kFloat32).contiguous();
  const bool unit = x.min().item<double>() >= 0.0 && x.max().item<double>() <= 1.0;
  const auto labels = data.y.to(torch::kCPU, torch::kInt64).contiguous();
  accepted_.clear();
  over_sampling::detail::NewRows out;
  for (const auto& [k, n] : target) {
    if (n == 0) continue;
    Rng rng = Rng(seed()).fork(streams::kM2mDraws + static_cast<uint64_t>(k));
    // Seed classes: every larger class k0, drawn with probability 1 - beta^(N_k0 - N_k).
    std::vector<int64_t> seed_classes;
    std::vector<double> cumulative;
    double total = 0;
    for (int64_t j = 0; j < c; ++j)
      if (counts[j] > counts[k]) {
        total += 1.0 - std::pow(options_.beta, static_cast<double>(counts[j] - counts[k]));
        seed_classes.push_back(j);
        cumulative.push_back(total);
      }
    std::vector<int64_t> source(static_cast<size_t>(n)), from(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const double u = rng.uniform() * total;
      size_t s = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
      s = std::min(s, seed_classes.size() - 1);
      const auto rows = data.indices_of(seed_classes[s]);
      source[i] = rows[static_cast<int64_t>(rng.uniform_int(rows.size(0)))].item<int64_t>();
      from[i] = seed_classes[s];
    }
    const auto src = torch::tensor(source, torch::kInt64);
    const auto to = torch::full({n}, k, torch::kInt64);
    std::vector<at::Tensor> made;
    for (int64_t b = 0; b < n; b += t.batch_size) {
      const int64_t e = std::min(n, b + t.batch_size);
      made.push_back(m2m_translate(*g_, x.index_select(0, src.slice(0, b, e)), to.slice(0, b, e),
                                   torch::tensor(std::vector<int64_t>(from.begin() + b, from.begin() + e)), options_,
                                   unit, rng));
    }
    auto rows = torch::cat(made);
    // Accepted: g calls the translation k with probability >= gamma; the rest become copies of
    // real rows of k (the paper's fall-back to over-sampling).
    at::Tensor probs;
    {
      torch::NoGradGuard ng;
      probs = torch::softmax(train::predict_logits(*g_, rows), 1);
    }
    const auto ok = (probs.argmax(1) == k) & (probs.select(1, k) >= options_.gamma);
    const auto own = data.indices_of(k);
    std::vector<int64_t> parents(static_cast<size_t>(n));
    int64_t accepted = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (ok[i].item<bool>()) {
        parents[i] = source[i];
        ++accepted;
      } else {
        parents[i] = own[static_cast<int64_t>(rng.uniform_int(own.size(0)))].item<int64_t>();
        rows[i].copy_(x[parents[i]]);
      }
    }
    accepted_[k] = accepted;
    auto shape = data.x.sizes().vec();
    shape[0] = n;
    out.add_rows(k, rows.reshape(shape), std::move(parents), std::vector<int64_t>(static_cast<size_t>(n), -1));
  }
  return out.append_to(data);
}

void add_m2m_samplers(std::vector<SamplerInfo>& out) {
  out.push_back(
      {"m2m", "M2mOverSampler", {"major_to_minor"}, SamplingType::Over,
       "major-to-minor translation: rows of larger classes moved into the class by gradient steps against a "
       "classifier trained on the data (Kim, Jeong & Shin, CVPR 2020); parents[0] is the translated row",
       {{"model", "auto", "the classifier g (a model spec); auto: lenet for 28x28 images, else mlp:hidden=[256]"},
        {"epochs", "10", "g's training epochs"},
        {"batch_size", "128", "g's batch size, and the translation's"},
        {"lr", "0.001", "g's Adam learning rate"},
        {"steps", "10", "translation steps T"},
        {"step_size", "0.1", "L2 length of each step"},
        {"lam", "0.1", "weight of the seed class's logit in the objective"},
        {"beta", "0.999", "seed class k0 drawn with probability proportional to 1 - beta^(N_k0 - N_k)"},
        {"gamma", "0.9", "g's probability of the class a translation needs; the rest are copies of real rows"},
        {"noise", "0.5", "L2 length of the random start around the seed row"}},
       [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
         M2mOptions o;
         o.model = p.get_string("model");
         o.epochs = p.get_int_in("epochs", 1, 100000);
         o.batch_size = p.get_int_in("batch_size", 1, 1 << 20);
         o.lr = p.get_double_in("lr", 1e-12, 100.0);
         o.steps = p.get_int_in("steps", 0, 100000);
         o.step_size = p.get_double_in("step_size", 0.0, 1e6);
         o.lam = p.get_double_in("lam", 0.0, 1e6);
         o.beta = p.get_double_in("beta", 0.0, 1.0);
         REBALANCE_CHECK(o.beta < 1.0, "M2mOverSampler: beta must be below 1 (1 gives every seed class weight 0), "
                         "got {}", o.beta);
         o.gamma = p.get_double_in("gamma", 0.0, 1.0);
         o.noise = p.get_double_in("noise", 0.0, 1e6);
         return std::make_unique<M2mOverSampler>(o, s, seed);
       }});
  out.back().streaming = {"trains a classifier on every row and translates in memory"};
}

}  // namespace rebalance::joint
