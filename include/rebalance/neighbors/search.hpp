// Neighbour searches shaped like the questions the cleaning samplers ask ("is another class among
// this row's k nearest neighbours?"), answered exactly but without an all-against-all search.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "rebalance/neighbors/knn.hpp"

namespace rebalance::neighbors {

/// Squared Euclidean distance of two float32 or two float64 rows, accumulated in float64 in
/// feature order (float32 values widen exactly). Every exact decision in this module (and knn's
/// re-ranking) uses this arithmetic, so two searches that meet the same pair of rows see the same
/// number and agree on ties.
inline double squared_distance(const float* a, const float* b, int64_t d) {
  double s = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += t * t;
  }
  return s;
}
inline double squared_distance(const double* a, const double* b, int64_t d) {
  double s = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

/// body(p) with p the rows of `x` ([N, D] contiguous CPU) as const double* when x is float64,
/// else as const float* (x must then be float32): callers write one generic body for both.
///
///   with_rows(x, [&](const auto* p) { limit = squared_distance(p + i * d, p + j * d, d); });
template <class Body>
decltype(auto) with_rows(const at::Tensor& x, const Body& body) {
  if (x.scalar_type() == at::kDouble) return body(static_cast<const double*>(x.data_ptr<double>()));
  return body(static_cast<const float*>(x.data_ptr<float>()));
}

/// The neighbour order of the cleaning samplers: every row but the query itself, by exact distance,
/// ties by the lower row index. (imbalanced-learn's `kneighbors(X)[:, 1:]` drops the first column
/// whatever it is; with duplicate rows that may be a twin rather than the row itself, in an order
/// scikit-learn leaves to its tree. Excluding the row itself is the order that does not depend on
/// where duplicates happen to sit.)
///
/// Always exact, whatever knn's default backend: a float32 pass with a register-tiled kernel keeps
/// a few candidates per query, which are ranked on squared_distance of the rows in their own type;
/// a query whose candidates the float32 rounding bound cannot separate gets a second pass. float64
/// rows are exact in float64: rows float32 cannot tell apart (4e9 and 4e9 + 1) fall inside the
/// bound and are told apart by the float64 ranking. Runs on at::get_num_threads()
/// threads without calling the BLAS.
///
///   auto r = knn_excluding_self(x, torch::arange(n), 3);   // [n, 3], the row itself never listed
///   auto nn_of_minority = knn_excluding_self(x, minority_rows, 1).indices;
///
/// @param x          [N, D] float32 or float64 (searched in that type), CPU
/// @param queries    [Q] int64 row positions in x
/// @param k          neighbours wanted; at least k candidates other than each query must exist
/// @param candidates [M] int64 ascending row positions the neighbours are drawn from; undefined
///                   means every row of x
/// @return indices [Q, k] int64 row positions in x, distances [Q, k] float64
KnnResult knn_excluding_self(const at::Tensor& x, const at::Tensor& queries, int64_t k,
                             const at::Tensor& candidates = {});

/// Whether, for each query row, k rows of `pool` other than itself lie at squared distance
/// strictly below its limit: the cheap half of "is row r among this row's k nearest?" (give
/// limit = |row - r|^2; true proves it is not). Proofs come from searching the query's cell of a
/// partition of the pool, then the cells nearest it; a false means only "not shown", so callers
/// search those rows in full.
///
///   auto far = k_closer_than(x, majority_rows, partners, delta_sq, 1);   // true: partner's nearest is closer
///
/// @param x        [N, D] float32 or float64, CPU
/// @param pool     [M] int64 ascending row positions
/// @param queries  [Q] int64 row positions, each in pool
/// @param limit_sq [Q] float64 squared distances
/// @return [Q] bool
at::Tensor k_closer_than(const at::Tensor& x, const at::Tensor& pool, const at::Tensor& queries,
                         const at::Tensor& limit_sq, int64_t k);

/// Which query rows have a row of another label among their k nearest neighbours (order as
/// knn_excluding_self), and for exactly those rows the k neighbours themselves.
struct NeighbourhoodScreen {
  at::Tensor mixed;    ///< [Q] bool: some other-label row is among the k nearest
  at::Tensor indices;  ///< [Q, k] int64 neighbours of the mixed rows, nearest first; -1 on the other rows
};

/// Screens rows for label-mixed neighbourhoods, the test behind Edited Nearest Neighbours and its
/// relatives, without searching every row against every row. A row of label c is pure when its
/// nearest other-label row lies strictly beyond its k-th nearest same-label row. The nearest
/// other-label row is found exactly (cheap when the other labels are small); any k same-label rows
/// give an upper bound on the k-th same-label distance, so a search inside the row's own cell of a
/// partition of its class (then a few neighbouring cells) proves most rows pure. Only the rows it
/// cannot prove pure get the exact full search, so the answer equals the brute-force one, ties
/// included. Where the other labels are as large as the row's own, it searches everything.
///
///   auto s = screen_neighbourhoods(x, y, rows_of_majority, 3);
///   auto keep = ~s.mixed;   // ENN with kind_sel=all
///
/// @param x       [N, D] float32 or float64, CPU
/// @param y       [N] int64 labels
/// @param queries [Q] int64 row positions in x
/// @param k       1 <= k <= N - 1
NeighbourhoodScreen screen_neighbourhoods(const at::Tensor& x, const at::Tensor& y, const at::Tensor& queries,
                                          int64_t k);

}  // namespace rebalance::neighbors
