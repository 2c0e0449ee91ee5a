// A learning task from a few user choices: which data, which imbalance, which splits. Shared by
// `rebalance train` and the experiment runner.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <string>

#include "rebalance/data/dataset.hpp"
#include "rebalance/data/image_folder.hpp"

namespace rebalance {

struct TaskOptions {
  std::string data = "fashion-mnist";  ///< built-in spec or file
  std::string test;                    ///< a separate test set (built-in spec or file); empty: split one off
  std::string label;                   ///< CSV label column / labels file (.npy or IDX) of `data`
  std::string test_label;              ///< labels file of a .npy / IDX `test`; a CSV test uses `label`
  char delimiter = 0;                  ///< CSV field separator; 0: from the file name
  ImageFolderOptions images;           ///< how an image folder (or path,label CSV) is read
  std::string pair;                    ///< "A:N_A,B:N_B": binary task, class A (label 0) vs class B (label 1)
  std::string keep;                    ///< "CLASS:N,...": per-class training counts (make_imbalance)
  double long_tail = 0.0;              ///< rho > 1: long-tailed profile on the training data
  double val_fraction = 0.1;
  double test_fraction = 0.2;          ///< used only when `test` is empty
  uint64_t seed = 0;
};

struct Task {
  Dataset train, validation, test;
};

/// The data set and, when `test` is given, its separate test set, each read with its labels
/// (`label`: CSV label column or labels file of `data`; `test_label`: labels file of a .npy / IDX
/// test set, which `test_label_name` names in errors). A CSV test set uses `label`. The test set
/// must have the data's classes; with no `test` the second set is empty.
std::pair<Dataset, Dataset> load_data_and_test(const std::string& data, const std::string& test,
                                               const std::string& label, const std::string& test_label,
                                               char delimiter, const std::string& test_label_name,
                                               const ImageFolderOptions& images = {});

/// Load, make imbalanced and split. The imbalance applies to the training pool only; the test
/// set keeps its distribution (restricted to the pair's classes for a binary task).
Task build_task(const TaskOptions& options);

/// Training rows per class exactly as asked, plus a validation set of the same class mix
/// (max(1, round(n_c * val_fraction)) rows of class c) drawn from rows the training set does not
/// use; where the pool has no spare rows, validation rows come out of the asked count instead.
/// `counts[c]` = -1 takes every row of c; classes absent from `counts` are dropped.
/// `val_fraction` 0: no validation rows. `first`: each class's first rows in the pool's order
/// (training rows, then validation rows) instead of a seeded draw. `tail`: a long tail's split,
/// round(n_c * val_fraction) validation rows (possibly none) and at least one training row per
/// class, so single-image classes stay in training and validation lacks them.
std::pair<Dataset, Dataset> draw_train_validation(const Dataset& pool, const std::map<int64_t, int64_t>& counts,
                                                  double val_fraction, uint64_t seed, bool first = false,
                                                  bool tail = false);

}  // namespace rebalance
