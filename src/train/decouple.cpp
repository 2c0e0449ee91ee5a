#include "rebalance/train/decouple.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <numbers>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"

namespace rebalance::train {

at::Tensor tau_normalized(const at::Tensor& weight, double tau) {
  REBALANCE_CHECK(weight.dim() == 2, "tau_normalized: weight must be [C, F], got {} dimensions", weight.dim());
  const auto norms = weight.norm(2, {1}, /*keepdim=*/true);
  const auto divisor = torch::where(norms > 0, norms.pow(tau), torch::ones_like(norms));
  return weight / divisor;
}

void project_max_norm_(at::Tensor weight, double max_norm) {
  REBALANCE_CHECK(max_norm > 0, "MaxNorm needs a radius > 0, got {}", max_norm);
  torch::NoGradGuard guard;
  const auto norms = weight.norm(2, {1}, /*keepdim=*/true);
  weight.mul_(torch::clamp_max(max_norm / norms.clamp_min(1e-30), 1.0));
}

at::Tensor extract_features(models::Classifier& model, const at::Tensor& x, int64_t batch_size) {
  torch::NoGradGuard guard;
  const bool was_training = model.is_training();
  model.eval();
  const auto params = model.parameters();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < x.size(0); b += batch_size)
    out.push_back(model.features(x.slice(0, b, std::min(x.size(0), b + batch_size)).to(device, torch::kFloat32)));
  model.train(was_training);
  return out.empty() ? torch::empty({0, model.head()->weight.size(1)}, torch::TensorOptions().device(device))
                     : torch::cat(out);
}

namespace {

/// What a trained stage-2 method needs: its epochs, learning rate, batches, loss, decay.
struct Stage {
  int64_t epochs = 10;
  double lr = -1;            ///< < 0: the run's
  double weight_decay = -1;  ///< < 0: the run's
  std::string policy = "balanced";
  std::string loss = "ce";
  double max_norm = 0;       ///< > 0: MaxNorm after every step
};

Stage stage_of(const Params& p) {
  Stage s;
  s.epochs = p.get_int_in("epochs", 1, 100000);
  s.lr = p.get_string("lr") == "train" ? -1 : p.get_double_in("lr", 1e-12, 100.0);
  s.weight_decay = p.get_string("weight_decay") == "train" ? -1 : p.get_double_in("weight_decay", 0.0, 10.0);
  s.policy = p.get_string("policy");
  s.loss = p.get_string("loss");
  (void)make_batch_policy(s.policy);
  losses::check_loss_spec(s.loss);
  return s;
}

/// Trains `params` for `s.epochs` epochs on fixed `features` ([N, F] on the model's device), the
/// logits given by `logits_of`; the learning rate decays by a cosine over the stage.
void train_on_features(const at::Tensor& features, const Dataset& train, std::vector<at::Tensor> params,
                       const std::function<at::Tensor(const at::Tensor&)>& logits_of, const Stage& s,
                       const TrainOptions& o, const std::function<void()>& after_step) {
  const auto counts = train.class_counts();
  const auto labels = to_index_vector(train.y);
  const auto y = train.y.to(features.device());
  const int64_t c = train.num_classes();
  const double lr = s.lr > 0 ? s.lr : o.lr, wd = s.weight_decay >= 0 ? s.weight_decay : o.weight_decay;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "sgd")
    optimizer = std::make_unique<torch::optim::SGD>(params,
                                                    torch::optim::SGDOptions(lr).momentum(o.momentum).weight_decay(wd));
  else
    optimizer = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).weight_decay(wd));
  auto policy = make_batch_policy(s.policy);
  auto loss = losses::make_loss(s.loss, counts);
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) {
    const double now = lr * 0.5 * (1.0 + std::cos(std::numbers::pi * static_cast<double>(epoch) / s.epochs));
    for (auto& group : optimizer->param_groups()) group.options().set_lr(now);
    loss->set_epoch(epoch);
    Rng rng = Rng(o.seed).fork(streams::kDecoupleEpoch | static_cast<uint64_t>(epoch));
    const auto order = to_index_tensor(policy->epoch_rows(labels, c, o.batch_size, rng)).to(features.device());
    for (int64_t b = 0; b < order.size(0); b += o.batch_size) {
      const auto idx = order.slice(0, b, std::min(order.size(0), b + o.batch_size));
      optimizer->zero_grad();
      loss->forward(logits_of(features.index_select(0, idx)), y.index_select(0, idx)).backward();
      optimizer->step();
      if (after_step) after_step();
    }
  }
}

