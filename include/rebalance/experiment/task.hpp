// A learning task from a few user choices: which data, which imbalance, which splits. Shared by
// `rebalance train` and the experiment runner.
#pragma once

#include <cstdint>
#include <string>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

struct TaskOptions {
  std::string data = "fashion-mnist";  ///< built-in spec or file
  std::string test;                    ///< a separate test set (built-in spec or file); empty: split one off
  std::string label;                   ///< CSV label column / labels .npy
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

/// Load, make imbalanced and split. The imbalance applies to the training pool only; the test
/// set keeps its distribution (restricted to the pair's classes for a binary task).
Task build_task(const TaskOptions& options);

}  // namespace rebalance
