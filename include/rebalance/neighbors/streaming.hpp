// Nearest neighbours among rows that do not fit in memory, for queries that do: the base is fed
// block by block and each query keeps its best k, so the search is minority-anchored (queries x
// all rows), never all rows against all rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "rebalance/neighbors/knn.hpp"

namespace rebalance::neighbors {

/// Exact k nearest neighbours of `queries` among every row fed through add_block, in the order of
/// knn_excluding_self: exact squared distances (squared_distance, in the rows' own dtype), ties by
/// the lower source position, a query's own row (its position in `query_rows`) never listed. Fed
/// the same rows in any blocking, the answer equals the in-memory search of the whole matrix.
///
///   BlockKnn search(minority_x, minority_rows, 1);
///   source.for_each_block(b, [&](int64_t first, auto& x, auto&) { search.add_block(first, x); });
///   auto r = search.result();   // indices: source positions
class BlockKnn {
 public:
  /// @param queries    [Q, D] float32 or float64, CPU
  /// @param query_rows [Q] source positions of the queries (-1: not a source row)
  BlockKnn(at::Tensor queries, std::vector<int64_t> query_rows, int64_t k);
  /// Rows first .. first + B - 1 of the base ([B, D], the queries' dtype).
  void add_block(int64_t first, const at::Tensor& block);
  /// Rows at source positions `positions` (ascending, one per row of `rows`): a base filtered
  /// to some rows (another class's, say).
  void add_rows(const std::vector<int64_t>& positions, const at::Tensor& rows);
  /// indices [Q, k] int64 source positions (-1 while fewer than k rows were seen), distances
  /// [Q, k] float64 Euclidean.
  KnnResult result() const;

 private:
  void add(int64_t first, const int64_t* positions, const at::Tensor& block);
  at::Tensor queries_;
  std::vector<int64_t> query_rows_;
  int64_t k_;
  std::vector<int64_t> best_index_;  ///< [Q * k]
  std::vector<double> best_sq_;      ///< [Q * k]
};

}  // namespace rebalance::neighbors
