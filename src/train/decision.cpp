#include "rebalance/train/decision.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "rebalance/core/error.hpp"

namespace rebalance::train {

namespace {

class Argmax : public DecisionRule {
 public:
  at::Tensor predict(const at::Tensor& logits) const override { return logits.argmax(1); }
};

class Threshold : public DecisionRule {
 public:
  Threshold(std::string metric, std::string source, int64_t folds, int64_t min_positives)
      : metric_(std::move(metric)), source_(std::move(source)), folds_(folds), min_positives_(min_positives) {}
  int64_t folds_wanted(const std::vector<int64_t>& val_counts) const override {
    if (source_ == "validation") return 0;
    if (source_ == "oof") return folds_;
    return val_counts.size() < 2 || val_counts[1] < min_positives_ ? folds_ : 0;
  }
  void fit(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>&) override {
    REBALANCE_CHECK(logits.size(1) == 2, "decision rule \"{}\": threshold moving is for binary tasks; the model has {} "
                    "classes (use argmax or prior)", spec(), logits.size(1));
    threshold_ = best_threshold(torch::softmax(logits.to(torch::kFloat64), 1).select(1, 1), labels, metric_);
  }
  at::Tensor predict(const at::Tensor& logits) const override {
    REBALANCE_CHECK(logits.size(1) == 2, "threshold rule on {} classes", logits.size(1));
    return (torch::softmax(logits.to(torch::kFloat64), 1).select(1, 1) >= threshold_).to(torch::kInt64);
  }
  at::Tensor adjust(const at::Tensor& logits) const override {
    REBALANCE_CHECK(logits.size(1) == 2, "threshold rule on {} classes", logits.size(1));
    // p1 >= t  <=>  z1 - z0 >= log(t / (1 - t)); t outside (0, 1) sends every row to one class.
    const double shift = threshold_ <= 0   ? -std::numeric_limits<double>::infinity()
                         : threshold_ >= 1 ? std::numeric_limits<double>::infinity()
                                           : std::log(threshold_ / (1 - threshold_));
    return logits - torch::tensor({0.0, shift}, torch::kFloat64).to(logits.device(), logits.scalar_type());
  }
  std::vector<double> state() const override { return {threshold_}; }
  void set_state(const std::vector<double>& s) override {
    REBALANCE_CHECK(s.size() == 1, "threshold rule state must hold one number");
    threshold_ = s[0];
  }

 private:
  std::string metric_, source_;
  int64_t folds_, min_positives_;
  double threshold_ = 0.5;
};

}  // namespace

double best_balanced_accuracy_value(const std::function<at::Tensor(double)>& predict, const at::Tensor& labels_in,
                                    int64_t num_classes, double lo, double hi, double step, double prefer) {
  const auto labels = labels_in.to(torch::kCPU, torch::kInt64);
  const auto support = torch::bincount(labels, {}, num_classes).to(torch::kFloat64);
  const auto present = support > 0;
  double best = -1, best_value = prefer;
  const auto steps = static_cast<int64_t>(std::llround((hi - lo) / step));
  for (int64_t i = 0; i <= steps; ++i) {
    const double v = lo + step * static_cast<double>(i);
    const auto pred = predict(v).to(torch::kCPU);
    const auto hits = torch::bincount(labels.masked_select(pred == labels), {}, num_classes).to(torch::kFloat64);
    const double ba = (hits.masked_select(present) / support.masked_select(present)).mean().item<double>();
    if (ba > best + 1e-12 || (std::fabs(ba - best) <= 1e-12 && std::fabs(v - prefer) < std::fabs(best_value - prefer))) {
      best = ba;
      best_value = v;
    }
  }
  return best_value;
}

namespace {

/// Prior correction: argmax of logits - tau log(n_c / N). tau < 0 ("auto") picks tau on the
/// validation logits: 0 to 2 by 0.05, the best balanced accuracy, ties to the value nearest 1 (the
/// Bayes correction for a model that learnt the training prior; Menon et al., ICLR 2021).
class Prior : public DecisionRule {
 public:
  explicit Prior(double tau) : tau_(tau) {}
  void fit(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>& counts) override {
    const double n = std::accumulate(counts.begin(), counts.end(), 0.0);
    std::vector<double> log_prior;
    for (auto c : counts) log_prior.push_back(std::log(std::max<double>(c, 1) / n));
    const double tau = tau_ >= 0 ? tau_ : best_tau(logits, labels, log_prior);
    offset_.clear();
    for (auto l : log_prior) offset_.push_back(tau * l);
  }
  at::Tensor predict(const at::Tensor& logits) const override {
    REBALANCE_CHECK(static_cast<int64_t>(offset_.size()) == logits.size(1),
                    "prior rule fitted on {} classes, logits have {}", offset_.size(), logits.size(1));
    const auto off = torch::tensor(offset_, torch::kFloat64).to(logits.device());
    return (logits.to(torch::kFloat64) - off).argmax(1);
  }
  at::Tensor adjust(const at::Tensor& logits) const override {
    REBALANCE_CHECK(static_cast<int64_t>(offset_.size()) == logits.size(1),
                    "prior rule fitted on {} classes, logits have {}", offset_.size(), logits.size(1));
    return logits - torch::tensor(offset_, torch::kFloat64).to(logits.device(), logits.scalar_type());
  }
  std::vector<double> state() const override { return offset_; }
  void set_state(const std::vector<double>& s) override { offset_ = s; }

