// Imbalance-aware training losses behind one interface and one factory:
// make_loss("cb:beta=0.999,base=focal,gamma=2", class_counts).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"

namespace rebalance::losses {

/// A loss on logits [B, C] and integer targets [B], reduced to a scalar (mean over the batch).
class Loss {
 public:
  virtual ~Loss() = default;
  virtual at::Tensor forward(const at::Tensor& logits, const at::Tensor& target) = 0;
  /// Each sample's term [B]: its loss, times its class weight where the loss weights classes
  /// (w_y l_i, as PyTorch's reduction="none"). Their sum is reduction="sum"; forward() is their
  /// mean as the loss defines it (sum / sum_i w_{y_i} for the PyTorch-weighted ones, sum / B else).
  virtual at::Tensor per_sample(const at::Tensor& logits, const at::Tensor& target) = 0;
  /// Called at the start of every epoch (0-based); LDAM's deferred re-weighting switches here.
  virtual void set_epoch(int64_t epoch) { (void)epoch; }
  /// The epoch (0-based) from which deferred re-weighting corrects the loss; -1 when nothing is
  /// deferred (no correction, or one from the start).
  virtual int64_t deferred_from() const { return -1; }
  /// Per-class weights in use now ([C] float64), or empty when the loss has none.
  virtual std::vector<double> class_weights() const { return {}; }
  /// The factor the loss multiplies the logits by before its softmax: LDAM's s, 1 for the rest. A
  /// cosine head's logits lie in [-1, 1], so only a loss with a large one can learn on it.
  virtual double logit_scale() const { return 1.0; }
  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }
  /// The number of classes the loss was built for (the logits' width).
  int64_t classes() const { return classes_; }
  void set_classes(int64_t c) { classes_ = c; }

 private:
  std::string spec_;
  int64_t classes_ = 0;
};

/// Class-balanced weights of Cui et al. (CVPR 2019): w_c = (1 - beta) / (1 - beta^n_c), the
/// inverse effective number of samples, normalised so that sum_c w_c = C. beta in [0, 1);
/// beta = 0 gives equal weights, beta -> 1 inverse frequency.
std::vector<double> class_balanced_weights(const std::vector<int64_t>& counts, double beta);

/// LDAM margins (Cao et al., NeurIPS 2019): Delta_c proportional to n_c^(-1/4), largest = max_margin.
std::vector<double> ldam_margins(const std::vector<int64_t>& counts, double max_margin);

struct LossInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};

/// Every loss with its parameters (the one declaration list behind help, parsing and docs).
const std::vector<LossInfo>& loss_registry();
/// Every loss as `rebalance methods losses` lists it, from loss_registry().
std::vector<MethodDoc> loss_docs();

/// Build a loss for a training set with `class_counts` rows per class:
///   "ce"                                   cross-entropy
///   "weighted_ce:weights=inverse|ratio|[w,...]"  cost-sensitive CE; ratio = n_max / n_c, i.e.
///                                          seed 004's L_B + (1/gamma) L_A for two classes
///   "focal:gamma=2"                        focal loss (Lin et al., ICCV 2017)
///   "cb:beta=0.999,base=softmax|sigmoid|focal,gamma=2"  class-balanced loss (Cui et al.)
///   "la:tau=1"                             logit-adjusted loss (Menon et al., ICLR 2021)
///   "balanced_softmax"                     cross-entropy on z + log n_c (Ren et al., NeurIPS 2020)
///   "ldam:max_margin=0.5,s=30,drw_epoch=-1,beta=0.9999"  LDAM with deferred re-weighting
std::unique_ptr<Loss> make_loss(const std::string& spec, const std::vector<int64_t>& class_counts);

/// Check a loss spec before the data it trains on is known (configs, searches, decoupling's
/// stages): its name and parameters, against as many classes as a list of weights names (else 2).
void check_loss_spec(const std::string& spec);

/// Deferred re-weighting that starts at or after the last of `epochs` never corrects anything: a
/// warning line on `log` saying so (nothing when the loss defers nothing or starts in time).
void warn_if_deferred_past(const Loss& loss, int64_t epochs, std::ostream& log);

}  // namespace rebalance::losses
