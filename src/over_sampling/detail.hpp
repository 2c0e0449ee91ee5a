// Pieces the over-samplers share: neighbour-count checks with imbalanced-learn's wording,
// same-class neighbour lists, vectorised interpolation and the assembly of the output.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/data/dataset.hpp"

namespace rebalance::over_sampling::detail {

/// Refuse `param`=k when class `cls` has too few rows for a sample and its k same-class
/// neighbours (k + 1 rows), naming the class, its row count and k. A single-row class gets its
/// own message: there is nothing to interpolate with.
void check_class_neighbors(std::string_view sampler, std::string_view param, int64_t k, const Dataset& data,
                           int64_t cls, int64_t rows);

/// The same for a class known by name alone (the out-of-core samplers hold no Dataset).
void check_class_neighbors(std::string_view sampler, std::string_view param, int64_t k, const std::string& class_name,
                           int64_t rows);
/// ADASYN's new rows per row of a class, from `others[i]`: how many of row i's k nearest rows
/// belong to another class (imbalanced-learn's ratios, numpy's sum, rint; its errors when no row
/// has another class near, or every count rounds to 0).
std::vector<int64_t> adasyn_counts(const std::vector<int64_t>& others, int64_t k, int64_t n_samples,
                                   const std::string& class_name);
/// Beta(10, 10) as the 10th smallest of 19 uniforms (order statistics of U[0, 1)): Borderline-2's
/// share of rows made towards same-class neighbours.
double beta_10_10(Rng& rng);
/// Refuse `param`=k when `what` (e.g. "the data set") has fewer than `needed` rows.
void check_rows(std::string_view sampler, std::string_view param, int64_t k, int64_t needed, int64_t rows,
                std::string_view what);

/// The k nearest other rows of every row of `x` ([n, D] float32 or float64), imbalanced-learn's
/// `NearestNeighbors(k + 1).fit(x).kneighbors(x)[:, 1:]`: [n, k] int64 positions in `x`.
at::Tensor self_neighbors(const at::Tensor& x, int64_t k);

/// `x` as a contiguous [N, D] matrix on the CPU in its own dtype, float32 or float64 (a view
/// when it already is one): neighbour searches and new rows are computed in that dtype.
at::Tensor features(const Dataset& data);

/// Rows of class `cls`: positions in the data set ([n_c] int64).
at::Tensor class_rows(const Dataset& data, int64_t cls);

/// One random (row, neighbour column, step) triple per new sample, drawn in sample order:
/// row uniform in [0, n_rows), column uniform in [0, k), step uniform in [0, step_size).
/// Drawing a flat index in [0, n_rows * k) as imbalanced-learn does gives the same law.
struct Draws {
  std::vector<int64_t> row;
  std::vector<int64_t> col;
  std::vector<double> step;
};
Draws draw_pairs(int64_t n_rows, int64_t k, int64_t count, double step_size, Rng& rng);

/// Writes new_i = a[a_rows_i] + step_i * (b[b_rows_i] - a[a_rows_i]) to row i of `out`, in the
/// rows' dtype: float32 arithmetic for float32 rows (so the loop vectorises), float64 for float64
/// rows (imbalanced-learn's float64 arithmetic: the difference, the product and the sum each
/// rounded once). Rows split over threads (the bytes do not depend on the thread count).
/// @param out    [M, D] destination, contiguous, CPU, the dtype of a and b
/// @param a      [Na, D] float32 or float64, contiguous, CPU
/// @param a_rows [M] positions in `a`
/// @param b      [Nb, D] same dtype as a, contiguous, CPU
/// @param b_rows [M] positions in `b`
void interpolate_into(const at::Tensor& out, const at::Tensor& a, const std::vector<int64_t>& a_rows,
                      const at::Tensor& b, const std::vector<int64_t>& b_rows, const std::vector<double>& steps);

/// Collects the new rows class by class and writes the output once: the input rows unchanged
/// and in order, then the new rows in the order they were added, each written straight into its
/// place (no intermediate copies: the output is the only large allocation). The output has the
/// input's dtype (float32 or float64); the tensors handed in are in that dtype too (features()),
/// so interpolated rows and noisy copies are computed in it, from the parents themselves.
class NewRows {
 public:
  /// `count` rows of class `cls` that `fill(dst)` writes into dst, a [count, D] contiguous slice of
  /// the output in its dtype. `parent0` / `parent1` are positions in the input data set (parent1
  /// empty: none).
  void add(int64_t cls, int64_t count, std::function<void(const at::Tensor&)> fill, std::vector<int64_t> parent0,
           std::vector<int64_t> parent1);
  /// SMOTE-style rows: a[a_rows_i] + step_i * (b[b_rows_i] - a[a_rows_i]) (see interpolate_into);
  /// parents are a_parents / b_parents (input positions).
  void add_interpolated(int64_t cls, at::Tensor a, std::vector<int64_t> a_rows, at::Tensor b,
                        std::vector<int64_t> b_rows, std::vector<double> steps, std::vector<int64_t> a_parents,
                        std::vector<int64_t> b_parents);
  /// Copies of the input rows at positions `rows` of `x` ([N, D] float32 or float64, contiguous,
  /// CPU), each with `noise_scale` ([D], empty: none) times a standard normal from `noise` added
  /// per value, in x's dtype (x + jitter, the jitter rounded to float32 first for float32 rows).
  /// parents: (row, -1).
  /// `parents` (input positions) default to `rows`; give them when `x` is a compact copy of the
  /// class (a gather from a few cache-resident rows beats one from rows spread over the input).
  void add_copies(int64_t cls, at::Tensor x, std::vector<int64_t> rows, std::vector<double> noise_scale = {},
                  Rng* noise = nullptr, std::vector<int64_t> parents = {});
  /// Ready rows `x` ([count, D] or [count, ...], any floating dtype), converted to the output's
  /// dtype (float32 rows into float64 output widen exactly; a generator's float32 rows, say).
  void add_rows(int64_t cls, at::Tensor x, std::vector<int64_t> parent0, std::vector<int64_t> parent1);
  int64_t size() const { return total_; }
  Dataset append_to(const Dataset& data) const;

 private:
  struct Block {
    int64_t cls;
    int64_t count;
    std::function<void(const at::Tensor&)> fill;
    std::vector<int64_t> parent0, parent1;
  };
  std::vector<Block> blocks_;
  int64_t total_ = 0;
};

/// Map class-local positions to data-set positions: out_i = rows[local_i].
std::vector<int64_t> to_global(const at::Tensor& rows, const std::vector<int64_t>& local);

/// A generator for class `cls`, independent of the other classes' draws.
inline Rng class_rng(uint64_t seed, int64_t cls) { return Rng(seed).fork(static_cast<uint64_t>(cls)); }

/// numpy's `np.sum` of a float64 vector, bit for bit: pairwise summation in blocks of 8 as numpy
/// does, so counts derived from the sum round exactly as imbalanced-learn's do.
double numpy_sum(const std::vector<double>& v);

}  // namespace rebalance::over_sampling::detail
