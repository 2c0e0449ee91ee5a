#include "rebalance/neighbors/knn.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "rebalance/core/error.hpp"

namespace rebalance::neighbors {

namespace {

constexpr double kUnitRoundoff32 = 5.97e-8;  // 2^-24

/// Keeps the m smallest (value, index) pairs of a stream, sorted ascending; ties keep the lower
/// index because base columns arrive in increasing order and equal values do not displace.
struct TopM {
  float* val;
  int64_t* idx;
  int64_t m;
  inline void push(float v, int64_t i) {
    if (!(v < val[m - 1])) return;
    int64_t p = m - 1;
    while (p > 0 && val[p - 1] > v) {
      val[p] = val[p - 1];
      idx[p] = idx[p - 1];
      --p;
    }
    val[p] = v;
    idx[p] = i;
  }
};

inline double exact_sq(const float* a, const float* b, int64_t d) {
  double s = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += t * t;
  }
  return s;
}

/// Sort candidate (distance, index) pairs by distance, then index, and keep the first k.
void finish_row(std::vector<std::pair<double, int64_t>>& cand, int64_t k, int64_t* out_idx, double* out_dist) {
  std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
  for (int64_t j = 0; j < k; ++j) {
    out_idx[j] = cand[j].second;
    out_dist[j] = std::sqrt(cand[j].first);
  }
}

KnnResult knn_generic(const at::Tensor& base, const at::Tensor& query, int64_t k, const KnnOptions& o) {
  // Device-agnostic path (CUDA): exact float64 distances in row blocks, top-k by (distance, index).
  const int64_t n = base.size(0), q = query.size(0);
  const auto b64 = base.to(torch::kFloat64);
  const auto q64 = query.to(torch::kFloat64);
  const int64_t rows = std::max<int64_t>(1, o.tile_bytes / (8 * std::max<int64_t>(n, 1)));
  std::vector<at::Tensor> idx, dist;
  for (int64_t r0 = 0; r0 < q; r0 += rows) {
    const auto qb = q64.slice(0, r0, std::min(q, r0 + rows));
    auto d = (qb.unsqueeze(1) - b64.unsqueeze(0)).pow(2).sum(2);
    // Stable sort on distance keeps the lower index first among ties.
    auto sorted = d.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false);
    idx.push_back(std::get<1>(sorted).slice(1, 0, k));
    dist.push_back(std::get<0>(sorted).slice(1, 0, k).sqrt());
  }
  return {torch::cat(idx), torch::cat(dist)};
}

}  // namespace

KnnResult knn_hnsw(const at::Tensor& base, const at::Tensor& query, int64_t k, const KnnOptions& o);

