// One evaluation of a classifier on a test set: every metric of the metrics family gathered in a
// Report, printed as imbalanced-learn's classification_report_imbalanced table or as JSON.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rebalance/metrics/classification.hpp"

namespace rebalance::metrics {

struct Report {
  std::vector<std::string> class_names;  ///< one per class, in class-index order
  std::vector<ClassMetrics> per_class;   ///< one per class, all C of them (absent ones too)
  ClassMetrics average;                  ///< support-weighted means; support = n ("avg / total")
  at::Tensor confusion;                  ///< [C, C] int64, rows = true class
  double accuracy = 0, f1_macro = 0, f1_micro = 0, f1_weighted = 0, acsa = 0, gmean = 0, mcc = 0;
  int64_t misclassified = 0;
  int64_t n = 0;
  // Set only when scores were given. roc_auc stays empty when it is undefined on this y_true (a
  // class without samples), since one missing class should not sink the whole evaluation.
  std::optional<double> roc_auc, average_precision, top_k_accuracy, map_at_k;
  int64_t k = 0;  ///< the k of top_k_accuracy and map_at_k; 0 without scores
};

/// Compute every metric for one set of predictions.
///
///   auto r = metrics::evaluate(y_test, model_pred, probs, 3, {"cat", "dog", "owl"});
///   std::cout << metrics::format_report(r);
///
/// @param y_true: [N] integer labels in 0..n_classes-1
/// @param y_pred: [N] integer labels in 0..n_classes-1
/// @param scores: [N, n_classes] floating, or [N] (class-1 score) when n_classes = 2; see
///        ranking.hpp for the tie and threshold rules
/// @param class_names: n_classes distinct names; empty gives "0", "1", ...
/// @param k: for top-k accuracy and MAP@k, >= 1. k >= n_classes is computed as scikit-learn does
///        (top-k accuracy 1.0), not clamped, so the number reported always means "top k".
/// Throws Error on anything the metrics refuse, a wrong number of or repeated class names, or k < 1.
Report evaluate(const at::Tensor& y_true, const at::Tensor& y_pred,
                const std::optional<at::Tensor>& scores, int64_t n_classes,
                std::vector<std::string> class_names = {}, int64_t k = 5);

/// A text report: the per-class table laid out exactly as classification_report_imbalanced
/// prints it (header "pre rec spe f1 geo iba sup", one row per class, an "avg / total" row), then
/// the confusion matrix labelled with class names, then one line per summary metric. Numbers are
/// printed with `digits` decimals (>= 0).
std::string format_report(const Report& report, int digits = 2);

/// The report as JSON:
///   {"n", "classes": [names], "per_class": {name: {"precision", "recall", "specificity", "f1",
///    "gmean", "iba", "support"}}, "average": {same keys}, "confusion_matrix": [[...]],
///    "accuracy", "f1_macro", "f1_micro", "f1_weighted", "acsa", "gmean", "mcc", "misclassified",
///    and, when set, "roc_auc", "average_precision", "top_k_accuracy", "map_at_k", "k"}.
/// Doubles are stored unrounded; nlohmann::json prints them so that they read back exactly.
nlohmann::json report_to_json(const Report& report);

}  // namespace rebalance::metrics
