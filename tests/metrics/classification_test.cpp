#include "rebalance/metrics/classification.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "rebalance/core/error.hpp"

namespace rm = rebalance::metrics;

namespace {

at::Tensor labels(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

at::Tensor matrix(std::vector<std::vector<int64_t>> rows) {
  const int64_t c = static_cast<int64_t>(rows.size());
  at::Tensor m = torch::zeros({c, static_cast<int64_t>(rows[0].size())}, torch::kLong);
  for (int64_t i = 0; i < c; ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) m[i][j] = rows[i][j];
  return m;
}

// Runs `fn`, expects rebalance::Error, and checks the message names every `needles` entry.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected rebalance::Error";
  } catch (const rebalance::Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << what;
  }
}

// The 3-class example used throughout, worked out by hand:
//   y_true = 0 0 0 0 1 1 1 1 2 2
//   y_pred = 0 0 0 1 0 1 1 2 2 2
//            pred 0  1  2   support
//   true 0  [   3  1  0 ]    4
//   true 1  [   1  2  1 ]    4
//   true 2  [   0  0  2 ]    2
//   column sums 4  3  3, N = 10, trace = 7
// class 0: tp 3 fp 1 fn 1 tn 5 -> pre 3/4, rec 3/4, spe 5/6, f1 3/4
// class 1: tp 2 fp 1 fn 2 tn 5 -> pre 2/3, rec 1/2, spe 5/6, f1 4/7
// class 2: tp 2 fp 1 fn 0 tn 7 -> pre 2/3, rec 1,   spe 7/8, f1 4/5
// geo = sqrt(rec * spe); iba = (1 + 0.1 (rec - spe)) rec spe
// MCC: cov(t,p) = 7*10 - (4*4 + 4*3 + 2*3) = 36, cov(p,p) = 100 - 34 = 66,
//      cov(t,t) = 100 - 36 = 64 -> 36 / sqrt(64 * 66) = 4.5 / sqrt(66)
const std::vector<int64_t> kTrue3 = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
const std::vector<int64_t> kPred3 = {0, 0, 0, 1, 0, 1, 1, 2, 2, 2};

}  // namespace

TEST(MetricsClassification, ConfusionMatrixCountsTrueRowsPredictedColumns) {
  at::Tensor cm = rm::confusion_matrix(labels(kTrue3), labels(kPred3), 3);
  EXPECT_EQ(cm.scalar_type(), torch::kLong);
  EXPECT_TRUE(torch::equal(cm, matrix({{3, 1, 0}, {1, 2, 1}, {0, 0, 2}})));
}

TEST(MetricsClassification, ConfusionMatrixKeepsAbsentClassesAndAcceptsInt32) {
  at::Tensor cm = rm::confusion_matrix(torch::tensor({0, 1, 1}, torch::kInt),
                                       torch::tensor({1, 1, 0}, torch::kInt), 4);
  EXPECT_TRUE(torch::equal(cm, matrix({{0, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}})));
}

TEST(MetricsClassification, PerClassThreeClassHandExample) {
  const auto m = rm::per_class_metrics(rm::confusion_matrix(labels(kTrue3), labels(kPred3), 3));
  ASSERT_EQ(m.size(), 3u);
  const double pre[] = {0.75, 2.0 / 3, 2.0 / 3};
  const double rec[] = {0.75, 0.5, 1.0};
  const double spe[] = {5.0 / 6, 5.0 / 6, 7.0 / 8};
  const double f1[] = {0.75, 4.0 / 7, 0.8};
  const int64_t sup[] = {4, 4, 2};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_NEAR(m[i].precision, pre[i], 1e-15);
    EXPECT_NEAR(m[i].recall, rec[i], 1e-15);
    EXPECT_NEAR(m[i].specificity, spe[i], 1e-15);
    EXPECT_NEAR(m[i].f1, f1[i], 1e-15);
    EXPECT_NEAR(m[i].gmean, std::sqrt(rec[i] * spe[i]), 1e-15);
    EXPECT_NEAR(m[i].iba, (1 + 0.1 * (rec[i] - spe[i])) * rec[i] * spe[i], 1e-15);
    EXPECT_EQ(m[i].support, sup[i]);
  }
  // Values imblearn's classification_report_imbalanced(output_dict=True) prints for this data.
  EXPECT_NEAR(m[1].iba, 0.40277777777777773, 1e-15);
  EXPECT_NEAR(m[2].iba, 0.8859374999999998, 1e-15);
}

