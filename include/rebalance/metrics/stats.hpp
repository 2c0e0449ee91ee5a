// Small-sample statistics for comparing methods over seeds or folds: Student's t distribution and
// the paired t-test. Tables mark every method that such a test cannot tell from the best, and the
// leaderboards of `rebalance auto` give t confidence intervals, rather than one lucky mean.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace rebalance::metrics {

/// The regularised incomplete beta function I_x(a, b), a, b > 0, x in [0, 1].
double incomplete_beta(double a, double b, double x);

/// P(|T| >= |t|) for Student's t with `df` > 0 degrees of freedom (two-sided p-value).
double student_t_two_sided_p(double t, double df);

/// The quantile q with P(T <= q) = p, p in (0, 1), for Student's t with `df` > 0 degrees of freedom.
double student_t_quantile(double p, double df);

struct PairedTest {
  int64_t n = 0;               ///< pairs
  double mean_difference = 0;  ///< mean of a_i - b_i
  double t = 0;
  /// Two-sided p-value; NaN with fewer than 2 pairs (nothing to test). Differences that are all
  /// equal give p = 1 when they are 0 and p = 0 otherwise.
  double p = std::numeric_limits<double>::quiet_NaN();
};

/// The two-sided paired t-test of a against b (a[i] and b[i] measured on the same seed or fold).
PairedTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);

/// Half the width of the two-sided `level` confidence interval of the mean of `values` (t-based);
/// NaN for fewer than 2 values.
double t_interval_half_width(const std::vector<double>& values, double level = 0.95);

}  // namespace rebalance::metrics
