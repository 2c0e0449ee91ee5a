// Exact k-nearest neighbours on tensors: the engine under every neighbour-based sampler.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

namespace rebalance::neighbors {

/// Exact (default) or approximate search. The approximate backend is hnswlib's HNSW graph
/// (Malkov & Yashunin, TPAMI 2018), for data too large for exact search; results may miss true
/// neighbours, so parity with imbalanced-learn holds only for the exact backend.
enum class Backend { Exact, Hnsw };

/// The backend `knn` uses when options do not say; the CLI's --neighbors sets it process-wide.
Backend default_backend();
void set_default_backend(Backend backend);
Backend parse_backend(const std::string& name);  ///< "exact" or "hnsw"; Error otherwise

struct KnnOptions {
  /// Bound on the device path's scratch distance tile, in bytes (never an N x N matrix).
  int64_t tile_bytes = int64_t(32) << 20;
  /// Take the device-agnostic path that CUDA tensors take (float64 tiles, stable sort) even on
  /// the CPU: the tests check it against the CPU kernel without a GPU.
  bool device_path = false;
  /// Unset: default_backend().
  std::optional<Backend> backend;
  /// HNSW graph degree, build and search beam widths, and the seed of its level draws. The
  /// graph is built on one thread so that the same seed gives the same graph.
  int64_t hnsw_m = 16;
  int64_t hnsw_ef_construction = 200;
  int64_t hnsw_ef_search = 64;
  uint64_t hnsw_seed = 100;
};

/// The k nearest rows of `base` for each row of `query`, in Euclidean distance.
struct KnnResult {
  at::Tensor indices;    ///< [Q, k] int64, nearest first
  at::Tensor distances;  ///< [Q, k] float64 Euclidean distances, ascending
};

/// Exact k-NN by blocked GEMM (|q|^2 + |b|^2 - 2 q.b in float32) with every candidate re-ranked on
/// exact float64 distances. A row whose float32 ranking is too close to call falls back to an
/// exact search of that row, so the result is exact, not approximate. float64 rows are searched
/// the same way (the float32 screen sees them rounded once, a rounding its bound covers) and
/// re-ranked on float64 distances of the float64 rows: exact in float64.
///
/// Ties (equal float64 distances, e.g. duplicate rows) are broken by the lower base index. This is
/// the order scikit-learn's brute-force search gives for distinct distances; for exact ties
/// scikit-learn's order depends on its tree, so on data with duplicate rows the neighbour *sets*
/// agree while the order among equals follows this rule.
///
///   auto r = knn(x, x, 6);              // includes each row itself first (distance 0)
///   auto nn = r.indices.slice(1, 1);    // imbalanced-learn's kneighbors(X)[:, 1:]
///
/// @param base  [N, D] float32 or float64 (CPU or CUDA); float64 when either side is
/// @param query [Q, D] float32 or float64, same device
/// @param k     1 <= k <= N
KnnResult knn(const at::Tensor& base, const at::Tensor& query, int64_t k, const KnnOptions& options = {});

/// Squared Euclidean distances [Q, N] in float64, computed directly (for tests and small inputs).
at::Tensor exact_sq_distances(const at::Tensor& base, const at::Tensor& query);

}  // namespace rebalance::neighbors
