// The end-to-end demo the README's main command runs until the full seed-000 experiment lands:
// MNIST digits 0 vs 6, made 2% imbalanced, scored by trivial baselines.
#pragma once

#include <cstdint>
#include <ostream>

namespace rebalance {

struct DemoOptions {
  uint64_t seed = 0;
  double minority_share = 0.02;  ///< seed 000: 100 of 5100 training images are the minority
  int digits = 2;                ///< decimals in the report tables
};

/// Load mnist-digits, keep digits 0 (majority) and 6 (minority), split 80/20 stratified, cut the
/// training minority to `minority_share`, fit a majority-class predictor and a nearest-centroid
/// classifier, and print class counts and an imbalanced-learn style report for each.
void run_demo(std::ostream& out, const DemoOptions& options);

}  // namespace rebalance
