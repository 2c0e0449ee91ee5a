#include "rebalance/losses/loss.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <ostream>

#include "rebalance/core/error.hpp"

namespace rebalance::losses {

namespace F = torch::nn::functional;

namespace {

/// Per-class numbers as a tensor of `like`'s dtype and device, made once per dtype and device
/// (a loss is called every batch; the conversion is not free next to a 128 x 10 batch's loss).
class ClassTensor {
 public:
  ClassTensor() = default;
  explicit ClassTensor(std::vector<double> v) : v_(std::move(v)) {}
  bool empty() const { return v_.empty(); }
  const std::vector<double>& values() const { return v_; }
  const at::Tensor& like(const at::Tensor& t) const {
    if (!cached_.defined() || cached_.device() != t.device() || cached_.scalar_type() != t.scalar_type())
      cached_ = torch::tensor(v_, torch::kFloat64).to(t.device(), t.scalar_type());
    return cached_;
  }

 private:
  std::vector<double> v_;
  mutable at::Tensor cached_;
};

/// How per-sample weights reduce: PyTorch's weighted mean sum(w_y l) / sum(w_y) (what
/// nn.CrossEntropyLoss(weight=w) and the LDAM reference code compute), or the class-balanced
/// paper's mean(w_y l) over the batch, where a class weight of 2 really doubles a sample's pull.
enum class Reduction { PyTorch, Paper };

/// Cross-entropy reduced to the batch mean: PyTorch's (weighted) mean, fused, or the paper's.
at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& target, const ClassTensor& w, Reduction r) {
  if (w.empty()) return F::cross_entropy(logits, target);
  if (r == Reduction::PyTorch) return F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().weight(w.like(logits)));
  const auto per = F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (per * w.like(per).index_select(0, target)).sum() / per.size(0);
}

/// Each sample's cross-entropy times its class weight (PyTorch's reduction="none").
at::Tensor cross_entropy_terms(const at::Tensor& logits, const at::Tensor& target, const ClassTensor& w) {
  auto o = F::CrossEntropyFuncOptions().reduction(torch::kNone);
  if (!w.empty()) o.weight(w.like(logits));
  return F::cross_entropy(logits, target, o);
}

/// Per-sample losses times their class weights (unchanged without weights).
at::Tensor weighted_terms(const at::Tensor& per_sample, const at::Tensor& target, const ClassTensor& w) {
  return w.empty() ? per_sample : per_sample * w.like(per_sample).index_select(0, target);
}

void check_inputs(const at::Tensor& logits, const at::Tensor& target, int64_t classes, const std::string& spec) {
  REBALANCE_CHECK(logits.dim() == 2 && target.dim() == 1 && logits.size(0) == target.size(0),
                  "loss \"{}\": logits must be [B, C] and targets [B], got {}-D and {}-D", spec, logits.dim(),
                  target.dim());
  REBALANCE_CHECK(logits.size(1) == classes, "loss \"{}\": built for {} classes, logits have {}", spec, classes,
                  logits.size(1));
}

class CrossEntropy : public Loss {
 public:
  CrossEntropy(int64_t classes, std::vector<double> w, Reduction r = Reduction::PyTorch)
      : classes_(classes), w_(std::move(w)), reduction_(r) {}
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return cross_entropy_mean(logits, target, w_, reduction_);
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return cross_entropy_terms(logits, target, w_);
  }
  std::vector<double> class_weights() const override { return w_.values(); }

 private:
  int64_t classes_;
  ClassTensor w_;
  Reduction reduction_;
};

/// Softmax focal loss: -(1 - p_t)^gamma log p_t.
class Focal : public Loss {
 public:
  Focal(int64_t classes, double gamma, std::vector<double> w) : classes_(classes), gamma_(gamma), w_(std::move(w)) {}
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    return per_sample(logits, target).mean();
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    const auto logp = torch::log_softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1);
    return weighted_terms(-torch::pow(1.0 - logp.exp(), gamma_) * logp, target, w_);
  }
  std::vector<double> class_weights() const override { return w_.values(); }

 private:
  int64_t classes_;
  double gamma_;
  ClassTensor w_;
};

