#include "rebalance/metrics/stats.hpp"

#include <cmath>

#include "../test_util.hpp"

using namespace rebalance::metrics;

// References from SciPy 1.10 (scipy.special.betainc, scipy.stats.t, scipy.stats.ttest_rel).
TEST(Stats, IncompleteBetaAndStudentT) {
  EXPECT_NEAR(incomplete_beta(2.5, 1.5, 0.3), 0.0889437231706656, 1e-12);
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.9), 0.7951672353008662, 1e-12);
  EXPECT_EQ(incomplete_beta(2, 3, 0), 0.0);
  EXPECT_EQ(incomplete_beta(2, 3, 1), 1.0);
  EXPECT_NEAR(student_t_two_sided_p(2.0, 3), 0.1393259685588431, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(-2.0, 3), 0.1393259685588431, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(0.5, 1), 0.7048327646991336, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(10, 2), 0.009852457023325692, 1e-12);
  EXPECT_EQ(student_t_two_sided_p(0, 5), 1.0);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302652729911275, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 29), 2.045229642132703, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.025, 29), -2.045229642132703, 1e-9);
  EXPECT_ERROR_MENTIONS(incomplete_beta(0, 1, 0.5), "a and b must be > 0");
  EXPECT_ERROR_MENTIONS(student_t_quantile(1.0, 3), "p must lie in (0, 1)");
  EXPECT_ERROR_MENTIONS(student_t_two_sided_p(1.0, 0), "degrees of freedom");
}

TEST(Stats, PairedTTestAndIntervals) {
  const auto tied = paired_t_test({0.80, 0.81, 0.82}, {0.79, 0.83, 0.80});
  EXPECT_EQ(tied.n, 3);
  EXPECT_NEAR(tied.t, 0.27735009811261596, 1e-9);
  EXPECT_NEAR(tied.p, 0.8075499102701238, 1e-9);
  const auto apart = paired_t_test({0.8, 0.81, 0.82, 0.9}, {0.7, 0.75, 0.8, 0.85});
  EXPECT_NEAR(apart.p, 0.04003818079085059, 1e-9);
  EXPECT_NEAR(apart.mean_difference, 0.0575, 1e-12);
  // Equal differences: always apart (or identical); one pair: no test.
  EXPECT_EQ(paired_t_test({0.8, 0.81, 0.82}, {0.7, 0.71, 0.72}).p, 0.0);
  EXPECT_EQ(paired_t_test({0.8, 0.81}, {0.8, 0.81}).p, 1.0);
  EXPECT_TRUE(std::isnan(paired_t_test({0.8}, {0.7}).p));
  EXPECT_ERROR_MENTIONS(paired_t_test({0.8}, {0.7, 0.6}), "equal lengths");
  // 95% interval of {1, 2, 3}: t(0.975, 2) * 1 / sqrt(3).
  EXPECT_NEAR(t_interval_half_width({1, 2, 3}), 4.302652729911275 / std::sqrt(3.0), 1e-9);
  EXPECT_TRUE(std::isnan(t_interval_half_width({1})));
}
