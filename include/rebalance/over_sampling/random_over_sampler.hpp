// Random over-sampling: grow a class by drawing its rows again with replacement, optionally as a
// smoothed bootstrap (each copy jittered by Gaussian noise scaled to the class's spread).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::over_sampling {

struct RandomOverSamplerOptions {
  /// Smoothed-bootstrap factor (>= 0) for every resampled class; nullopt: plain bootstrap.
  std::optional<double> shrinkage;
  /// Per-class factors (class name or number -> factor). When given they replace `shrinkage`
  /// and must name every class the strategy resamples.
  std::vector<std::pair<std::string, double>> class_shrinkage;

  /// Parse the factory value: "none", one factor ("0.5") or "{class: factor, ...}".
  static RandomOverSamplerOptions parse_shrinkage(const std::string& text);
  /// The factor of each class in `target` that gets one (classes by name or number, as
  /// Dataset::class_index; `data_name` names the data in its error); Error, before any work, if
  /// per-class factors miss a resampled class.
  std::map<int64_t, double> factors(const std::map<int64_t, int64_t>& target,
                                    const std::vector<std::string>& class_names, const std::string& data_name) const;
};

/// Random over-sampling with replacement, and the smoothed bootstrap of Menardi & Torelli
/// ("Training and assessing classification rules with imbalanced data", Data Mining and
/// Knowledge Discovery, 2014; the ROSE method). With a shrinkage factor h_c for class c a drawn
/// row x becomes x + h_c * s * sigma_c * z, z ~ N(0, I), where sigma_c is the class's per-feature
/// standard deviation and s = (4 / ((D + 2) N))^(1 / (D + 4)) is imbalanced-learn's smoothing
/// constant for N rows of D features (computed over the whole data set, as imbalanced-learn does).
///
/// Every added row is recorded as synthetic (origin -1) with parents (drawn row, -1), so the
/// copies can be told from the input rows even when the bootstrap is plain.
///
///   RandomOverSampler ros({.shrinkage = 0.5}, SamplingStrategy("auto"), /*seed=*/0);
///   Dataset balanced = ros.fit_resample(train);   // or make_sampler("random_over:shrinkage=0.5")
///   auto drawn = balanced.parents.select(1, 0);   // source row of each added row, -1 for input rows
class RandomOverSampler final : public Sampler {
 public:
  explicit RandomOverSampler(RandomOverSamplerOptions options = {}, SamplingStrategy strategy = {},
                             uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  RandomOverSamplerOptions options_;
};

}  // namespace rebalance::over_sampling
