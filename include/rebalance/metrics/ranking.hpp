// Metrics of class scores (probabilities or logits) rather than hard predictions: ROC-AUC,
// average precision, top-k accuracy and MAP@k, each matching its scikit-learn counterpart.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace rebalance::metrics {

// Every function here takes
//   y_true: [N] integer labels in 0..C-1, N > 0
//   scores: [N, C] floating (float32 or float64; read on the CPU in double), C >= 2, higher =
//           more likely; for two classes also [N], the score of class 1.
// and throws Error on a length or shape mismatch, a label outside 0..C-1 (naming the label and
// its row) or a NaN score (naming the row and column). Infinite scores are accepted: they rank.
// With two classes and [N, 2] scores, column 1 is the score of the positive class, as a caller
// of scikit-learn passes predict_proba(X)[:, 1].

/// Area under the ROC curve. Two classes: sklearn.metrics.roc_auc_score; tied scores count one
/// half, i.e. the curve joins tied points by a straight line, as scikit-learn's trapezoid does.
/// More classes: one-vs-rest, unweighted mean over classes (multi_class="ovr", average="macro");
/// unlike scikit-learn the rows need not sum to 1 (ranks are all that matter).
/// Throws Error when it is undefined: two classes and y_true holds one of them only, or more
/// classes and one has no sample in y_true (the message names the class).
///
///   double auc = metrics::roc_auc(y_true, probs);        // probs: [N, C] float32
double roc_auc(const at::Tensor& y_true, const at::Tensor& scores);

/// Average precision, the step-wise area under the precision-recall curve
/// (sum_n (R_n - R_{n-1}) P_n over decreasing distinct thresholds). Two classes:
/// sklearn.metrics.average_precision_score of the class-1 score. More classes: unweighted mean
/// over classes of the one-vs-rest AP (label_binarize, then average="macro"). A class with no
/// sample in y_true has AP 0, as in scikit-learn.
double average_precision(const at::Tensor& y_true, const at::Tensor& scores);

/// Fraction of samples whose true class is among the k highest scores,
/// sklearn.metrics.top_k_accuracy_score. Ties are broken as scikit-learn does:
///  - C >= 3: among equal scores the higher class index ranks first;
///  - [N] binary scores, k = 1: the prediction is class 1 iff score > 0.5 (all scores in [0, 1])
///    or score > 0 (otherwise);
///  - [N, 2] scores, k = 1: class 1 iff its score is strictly above class 0's. For probability
///    rows this is scikit-learn's 0.5 cut on column 1, the exact tie (0.5, 0.5) included; for
///    logits it is the argmax, where a cut of column 1 at 0 would be meaningless.
/// k >= C gives 1.0 (scikit-learn warns that it is meaningless and returns 1.0).
/// Throws Error if k < 1.
double top_k_accuracy(const at::Tensor& y_true, const at::Tensor& scores, int64_t k);

/// Mean average precision at k with one true class per sample, as scored in Kaggle's humpback
/// whale identification: mean over samples of 1 / rank of the true class when rank <= k, else 0.
/// Ties are broken by the lower class index first (so a row of equal scores ranks 0, 1, 2, ...);
/// for C >= 3 this differs from top_k_accuracy, which follows scikit-learn's opposite rule. With [N]
/// binary scores the ranking is the thresholded prediction of top_k_accuracy (a score exactly at
/// the threshold ranks class 0 first, consistent with the rule above). k >= C is allowed and gives
/// the mean reciprocal rank. Throws Error if k < 1.
///
///   double map5 = metrics::map_at_k(y_true, logits, 5);
double map_at_k(const at::Tensor& y_true, const at::Tensor& scores, int64_t k);

}  // namespace rebalance::metrics
