// ADASYN: SMOTE-style interpolation with more new rows where the class is hardest to learn.
#pragma once

#include <cstdint>
#include <vector>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct ADASYNOptions {
  int64_t n_neighbors = 5;  ///< neighbours for both the difficulty ratio and the interpolation
};

/// ADAptive SYNthetic sampling (He, Bai, Garcia & Li, "ADASYN: Adaptive synthetic sampling
/// approach for imbalanced learning", IJCNN 2008). For each row i of class c, r_i is the share of
/// other-class rows among its k nearest rows of the whole data set; row i then seeds
///   g_i = rint(r_i / sum_j r_j * G)
/// new rows (G the number asked, numpy's round-half-to-even, so sum g_i may differ from G by
/// rounding, exactly as in imbalanced-learn). Each new row is x_i + u * (x_nn - x_i) towards one of
/// its k same-class neighbours, u ~ U[0, 1); `parents` are (i, nn).
///
///   ADASYN ada({.n_neighbors = 5}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = ada.fit_resample(train);   // or make_sampler("adasyn:n_neighbors=5")
///   auto g = ADASYN::generation_counts(train, /*cls=*/1, /*n_neighbors=*/5, /*n_samples=*/100);
class ADASYN final : public Sampler {
 public:
  explicit ADASYN(ADASYNOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);

  /// g_i for every row of class `cls` (in the order of the class's rows in `data`) when
  /// `n_samples` rows are asked. Refuses, as imbalanced-learn does, a class none of whose rows
  /// has another class among its neighbours, and counts that all round to zero.
  static std::vector<int64_t> generation_counts(const Dataset& data, int64_t cls, int64_t n_neighbors,
                                                int64_t n_samples);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  ADASYNOptions options_;
};

}  // namespace rebalance::over_sampling
