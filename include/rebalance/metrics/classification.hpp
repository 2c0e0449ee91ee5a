// Metrics of hard predictions: the confusion matrix and everything computed from it, with the
// per-class columns of imbalanced-learn's classification_report_imbalanced as the reference.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebalance::metrics {

/// Weighting factor of the index balanced accuracy, imbalanced-learn's default (alpha = 0.1).
inline constexpr double kIbaAlpha = 0.1;

/// Count matrix of (true, predicted) pairs.
///
///   auto cm = metrics::confusion_matrix(y_true, y_pred, 3);   // [3, 3] int64
///   double acc = metrics::accuracy(cm);
///
/// @param y_true: [N] integer labels in 0..n_classes-1 (any device; read on the CPU)
/// @param y_pred: [N] integer labels in 0..n_classes-1
/// @param n_classes: C >= 2, the number of classes of the problem (not only those present)
/// @return [C, C] int64, rows = true class, columns = predicted class.
/// Throws Error on different lengths, N = 0, a non-integer or non-1-D tensor, or a label outside
/// 0..C-1 (the message gives the label and its row).
at::Tensor confusion_matrix(const at::Tensor& y_true, const at::Tensor& y_pred, int64_t n_classes);

/// One class against the rest. A ratio whose denominator is zero is 0 (imbalanced-learn's and
/// scikit-learn's zero_division="warn" value, without the warning).
struct ClassMetrics {
  double precision = 0;    ///< tp / (tp + fp)
  double recall = 0;       ///< tp / (tp + fn), the sensitivity
  double specificity = 0;  ///< tn / (tn + fp)
  double f1 = 0;           ///< 2 p r / (p + r), 0 when p + r = 0
  double gmean = 0;        ///< sqrt(recall * specificity)
  double iba = 0;          ///< (1 + alpha (recall - specificity)) * gmean^2, alpha = kIbaAlpha
  int64_t support = 0;     ///< tp + fn, samples whose true class is this one
};

/// Per-class precision, recall, specificity, F1, G-mean and IBA, as the per-class rows of
/// imblearn.metrics.classification_report_imbalanced (alpha = 0.1, squared IBA).
/// @param confusion: [C, C] integer counts, rows = true class (as confusion_matrix returns)
std::vector<ClassMetrics> per_class_metrics(const at::Tensor& confusion);

/// The support-weighted mean of every column and the total support: the "avg / total" row of
/// classification_report_imbalanced. Throws Error if the total support is 0.
ClassMetrics support_weighted_average(const std::vector<ClassMetrics>& per_class);

// Scalar metrics of a confusion matrix ([C, C] integer counts, rows = true class, total > 0).
// "Present" classes are those with a true or a predicted sample: as scikit-learn does when it is
// given no `labels`, the macro averages skip a class that occurs in neither y_true nor y_pred, so
// declaring more classes than the data shows does not change them.

/// Fraction of samples on the diagonal.
double accuracy(const at::Tensor& confusion);
/// Unweighted mean of the per-class F1 over present classes (f1_score average="macro").
double f1_macro(const at::Tensor& confusion);
/// F1 of the pooled counts; equals the accuracy for single-label data (average="micro").
double f1_micro(const at::Tensor& confusion);
/// Per-class F1 weighted by support (average="weighted").
double f1_weighted(const at::Tensor& confusion);
/// Average class-specific accuracy: mean recall over the classes that have true samples, as
/// sklearn.metrics.balanced_accuracy_score (a class only ever predicted is skipped).
double acsa(const at::Tensor& confusion);
/// imblearn.metrics.geometric_mean_score with its default average="multiclass": the geometric
/// mean of the per-class recalls over present classes; for two classes this is
/// sqrt(sensitivity * specificity). One class with recall 0 makes it 0.
double geometric_mean(const at::Tensor& confusion);
/// Matthews correlation coefficient, sklearn.metrics.matthews_corrcoef's multiclass formula
/// (Gorodkin's R_K); 0 when every true or every predicted label is the same class.
double mcc(const at::Tensor& confusion);
/// The long-tail benchmarks' split of the classes by training count: the classes sorted by
/// `train_counts` (largest first, ties by index) cut into many-shot (the first floor(C/3)),
/// few-shot (the last floor(C/3)) and medium-shot (the rest); each group's mean recall on
/// `confusion` over its classes with true samples (NaN where it has none). C >= 3.
struct ShotAccuracy {
  double many = 0, medium = 0, few = 0;
};
ShotAccuracy shot_accuracy(const at::Tensor& confusion, const std::vector<int64_t>& train_counts);
/// Number of samples off the diagonal.
int64_t misclassified(const at::Tensor& confusion);

}  // namespace rebalance::metrics
