#include "rebalance/metrics/report.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "rebalance/core/error.hpp"
#include "rebalance/metrics.hpp"

namespace rm = rebalance::metrics;

namespace {

at::Tensor labels(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected rebalance::Error";
  } catch (const rebalance::Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << what;
  }
}

// The hand-worked example of classification_test.cpp: [[3, 1, 0], [1, 2, 1], [0, 0, 2]].
const std::vector<int64_t> kTrue3 = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
const std::vector<int64_t> kPred3 = {0, 0, 0, 1, 0, 1, 1, 2, 2, 2};

// Scores whose argmax is kPred3 and that rank every true class at most 2nd.
at::Tensor scores3() {
  return torch::tensor({0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.5, 0.4, 0.1, 0.3, 0.6, 0.1, 0.5, 0.4, 0.1,
                        0.2, 0.7, 0.1, 0.1, 0.8, 0.1, 0.1, 0.3, 0.6, 0.1, 0.1, 0.8, 0.2, 0.2, 0.6},
                       torch::kDouble)
      .reshape({10, 3});
}

}  // namespace

TEST(MetricsReport, EvaluateGathersEveryMetric) {
  const rm::Report r = rm::evaluate(labels(kTrue3), labels(kPred3), scores3(), 3, {}, 2);
  EXPECT_EQ(r.class_names, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(r.n, 10);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.7);
  EXPECT_EQ(r.misclassified, 3);
  EXPECT_NEAR(r.mcc, 4.5 / std::sqrt(66.0), 1e-15);
  EXPECT_NEAR(r.acsa, 0.75, 1e-15);
  EXPECT_EQ(r.average.support, 10);
  EXPECT_NEAR(r.average.specificity, 0.8416666666666668, 1e-15);
  ASSERT_EQ(r.per_class.size(), 3u);
  EXPECT_EQ(r.per_class[2].support, 2);
  ASSERT_TRUE(r.roc_auc && r.average_precision && r.top_k_accuracy && r.map_at_k);
  EXPECT_DOUBLE_EQ(*r.top_k_accuracy, 1.0);      // every true class is 1st or 2nd
  EXPECT_DOUBLE_EQ(*r.map_at_k, (7 + 3 * 0.5) / 10);  // 7 ranked 1st, 3 ranked 2nd
  EXPECT_EQ(r.k, 2);
}

TEST(MetricsReport, NoScoresMeansNoRankingMetrics) {
  const rm::Report r = rm::evaluate(labels(kTrue3), labels(kPred3), std::nullopt, 3);
  EXPECT_FALSE(r.roc_auc || r.average_precision || r.top_k_accuracy || r.map_at_k);
  const nlohmann::json j = rm::report_to_json(r);
  for (const char* key : {"roc_auc", "average_precision", "top_k_accuracy", "map_at_k", "k"})
    EXPECT_FALSE(j.contains(key)) << key;
}

TEST(MetricsReport, RocAucLeftOutWhenAClassHasNoTrueSample) {
  // Class 2 of 3 never occurs in y_true: ROC-AUC is undefined, the rest is still reported.
  const at::Tensor s = torch::full({4, 3}, 1.0 / 3, torch::kDouble);
  const rm::Report r = rm::evaluate(labels({0, 1, 1, 0}), labels({0, 1, 2, 0}), s, 3);
  EXPECT_FALSE(r.roc_auc.has_value());
  EXPECT_TRUE(r.average_precision.has_value());
  EXPECT_DOUBLE_EQ(*r.top_k_accuracy, 1.0);  // k = 5 >= C, as scikit-learn
  const std::string text = rm::format_report(r);
  EXPECT_NE(text.find("ROC-AUC               undefined"), std::string::npos) << text;
  EXPECT_FALSE(rm::report_to_json(r).contains("roc_auc"));
}

TEST(MetricsReport, TableMatchesImblearnLayout) {
  // imblearn.metrics.classification_report_imbalanced(y_true, y_pred,
  //     target_names=["cat", "dog", "owl"]) prints exactly these first lines.
  const std::string imblearn =
      "                   pre       rec       spe        f1       geo       iba       sup\n\n"
      "        cat       0.75      0.75      0.83      0.75      0.79      0.62         4\n"
      "        dog       0.67      0.50      0.83      0.57      0.65      0.40         4\n"
      "        owl       0.67      1.00      0.88      0.80      0.94      0.89         2\n\n"
      "avg / total       0.70      0.70      0.84      0.69      0.76      0.59        10\n";
  const rm::Report r =
      rm::evaluate(labels(kTrue3), labels(kPred3), std::nullopt, 3, {"cat", "dog", "owl"});
  const std::string text = rm::format_report(r);
  EXPECT_EQ(text.substr(0, imblearn.size()), imblearn);
  EXPECT_EQ(text.substr(imblearn.size()),
            "\n"
            "confusion matrix (rows: true class, columns: predicted class)\n"
            "     cat  dog  owl\n"
            "cat    3    1    0\n"
            "dog    1    2    1\n"
            "owl    0    0    2\n"
            "\n"
            "accuracy              0.70\n"
            "f1 macro              0.71\n"
            "f1 micro              0.70\n"
            "f1 weighted           0.69\n"
            "ACSA                  0.75\n"
            "G-mean                0.72\n"
            "MCC                   0.55\n"
            "misclassified         3 of 10\n");
}

