// SMOTE-N: SMOTE for data whose every column is categorical.
#pragma once

#include <cstdint>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct SMOTENOptions {
  int64_t k_neighbors = 5;
};

/// SMOTE-N (Chawla, Bowyer, Hall & Kegelmeyer, Journal of Artificial Intelligence Research 16,
/// 2002, section 6.2). Distances are the Value Difference Metric of Stanfill & Waltz (1986) in
/// imbalanced-learn's form: with p_f(c | v) the share of class c among rows whose column f is v,
///   d(a, b) = sum_f ( sum_c |p_f(c | a_f) - p_f(c | b_f)| )^2.
/// A new row of class c starts from a row x_i drawn uniformly from the class and takes, column by
/// column, the most frequent value among the k + 1 nearest class rows of x_i (x_i included,
/// ties to the smallest value as scipy's mode). `parents` are (i, -1).
///
///   SMOTEN sn({.k_neighbors = 5}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = sn.fit_resample(train);   // or make_sampler("smoten:k_neighbors=3")
///   auto added = balanced.size() - train.size();
class SMOTEN final : public Sampler {
 public:
  explicit SMOTEN(SMOTENOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  SMOTENOptions options_;
};

}  // namespace rebalance::over_sampling
