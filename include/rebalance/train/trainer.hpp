// The training loop: a classifier, a loss, a batch policy and a decision rule trained on an
// imbalanced set, with early stopping on a validation metric, atomic per-epoch checkpoints and
// resume that ends with the same weights as an uninterrupted run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebalance/data/dataset.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/train/checkpoint.hpp"
#include "rebalance/train/decision.hpp"
#include "rebalance/train/train_options.hpp"

namespace rebalance::losses {
class Loss;
}

namespace rebalance::train {


/// Resolves monitor = "auto" in place: f1_macro when the validation set (`val_counts` per class,
/// empty: none) holds at least 5 rows of every class, else "none" (the final weights, patience
/// off), said in one line on `log`. Any other monitor is left as it is.
void resolve_monitor(TrainOptions& o, const std::vector<int64_t>& val_counts,
                     const std::vector<std::string>& class_names, std::ostream& log);


struct TrainResult {
  std::shared_ptr<models::Classifier> model;  ///< the best epoch's weights
  std::unique_ptr<DecisionRule> decision;     ///< fitted on the validation set with the best model
  std::vector<EpochRecord> history;
  int64_t best_epoch = -1;
  double best_metric = 0;
  std::vector<int64_t> train_counts;
  bool finished = false;  ///< false when stop_after_epochs ended the run early
  int64_t steps = 0;      ///< optimiser steps taken (all epochs, a resumed run's included)
  std::string monitor;    ///< the monitor that chose the weights ("auto" resolved; "none": the final ones)
};

/// Train on `train`, choosing the epoch by `monitor` on `validation`. Every class of `train` must
/// appear in `validation` (an F1 of a class without validation rows is undefined; the error names
/// the class). With checkpoint_dir, after every epoch model, optimizer and progress are written
/// atomically; with resume, training continues from the last complete epoch.
TrainResult fit(const Dataset& train, const Dataset& validation, const TrainOptions& options, std::ostream& log);

/// The batch loss of TrainOptions::synthetic_weight: `synthetic` ([B] bool) marks the synthetic
/// rows of the batch, whose part of the loss counts `synthetic_weight` of a real part's.
at::Tensor mixed_loss(losses::Loss& loss, const at::Tensor& logits, const at::Tensor& target,
                      const at::Tensor& synthetic, double synthetic_weight);

/// The optimiser `o` names (adam, sgd with momentum) over `model`'s parameters.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, models::Classifier& model);
/// The learning rate of 0-based `epoch` under o.schedule (none, step, exp, cosine).
double scheduled_lr(const TrainOptions& o, int64_t epoch);
/// The value of validation metric `name` (TrainOptions::monitor) for a confusion matrix; 0 for none.
double monitored_metric(const std::string& name, const at::Tensor& confusion);

/// Logits [N, C] of `model` on `x` in evaluation mode, in batches, as float32 on the CPU.
at::Tensor predict_logits(models::Classifier& model, const at::Tensor& x, int64_t batch_size = 1024);

/// Save a trained model (weights, spec, input shape, class names, decision rule) to one file, and
/// load it back. Files are written atomically.
void save_model(const std::string& path, const TrainResult& result, const Dataset& train);
struct LoadedModel {
  std::shared_ptr<models::Classifier> model;
  std::unique_ptr<DecisionRule> decision;
  std::vector<std::string> class_names;
  std::vector<int64_t> input_shape;
};
LoadedModel load_model(const std::string& path);

}  // namespace rebalance::train