TEST(MetricsClassification, SupportWeightedAverageIsTheAvgTotalRow) {
  const auto avg = rm::support_weighted_average(
      rm::per_class_metrics(rm::confusion_matrix(labels(kTrue3), labels(kPred3), 3)));
  // imblearn: avg_pre 0.7, avg_rec 0.7, avg_spe 0.8416666666666668, avg_f1 0.6885714285714286,
  // avg_geo 0.7615095251026961, avg_iba 0.5862152777777777, total_support 10.
  EXPECT_NEAR(avg.precision, 0.7, 1e-15);
  EXPECT_NEAR(avg.recall, 0.7, 1e-15);
  EXPECT_NEAR(avg.specificity, 0.8416666666666668, 1e-15);
  EXPECT_NEAR(avg.f1, 0.6885714285714286, 1e-15);
  EXPECT_NEAR(avg.gmean, 0.7615095251026961, 1e-15);
  EXPECT_NEAR(avg.iba, 0.5862152777777777, 1e-15);
  EXPECT_EQ(avg.support, 10);
}

TEST(MetricsClassification, ScalarsThreeClassHandExample) {
  const at::Tensor cm = rm::confusion_matrix(labels(kTrue3), labels(kPred3), 3);
  EXPECT_DOUBLE_EQ(rm::accuracy(cm), 0.7);
  EXPECT_EQ(rm::misclassified(cm), 3);
  EXPECT_NEAR(rm::f1_macro(cm), (0.75 + 4.0 / 7 + 0.8) / 3, 1e-15);
  EXPECT_NEAR(rm::f1_micro(cm), 0.7, 1e-15);
  EXPECT_NEAR(rm::f1_weighted(cm), (0.75 * 4 + 4.0 / 7 * 4 + 0.8 * 2) / 10, 1e-15);
  EXPECT_NEAR(rm::acsa(cm), (0.75 + 0.5 + 1.0) / 3, 1e-15);
  EXPECT_NEAR(rm::geometric_mean(cm), std::cbrt(0.75 * 0.5 * 1.0), 1e-15);
  EXPECT_NEAR(rm::mcc(cm), 4.5 / std::sqrt(66.0), 1e-15);
}

TEST(MetricsClassification, BinaryGmeanIsSqrtOfSensitivityTimesSpecificity) {
  // y_true 0 0 1 1 1, y_pred 0 1 1 1 0: [[1, 1], [1, 2]]; sensitivity 2/3, specificity 1/2.
  const at::Tensor cm = rm::confusion_matrix(labels({0, 0, 1, 1, 1}), labels({0, 1, 1, 1, 0}), 2);
  EXPECT_NEAR(rm::geometric_mean(cm), std::sqrt(2.0 / 3 * 0.5), 1e-15);
  const auto m = rm::per_class_metrics(cm);
  EXPECT_NEAR(m[1].gmean, std::sqrt(2.0 / 3 * 0.5), 1e-15);
  // Binary MCC = (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = (2-1)/sqrt(3*3*2*2).
  EXPECT_NEAR(rm::mcc(cm), 1.0 / 6.0, 1e-15);
}

