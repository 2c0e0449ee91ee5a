#include "rebalance/train/batch_policy.hpp"

#include <numeric>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::train;

namespace {
/// 90 rows of class 0, 9 of class 1, 1 of class 2.
std::vector<int64_t> labels() {
  std::vector<int64_t> y(90, 0);
  y.insert(y.end(), 9, 1);
  y.push_back(2);
  return y;
}
std::vector<int64_t> per_class(const std::vector<int64_t>& rows, const std::vector<int64_t>& y, int64_t c) {
  std::vector<int64_t> n(c, 0);
  for (auto r : rows) ++n[y[r]];
  return n;
}
}  // namespace

TEST(BatchPolicies, DynamicCountsFollowTheF1Vector) {
  // weights (1 - F1) = 0.1, 0.5, 0.9 -> shares 1/15, 5/15, 9/15 of 1000, largest remainder to class 0.
  EXPECT_EQ(dynamic_sample_counts({0.9, 0.5, 0.1}, 1000), (std::vector<int64_t>{67, 333, 600}));
  EXPECT_EQ(dynamic_sample_counts({1.0, 1.0}, 10), (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(dynamic_sample_counts({1.0, 0.0}, 100, 0.5), (std::vector<int64_t>{25, 75}));  // floor: half an equal share
  EXPECT_ERROR_MENTIONS(dynamic_sample_counts({1.5, 0.0}, 10), "F1 of class 0 is 1.5");

  auto policy = make_batch_policy("dynamic");
  Rng rng(1);
  const auto y = labels();
  EXPECT_EQ(policy->epoch_rows(y, 3, 10, rng).size(), 100u);  // first epoch: every row once
  policy->observe({0.9, 0.5, 0.1});
  const auto rows = policy->epoch_rows(y, 3, 10, rng);
  EXPECT_EQ(per_class(rows, y, 3), (std::vector<int64_t>{7, 33, 60}));
  EXPECT_EQ(policy->state(), (std::vector<double>{0.9, 0.5, 0.1}));
}

TEST(BatchPolicies, BalancedBatchesHoldEqualClassCounts) {
  auto policy = make_batch_policy("balanced");
  Rng rng(2);
  const auto y = labels();
  const auto rows = policy->epoch_rows(y, 3, 30, rng);
  ASSERT_EQ(rows.size(), 120u);  // ceil(100 / 30) = 4 batches of 30
  for (size_t b = 0; b < 4; ++b) {
    std::vector<int64_t> batch(rows.begin() + b * 30, rows.begin() + (b + 1) * 30);
    EXPECT_EQ(per_class(batch, y, 3), (std::vector<int64_t>{10, 10, 10}));
  }
}

TEST(BatchPolicies, BalancedRealShareSplitsEachClassBetweenRealAndSyntheticRows) {
  // Class 0: 80 real rows; class 1: 4 real rows (80..83) and 36 synthetic ones (84..119).
  std::vector<int64_t> y(120, 0);
  std::fill(y.begin() + 80, y.end(), 1);
  std::vector<bool> synthetic(120, false);
  std::fill(synthetic.begin() + 84, synthetic.end(), true);
  auto count = [&](const std::string& spec) {
    auto policy = make_batch_policy(spec);
    policy->set_synthetic(synthetic);
    Rng rng(5);
    int64_t real1 = 0, all1 = 0;
    for (int e = 0; e < 20; ++e)
      for (const auto i : policy->epoch_rows(y, 2, 40, rng))
        if (y[i] == 1) ++all1, real1 += i < 84;
    return double(real1) / double(all1);
  };
  EXPECT_NEAR(count("balanced:real_share=0.5"), 0.5, 0.03);
  EXPECT_NEAR(count("balanced:real_share=0.9"), 0.9, 0.03);
  EXPECT_EQ(count("balanced:real_share=0"), 0.0);
  EXPECT_NEAR(count("balanced"), 4.0 / 40.0, 0.03) << "auto: every row of the class alike";
  // Without the trainer's flags, or with no synthetic rows, real_share changes nothing.
  Rng a(6), b(6);
  EXPECT_EQ(make_batch_policy("balanced:real_share=0.3")->epoch_rows(y, 2, 40, a),
            make_batch_policy("balanced")->epoch_rows(y, 2, 40, b));
  EXPECT_ERROR_MENTIONS(make_batch_policy("balanced:real_share=1.5"), "real_share", "[0, 1]");
}

TEST(BatchPolicies, SqrtAndUniform) {
  Rng rng(3);
  const auto y = labels();
  const auto rows = make_batch_policy("sqrt")->epoch_rows(y, 3, 10, rng);
  // sqrt(90) : sqrt(9) : sqrt(1) = 9.49 : 3 : 1 of 100 rows.
  EXPECT_EQ(per_class(rows, y, 3), (std::vector<int64_t>{70, 22, 8}));
  auto uni = make_batch_policy("uniform")->epoch_rows(y, 3, 10, rng);
  std::sort(uni.begin(), uni.end());
  std::vector<int64_t> all(100);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(uni, all);
  Rng a(9), b(9);
  EXPECT_EQ(make_batch_policy("balanced")->epoch_rows(y, 3, 8, a), make_batch_policy("balanced")->epoch_rows(y, 3, 8, b));
}

TEST(BatchPolicies, ClassAwareVisitsClassesEquallyAndRowsInPasses) {
  Rng rng(4);
  const auto y = labels();  // 90, 9, 1 rows
  const auto rows = make_batch_policy("class_aware")->epoch_rows(y, 3, 10, rng);
  ASSERT_EQ(rows.size(), 100u);
  // 100 draws over 3 classes in shuffled passes: 34, 33, 33 in some order.
  auto counts = per_class(rows, y, 3);
  std::sort(counts.begin(), counts.end());
  EXPECT_EQ(counts, (std::vector<int64_t>{33, 33, 34}));
  // Class 1's 9 rows come in passes: its first 9 draws are 9 distinct rows.
  std::vector<int64_t> first;
  for (auto r : rows)
    if (y[r] == 1 && first.size() < 9) first.push_back(r);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(std::unique(first.begin(), first.end()) - first.begin(), 9);
  Rng a(9), b(9);
  EXPECT_EQ(make_batch_policy("class_aware")->epoch_rows(y, 3, 8, a), make_batch_policy("class_aware")->epoch_rows(y, 3, 8, b));
}

TEST(BatchPoliciesErrors, UnknownPolicy) {
  EXPECT_ERROR_MENTIONS(make_batch_policy("stratified"), "unknown batch policy \"stratified\"", "dynamic");
  EXPECT_ERROR_MENTIONS(make_batch_policy("dynamic:floor=2"), "floor", "[0, 1]");
}

TEST(BatchPolicies, ConformanceOfEveryRegisteredPolicy) {
  const auto y = labels();
  for (const auto& info : batch_policy_registry()) {
    auto policy = make_batch_policy(info.name);
    Rng a(4), b(4);
    const auto rows = policy->epoch_rows(y, 3, 16, a);
    EXPECT_FALSE(rows.empty()) << info.name;
    for (auto r : rows) ASSERT_TRUE(r >= 0 && r < 100) << info.name;
    EXPECT_EQ(rows, make_batch_policy(info.name)->epoch_rows(y, 3, 16, b)) << info.name << ": same seed, same rows";
    policy->observe({0.5, 0.5, 0.5});
    Rng c(5);
    EXPECT_FALSE(policy->epoch_rows(y, 3, 16, c).empty()) << info.name;
  }
}
