// Seeded Gaussian-cluster classification data in the manner of scikit-learn's make_classification,
// for scale tests and benchmarks where real data of the wanted size does not exist.
#pragma once

#include <cstdint>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Guyon's design (NIPS 2003 feature selection challenge), as in make_classification: each class
/// is `clusters_per_class` Gaussian clusters centred on vertices of a hypercube of side
/// 2*class_sep in the `informative` dimensions, each cluster given a random covariance;
/// `redundant` features are random linear combinations of the informative ones and the rest are
/// noise. Per-class counts are floor(n * w_c), the remainder handed out one per class in order.
///
///   SyntheticOptions o; o.n = 100000; o.features = 20; o.weights = {0.99, 0.01};
///   Dataset d = make_synthetic(o);   // 99,000 vs 1,000 rows, same bytes for the same seed
struct SyntheticOptions {
  int64_t n = 1000;
  int64_t features = 20;
  int64_t informative = 2;
  int64_t redundant = 2;
  int64_t classes = 2;
  int64_t clusters_per_class = 2;
  std::vector<double> weights;  ///< C or C-1 values (the last is 1 - sum); empty = balanced
  double class_sep = 1.0;
  double flip_y = 0.0;          ///< fraction of labels replaced at random
  uint64_t seed = 0;
};

Dataset make_synthetic(const SyntheticOptions& options);

/// Per-class counts make_synthetic produces for these options (validates the weights).
std::vector<int64_t> synthetic_class_counts(const SyntheticOptions& options);

}  // namespace rebalance
