// Batch policies: which training rows an epoch visits, in which order. Uniform shuffling,
// class-balanced batches, square-root sampling, and F1-driven dynamic sampling.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance::train {

/// Chooses the rows of each epoch. Stateless except dynamic sampling, whose state (the last
/// validation F1 per class) is saved in checkpoints through state()/set_state().
class BatchPolicy {
 public:
  virtual ~BatchPolicy() = default;
  /// Row indices (into the training set) for one epoch, in visiting order; the trainer cuts them
  /// into batches of `batch_size`. `labels`: [N] class of each training row.
  virtual std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t num_classes, int64_t batch_size,
                                          Rng& rng) = 0;
  /// Which training rows are synthetic (origin < 0): the trainer tells the policy once, before
  /// the first epoch. Only policies that treat real and synthetic rows apart use it.
  virtual void set_synthetic(const std::vector<bool>& synthetic) { (void)synthetic; }
  /// Per-class F1 on the validation set after an epoch.
  virtual void observe(const std::vector<double>& f1_per_class) { (void)f1_per_class; }
  virtual std::vector<double> state() const { return {}; }
  virtual void set_state(const std::vector<double>& state) { (void)state; }
  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }

 private:
  std::string spec_;
};

/// Dynamic sampling's draw counts (Pouyanfar et al., MIPR 2018): class c gets a share
/// floor / C + (1 - floor) * (1 - F1_c) / sum_k (1 - F1_k) of `total` rows, so a class the model
/// gets wrong is oversampled and one it gets right undersampled. If every F1 is 1, the classes
/// share equally. Counts sum to `total` (largest remainders).
std::vector<int64_t> dynamic_sample_counts(const std::vector<double>& f1, int64_t total, double floor = 0.0);

struct BatchPolicyInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};
const std::vector<BatchPolicyInfo>& batch_policy_registry();
/// Every batch policy as `rebalance methods batch-policies` lists it, from batch_policy_registry().
std::vector<MethodDoc> batch_policy_docs();

/// "uniform", "balanced", "balanced:real_share=0.5", "sqrt", "class_aware", "dynamic:floor=0.0".
std::unique_ptr<BatchPolicy> make_batch_policy(const std::string& spec);

}  // namespace rebalance::train
