// Borderline-SMOTE: SMOTE restricted to the minority rows near the class border ("in danger").
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct BorderlineSMOTEOptions {
  int64_t k_neighbors = 5;            ///< same-class neighbours used to make new rows
  int64_t m_neighbors = 10;           ///< neighbours among all rows that decide "danger"
  std::string kind = "borderline-1";  ///< "borderline-1" or "borderline-2"
};

/// Borderline-SMOTE (Han, Wang & Mao, "Borderline-SMOTE: a new over-sampling method in
/// imbalanced data sets learning", ICIC 2005). A row of class c is *in danger* when, among its
/// m nearest rows of the whole data set (itself excluded), the count n_o of other-class rows
/// satisfies m / 2 <= n_o < m: crowded by other classes but not pure noise (imbalanced-learn's
/// `_in_danger_noise`). New rows are made only from danger rows:
///   borderline-1: x_new = x_d + u * (x_nn - x_d), u ~ U[0, 1), x_nn one of the k same-class
///                 neighbours of x_d;
///   borderline-2: a Beta(10, 10) share of the rows as in borderline-1, the rest towards one of
///                 the k nearest other-class rows of x_d with u ~ U[0, 0.5), so they stay on the
///                 minority side.
/// `parents` are (danger row, neighbour). As in imbalanced-learn, a class with no row in danger
/// gets no new rows (its count stays short of the strategy); when no class gets any, the sampler
/// refuses rather than return the data unchanged.
///
///   BorderlineSMOTE bsm({.k_neighbors = 5, .m_neighbors = 10}, SamplingStrategy("auto"), 0);
///   Dataset balanced = bsm.fit_resample(train);  // or make_sampler("borderline_smote:kind=borderline-2")
///   at::Tensor danger = BorderlineSMOTE::danger_mask(train, /*cls=*/1, /*m_neighbors=*/10);
class BorderlineSMOTE final : public Sampler {
 public:
  explicit BorderlineSMOTE(BorderlineSMOTEOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);

  /// Which rows of class `cls` are in danger: [n_cls] bool, in the order of the class's rows in
  /// `data`. Needs m_neighbors + 1 <= data.size().
  static at::Tensor danger_mask(const Dataset& data, int64_t cls, int64_t m_neighbors);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  BorderlineSMOTEOptions options_;
};

}  // namespace rebalance::over_sampling