 private:
  double best_tau(const at::Tensor& logits_in, const at::Tensor& labels_in, const std::vector<double>& log_prior) const {
    REBALANCE_CHECK(logits_in.dim() == 2 && logits_in.size(0) > 0 && logits_in.size(0) == labels_in.size(0),
                    "decision rule \"{}\": tau=auto is chosen on validation logits, but there are none", spec());
    REBALANCE_CHECK(logits_in.size(1) == static_cast<int64_t>(log_prior.size()),
                    "decision rule \"{}\": {} training classes, logits have {}", spec(), log_prior.size(),
                    logits_in.size(1));
    const auto logits = logits_in.to(torch::kCPU, torch::kFloat64);
    const auto lp = torch::tensor(log_prior, torch::kFloat64);
    return best_balanced_accuracy_value([&](double tau) { return (logits - tau * lp).argmax(1); }, labels_in,
                                        logits.size(1));
  }

  double tau_;
  std::vector<double> offset_;
};

}  // namespace

double best_threshold(const at::Tensor& p1_in, const at::Tensor& labels_in, const std::string& metric) {
  REBALANCE_CHECK(metric == "f1" || metric == "balanced_accuracy",
                  "threshold metric must be f1 or balanced_accuracy, got \"{}\"", metric);
  const auto p1 = p1_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const auto y = labels_in.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t n = p1.size(0);
  const int64_t pos = y.sum().item<int64_t>(), neg = n - pos;
  REBALANCE_CHECK(pos > 0 && neg > 0, "threshold moving needs both classes in the validation set (it has {} of class "
                  "1 and {} of class 0)", pos, neg);
  // Sort by score descending; sweeping the threshold down admits one distinct score at a time.
  const auto order = std::get<1>(p1.sort(/*stable=*/true, 0, /*descending=*/true));
  const auto* pp = p1.data_ptr<double>();
  const auto* yy = y.data_ptr<int64_t>();
  const auto* oo = order.data_ptr<int64_t>();
  auto score = [&](int64_t tp, int64_t fp) {
    if (metric == "f1") return tp == 0 ? 0.0 : 2.0 * tp / (2.0 * tp + fp + (pos - tp));
    return 0.5 * (static_cast<double>(tp) / pos + static_cast<double>(neg - fp) / neg);
  };
  // Candidate t admits scores >= t. Start above every score (nothing predicted positive).
  double best_t = pp[oo[0]] + 1.0, best = score(0, 0);
  auto consider = [&](double t, double s) {
    if (s > best + 1e-15 || (std::fabs(s - best) <= 1e-15 && std::fabs(t - 0.5) < std::fabs(best_t - 0.5))) {
      best = s;
      best_t = t;
    }
  };
  int64_t tp = 0, fp = 0;
  for (int64_t i = 0; i < n;) {
    const double v = pp[oo[i]];
    while (i < n && pp[oo[i]] == v) (yy[oo[i]] == 1 ? tp : fp)++, ++i;
    const double next = i < n ? pp[oo[i]] : v - 1.0;
    consider(0.5 * (v + next), score(tp, fp));  // midpoint below v: admits exactly the scores >= v
  }
  // 0.5 itself, the default rule, when it scores as well.
  int64_t tp5 = 0, fp5 = 0;
  for (int64_t i = 0; i < n; ++i)
    if (pp[i] >= 0.5) (yy[i] == 1 ? tp5 : fp5)++;
  consider(0.5, score(tp5, fp5));
  return best_t;
}

const std::vector<DecisionInfo>& decision_registry() {
  static const std::vector<DecisionInfo> list = {
      {"argmax", "the class with the largest logit", {}},
      {"threshold", "binary threshold on p(class 1) tuned on the validation set, or on out-of-fold scores of the "
                    "training rows when the validation set holds few of class 1 (threshold moving)",
       {{"metric", "f1", "f1 (of class 1) or balanced_accuracy"},
        {"source", "auto", "validation, oof (out-of-fold scores of the training rows: the model retrained on each "
                           "fold's complement), or auto: oof when the validation set holds fewer than "
                           "min_positives rows of class 1"},
        {"folds", "5", "folds of the out-of-fold scores (stratified; at most the smallest class's rows)"},
        {"min_positives", "10", "auto: validation rows of class 1 needed to tune on the validation set"}}},
      {"prior", "argmax of logits - tau * log(training prior) (prior correction; post-hoc logit adjustment)",
       {{"tau", "1.0", "strength, or auto: chosen on the validation set (0 to 2 by 0.05, the best balanced accuracy; "
                       "ties to the value nearest 1)"}}},
  };
  return list;
}

std::vector<MethodDoc> decision_docs() {
  return registry_docs(decision_registry());
}

std::unique_ptr<DecisionRule> make_decision_rule(const std::string& text) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(decision_registry(), spec, "decision rule");
  const Params p(spec, info->params, "decision rule");
  std::unique_ptr<DecisionRule> rule;
  if (spec.name == "argmax") rule = std::make_unique<Argmax>();
  else if (spec.name == "threshold") {
    const auto metric = p.get_string("metric");
    REBALANCE_CHECK(metric == "f1" || metric == "balanced_accuracy",
                    "parameter \"metric\" of decision rule \"{}\" must be f1 or balanced_accuracy, got \"{}\"", text, metric);
    const auto source = p.get_string("source");
    REBALANCE_CHECK(source == "auto" || source == "validation" || source == "oof",
                    "parameter \"source\" of decision rule \"{}\" must be auto, validation or oof, got \"{}\"", text,
                    source);
    rule = std::make_unique<Threshold>(metric, source, p.get_int_in("folds", 2, 100),
                                       p.get_int_in("min_positives", 1, 1 << 30));
  } else {
    rule = std::make_unique<Prior>(p.get_string("tau") == "auto" ? -1.0 : p.get_double_in("tau", 0.0, 100.0));
  }
  rule->set_spec(text);
  return rule;
}

}  // namespace rebalance::train
