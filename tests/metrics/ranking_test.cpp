#include "rebalance/metrics/ranking.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "rebalance/core/error.hpp"

namespace rm = rebalance::metrics;

namespace {

at::Tensor labels(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

at::Tensor scores(std::vector<std::vector<double>> rows) {
  at::Tensor s = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())},
                              torch::kDouble);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) s[i][j] = rows[i][j];
  return s;
}

at::Tensor vec(std::vector<double> v) { return torch::tensor(v, torch::kDouble); }

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected rebalance::Error";
  } catch (const rebalance::Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << what;
  }
}

// Three classes, six samples, with ties inside columns 0 and 1.
const std::vector<int64_t> kY = {0, 1, 2, 0, 1, 2};
const std::vector<std::vector<double>> kS = {{0.6, 0.3, 0.1}, {0.3, 0.4, 0.3}, {0.2, 0.2, 0.6},
                                             {0.4, 0.4, 0.2}, {0.5, 0.3, 0.2}, {0.1, 0.3, 0.6}};

}  // namespace

TEST(MetricsRanking, BinaryRocAucCountsTiesAsHalf) {
  // Positives score 0.4, 0.8, 0.2; negatives 0.1, 0.4, 0.4. Pairs won: 0.4 -> 1 + 0.5 + 0.5,
  // 0.8 -> 3, 0.2 -> 1; AUC = 6 / 9 (sklearn.metrics.roc_auc_score: 0.6666666666666667).
  const at::Tensor y = labels({0, 0, 1, 1, 0, 1});
  const at::Tensor s = vec({0.1, 0.4, 0.4, 0.8, 0.4, 0.2});
  EXPECT_NEAR(rm::roc_auc(y, s), 2.0 / 3, 1e-15);
  // float32 input, and [N, 2] where column 1 is the positive score, give the same number.
  EXPECT_NEAR(rm::roc_auc(y, s.to(torch::kFloat)), 2.0 / 3, 1e-15);
  EXPECT_NEAR(rm::roc_auc(y, torch::stack({1 - s, s}, 1)), 2.0 / 3, 1e-15);
  // All scores tied: the diagonal.
  EXPECT_DOUBLE_EQ(rm::roc_auc(y, torch::zeros({6}, torch::kDouble)), 0.5);
}

TEST(MetricsRanking, BinaryRocAucAcceptsInfiniteScores) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(rm::roc_auc(labels({0, 1, 0, 1}), vec({-inf, inf, 0.0, 1.0})), 1.0);
}

TEST(MetricsRanking, MulticlassRocAucIsOneVsRestMacro) {
  // class 0: positives 0.6, 0.4 vs 0.3 0.2 0.5 0.1 -> 7/8
  // class 1: positives 0.4, 0.3 vs 0.3 0.2 0.4 0.3 -> (3 + .5 + 1 + 1) / 8 = 5.5/8
  // class 2: positives 0.6, 0.6 above every negative -> 1
  // mean = 20.5 / 24 (sklearn roc_auc_score(multi_class="ovr"): 0.8541666666666666)
  EXPECT_NEAR(rm::roc_auc(labels(kY), scores(kS)), 20.5 / 24, 1e-15);
}

TEST(MetricsRanking, AveragePrecisionBinaryHandExamples) {
  // Ranked 0.9(+) 0.8(-) 0.7(+) 0.1(-): R steps 0.5 at P 1 and 0.5 at P 2/3 -> 5/6.
  EXPECT_NEAR(rm::average_precision(labels({1, 0, 1, 0}), vec({0.9, 0.8, 0.7, 0.1})), 5.0 / 6,
              1e-15);
  // A tie enters as one step: {0.5+, 0.5-} P 1/2 R 1/2, then 0.2+ P 2/3 R 1 -> 1/4 + 1/3.
  EXPECT_NEAR(rm::average_precision(labels({1, 0, 1}), vec({0.5, 0.5, 0.2})), 7.0 / 12, 1e-15);
  // No positive: scikit-learn warns and gives 0.
  EXPECT_DOUBLE_EQ(rm::average_precision(labels({0, 0, 0}), vec({0.1, 0.5, 0.3})), 0.0);
}

TEST(MetricsRanking, AveragePrecisionMulticlassMacro) {
  // class 0: 0.6+ 0.5- 0.4+ -> 1/2 + 1/2 * 2/3 = 5/6
  // class 1: {0.4+, 0.4-} P 1/2 R 1/2, {0.3-, 0.3+, 0.3-} P 2/5 R 1 -> 0.25 + 0.2 = 0.45
  // class 2: both positives on top -> 1; mean 0.7611111111111111 (scikit-learn on label_binarize)
  EXPECT_NEAR(rm::average_precision(labels(kY), scores(kS)), (5.0 / 6 + 0.45 + 1.0) / 3, 1e-15);
  // A class missing from y_true contributes 0, as in scikit-learn: 0.5574074074074075.
  EXPECT_NEAR(rm::average_precision(labels({0, 0, 2, 0, 2, 2}), scores(kS)), 0.5574074074074075,
              1e-15);
}

// Rows: true class ranked 2nd; ranked 1st; ranked 3rd; tied with class 1 for 1st.
const std::vector<int64_t> kTopY = {1, 2, 2, 0};
const std::vector<std::vector<double>> kTopS = {
    {0.5, 0.3, 0.2}, {0.1, 0.2, 0.7}, {0.6, 0.3, 0.1}, {0.4, 0.4, 0.2}};

