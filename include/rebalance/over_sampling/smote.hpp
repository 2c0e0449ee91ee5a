// SMOTE: new minority rows on the segments between a row and one of its same-class neighbours.
#pragma once

#include <cstdint>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct SMOTEOptions {
  int64_t k_neighbors = 5;  ///< same-class neighbours a new row may be drawn towards
};

/// Synthetic Minority Over-sampling TEchnique (Chawla, Bowyer, Hall & Kegelmeyer, Journal of
/// Artificial Intelligence Research 16, 2002). For each new row of class c, draw x_i uniformly
/// from the class and x_nn uniformly from its k nearest same-class neighbours, then
///   x_new = x_i + u * (x_nn - x_i),  u ~ U[0, 1).
/// `parents` of the new row are (i, nn). Each class with rows to add is handled on its own
/// (one-vs-rest), as in imbalanced-learn. Images ([N, C, H, W]) are treated as flat vectors.
///
///   SMOTE smote({.k_neighbors = 5}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = smote.fit_resample(train);   // or make_sampler("smote:k_neighbors=5")
///   auto synthetic = balanced.origin < 0;           // new rows follow the input rows
class SMOTE final : public Sampler {
 public:
  explicit SMOTE(SMOTEOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  SMOTEOptions options_;
};

}  // namespace rebalance::over_sampling
