#include "rebalance/metrics/stats.hpp"

#include <cmath>

#include "rebalance/core/error.hpp"

namespace rebalance::metrics {

namespace {

/// The continued fraction of I_x(a, b) (modified Lentz evaluation), valid for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const auto guard = [](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1.0, d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0)), f = d;
  for (int m = 1; m <= 1000; ++m) {
    const double m2 = 2.0 * m;
    const double even = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 / guard(1.0 + even * d);
    c = guard(1.0 + even / c);
    f *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 / guard(1.0 + odd * d);
    c = guard(1.0 + odd / c);
    const double step = d * c;
    f *= step;
    if (std::fabs(step - 1.0) < kEps) break;
  }
  return f;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  REBALANCE_CHECK(a > 0 && b > 0, "incomplete_beta: a and b must be > 0, got {} and {}", a, b);
  REBALANCE_CHECK(x >= 0 && x <= 1, "incomplete_beta: x must lie in [0, 1], got {}", x);
  if (x == 0 || x == 1) return x;
  if (x > (a + 1.0) / (a + b + 2.0)) return 1.0 - incomplete_beta(b, a, 1.0 - x);
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
}

double student_t_two_sided_p(double t, double df) {
  REBALANCE_CHECK(df > 0, "Student's t: degrees of freedom must be > 0, got {}", df);
  if (std::isinf(t)) return 0.0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

double student_t_quantile(double p, double df) {
  REBALANCE_CHECK(p > 0 && p < 1, "Student's t quantile: p must lie in (0, 1), got {}", p);
  if (p < 0.5) return -student_t_quantile(1.0 - p, df);
  // P(T <= q) = 1 - p_two_sided(q) / 2 grows with q >= 0: bisect on it.
  const double tail = 2.0 * (1.0 - p);
  double lo = 0.0, hi = 1.0;
  while (student_t_two_sided_p(hi, df) > tail && hi < 1e12) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * std::max(1.0, hi); ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_two_sided_p(mid, df) > tail ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

PairedTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  REBALANCE_CHECK(a.size() == b.size(), "paired t-test: {} values against {}; pairs need equal lengths", a.size(),
                  b.size());
  PairedTest r;
  r.n = static_cast<int64_t>(a.size());
  if (r.n == 0) return r;
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  r.mean_difference = mean_of(d);
  if (r.n < 2) return r;
  const double sd = sample_std(d, r.mean_difference);
  // Identical differences (sd 0, within rounding of the values): no spread to weigh them against.
  const double scale = std::max(1.0, std::fabs(r.mean_difference));
  if (sd <= 1e-12 * scale) {
    const bool zero = std::fabs(r.mean_difference) <= 1e-12 * scale;
    r.t = zero ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), r.mean_difference);
    r.p = zero ? 1.0 : 0.0;
    return r;
  }
  r.t = r.mean_difference / (sd / std::sqrt(static_cast<double>(r.n)));
  r.p = student_t_two_sided_p(r.t, static_cast<double>(r.n - 1));
  return r;
}

double t_interval_half_width(const std::vector<double>& values, double level) {
  REBALANCE_CHECK(level > 0 && level < 1, "confidence level must lie in (0, 1), got {}", level);
  if (values.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(values.size());
  return student_t_quantile(0.5 + level / 2.0, n - 1.0) * sample_std(values, mean_of(values)) / std::sqrt(n);
}

}  // namespace rebalance::metrics
