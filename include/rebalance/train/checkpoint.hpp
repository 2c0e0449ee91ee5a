// What every training loop shares (the classifier's trainer and joint generation and
// classification): the record of its epochs and the choice of the one it keeps, and its checkpoint
// folder (resume, atomic save, pruning, the state JSON). A loop owns only its own steps.
//
//   EpochLog epochs(/*select=*/o.monitor != "none");
//   Checkpoint ckpt(o.checkpoint_dir, "state.json", 1, config);
//   if (ckpt.open(o.resume, [&](const nlohmann::json& s) { epochs.restore(s); ... }, log)) ...
//   for (...) {
//     if (epochs.add(record)) copy_parameters(best, model);
//     ckpt.save({{"model-3.pt", [&](const std::string& p) { ... }}}, epochs.state());
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebalance/data/dataset.hpp"
#include "rebalance/models/classifier.hpp"

namespace rebalance {
class TensorWriter;
}

namespace rebalance::train {

struct EpochRecord {
  int64_t epoch = 0;  ///< 0-based
  double train_loss = 0;
  double lr = 0;
  double val_metric = 0;
  std::vector<double> val_f1;  ///< per class
  double seconds = 0;
  double val_map5 = -1;        ///< MAP@5 on the validation set when it has one and > 2 classes
};

/// The epochs of a run and the one it keeps. With `select` (a monitored metric) the kept epoch is
/// the first with the highest validation metric; without, the latest.
class EpochLog {
 public:
  explicit EpochLog(bool select) : select_(select) {}

  /// Append `rec`; true when it becomes the kept epoch (the caller then keeps its weights).
  bool add(const EpochRecord& rec);

  const std::vector<EpochRecord>& history() const { return history_; }
  int64_t best_epoch() const { return best_epoch_; }
  double best_metric() const { return best_metric_; }
  /// Epochs since the kept one (early stopping's patience counts these).
  int64_t since_best() const { return since_best_; }

  /// best_epoch, best_metric, since_best and the history, as a checkpoint's state holds them.
  nlohmann::json state() const;
  /// Back to a state written by state() (a checkpoint's; since_best defaults to 0).
  void restore(const nlohmann::json& state);

 private:
  bool select_;
  std::vector<EpochRecord> history_;
  int64_t best_epoch_ = -1;
  double best_metric_ = 0;
  int64_t since_best_ = 0;
};

/// The history as JSON, one object per epoch (epoch, train_loss, lr, val_metric, val_f1, seconds;
/// `with_map5`: val_map5 where measured). The summary's form omits lr (`with_lr` false).
nlohmann::json history_json(const std::vector<EpochRecord>& history, bool with_lr = true, bool with_map5 = false);

/// A run's checkpoint folder: every step's files are written under names of that step, then the
/// state file is renamed over the previous one (the commit point: a crash at any moment leaves
/// the previous complete step loadable, a failed write leaves nothing of the new one), then the
/// files of older steps are removed. An empty folder: no checkpoints, and every call does nothing.
class Checkpoint {
 public:
  /// `state_name`: the state file inside `dir` ("state.json"); `format`: its format number;
  /// `config`: everything that decides the result (a resume refuses any key that differs).
  Checkpoint(std::string dir, std::string state_name, int format, nlohmann::json config);

  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  std::string state_path() const;

  /// Create the folder. With `resume` and a state file there: read it (format and config
  /// checked), call `restore` with it (errors name the file) and return true. With `resume` and
  /// none: say so on `log` and start afresh. Without `resume`, a folder that holds a state is
  /// refused when `refuse_existing` (it is never overwritten by a new run).
  bool open(bool resume, const std::function<void(const nlohmann::json&)>& restore, std::ostream& log,
            bool refuse_existing = true);

  /// DIR/NAME for the file the state names under `key` (only plain names inside the folder).
  std::string file(const nlohmann::json& state, const std::string& key) const;
  /// DIR/NAME.
  std::string path(const std::string& name) const;

  /// One step's files, (name, writer of that path); a null writer keeps a file already written by an
  /// earlier step (it is not pruned).
  using Files = std::vector<std::pair<std::string, std::function<void(const std::string& path)>>>;
  /// Write `files` and the state (`state` plus format and config) as one group, then remove every
  /// other .pt and .gen file of the folder.
  void save(const Files& files, nlohmann::json state) const;

 private:
  std::string dir_, state_name_;
  int format_;
  nlohmann::json config_;
};

/// A checkpoint's state file, after checking its format and that every key of `config` equals
/// the saved one (Error naming the file, or the key with both values).
nlohmann::json read_checkpoint_state(const std::string& path, int format, const nlohmann::json& config);
/// A cheap fingerprint of the data (rows, shape, classes, sums), so a checkpoint is not resumed
/// on other data.
nlohmann::json fingerprint(const Dataset& d);
/// Named tensors filled by `fill` (core/tensor_archive.hpp: data, never code), written through
/// write_atomic.
void save_archive(const std::string& path, const std::function<void(TensorWriter&)>& fill);
/// A module's weights alone (under "model") / an optimiser's state alone (under "optimizer").
void save_module(const std::string& path, models::Classifier& model);
void save_optimizer(const std::string& path, torch::optim::Optimizer& optimizer);
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

}  // namespace rebalance::train