at::Tensor exact_sq_distances(const at::Tensor& base, const at::Tensor& query) {
  const auto b = base.to(torch::kFloat64), q = query.to(torch::kFloat64);
  return (q.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(2);
}

KnnResult knn(const at::Tensor& base_in, const at::Tensor& query_in, int64_t k, const KnnOptions& o) {
  REBALANCE_CHECK(base_in.dim() == 2 && query_in.dim() == 2, "knn: base and query must be 2-D, got {}-D and {}-D",
                  base_in.dim(), query_in.dim());
  REBALANCE_CHECK(base_in.size(1) == query_in.size(1), "knn: base has {} features, query has {}", base_in.size(1),
                  query_in.size(1));
  const int64_t n = base_in.size(0), q = query_in.size(0), d = base_in.size(1);
  REBALANCE_CHECK(k >= 1 && k <= n, "knn: k must be in [1, {}] (the number of base rows), got {}", n, k);
  REBALANCE_CHECK(base_in.device() == query_in.device(), "knn: base and query are on different devices");
  if (q == 0)
    return {torch::empty({0, k}, torch::kInt64), torch::empty({0, k}, torch::kFloat64)};
  if (o.backend.value_or(default_backend()) == Backend::Hnsw) return knn_hnsw(base_in, query_in, k, o);
  if (!base_in.device().is_cpu()) return knn_generic(base_in, query_in, k, o);

  const auto base = base_in.to(torch::kFloat32).contiguous();
  const auto query = query_in.to(torch::kFloat32).contiguous();
  // Centre on the base mean: distances are unchanged but float32 norms shrink, which tightens the
  // rounding bound and so the number of rows that need the exact fallback.
  const auto mean = base.to(torch::kFloat64).mean(0);
  const auto bc = (base.to(torch::kFloat64) - mean).to(torch::kFloat32).contiguous();
  const auto qc = (query.to(torch::kFloat64) - mean).to(torch::kFloat32).contiguous();
  const auto bn = bc.pow(2).sum(1).contiguous();           // [N]
  const auto qn = qc.pow(2).sum(1).to(torch::kFloat64);    // [Q]
  const double bn_max = bn.max().item<float>();
  const int64_t m = std::min(n, k + std::max<int64_t>(8, k));

  auto top_val = torch::full({q, m}, std::numeric_limits<float>::infinity(), torch::kFloat32);
  auto top_idx = torch::full({q, m}, int64_t(-1), torch::kInt64);
  float* tv = top_val.data_ptr<float>();
  int64_t* ti = top_idx.data_ptr<int64_t>();

  // Tiles of ~8 MB stay in cache; the buffer is reused so no tile pays for fresh pages.
  const int64_t bq = std::min<int64_t>(q, 512);
  const int64_t bb = std::clamp<int64_t>(o.tile_bytes / (4 * bq), 256, 4096);
  auto buffer = torch::empty({bq * std::min(n, bb)}, torch::kFloat32);
  const auto bc_t = bc.t();
  for (int64_t q0 = 0; q0 < q; q0 += bq) {
    const int64_t q1 = std::min(q, q0 + bq);
    const auto qblock = qc.slice(0, q0, q1);
    for (int64_t b0 = 0; b0 < n; b0 += bb) {
      const int64_t b1 = std::min(n, b0 + bb);
      // tile[i][j] = |b_j|^2 - 2 q_i.b_j : the squared distance less |q_i|^2 (constant per row).
      auto tile = buffer.slice(0, 0, (q1 - q0) * (b1 - b0)).view({q1 - q0, b1 - b0});
      at::addmm_out(tile, bn.slice(0, b0, b1).unsqueeze(0), qblock, bc_t.slice(1, b0, b1), 1.0, -2.0);
      const float* t = tile.data_ptr<float>();
      const int64_t w = b1 - b0;
      at::parallel_for(0, q1 - q0, 8, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          TopM top{tv + (q0 + r) * m, ti + (q0 + r) * m, m};
          const float* row = t + r * w;
          // Almost every value loses to the current m-th best: test 16 at a time (vectorised)
          // and look closer only when one of them wins.
          float thr = top.val[m - 1];
          int64_t j = 0;
          for (; j + 16 <= w; j += 16) {
            bool any = false;
            for (int u = 0; u < 16; ++u) any |= row[j + u] < thr;
            if (!any) continue;
            for (int u = 0; u < 16; ++u)
              if (row[j + u] < thr) {
                top.push(row[j + u], b0 + j + u);
                thr = top.val[m - 1];
              }
          }
          for (; j < w; ++j) top.push(row[j], b0 + j);
        }
      });
    }
  }

  auto out_idx = torch::empty({q, k}, torch::kInt64);
  auto out_dist = torch::empty({q, k}, torch::kFloat64);
  int64_t* oi = out_idx.data_ptr<int64_t>();
  double* od = out_dist.data_ptr<double>();
  const float* bp = base.data_ptr<float>();
  const float* qp = query.data_ptr<float>();
  const double* qnp = qn.data_ptr<double>();
  at::parallel_for(0, q, 16, [&](int64_t r0, int64_t r1) {
    std::vector<std::pair<double, int64_t>> cand;
    for (int64_t r = r0; r < r1; ++r) {
      const float* vals = tv + r * m;
      const int64_t* ids = ti + r * m;
      // |approx - exact| <= tol for every pair (gamma_D bound on the dot product and the norms).
      const double tol = (2.0 * d + 8.0) * kUnitRoundoff32 * (qnp[r] + bn_max) + 1e-30;
      const bool certified = m == n || static_cast<double>(vals[m - 1]) - static_cast<double>(vals[k - 1]) > 2.0 * tol;
      cand.clear();
      const float* qrow = qp + r * d;
      if (certified) {
        for (int64_t j = 0; j < m; ++j) cand.emplace_back(exact_sq(qrow, bp + ids[j] * d, d), ids[j]);
      } else {
        // Too close to call in float32 (many near-equal distances): exact search of this row.
        for (int64_t j = 0; j < n; ++j) cand.emplace_back(exact_sq(qrow, bp + j * d, d), j);
      }
      finish_row(cand, k, oi + r * k, od + r * k);
    }
  });
  return {out_idx, out_dist};
}

}  // namespace rebalance::neighbors
