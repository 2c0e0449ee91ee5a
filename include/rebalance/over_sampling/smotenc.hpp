// SMOTE-NC: SMOTE for data mixing continuous and categorical columns.
#pragma once

#include <cstdint>
#include <vector>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct SMOTENCOptions {
  std::vector<int64_t> categorical_features;  ///< column indices holding category codes (required)
  int64_t k_neighbors = 5;
};

/// SMOTE-NC (Chawla, Bowyer, Hall & Kegelmeyer, Journal of Artificial Intelligence Research 16,
/// 2002, section 6.1). Neighbours are found in Euclidean distance over the continuous columns
/// plus the one-hot categorical columns scaled by med / 2, where med is the median standard
/// deviation of the continuous columns within the minority class (imbalanced-learn 0.10), so two
/// rows differing in one category are med / sqrt(2) apart on that column. A new row interpolates
/// the continuous columns as SMOTE does; each categorical column takes the value most frequent
/// among the k neighbours of the seed row (ties drawn at random, as imbalanced-learn).
/// `parents` are (row, nn). Categorical values are the float codes stored in the column.
///
///   SMOTENC snc({.categorical_features = {2, 3}}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = snc.fit_resample(train);
///   // or make_sampler("smotenc:categorical_features=[2,3],k_neighbors=5")
class SMOTENC final : public Sampler {
 public:
  explicit SMOTENC(SMOTENCOptions options, SamplingStrategy strategy = {}, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  SMOTENCOptions options_;
};

}  // namespace rebalance::over_sampling
