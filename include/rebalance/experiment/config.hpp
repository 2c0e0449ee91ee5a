// Experiment configs (TOML): data, imbalance levels, methods, training and seeds; validated up
// front with errors that name the key and its line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rebalance/data/image_folder.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance {

/// One compared method: a named combination of sampler, loss, batch policy and decision rule,
/// all given as factory strings.
struct MethodConfig {
  std::string name;
  std::string sampler;  ///< empty: none
  std::string loss = "ce";
  std::string batch_policy = "uniform";
  std::string decision = "argmax";
  /// Real-time augmentation of every training batch (TrainOptions::augment); empty: [train]'s.
  std::string augment;
  /// Mixing of every training batch (TrainOptions::mix); empty: [train]'s.
  std::string mix;
  /// Decoupled training's second stage (TrainOptions::decouple); empty: [train]'s.
  std::string decouple;
  /// The classifier (TrainOptions::model), e.g. "resnet:depth=8,head=cosine" for LDAM; empty: [train]'s.
  std::string model;
  /// Unfreeze a frozen backbone after this many epochs (TrainOptions::unfreeze_after); -1: [train]'s.
  int64_t unfreeze_after = -1;
  /// L2 weight decay of the training (TrainOptions::weight_decay); < 0: [train]'s. Weight balancing
  /// tunes it for its first stage.
  double weight_decay = -1;
  /// MaxNorm radius of the head's class rows after every step (TrainOptions::max_norm); < 0: [train]'s.
  double max_norm = -1;
  /// Loss weight of the sampler's synthetic rows against a real row's 1 (TrainOptions::synthetic_weight).
  double synthetic_weight = 1.0;
  /// The counts behind the loss's corrections (TrainOptions::loss_counts): "all" or "real".
  std::string loss_counts = "all";
  /// Joint training with a CycleGAN (seed 004): "aug[:params]" or "alt[:params]" (joint::parse_joint);
  /// empty: none. Excludes a sampler: the joint trainer makes its own translations.
  std::string joint;
  /// LEAKAGE, off (0) unless a config says so: the sampler is fitted on the training majority
  /// and the first N *test* rows of the minority class instead of the training minority (seed
  /// 000's published code trains its VAE on test sixes); only its synthetic rows join the real
  /// training set. Every result of such a method is named "... (generator saw test images)".
  int64_t leak_test_minority_to_sampler = 0;
};

/// How the imbalanced training set of one grid cell is made.
struct ImbalanceLevel {
  std::string label;               ///< column heading, e.g. "100" or "rho=100"
  int64_t minority = -1;           ///< minority rows (binary pair) or rows per minority class (groups)
  double rho = 0.0;                ///< long-tailed profile ratio
};

struct ExperimentConfig {
  std::string path;
  std::string name;
  // [data]
  std::string dataset;
  std::string test;                 ///< built-in spec/file of the test set; empty: split off the data
  std::string label;                ///< CSV label column, or labels file (.npy / IDX) of `dataset`
  std::string test_label;           ///< labels file of a .npy / IDX `test` (a CSV test uses `label`)
  char delimiter = 0;               ///< CSV field separator; 0: from the file name
  double test_fraction = 0.2;
  std::string pair_majority, pair_minority;  ///< binary pair task
  std::vector<std::string> majority_classes, minority_classes;  ///< grouped binary task (seed 003)
  int64_t majority = -1;            ///< majority rows (-1: all)
  std::vector<ImbalanceLevel> levels;
  double val_fraction = 0.1;        ///< validation rows per class, as a share of the training rows (0: none)
  /// "every_class": each class gives at least one validation row (an error if it has too few);
  /// "long_tail": round(n_c * val_fraction) rows, none for the smallest classes, which stay in
  /// training (monitor accuracy, map5 or top5 then)
  std::string validation = "every_class";
  ImageFolderOptions images;        ///< [data] image_size, image_channels, on_bad_image, image_storage
  std::string select = "random";    ///< training rows per class: "random" (seeded draw) or "first" (file order)
  int64_t rows = -1;                ///< > 0: only the data set's first `rows` rows (e.g. TF's mnist.train, 55,000)
  // [train]
  train::TrainOptions train;
  // [run]
  std::vector<uint64_t> seeds = {0};
  std::string metric = "f1_macro";  ///< the table's default metric
  /// Sample-quality diagnostics of every sampler's synthetic rows against the test rows (scored,
  /// never trained on): two-sample AUC, nearest-real distances, TSTR recall, reconstruction error.
  bool quality = true;
  std::vector<MethodConfig> methods;
};

/// Parse and validate. Errors name the file, the key and its line ("exp.toml:12: [train].epochs
/// must be >= 1, got 0"); every factory string is built once to be checked.
ExperimentConfig load_experiment(const std::string& path);

/// A stable hash of everything that decides the results (not the file's formatting).
std::string experiment_hash(const ExperimentConfig& config);
/// 16 hex digits of FNV-1a over `text`: the config hash, the names of a grid cell's files.
std::string text_hash(const std::string& text);

}  // namespace rebalance