/// Sigmoid (one-vs-all) losses of the class-balanced paper: sum over classes of the binary loss,
/// optionally focal, weighted by the sample's class weight.
class SigmoidCB : public Loss {
 public:
  SigmoidCB(int64_t classes, std::vector<double> w, double gamma) : classes_(classes), w_(std::move(w)), gamma_(gamma) {}
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    return per_sample(logits, target).mean();
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    const auto onehot = F::one_hot(target, classes_).to(logits.scalar_type());
    auto bce = F::binary_cross_entropy_with_logits(
        logits, onehot, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
    if (gamma_ > 0) {
      // (1 - p_t)^gamma with p_t = sigmoid(z) for the true class and 1 - sigmoid(z) otherwise.
      const auto p = torch::sigmoid(logits);
      const auto pt = onehot * p + (1 - onehot) * (1 - p);
      bce = torch::pow(1 - pt, gamma_) * bce;
    }
    return weighted_terms(bce.sum(1), target, w_);
  }
  std::vector<double> class_weights() const override { return w_.values(); }

 private:
  int64_t classes_;
  ClassTensor w_;
  double gamma_;
};

/// Logit adjustment: cross-entropy on z + tau * log(prior).
class LogitAdjusted : public Loss {
 public:
  LogitAdjusted(const std::vector<int64_t>& counts, double tau) : classes_(static_cast<int64_t>(counts.size())) {
    const double n = std::accumulate(counts.begin(), counts.end(), 0.0);
    std::vector<double> off;
    for (auto c : counts) off.push_back(tau * std::log(std::max<double>(c, 1) / n));
    offset_ = ClassTensor(off);
  }
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return F::cross_entropy(logits + offset_.like(logits), target);
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return cross_entropy_terms(logits + offset_.like(logits), target, {});
  }

 private:
  int64_t classes_;
  ClassTensor offset_;
};

/// LDAM: cross-entropy on s * (z - Delta_y e_y); from `drw_epoch` on, class-balanced weights.
class LDAM : public Loss {
 public:
  LDAM(const std::vector<int64_t>& counts, double max_margin, double s, int64_t drw_epoch, double beta)
      : classes_(static_cast<int64_t>(counts.size())),
        margins_(ldam_margins(counts, max_margin)),
        s_(s),
        drw_epoch_(drw_epoch),
        drw_weights_(class_balanced_weights(counts, beta)) {}
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return cross_entropy_mean(scaled_margins(logits, target), target, active_ ? drw_weights_ : ClassTensor(),
                              Reduction::PyTorch);
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    check_inputs(logits, target, classes_, spec());
    return cross_entropy_terms(scaled_margins(logits, target), target, active_ ? drw_weights_ : ClassTensor());
  }
  void set_epoch(int64_t epoch) override { active_ = drw_epoch_ >= 0 && epoch >= drw_epoch_; }
  int64_t deferred_from() const override { return drw_epoch_ > 0 ? drw_epoch_ : -1; }
  std::vector<double> class_weights() const override { return active_ ? drw_weights_.values() : std::vector<double>{}; }
  double logit_scale() const override { return s_; }

 private:
  /// s (z - Delta_y e_y): each row's margin subtracted at its own class, then scaled.
  at::Tensor scaled_margins(const at::Tensor& logits, const at::Tensor& target) const {
    const auto m_y = margins_.like(logits).index_select(0, target).unsqueeze(1);
    return s_ * logits.scatter_add(1, target.unsqueeze(1), -m_y);
  }
  int64_t classes_;
  ClassTensor margins_;
  double s_;
  int64_t drw_epoch_;
  ClassTensor drw_weights_;
  bool active_ = false;
};

