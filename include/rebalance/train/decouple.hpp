// Decoupled training (Kang et al., "Decoupling Representation and Classifier for Long-Tailed
// Recognition", ICLR 2020) and weight balancing's second stage (Alshammari et al., "Long-Tailed
// Recognition via Weight Balancing", CVPR 2022): once the model has learnt its representation,
// only its final linear layer is re-balanced, on the training rows' features:
//   crt       the head re-initialised and retrained with class-balanced batches
//   lws       each class's logit scaled by a learnt factor, trained with class-balanced batches
//   tau_norm  each class's weight vector divided by its norm to the power tau (no training)
//   wb        the head fine-tuned with a class-balanced loss, weight decay and MaxNorm
// The representation is never changed: features are computed once, in evaluation mode.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/train/train_options.hpp"

namespace rebalance::losses {
class Loss;
}

namespace rebalance::train {

/// tau-normalisation of a head's weight [C, F]: row c divided by ||w_c||^tau (rows of norm 0 kept).
at::Tensor tau_normalized(const at::Tensor& weight, double tau);

/// MaxNorm (weight balancing): each row of `weight` [C, F] whose norm exceeds `max_norm` is scaled
/// back onto the ball of that radius, in place (a projected-gradient step's projection).
void project_max_norm_(at::Tensor weight, double max_norm);

/// The features [N, F] of rows `x` under `model` (model.features in evaluation mode, no gradient,
/// in batches; the model's train/eval mode is restored).
at::Tensor extract_features(models::Classifier& model, const at::Tensor& x, int64_t batch_size = 512);

struct DecoupleInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};
const std::vector<DecoupleInfo>& decouple_registry();
/// Every stage-2 method as `rebalance methods decoupling` lists it.
std::vector<MethodDoc> decouple_docs();

/// A stage-2 method, parsed and checked.
class Decoupler {
 public:
  virtual ~Decoupler() = default;
  /// Re-balance `model`'s head (trained on `train`), seeded by o.seed, with o's optimiser, batch
  /// size and device; `validation` is read only by tau_norm:tau=auto. One line per stage on `log`.
  virtual void apply(models::Classifier& model, const Dataset& train, const Dataset& validation, const TrainOptions& o,
                     std::ostream& log) const = 0;
  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }

 private:
  std::string spec_;
};

/// "crt:epochs=10,policy=balanced", "lws", "tau_norm:tau=1" (or tau=auto), "wb:max_norm=1";
/// unknown names and parameters refused, listing the accepted ones.
std::unique_ptr<Decoupler> make_decoupler(const std::string& spec);

/// What o.decouple and o.max_norm do to `model`'s head, checked against it: a model without a
/// head refuses both, a cosine head refuses both (its logits divide the weights' norms out), and a
/// cosine head under a loss whose scale leaves its softmax unable to become confident gets a
/// warning on `log`. Used by every training loop (train::fit, joint::fit).
struct HeadRebalancing {
  std::unique_ptr<Decoupler> decoupler;  ///< null without o.decouple
  at::Tensor head_weight;                ///< the head's weight [C, F] when decouple or max_norm needs it
  double max_norm = 0;
  /// MaxNorm's projection of the head's rows, after each optimiser step (nothing when max_norm is 0).
  void after_step() const {
    if (max_norm > 0) project_max_norm_(head_weight, max_norm);
  }
};
HeadRebalancing head_rebalancing(const TrainOptions& o, models::Classifier& model, const losses::Loss& loss,
                                 std::ostream& log);

}  // namespace rebalance::train
