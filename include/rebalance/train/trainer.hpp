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
#include "rebalance/train/decision.hpp"

namespace rebalance {
class TensorWriter;
}

namespace rebalance::losses {
class Loss;
}

namespace rebalance::train {

struct TrainOptions {
  std::string model = "mlp";
  std::string loss = "ce";
  std::string batch_policy = "uniform";
  std::string decision = "argmax";
  /// Real-time augmentation of every training batch (an augment/ factory string, e.g.
  /// "rotate:degrees=10+hflip"), drawn afresh each epoch; empty: none. Needs image rows.
  std::string augment;
  std::string optimizer = "adam";  ///< adam or sgd (with momentum)
  double lr = 1e-3;
  double momentum = 0.9;
  double weight_decay = 0.0;
  std::string schedule = "none";   ///< none, "step:every=30,gamma=0.1" or cosine
  int64_t epochs = 10;
  /// > 0: a frozen backbone model (backbone:path=..,freeze=true) is unfrozen after this many
  /// epochs and the whole network fine-tunes at lr * unfreeze_lr_factor (seed 002's frozen, then
  /// unfrozen ResNet-50). 0: never.
  int64_t unfreeze_after = 0;
  double unfreeze_lr_factor = 0.1;
  /// > 0: the budget is this many optimiser steps (batches), not `epochs`; the last epoch may be
  /// partial. Seed 000's reference trains 1000 iterations whatever the data's size.
  int64_t iterations = 0;
  int64_t batch_size = 128;
  /// Loss weight of a synthetic row (origin < 0, a sampler's) against a real row's 1: a batch's
  /// loss is (n_real * L(real rows) + w * n_synthetic * L(synthetic rows)) / n, each L the loss's
  /// own reduction over its part (for an unweighted loss: each synthetic row's term times w).
  /// 1: every row alike; 0: synthetic rows shape the batches but pass no gradient.
  double synthetic_weight = 1.0;
  /// Validation metric that picks the kept epoch: f1_macro, acsa, gmean, mcc, accuracy, map5
  /// (MAP@5, seed 002's Kaggle score) or top5; "none" keeps the final weights and needs no
  /// validation set (the reference protocols have none). accuracy, map5, top5 and none allow a
  /// validation set that lacks classes (a long tail's singletons stay in training).
  /// "auto" (the CLI's default): f1_macro when the validation set holds a few rows of every
  /// class, otherwise the final weights (resolve_monitor says which in one line).
  std::string monitor = "f1_macro";
  int64_t patience = 0;              ///< stop after this many epochs without improvement; 0 = never
  uint64_t seed = 0;
  std::string checkpoint_dir;        ///< empty: no checkpoints
  bool resume = false;               ///< continue from checkpoint_dir
  std::string device = "cpu";
  bool progress = true;              ///< a progress bar when stderr is a terminal
  int64_t stop_after_epochs = -1;    ///< end this process after so many epochs (tests: a "kill")
};

/// Resolves monitor = "auto" in place: f1_macro when the validation set (`val_counts` per class,
/// empty: none) holds at least 5 rows of every class, else "none" (the final weights, patience
/// off), said in one line on `log`. Any other monitor is left as it is.
void resolve_monitor(TrainOptions& o, const std::vector<int64_t>& val_counts,
                     const std::vector<std::string>& class_names, std::ostream& log);

/// Everything that decides the result, as JSON (the checkpoint refuses to resume if it differs).
nlohmann::json options_to_json(const TrainOptions& o);

struct EpochRecord {
  int64_t epoch = 0;  ///< 0-based
  double train_loss = 0;
  double lr = 0;
  double val_metric = 0;
  std::vector<double> val_f1;  ///< per class
  double seconds = 0;
  double val_map5 = -1;        ///< MAP@5 on the validation set when it has one and > 2 classes
};

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

/// A checkpoint's state file, after checking its format and that every key of `config` equals
/// the saved one (Error naming the file, or the key with both values).
nlohmann::json read_checkpoint_state(const std::string& path, int format, const nlohmann::json& config);
/// A cheap fingerprint of the data (rows, shape, classes, sums), so a checkpoint is not resumed
/// on other data.
nlohmann::json fingerprint(const Dataset& d);
/// Named tensors filled by `fill` (core/tensor_archive.hpp: data, never code), written through
/// write_atomic.
void save_archive(const std::string& path, const std::function<void(TensorWriter&)>& fill);
/// Load weights saved by save_archive (a module under "model") into `model`; Error naming the file
/// if it is unreadable or written for another network. A torch archive (checkpoints before 0.2)
/// only with set_trust_legacy_archives.
void load_module(models::Classifier& model, const std::string& path);
/// Restore an optimiser saved by save_archive (under "optimizer"), or a trusted torch archive.
void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& path);
/// DIR/NAME for the file a checkpoint's state names under `key`; Error unless NAME is a plain file
/// name inside DIR (no folder, "..", or absolute path: a state file must not point elsewhere).
std::string checkpoint_file(const std::string& dir, const nlohmann::json& state, const std::string& key);
/// Copy parameters and buffers of `from` into `to` (same architecture).
void copy_parameters(models::Classifier& to, models::Classifier& from);

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
