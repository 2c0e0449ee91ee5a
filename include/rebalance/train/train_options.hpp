// The training options: the struct every trainer reads, and its declaration, once. Each option's
// key, range, help and the surfaces it appears on (CLI flags, experiment config keys, the summary
// and checkpoint JSON, the Python keywords) come from train_params(); the defaults are the
// struct's own initialisers. A new option is one member here and one line in train_params().
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rebalance::train {

struct TrainOptions {
  std::string model = "mlp";
  std::string loss = "ce";
  std::string batch_policy = "uniform";
  std::string decision = "argmax";
  /// Real-time augmentation of every training batch (an augment/ factory string, e.g.
  /// "rotate:degrees=10+hflip"), drawn afresh each epoch; empty: none. Needs image rows.
  std::string augment;
  /// Mixing of every training batch (a mix/ factory string: mixup, remix, cutmix, cmo, with
  /// parameters), each row's loss split between its label and its partner's; empty: none.
  std::string mix;
  /// Decoupled training's second stage on the trained model's head (a train/decouple factory
  /// string: crt, lws, tau_norm, wb), after the epochs and before the decision rule; empty: none.
  std::string decouple;
  /// > 0: MaxNorm, each class's weight vector in the final linear layer projected back onto this
  /// radius after every optimiser step (weight balancing's first stage, with weight_decay).
  double max_norm = 0.0;
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
  /// The class counts the loss's corrections come from (LDAM's margins, deferred re-weighting's
  /// and CB's weights, balanced softmax's and LA's prior): "all" the training rows, or only the
  /// "real" ones (origin >= 0), leaving out a sampler's synthetic rows. With a generator stacked on
  /// a count-corrected loss, "all" corrects for the grown counts, "real" for the data's own.
  std::string loss_counts = "all";
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

/// Where an option is a command-line flag: not at all, on every training command (train, lr-find:
/// the network and how it learns), or on `train` alone (budget, selection, checkpoints).
enum class CliGroup { None, Network, Train };
/// When an option enters the options JSON (the summary, the checkpoint's config, result hashes):
/// always, only when it differs from its default (options added later, so that earlier hashes and
/// checkpoints stay valid), or never (how a run is carried out, not what it computes).
enum class JsonWhen { Always, NotDefault, Never };

/// One option's declaration.
struct TrainParam {
  using Field = std::variant<std::string TrainOptions::*, double TrainOptions::*, int64_t TrainOptions::*,
                             uint64_t TrainOptions::*, bool TrainOptions::*>;
  std::string key;                    ///< config key, JSON key, Python keyword; the flag is --key ('_' as '-')
  Field field;
  std::string help;
  double lo = 0, hi = 0;              ///< numbers: the accepted range (lo == hi: unchecked here)
  std::vector<std::string> choices;   ///< strings: the accepted values (empty: any, or a factory's string)
  CliGroup cli = CliGroup::None;
  std::string flag;                   ///< the flag when not --key
  bool config = false;                ///< a key of an experiment config's [train] table
  JsonWhen json = JsonWhen::Always;
  bool python = false;                ///< a keyword of the Python classes that train (JointGANClassifier)
};

/// Every option, in the order the help lists them.
const std::vector<TrainParam>& train_params();
/// The declaration of `key`; Error naming the known keys if there is none.
const TrainParam& train_param(const std::string& key);
/// The option's value in `o` as JSON (a string, number or bool), and its default as text.
nlohmann::json train_option_value(const TrainOptions& o, const TrainParam& p);
std::string train_option_default(const TrainParam& p);
/// Set the option from JSON (a Python keyword's value, a config's): type and range checked, the
/// error naming `where` and the key.
void set_train_option(TrainOptions& o, const TrainParam& p, const nlohmann::json& value, const std::string& where);
/// The accepted values of a string option as text: "adam or sgd".
std::string train_choices_text(const TrainParam& p);
/// The flag of an option: --key with '-' for '_', or its own.
std::string train_option_flag(const TrainParam& p);

/// Everything that decides the result, as JSON (the checkpoint refuses to resume if it differs):
/// every option whose JsonWhen says so.
nlohmann::json options_to_json(const TrainOptions& o);

}  // namespace rebalance::train