TEST(MetricsReport, TableMatchesImblearnDocstringExample) {
  // The example of classification_report_imbalanced's docstring, long names and all.
  const std::string imblearn =
      "                   pre       rec       spe        f1       geo       iba       sup\n\n"
      "    class 0       0.50      1.00      0.75      0.67      0.87      0.77         1\n"
      "    class 1       0.00      0.00      0.75      0.00      0.00      0.00         1\n"
      "    class 2       1.00      0.67      1.00      0.80      0.82      0.64         3\n\n"
      "avg / total       0.70      0.60      0.90      0.61      0.66      0.54         5\n";
  const rm::Report r = rm::evaluate(labels({0, 1, 2, 2, 2}), labels({0, 0, 2, 2, 1}), std::nullopt,
                                    3, {"class 0", "class 1", "class 2"});
  EXPECT_EQ(rm::format_report(r).substr(0, imblearn.size()), imblearn);
}

TEST(MetricsReport, TextListsRankingMetricsWithDigits) {
  const rm::Report r = rm::evaluate(labels(kTrue3), labels(kPred3), scores3(), 3, {}, 2);
  const std::string text = rm::format_report(r, 4);
  EXPECT_NE(text.find("accuracy              0.7000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ROC-AUC (ovr macro)   "), std::string::npos) << text;
  EXPECT_NE(text.find("AP (ovr macro)        "), std::string::npos) << text;
  EXPECT_NE(text.find("top-2 accuracy        1.0000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("MAP@2                 0.8500\n"), std::string::npos) << text;
}

TEST(MetricsReport, JsonSchema) {
  const rm::Report r =
      rm::evaluate(labels(kTrue3), labels(kPred3), scores3(), 3, {"cat", "dog", "owl"}, 2);
  const nlohmann::json j = rm::report_to_json(r);
  EXPECT_EQ(j["n"], 10);
  EXPECT_EQ(j["classes"], (std::vector<std::string>{"cat", "dog", "owl"}));
  for (const char* name : {"cat", "dog", "owl"}) {
    ASSERT_TRUE(j["per_class"].contains(name)) << name;
    for (const char* key : {"precision", "recall", "specificity", "f1", "gmean", "iba", "support"})
      EXPECT_TRUE(j["per_class"][name].contains(key)) << name << " " << key;
  }
  EXPECT_EQ(j["per_class"]["dog"]["support"], 4);
  EXPECT_DOUBLE_EQ(j["per_class"]["dog"]["f1"].get<double>(), r.per_class[1].f1);
  EXPECT_EQ(j["average"]["support"], 10);
  EXPECT_EQ(j["confusion_matrix"],
            (std::vector<std::vector<int64_t>>{{3, 1, 0}, {1, 2, 1}, {0, 0, 2}}));
  for (const char* key : {"accuracy", "f1_macro", "f1_micro", "f1_weighted", "acsa", "gmean", "mcc",
                          "roc_auc", "average_precision", "top_k_accuracy", "map_at_k"})
    EXPECT_TRUE(j.contains(key) && j[key].is_number_float()) << key;
  EXPECT_EQ(j["misclassified"], 3);
  EXPECT_EQ(j["k"], 2);
  // Printed doubles read back to the same bits.
  const nlohmann::json back = nlohmann::json::parse(j.dump());
  EXPECT_EQ(back["mcc"].get<double>(), r.mcc);
  EXPECT_EQ(back["average"]["iba"].get<double>(), r.average.iba);
}

TEST(MetricsReport, RefusesBadArguments) {
  const at::Tensor y = labels(kTrue3), p = labels(kPred3);
  expect_error([&] { rm::evaluate(y, p, std::nullopt, 3, {"a", "b"}); },
               {"2 class names", "n_classes = 3"});
  expect_error([&] { rm::evaluate(y, p, std::nullopt, 3, {"a", "b", "a"}); }, {"'a'", "twice"});
  expect_error([&] { rm::evaluate(y, p, std::nullopt, 3, {"a", "", "c"}); }, {"class name 1"});
  expect_error([&] { rm::evaluate(y, p, torch::zeros({10, 4}, torch::kDouble), 3); },
               {"[10, 4]", "n_classes = 3", "[N, 3]"});
  expect_error([&] { rm::evaluate(y, p, torch::zeros({10}, torch::kDouble), 3); },
               {"[10]", "2 classes"});
  expect_error([&] { rm::evaluate(y, p, scores3(), 3, {}, 0); }, {"k = 0"});
  expect_error([&] { rm::evaluate(y, labels({0, 7, 0, 1, 0, 1, 1, 2, 2, 2}), std::nullopt, 3); },
               {"y_pred[1] = 7"});
  const rm::Report r = rm::evaluate(y, p, std::nullopt, 3);
  expect_error([&] { rm::format_report(r, -1); }, {"digits = -1"});
  rm::Report broken = r;
  broken.class_names.pop_back();
  expect_error([&] { rm::report_to_json(broken); }, {"2 class names", "[3, 3]"});
}
