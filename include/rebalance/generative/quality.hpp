// Sample-quality diagnostics of synthetic rows (any over-sampler's: VAE, MGVAE, SMOTE, ...):
// how far they are from the real rows of their class, whether a classifier can tell them apart,
// whether they copy training rows, whether a classifier trained on them recognises real rows,
// and a 2-D picture of all of it.
//
//   SampleQuality q = sample_quality(others, real, synthetic, held_out, held_out_others);
//   q.two_sample_auc;   // 0.5: indistinguishable from the real rows; 1.0: told apart every time
//   q.memorisation;     // nearest-training-row distance of synthetic / of held-out real rows
//   q.copies;           // share of synthetic rows that are exact copies of training rows
//   q.tstr_recall;      // trained on synthetic (no real row of the class), tested on real rows
//
// Nothing here trains on a held-out row: the held-out rows are only scored.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace rebalance {
struct Dataset;
}

namespace rebalance::generative {

struct QualityOptions {
  int64_t max_rows = 2000;   ///< rows of each set used (a seeded draw when a set is larger)
  int64_t folds = 5;         ///< cross-validation folds of the two-sample test (fewer for tiny sets)
  int64_t embed_rows = 300;  ///< rows of each group in the 2-D embedding
  int64_t steps = 200;       ///< full-batch Adam steps of each logistic regression
  double l2 = 1e-2;          ///< their weight decay (on standardised features)
  uint64_t seed = 0;
};

/// One point of the 2-D embedding: PCA of the union of the three groups, fitted on the drawn rows.
struct EmbeddedPoint {
  float x = 0, y = 0;
  int group = 0;  ///< 0: real rows of the other classes, 1: real rows of the class, 2: synthetic
};

struct SampleQuality {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  int64_t real_rows = 0, synthetic_rows = 0, held_out_rows = 0;
  /// The generator's mean squared reconstruction error per feature on the held-out rows (data
  /// units); NaN where the sampler has no encoder (SMOTE) or the caller did not ask for it.
  double reconstruction_error = kNaN;
  /// ROC-AUC of an L2 logistic regression (standardised features) telling real rows of the class
  /// from synthetic ones: fitted on the training rows against half the synthetic rows, scored on
  /// the held-out rows against the other half (without held-out rows: out-of-fold on the training
  /// rows). 0.5 = indistinguishable, 1 = always told apart.
  double two_sample_auc = kNaN;
  /// Median Euclidean distance of a synthetic row to its nearest real training row of the class.
  double nn_synthetic = kNaN;
  /// The same for held-out real rows (how far a new real row of the class lies): the scale.
  double nn_held_out = kNaN;
  /// nn_synthetic / nn_held_out: well below 1 means the synthetic rows sit on training rows
  /// (copies), near 1 that they are as novel as new real rows, above 1 that they are off the data.
  double memorisation = kNaN;
  /// Share of the synthetic rows (those nn_synthetic measures) equal to a real training row of the
  /// class: random over-sampling's 1, M2m's fall-back copies of the rows whose translation failed.
  double copies = kNaN;
  /// Train on synthetic, test on real: a logistic regression fitted on the other classes' real
  /// rows against the synthetic rows only (no real row of the class), then its recall of the
  /// held-out rows of the class, and its recall of the other classes' held-out rows.
  double tstr_recall = kNaN;
  double tstr_other_recall = kNaN;
  std::vector<EmbeddedPoint> embedding;
};

/// Logit of class 1 for each row of `test` under an L2 logistic regression fitted on `x` ([n, D]
/// float32) with labels `y` ([n] int64 in {0, 1}), both classes weighted equally, on features
/// standardised by x's mean and deviation (options.steps, options.l2). Deterministic: the problem
/// is convex and starts from zero.
at::Tensor logistic_scores(const at::Tensor& x, const at::Tensor& y, const at::Tensor& test,
                           const QualityOptions& options = {});

/// Diagnostics of `synthetic` rows of one class. Every tensor is [n, features...] (flattened
/// here): `others` the real training rows of the other classes, `real` the class's real training
/// rows, `held_out` real rows of the class the generator never saw, `held_out_others` those of
/// the other classes. `held_out` / `held_out_others` may be undefined or empty: the measures that
/// need them are then NaN. Errors: no synthetic or real rows, or mismatched feature counts.
SampleQuality sample_quality(const at::Tensor& others, const at::Tensor& real, const at::Tensor& synthetic,
                             const at::Tensor& held_out, const at::Tensor& held_out_others,
                             const QualityOptions& options = {});

/// Diagnostics of `synthetic` rows of class `cls` against the real rows (origin >= 0) of `data`
/// and the rows of `held_out` (may be empty; same classes).
SampleQuality class_quality(const Dataset& data, int64_t cls, const at::Tensor& synthetic, const Dataset& held_out,
                            const QualityOptions& options = {});

/// Diagnostics of every class of `resampled` that holds synthetic rows (origin < 0), with the rows
/// of `held_out` (may be empty; same classes) as the held-out rows. Keyed by class index.
/// `reconstruction(cls, rows)`, if given, scores the class's held-out rows (the generator's
/// reconstruction error, e.g. generator_reconstruction_error).
std::map<int64_t, SampleQuality> resampled_quality(
    const Dataset& resampled, const Dataset& held_out, const QualityOptions& options = {},
    const std::function<double(int64_t cls, const at::Tensor& rows)>& reconstruction = {});

/// {"real_rows", ..., "tstr_other_recall"} (NaN as null), plus "embedding": [[x, y, group], ...]
/// when `with_embedding`.
nlohmann::json quality_to_json(const SampleQuality& q, bool with_embedding);

}  // namespace rebalance::generative