std::string stage_text(const Stage& s, const Dataset& train) {
  return fmt::format("{} epochs on {} rows' frozen features ({} batches, loss {})", s.epochs, train.size(), s.policy,
                     s.loss);
}

class ClassifierRetraining : public Decoupler {
 public:
  ClassifierRetraining(Stage s, bool reinitialise) : s_(std::move(s)), reinitialise_(reinitialise) {}
  void apply(models::Classifier& model, const Dataset& train, const Dataset&, const TrainOptions& o,
             std::ostream& log) const override {
    auto head = model.head();
    const auto features = extract_features(model, train.x);
    if (reinitialise_) {
      torch::manual_seed(Rng(o.seed).fork(streams::kDecoupleInit).next_u64() >> 1);
      head->reset_parameters();
    }
    std::vector<at::Tensor> params{head->weight};
    if (head->bias.defined()) params.push_back(head->bias);
    for (auto& p : params) p.set_requires_grad(true);
    const auto weight = head->weight;
    std::function<void()> project;
    if (s_.max_norm > 0) project = [&] { project_max_norm_(weight, s_.max_norm); };
    train_on_features(features, train, params, [&](const at::Tensor& f) { return head->forward(f); }, s_, o, project);
    log << fmt::format("decouple {}: head {}, {}{}\n", spec(), reinitialise_ ? "re-initialised and retrained" : "fine-tuned",
                       stage_text(s_, train), s_.max_norm > 0 ? fmt::format(", MaxNorm {}", s_.max_norm) : "");
  }

 private:
  Stage s_;
  bool reinitialise_;
};

class LearnableWeightScaling : public Decoupler {
 public:
  explicit LearnableWeightScaling(Stage s) : s_(std::move(s)) {}
  void apply(models::Classifier& model, const Dataset& train, const Dataset&, const TrainOptions& o,
             std::ostream& log) const override {
    auto head = model.head();
    const auto features = extract_features(model, train.x);
    const auto weight = head->weight.detach().clone();
    const auto bias = head->bias.defined() ? head->bias.detach().clone() : at::Tensor();
    auto scales = torch::ones({weight.size(0)}, weight.options()).set_requires_grad(true);
    train_on_features(features, train, {scales}, [&](const at::Tensor& f) {
      auto z = torch::matmul(f, weight.t());
      if (bias.defined()) z = z + bias;
      return z * scales;
    }, s_, o, nullptr);
    torch::NoGradGuard guard;
    head->weight.copy_(weight * scales.unsqueeze(1));
    if (bias.defined()) head->bias.copy_(bias * scales);
    const auto learnt = scales.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* f = learnt.data_ptr<float>();
    log << fmt::format("decouple {}: class scales learnt over {}: [{:.3f}]\n", spec(), stage_text(s_, train),
                       fmt::join(f, f + learnt.numel(), ", "));
  }

 private:
  Stage s_;
};

class TauNormalisation : public Decoupler {
 public:
  explicit TauNormalisation(double tau) : tau_(tau) {}
  void apply(models::Classifier& model, const Dataset& train, const Dataset& validation, const TrainOptions&,
             std::ostream& log) const override {
    auto head = model.head();
    torch::NoGradGuard guard;
    const auto weight = head->weight.detach().clone();
    double tau = tau_;
    if (tau < 0) {
      REBALANCE_CHECK(validation.size() > 0, "decouple \"{}\": tau=auto is chosen on the validation set, and this run "
                      "has none; give tau a value", spec());
      const auto features = extract_features(model, validation.x);
      tau = best_balanced_accuracy_value(
          [&](double t) { return torch::matmul(features, tau_normalized(weight, t).t()).argmax(1); }, validation.y,
          train.num_classes());
    }
    head->weight.copy_(tau_normalized(weight, tau));
    if (head->bias.defined()) head->bias.zero_();
    log << fmt::format("decouple {}: head weights divided by their norms^{}{}, bias dropped\n", spec(), tau,
                       tau_ < 0 ? " (chosen on the validation set)" : "");
  }

 private:
  double tau_;  ///< < 0: auto
};

std::vector<ParamDecl> stage_params(const std::string& policy, const std::string& loss, const std::string& decay) {
  return {{"epochs", "10", "epochs of the second stage"},
          {"lr", "train", "learning rate (cosine-decayed over the stage); train: the run's --lr"},
          {"policy", policy, "batch policy of the second stage (see `rebalance methods batch-policies`)"},
          {"loss", loss, "loss of the second stage (see `rebalance methods losses`)"},
          {"weight_decay", decay, "L2 weight decay of the second stage; train: the run's --weight-decay"}};
}

}  // namespace