TEST(MetricsRanking, TopKFollowsScikitLearnTieRule) {
  // scikit-learn ranks the higher index first among ties, so row 3 (true 0) is 2nd:
  // top-1 = 1/4, top-2 = 3/4, top-3 = 1 (sklearn: 0.25 0.75 1.0).
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels(kTopY), scores(kTopS), 1), 0.25);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels(kTopY), scores(kTopS), 2), 0.75);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels(kTopY), scores(kTopS), 3), 1.0);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels(kTopY), scores(kTopS), 7), 1.0);  // k >= C
}

TEST(MetricsRanking, TopKBinaryOneColumnThresholds) {
  // Probabilities are cut at 0.5 (0.5 itself is class 0), other scores at 0 (0 is class 0):
  // predictions 0 1 0 1 in both cases -> 0.5, as sklearn.metrics.top_k_accuracy_score.
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels({0, 1, 1, 0}), vec({0.2, 0.6, 0.5, 0.9}), 1), 0.5);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels({0, 1, 1, 0}), vec({-1, 2, 0, 3}), 1), 0.5);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels({0, 1, 1, 0}), vec({-1, 2, 0, 3}), 2), 1.0);
}

TEST(MetricsRanking, TopKBinaryTwoColumnsIsStrictArgmax) {
  // (0.5, 0.5) is class 0, as scikit-learn's 0.5 cut on column 1; logits (3, 1) are class 0
  // although column 1 is above 0.
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels({0, 1, 1}), scores({{0.5, 0.5}, {0.3, 0.7}, {0.5, 0.5}}), 1),
                   2.0 / 3);
  EXPECT_DOUBLE_EQ(rm::top_k_accuracy(labels({0, 1}), scores({{3.0, 1.0}, {-2.0, -1.0}}), 1), 1.0);
}

TEST(MetricsRanking, MapAtKHandExample) {
  // Lower index first among ties, so row 3 ranks its true class 0 first.
  // ranks 2, 1, 3, 1 -> MAP@1 = 2/4, MAP@2 = (1/2 + 1 + 0 + 1)/4, MAP@3 = (1/2 + 1 + 1/3 + 1)/4.
  EXPECT_DOUBLE_EQ(rm::map_at_k(labels(kTopY), scores(kTopS), 1), 0.5);
  EXPECT_DOUBLE_EQ(rm::map_at_k(labels(kTopY), scores(kTopS), 2), 0.625);
  EXPECT_NEAR(rm::map_at_k(labels(kTopY), scores(kTopS), 3), (0.5 + 1 + 1.0 / 3 + 1) / 4, 1e-15);
  // k beyond C changes nothing: every rank is already <= C.
  EXPECT_NEAR(rm::map_at_k(labels(kTopY), scores(kTopS), 10), (0.5 + 1 + 1.0 / 3 + 1) / 4, 1e-15);
  // A row of equal scores ranks 0, 1, 2, ...: true class 2 is 3rd.
  EXPECT_NEAR(rm::map_at_k(labels({2}), scores({{1.0, 1.0, 1.0, 1.0}}), 5), 1.0 / 3, 1e-15);
}

TEST(MetricsRanking, MapAtKBinaryOneColumn) {
  // Predictions 0 1 0 1 against 0 1 1 0: ranks 1 1 2 2.
  EXPECT_DOUBLE_EQ(rm::map_at_k(labels({0, 1, 1, 0}), vec({0.2, 0.6, 0.5, 0.9}), 1), 0.5);
  EXPECT_DOUBLE_EQ(rm::map_at_k(labels({0, 1, 1, 0}), vec({0.2, 0.6, 0.5, 0.9}), 2), 0.75);
}

TEST(MetricsRanking, RocAucRefusesUndefinedCases) {
  expect_error([] { rm::roc_auc(labels({0, 0, 0}), vec({0.1, 0.2, 0.3})); }, {"only class 0"});
  expect_error([] { rm::roc_auc(labels({0, 0, 2, 0, 2, 2}), scores(kS)); },
               {"class 1 has no sample"});
}

TEST(MetricsRanking, RefusesBadScores) {
  expect_error([] { rm::roc_auc(labels({0, 1, 0}), vec({0.1, 0.2})); },
               {"2 rows", "3 labels"});
  expect_error(
      [] {
        rm::average_precision(labels({0, 1, 2}),
                              scores({{0.1, 0.2, 0.7}, {0.3, 0.3, 0.4}, {0.2, std::nan(""), 0.1}}));
      },
      {"row 2", "NaN", "column 1"});
  expect_error([] { rm::map_at_k(labels({0, 1}), vec({0.5, std::nan("")}), 1); }, {"row 1"});
  expect_error([] { rm::top_k_accuracy(labels({0, 0}), torch::zeros({2, 1}, torch::kDouble), 1); },
               {"[2, 1]"});
  expect_error([] { rm::roc_auc(labels({0, 1}), torch::zeros({2, 2}, torch::kLong)); },
               {"floating", "Long"});
  expect_error([] { rm::roc_auc(labels({0, 3, 1}), scores({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})); },
               {"y_true[1] = 3"});
  expect_error([] { rm::top_k_accuracy(labels(kTopY), scores(kTopS), 0); }, {"k = 0"});
  expect_error([] { rm::map_at_k(labels(kTopY), scores(kTopS), -2); }, {"k = -2"});
}
