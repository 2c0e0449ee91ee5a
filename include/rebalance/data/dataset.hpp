// The Dataset every family consumes and produces: features, labels, class names and the
// provenance of each row, so a sampler's output always says where each row came from.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rebalance {

/// A labelled data set held as tensors.
///
///   x:      [N, D] or [N, C, H, W] float32 or float64 features (kept in the dtype they came in)
///   y:      [N] int64 labels in 0..num_classes()-1
///   origin: [N] int64 index of the source row each row came from, -1 for synthetic rows
///   parents: [N, 2] int64, optional: for a synthetic row the source rows it was made from
///            (SMOTE: the sample and its neighbour; MGVAE: the majority row it translates),
///            -1 where there is none; undefined until a generating sampler runs
///
/// Usage:
///   auto ds = Dataset::from_tensors(x, y, {"zero", "six"}, "digits");
///   auto counts = ds.class_counts();          // {980, 958}
///   auto small = ds.subset(ds.indices_of(1)); // origin still points at the source rows
struct Dataset {
  at::Tensor x;
  at::Tensor y;
  at::Tensor origin;
  at::Tensor parents;
  std::vector<std::string> class_names;
  std::vector<std::string> feature_names;  ///< may be empty (images)
  std::string name;

  /// Build and validate; origin is 0..N-1. Class names default to "0".."C-1" with C = max(y)+1.
  static Dataset from_tensors(at::Tensor x, at::Tensor y, std::vector<std::string> class_names = {},
                              std::string name = "data");

  /// Check shapes, dtypes, label range and finiteness; throws Error naming the row/column/value.
  void validate() const;
  /// validate(), but features are checked for finiteness only in rows made by a sampler
  /// (origin < 0): kept rows are copies of rows validated on the way in.
  void validate_new_rows() const;

  int64_t size() const;
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  int64_t num_features() const;  ///< product of the non-batch dimensions
  std::vector<int64_t> feature_shape() const;

  std::vector<int64_t> class_counts() const;
  /// Row indices of class `c`, ascending. [n_c] int64.
  at::Tensor indices_of(int64_t c) const;
  /// Index of a class given by name, or by its number; Error lists the classes if unknown.
  int64_t class_index(const std::string& name_or_number) const;

  /// Rows `index` ([K] int64) in that order; origin carried over.
  Dataset subset(const at::Tensor& index) const;
  /// Rows in a seeded random order (same seed, same order).
  Dataset shuffled(uint64_t seed) const;
  /// Features as a [N, D] matrix (a view when possible).
  at::Tensor x2d() const;
  /// Parents as [N, 2], filled with -1 where none were recorded.
  at::Tensor parents_or_none() const;
  /// Rows of `a` followed by rows of `b`; both must share class names and feature shape.
  static Dataset concat(const Dataset& a, const Dataset& b);

  /// "name: N rows, shape [..], C classes: a=n_a, b=n_b, ..." for logs.
  std::string summary() const;

 private:
  void validate_impl(int64_t only_new) const;  ///< only_new < 0: every row
};

/// "{a: 5000, b: 100}" — counts formatted with class names.
std::string format_counts(const std::vector<int64_t>& counts, const std::vector<std::string>& names);

}  // namespace rebalance