const std::vector<DecoupleInfo>& decouple_registry() {
  static const std::vector<DecoupleInfo> list = [] {
    auto wb = stage_params("uniform", "cb:beta=0.9999", "0.005");
    wb.push_back({"max_norm", "1", "MaxNorm radius of each class's weight vector, > 0"});
    return std::vector<DecoupleInfo>{
        {"crt", "classifier re-training: the head re-initialised and trained on frozen features with class-balanced "
                "batches (Kang et al. 2020)",
         stage_params("balanced", "ce", "train")},
        {"lws", "learnable weight scaling: one learnt factor per class's logit, on frozen features with "
                "class-balanced batches (Kang et al. 2020)",
         stage_params("balanced", "ce", "train")},
        {"tau_norm", "tau-normalisation: each class's weight vector divided by its norm^tau, bias dropped, no "
                     "training (Kang et al. 2020)",
         {{"tau", "1", "the power, in [0, 2]; or auto: chosen on the validation set (0 to 2 by 0.05, the best "
                       "balanced accuracy, ties to 1)"}}},
        {"wb", "weight balancing's second stage: the head fine-tuned with a class-balanced loss, weight decay and "
               "MaxNorm (Alshammari et al. 2022; the first stage is the run's, with --weight-decay and --max-norm)",
         wb},
    };
  }();
  return list;
}

std::vector<MethodDoc> decouple_docs() { return registry_docs(decouple_registry()); }

std::unique_ptr<Decoupler> make_decoupler(const std::string& text) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(decouple_registry(), spec, "decoupling method");
  const Params p(spec, info->params, "decoupling method");
  std::unique_ptr<Decoupler> out;
  if (spec.name == "tau_norm") {
    out = std::make_unique<TauNormalisation>(p.get_string("tau") == "auto" ? -1.0 : p.get_double_in("tau", 0.0, 2.0));
  } else {
    auto s = stage_of(p);
    if (spec.name == "lws") {
      out = std::make_unique<LearnableWeightScaling>(s);
    } else {
      if (spec.name == "wb") {
        s.max_norm = p.get_double_in("max_norm", 0.0, 1e6);
        REBALANCE_CHECK(s.max_norm > 0, "decoupling method \"{}\": max_norm must be > 0", text);
      }
      out = std::make_unique<ClassifierRetraining>(s, spec.name == "crt");
    }
  }
  out->set_spec(spec.text);
  return out;
}

}  // namespace rebalance::train

namespace rebalance::train {

HeadRebalancing head_rebalancing(const TrainOptions& o, models::Classifier& model, const losses::Loss& loss,
                                 std::ostream& log) {
  REBALANCE_CHECK(o.max_norm >= 0, "max_norm must be >= 0 (0: off), got {}", o.max_norm);
  HeadRebalancing h;
  h.max_norm = o.max_norm;
  if (!o.decouple.empty()) h.decoupler = make_decoupler(o.decouple);
  if (h.decoupler || o.max_norm > 0) h.head_weight = model.head()->weight;  // a model without a head refuses here
  if (model.cosine_head()) {
    REBALANCE_CHECK(o.max_norm == 0, "max_norm acts on the norms of the head's class weights, which a cosine head "
                    "(model \"{}\") divides out of its logits; use head=linear", o.model);
    REBALANCE_CHECK(!h.decoupler, "decouple \"{}\" re-balances a linear head: its class weights, their norms or its "
                    "logits on the frozen features; a cosine head (model \"{}\") normalises features and weights, so "
                    "none of that carries over; use head=linear", o.decouple, o.model);
    // With every cosine right (+1 at the label, -1 elsewhere) softmax cross-entropy is still log(1 + (C-1) e^-2s).
    const double s = loss.logit_scale(), floor = std::log1p(static_cast<double>(loss.classes() - 1) * std::exp(-2 * s));
    if (floor > 0.05)
      log << fmt::format("warning: model \"{}\" has a cosine head, whose logits are cosines in [-1, 1], and loss "
                         "\"{}\" scales them by {}: cross-entropy on them cannot fall below {:.3f}, even with every "
                         "cosine right, and no prediction becomes confident; use ldam (its s scales them) or "
                         "head=linear\n",
                         o.model, o.loss, s, floor);
  }
  return h;
}

}  // namespace rebalance::train