/// Deferred re-weighting (Cao et al., NeurIPS 2019) for any loss: the uncorrected loss until
/// epoch `from`, the corrected one from it on (-1: never). Cao et al. switch late (epoch 160 of
/// 200): the features learn from the natural distribution first, the classifier is then pushed
/// towards the rare classes.
class Deferred : public Loss {
 public:
  Deferred(std::unique_ptr<Loss> before, std::unique_ptr<Loss> after, int64_t from)
      : before_(std::move(before)), after_(std::move(after)), from_(from) {}
  at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) override {
    return active().forward(logits, target);
  }
  at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) override {
    return active().per_sample(logits, target);
  }
  void set_epoch(int64_t epoch) override {
    on_ = from_ >= 0 && epoch >= from_;
    before_->set_epoch(epoch);
    after_->set_epoch(epoch);
  }
  std::vector<double> class_weights() const override { return on_ ? after_->class_weights() : before_->class_weights(); }
  int64_t deferred_from() const override { return from_; }
  void name(const std::string& spec, int64_t classes) {
    for (auto* l : {before_.get(), after_.get()}) l->set_spec(spec), l->set_classes(classes);
  }

 private:
  Loss& active() { return on_ ? *after_ : *before_; }
  std::unique_ptr<Loss> before_, after_;
  int64_t from_;
  bool on_ = false;
};

/// `corrected` with deferred re-weighting from `drw_epoch` (0: from the start, the loss itself).
std::unique_ptr<Loss> deferred(std::unique_ptr<Loss> plain, std::unique_ptr<Loss> corrected, int64_t drw_epoch,
                               const std::string& spec, int64_t classes) {
  REBALANCE_CHECK(drw_epoch >= -1, "loss \"{}\": drw_epoch must be >= 0, or -1 for never, got {}", spec, drw_epoch);
  if (drw_epoch == 0) return corrected;
  auto d = std::make_unique<Deferred>(std::move(plain), std::move(corrected), drw_epoch);
  d->name(spec, classes);
  return d;
}

double beta_of(const Params& p, const std::string& text) {
  const double beta = p.get_double("beta");
  REBALANCE_CHECK(beta >= 0.0 && beta < 1.0, "parameter \"beta\" of loss \"{}\" must be in [0, 1), got {}", text, beta);
  return beta;
}

std::vector<double> cost_weights(const Params& p, const std::vector<int64_t>& counts) {
  const auto mode = p.get_string("weights");
  const int64_t c = static_cast<int64_t>(counts.size());
  std::vector<double> w(c);
  if (mode == "inverse" || mode == "ratio" || mode == "normalized") {
    const double n = std::accumulate(counts.begin(), counts.end(), 0.0);
    const double n_max = *std::max_element(counts.begin(), counts.end());
    double inv_sum = 0;
    for (int64_t i = 0; i < c; ++i) {
      REBALANCE_CHECK(counts[i] > 0, "loss weights \"{}\": class {} has no training rows", mode, i);
      inv_sum += 1.0 / counts[i];
    }
    for (int64_t i = 0; i < c; ++i)
      w[i] = mode == "inverse" ? n / (static_cast<double>(c) * counts[i])
             : mode == "ratio" ? n_max / counts[i]
                               : static_cast<double>(c) / (counts[i] * inv_sum);  // 1/n_c, summing to C
    return w;
  }
  w = p.get_doubles("weights");
  REBALANCE_CHECK(static_cast<int64_t>(w.size()) == c, "loss weights: {} given for {} classes", w.size(), c);
  for (size_t i = 0; i < w.size(); ++i)
    REBALANCE_CHECK(w[i] >= 0, "loss weights: weight of class {} is {}; weights must be >= 0", i, w[i]);
  return w;
}

}  // namespace

