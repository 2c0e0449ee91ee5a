// Decision rules: turning a classifier's logits into labels. Argmax, threshold moving tuned on
// validation data (binary), and prior correction of the logits.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"

namespace rebalance::train {

/// The value v of lo, lo + step, ..., hi whose predictions predict(v) ([N] labels) score the best
/// balanced accuracy (mean recall over the classes present in `labels`); ties go to the value
/// nearest `prefer`. Post-hoc logit adjustment's and tau-normalisation's tau=auto.
double best_balanced_accuracy_value(const std::function<at::Tensor(double)>& predict, const at::Tensor& labels,
                                    int64_t num_classes, double lo = 0.0, double hi = 2.0, double step = 0.05,
                                    double prefer = 1.0);

class DecisionRule {
 public:
  virtual ~DecisionRule() = default;
  /// Tune on validation logits [N, C] and labels [N]; `train_counts` are the training class sizes.
  virtual void fit(const at::Tensor& logits, const at::Tensor& labels, const std::vector<int64_t>& train_counts) {
    (void)logits, (void)labels, (void)train_counts;
  }
  /// > 0: fit() wants out-of-fold logits of the training rows from this many folds instead of
  /// the validation set's, whose class counts are `val_counts` (0: the validation set).
  virtual int64_t folds_wanted(const std::vector<int64_t>& val_counts) const {
    (void)val_counts;
    return 0;
  }
  /// Labels [N] int64 for logits [N, C].
  virtual at::Tensor predict(const at::Tensor& logits) const = 0;
  /// The rule as adjusted logits [N, C] (logits' dtype and device, differentiable): the logits
  /// shifted per class so that their argmax is predict()'s label (up to exact ties). Argmax: the
  /// logits; prior: logits - tau log prior; threshold t: class 1's logit less log(t / (1 - t)).
  virtual at::Tensor adjust(const at::Tensor& logits) const { return logits; }
  /// The tuned numbers (threshold, or the logit offsets), for summaries and saved models.
  virtual std::vector<double> state() const { return {}; }
  virtual void set_state(const std::vector<double>& s) { (void)s; }
  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }

 private:
  std::string spec_;
};

/// The threshold on p(class 1) = softmax(logits)[:, 1] that maximises `metric` ("f1": F1 of class
/// 1, the positive class; "balanced_accuracy") on (scores, labels). Candidates are the midpoints
/// between consecutive distinct scores plus 0.5; ties go to the candidate closest to 0.5.
double best_threshold(const at::Tensor& p1, const at::Tensor& labels, const std::string& metric);

struct DecisionInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};
const std::vector<DecisionInfo>& decision_registry();
/// Every decision rule as `rebalance methods decisions` lists it, from decision_registry().
std::vector<MethodDoc> decision_docs();

/// "argmax", "threshold:metric=f1|balanced_accuracy,source=auto|validation|oof,folds=5,min_positives=10"
/// (binary only: seed 004's TS),
/// "prior:tau=1" (argmax of logits - tau * log training prior; tau=auto: chosen on the validation set).
std::unique_ptr<DecisionRule> make_decision_rule(const std::string& spec);

}  // namespace rebalance::train