TEST(MetricsClassification, ZeroDivisionGivesZeroAndAbsentClassesLeaveMacroAlone) {
  // y_true 0 0 1, y_pred 0 0 0, with a third class that never occurs:
  //   [[2, 0, 0], [1, 0, 0], [0, 0, 0]]
  // class 1 is never predicted (precision 0/0 -> 0), class 2 is absent (recall 0/0 -> 0,
  // specificity 3/3 = 1); class 0 has tn + fp = 1 with tn = 0 -> specificity 0.
  const at::Tensor cm = rm::confusion_matrix(labels({0, 0, 1}), labels({0, 0, 0}), 3);
  const auto m = rm::per_class_metrics(cm);
  EXPECT_DOUBLE_EQ(m[0].specificity, 0.0);
  EXPECT_DOUBLE_EQ(m[1].precision, 0.0);
  EXPECT_DOUBLE_EQ(m[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(m[1].specificity, 1.0);
  EXPECT_DOUBLE_EQ(m[2].precision, 0.0);
  EXPECT_DOUBLE_EQ(m[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(m[2].specificity, 1.0);
  EXPECT_DOUBLE_EQ(m[2].gmean, 0.0);
  EXPECT_EQ(m[2].support, 0);
  // scikit-learn (labels=None): the macro F1 averages classes 0 and 1 only: (0.8 + 0) / 2.
  EXPECT_NEAR(rm::f1_macro(cm), 0.4, 1e-15);
  EXPECT_NEAR(rm::acsa(cm), 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(rm::geometric_mean(cm), 0.0);  // class 1 has recall 0
}

TEST(MetricsClassification, OnlyOneClassSeen) {
  // All true and all predicted labels are class 1 of 2: imblearn's multiclass G-mean looks at
  // class 1 alone (1.0), while its per-class geo is 0 (specificity 0/0 -> 0); MCC is 0.
  const at::Tensor cm = rm::confusion_matrix(labels({1, 1, 1, 1, 1}), labels({1, 1, 1, 1, 1}), 2);
  EXPECT_DOUBLE_EQ(rm::geometric_mean(cm), 1.0);
  EXPECT_DOUBLE_EQ(rm::mcc(cm), 0.0);
  EXPECT_DOUBLE_EQ(rm::f1_macro(cm), 1.0);
  EXPECT_DOUBLE_EQ(rm::acsa(cm), 1.0);
  const auto m = rm::per_class_metrics(cm);
  EXPECT_DOUBLE_EQ(m[1].specificity, 0.0);
  EXPECT_DOUBLE_EQ(m[1].gmean, 0.0);
  EXPECT_DOUBLE_EQ(m[0].specificity, 1.0);
}

TEST(MetricsClassification, ClassOnlyPredictedIsSkippedByAcsaButZeroesGmean) {
  // y_true 0 0 0, y_pred 0 0 1 (balanced_accuracy_score 2/3, geometric_mean_score 0).
  const at::Tensor cm = rm::confusion_matrix(labels({0, 0, 0}), labels({0, 0, 1}), 2);
  EXPECT_NEAR(rm::acsa(cm), 2.0 / 3, 1e-15);
  EXPECT_DOUBLE_EQ(rm::geometric_mean(cm), 0.0);
  EXPECT_NEAR(rm::f1_macro(cm), 0.4, 1e-15);
  EXPECT_DOUBLE_EQ(rm::mcc(cm), 0.0);
}

TEST(MetricsClassification, PerfectPrediction) {
  const at::Tensor cm = rm::confusion_matrix(labels({0, 1, 2, 2}), labels({0, 1, 2, 2}), 3);
  EXPECT_DOUBLE_EQ(rm::accuracy(cm), 1.0);
  EXPECT_DOUBLE_EQ(rm::mcc(cm), 1.0);
  EXPECT_DOUBLE_EQ(rm::geometric_mean(cm), 1.0);
  EXPECT_EQ(rm::misclassified(cm), 0);
}

TEST(MetricsClassification, RefusesBadLabels) {
  expect_error([] { rm::confusion_matrix(labels({0, 1, 3, 1}), labels({0, 1, 1, 1}), 3); },
               {"y_true[2] = 3", "0..2"});
  expect_error([] { rm::confusion_matrix(labels({0, 1, 1}), labels({0, -1, 1}), 3); },
               {"y_pred[1] = -1"});
  expect_error([] { rm::confusion_matrix(labels({0, 1, 1}), labels({0, 1}), 3); },
               {"3 labels", "y_pred has 2"});
  expect_error([] { rm::confusion_matrix(labels({}), labels({}), 3); }, {"y_true is empty"});
  expect_error([] { rm::confusion_matrix(labels({0, 1}), labels({0, 1}), 1); },
               {"n_classes = 1"});
  expect_error([] { rm::confusion_matrix(torch::tensor({0.0, 1.0}), labels({0, 1}), 2); },
               {"y_true", "integer", "Float"});
  expect_error([] { rm::confusion_matrix(torch::zeros({2, 2}, torch::kLong), labels({0, 1}), 2); },
               {"y_true", "[2, 2]"});
}

TEST(MetricsClassification, RefusesBadConfusionMatrix) {
  expect_error([] { rm::accuracy(torch::zeros({2, 3}, torch::kLong)); }, {"square", "[2, 3]"});
  expect_error([] { rm::mcc(matrix({{1, -2}, {0, 3}})); }, {"[0, 1] = -2"});
  expect_error([] { rm::f1_macro(torch::zeros({3, 3}, torch::kLong)); }, {"no samples"});
  expect_error([] { rm::per_class_metrics(torch::ones({2, 2})); }, {"integer", "Float"});
  expect_error([] { rm::acsa(torch::ones({1, 1}, torch::kLong)); }, {"at least 2", "got 1"});
  expect_error([] { rm::support_weighted_average({rm::ClassMetrics{}, rm::ClassMetrics{}}); },
               {"total support is 0"});
}

TEST(MetricsClassification, ShotAccuracySplitsTheClassesByTrainingCount) {
  // Seven classes; recall of class i is (i + 1) / 10 (10 test rows each, i + 1 right).
  auto cm = torch::zeros({7, 7}, torch::kInt64);
  for (int64_t i = 0; i < 7; ++i) {
    cm[i][i] = i + 1;
    cm[i][(i + 1) % 7] = 9 - i;
  }
  // Training counts: class 6 largest, then 5, ..., class 0 smallest; 7 / 3 = 2 per end group.
  const auto s = rm::shot_accuracy(cm, {10, 20, 30, 40, 50, 60, 70});
  EXPECT_NEAR(s.many, (0.7 + 0.6) / 2, 1e-12);
  EXPECT_NEAR(s.medium, (0.5 + 0.4 + 0.3) / 3, 1e-12);
  EXPECT_NEAR(s.few, (0.2 + 0.1) / 2, 1e-12);
  // A group without test rows has no accuracy.
  auto no_few = cm.clone();
  no_few[0].zero_();
  no_few[1].zero_();
  EXPECT_TRUE(std::isnan(rm::shot_accuracy(no_few, {10, 20, 30, 40, 50, 60, 70}).few));
  EXPECT_ERROR_MENTIONS(rm::shot_accuracy(torch::eye(2, torch::kInt64), {1, 2}), "3 or more classes");
}