std::vector<double> class_balanced_weights(const std::vector<int64_t>& counts, double beta) {
  REBALANCE_CHECK(beta >= 0.0 && beta < 1.0, "class-balanced beta must be in [0, 1), got {}", beta);
  std::vector<double> w;
  for (size_t i = 0; i < counts.size(); ++i) {
    REBALANCE_CHECK(counts[i] > 0, "class-balanced weights: class {} has no training rows", i);
    w.push_back((1.0 - beta) / (1.0 - std::pow(beta, static_cast<double>(counts[i]))));
  }
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (auto& v : w) v *= static_cast<double>(counts.size()) / sum;
  return w;
}

std::vector<double> ldam_margins(const std::vector<int64_t>& counts, double max_margin) {
  REBALANCE_CHECK(max_margin > 0, "LDAM max_margin must be > 0, got {}", max_margin);
  std::vector<double> m;
  for (size_t i = 0; i < counts.size(); ++i) {
    REBALANCE_CHECK(counts[i] > 0, "LDAM margins: class {} has no training rows", i);
    m.push_back(1.0 / std::pow(static_cast<double>(counts[i]), 0.25));
  }
  const double top = *std::max_element(m.begin(), m.end());
  for (auto& v : m) v *= max_margin / top;
  return m;
}

namespace {

constexpr const char* kDeferredHelp =
    "epoch from which the class weights apply: deferred re-weighting, Cao et al. 2019 (0: from the start; before "
    "it the unweighted loss; -1: never)";

}  // namespace

const std::vector<LossInfo>& loss_registry() {
  static const std::vector<LossInfo> list = {
      {"ce", "cross-entropy", {}},
      {"weighted_ce", "cost-sensitive cross-entropy",
       {{"weights", "inverse",
         "inverse (N / (C n_c)), ratio (n_max / n_c: Sahoo et al.'s CS), normalized (1/n_c scaled to sum C: "
         "the MGVAE paper's re-weighting) or [w0,w1,...]"},
        {"drw_epoch", "0", kDeferredHelp}}},
      {"focal", "focal loss -(1-p_t)^gamma log p_t",
       {{"gamma", "2.0", "focusing parameter >= 0"},
        {"drw_epoch", "-1", "epoch from which class-balanced weights (beta) apply: deferred re-weighting (-1: never)"},
        {"beta", "0.9999", "class-balanced beta of the deferred weights"}}},
      {"cb", "class-balanced loss, weights (1-beta)/(1-beta^n_c)",
       {{"beta", "0.999", "in [0, 1)"},
        {"base", "softmax", "softmax, sigmoid or focal"},
        {"gamma", "2.0", "focal exponent (base=focal)"},
        {"drw_epoch", "0", kDeferredHelp}}},
      {"la", "logit-adjusted cross-entropy on z + tau log prior",
       {{"tau", "1.0", "adjustment strength"},
        {"drw_epoch", "0", "epoch from which the adjustment applies (before it: plain cross-entropy; -1: never)"}}},
      {"balanced_softmax", "balanced softmax (Ren et al., NeurIPS 2020): cross-entropy on z + log n_c",
       {{"drw_epoch", "0", "epoch from which the adjustment applies (before it: plain cross-entropy; -1: never)"}}},
      {"ldam", "label-distribution-aware margin loss with deferred re-weighting",
       {{"max_margin", "0.5", "largest class margin"},
        {"s", "30.0", "logit scale"},
        {"drw_epoch", "-1", "epoch from which class-balanced weights apply (-1: never)"},
        {"beta", "0.9999", "class-balanced beta of the deferred weights"}}},
  };
  return list;
}

std::vector<MethodDoc> loss_docs() {
  return registry_docs(loss_registry());
}

std::unique_ptr<Loss> make_loss(const std::string& text, const std::vector<int64_t>& counts) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(loss_registry(), spec, "loss");
  REBALANCE_CHECK(counts.size() >= 2, "loss \"{}\": need at least 2 classes, got {}", text, counts.size());
  const Params p(spec, info->params, "loss");
  const int64_t c = static_cast<int64_t>(counts.size());
  const bool deferrable = std::any_of(info->params.begin(), info->params.end(),
                                      [](const ParamDecl& d) { return d.name == "drw_epoch"; });
  if (deferrable)
    REBALANCE_CHECK(p.get_int("drw_epoch") >= -1, "loss \"{}\": drw_epoch must be >= 0, or -1 for never, got {}",
                    text, p.get_int("drw_epoch"));
  std::unique_ptr<Loss> loss;
  const auto drw = [&](std::unique_ptr<Loss> plain, std::unique_ptr<Loss> corrected) {
    return deferred(std::move(plain), std::move(corrected), p.get_int("drw_epoch"), text, c);
  };
  const std::vector<double> none;
  if (spec.name == "ce") {
    loss = std::make_unique<CrossEntropy>(c, none);
  } else if (spec.name == "weighted_ce") {
    loss = drw(std::make_unique<CrossEntropy>(c, none), std::make_unique<CrossEntropy>(c, cost_weights(p, counts)));
  } else if (spec.name == "focal") {
    const double gamma = p.get_double_in("gamma", 0.0, 100.0), beta = beta_of(p, text);
    const int64_t from = p.get_int("drw_epoch");
    auto plain = std::make_unique<Focal>(c, gamma, none);
    loss = from < 0 ? std::move(plain)
                    : drw(std::move(plain), std::make_unique<Focal>(c, gamma, class_balanced_weights(counts, beta)));
  } else if (spec.name == "cb") {
    const auto w = class_balanced_weights(counts, beta_of(p, text));
    const auto base = p.get_string("base");
    const double gamma = p.get_double_in("gamma", 0.0, 100.0);
    if (base == "softmax")
      loss = drw(std::make_unique<CrossEntropy>(c, none), std::make_unique<CrossEntropy>(c, w, Reduction::Paper));
    else if (base == "sigmoid")
      loss = drw(std::make_unique<SigmoidCB>(c, none, 0.0), std::make_unique<SigmoidCB>(c, w, 0.0));
    else if (base == "focal")
      loss = drw(std::make_unique<SigmoidCB>(c, none, gamma), std::make_unique<SigmoidCB>(c, w, gamma));
    else REBALANCE_THROW("parameter \"base\" of loss \"{}\" must be softmax, sigmoid or focal, got \"{}\"", text, base);
  } else if (spec.name == "la" || spec.name == "balanced_softmax") {
    const double tau = spec.name == "la" ? p.get_double_in("tau", 0.0, 100.0) : 1.0;
    loss = drw(std::make_unique<CrossEntropy>(c, none), std::make_unique<LogitAdjusted>(counts, tau));
  } else {
    loss = std::make_unique<LDAM>(counts, p.get_double("max_margin"), p.get_double_in("s", 1e-6, 1e6),
                                  p.get_int("drw_epoch"), beta_of(p, text));
  }
  loss->set_spec(text);
  loss->set_classes(c);
  loss->set_epoch(0);
  return loss;
}

void check_loss_spec(const std::string& text) {
  const auto spec = parse_spec(text);
  size_t classes = 2;
  for (const auto& [key, value] : spec.args)
    if (key == "weights" && !value.empty() && (value.front() == '[' || value.find('/') != std::string::npos))
      classes = std::max<size_t>(2, Params(spec, registry_entry(loss_registry(), spec, "loss").params, "loss")
                                        .get_doubles("weights").size());
  std::vector<int64_t> counts(classes, 1);
  counts[0] = 10;
  (void)make_loss(text, counts);
}

void warn_if_deferred_past(const Loss& loss, int64_t epochs, std::ostream& log) {
  const int64_t from = loss.deferred_from();
  if (from >= epochs)
    log << fmt::format("warning: loss \"{}\" defers its re-weighting to epoch {} (0-based), but training runs {} "
                       "epoch{}: it never applies; lower drw_epoch below {} (Cao et al. switch at 80% of the "
                       "epochs)\n", loss.spec(), from, epochs, epochs == 1 ? "" : "s", epochs);
}

}  // namespace rebalance::losses
