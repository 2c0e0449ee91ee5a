#include "rebalance/neighbors/knn.hpp"

#include "rebalance/neighbors/cache.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include "avx2_tile.hpp"
#include <cstdlib>
#include <limits>
#include <numeric>

#include "rebalance/core/error.hpp"

namespace rebalance::neighbors {

namespace {

constexpr double kUnitRoundoff32 = 5.97e-8;  // 2^-24
/// Bound on |q|^2 + |b|^2 (centred) below which no float32 score or partial sum can overflow.
constexpr double kScreenLimit = 1e37;

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

/// Squared distance accumulated in float64 in feature order (search.hpp's squared_distance), from
/// the rows in their own type: float32 rows widen exactly, float64 rows are used as they are.
template <class T>
inline double exact_sq(const T* a, const T* b, int64_t d) {
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

constexpr int64_t kLanes = 16;  ///< base rows per register block
constexpr int64_t kQueries = 8;  ///< query rows sharing each loaded base block (a0..a7 below)

// The kernel below is written once as a macro and compiled three times: for AVX-512, for AVX2
// with FMA, and for plain x86-64; the build targets any x86-64 and the CPU picks at run time.
// (target_clones' "arch=" clones match CPU models, not features, so they are not used.)

/// 16 floats, unaligned, allowed to alias float arrays: GCC lowers its arithmetic to one zmm,
/// two ymm or four xmm operations depending on the function's target.
typedef float V16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t I16 __attribute__((vector_size(64)));

/// For kQueries queries against `nblocks` blocks of 16 base rows: t[i][j] = |b_j|^2 - 2 q_i.b_j
/// (the squared distance less |q_i|^2, constant per query) goes into query i's TopM when it beats
/// the current m-th best. `bt` holds the base transposed per block ([block][feature][lane]) and
/// `qm2` the queries times -2 ([kQueries][d], padding rows zero), so the inner loop is 8 x 16
/// independent multiply-adds held in registers, and the distances never touch memory: one
/// compare per query and block says whether any of the 16 needs a closer look (rarely).
#define REBALANCE_SCAN_BLOCKS(NAME, ATTR)                                                                \
  ATTR void NAME(const float* __restrict bt, const float* __restrict bnorm, int64_t nblocks, int64_t d, \
                 const float* __restrict qm2, int64_t first, float* const* val, int64_t* const* idx,    \
                 int64_t nq, int64_t m) {                                                               \
    float thr[kQueries];                                                                              \
    for (int64_t i = 0; i < kQueries; ++i)                                                            \
      thr[i] = i < nq ? val[i][m - 1] : -std::numeric_limits<float>::infinity();                      \
    for (int64_t blk = 0; blk < nblocks; ++blk) {                                                     \
      const float* b = bt + blk * d * kLanes;                                                         \
      const V16 nb = *reinterpret_cast<const V16*>(bnorm + blk * kLanes);                              \
      V16 a0 = nb, a1 = nb, a2 = nb, a3 = nb, a4 = nb, a5 = nb, a6 = nb, a7 = nb;                      \
      for (int64_t j = 0; j < d; ++j) {                                                               \
        const V16 v = *reinterpret_cast<const V16*>(b + j * kLanes);                                  \
        a0 += qm2[j] * v;                                                                             \
        a1 += qm2[d + j] * v;                                                                         \
        a2 += qm2[2 * d + j] * v;                                                                     \
        a3 += qm2[3 * d + j] * v;                                                                     \
        a4 += qm2[4 * d + j] * v;                                                                     \
        a5 += qm2[5 * d + j] * v;                                                                     \
        a6 += qm2[6 * d + j] * v;                                                                     \
        a7 += qm2[7 * d + j] * v;                                                                     \
      }                                                                                               \
      I16 hit = (a0 < thr[0]) | (a1 < thr[1]) | (a2 < thr[2]) | (a3 < thr[3]) | (a4 < thr[4]) |       \
                (a5 < thr[5]) | (a6 < thr[6]) | (a7 < thr[7]);                                        \
      hit |= __builtin_shuffle(hit, I16{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});       \
      hit |= __builtin_shuffle(hit, I16{4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});             \
      hit |= __builtin_shuffle(hit, I16{2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});             \
      hit |= __builtin_shuffle(hit, I16{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});             \
      if (!hit[0]) continue;                                                                          \
      float t[kQueries][kLanes];                                                                      \
      *reinterpret_cast<V16*>(t[0]) = a0;                                                             \
      *reinterpret_cast<V16*>(t[1]) = a1;                                                             \
      *reinterpret_cast<V16*>(t[2]) = a2;                                                             \
      *reinterpret_cast<V16*>(t[3]) = a3;                                                             \
      *reinterpret_cast<V16*>(t[4]) = a4;                                                             \
      *reinterpret_cast<V16*>(t[5]) = a5;                                                             \
      *reinterpret_cast<V16*>(t[6]) = a6;                                                             \
      *reinterpret_cast<V16*>(t[7]) = a7;                                                             \
      for (int64_t i = 0; i < nq; ++i) {                                                              \
        TopM top{val[i], idx[i], m};                                                                  \
        for (int64_t l = 0; l < kLanes; ++l)                                                          \
          if (t[i][l] < thr[i]) {                                                                     \
            top.push(t[i][l], first + blk * kLanes + l);                                              \
            thr[i] = val[i][m - 1];                                                                   \
          }                                                                                           \
      }                                                                                               \
    }                                                                                                 \
  }

#if defined(__x86_64__) && defined(__GNUC__)
REBALANCE_SCAN_BLOCKS(scan_blocks_avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))))

/// The same scan for AVX2, written with 8-float registers: the 16-float vectors above are two
/// ymm each there, and GCC kept the macro's 8 accumulators (16 ymm, all of AVX2's registers) on
/// the stack: 15 GFLOP/s on an AVX2-only EPYC. Four queries per pass hold 8 accumulators, the two
/// halves of a base row block and a broadcast in registers. Same multiply-adds in the same order,
/// so the same float32 scores as the macro's kernels.
__attribute__((target("avx2,fma"))) void scan_blocks_avx2(const float* __restrict bt, const float* __restrict bnorm,
                                                         int64_t nblocks, int64_t d, const float* __restrict qm2,
                                                         int64_t first, float* const* val, int64_t* const* idx,
                                                         int64_t nq, int64_t m) {
  float thr[kQueries];
  for (int64_t i = 0; i < kQueries; ++i) thr[i] = i < nq ? val[i][m - 1] : -std::numeric_limits<float>::infinity();
  for (int64_t blk = 0; blk < nblocks; ++blk) {
    const float* b = bt + blk * d * kLanes;
    const __m256 nlo = _mm256_loadu_ps(bnorm + blk * kLanes), nhi = _mm256_loadu_ps(bnorm + blk * kLanes + 8);
    for (int64_t h = 0; h < nq; h += 4) {  // qm2 is padded with zero rows to kQueries
      const float* const qs[4] = {qm2 + h * d, qm2 + (h + 1) * d, qm2 + (h + 2) * d, qm2 + (h + 3) * d};
      __m256 a[4][2] = {{nlo, nhi}, {nlo, nhi}, {nlo, nhi}, {nlo, nhi}};
      detail::avx2_tile_4x16(qs, b, kLanes, d, a);
      __m256 hit = _mm256_setzero_ps();
      for (int u = 0; u < 4; ++u) {
        const __m256 t = _mm256_set1_ps(thr[h + u]);
        hit = _mm256_or_ps(hit, _mm256_or_ps(_mm256_cmp_ps(a[u][0], t, _CMP_LT_OQ), _mm256_cmp_ps(a[u][1], t, _CMP_LT_OQ)));
      }
      if (!_mm256_movemask_ps(hit)) continue;
      float t[4][kLanes];
      for (int u = 0; u < 4; ++u) _mm256_storeu_ps(t[u], a[u][0]), _mm256_storeu_ps(t[u] + 8, a[u][1]);
      for (int64_t i = h; i < std::min<int64_t>(nq, h + 4); ++i) {
        TopM top{val[i], idx[i], m};
        for (int64_t l = 0; l < kLanes; ++l)
          if (t[i - h][l] < thr[i]) {
            top.push(t[i - h][l], first + blk * kLanes + l);
            thr[i] = val[i][m - 1];
          }
      }
    }
  }
}
#endif
REBALANCE_SCAN_BLOCKS(scan_blocks_base, )

using ScanBlocksFn = void (*)(const float*, const float*, int64_t, int64_t, const float*, int64_t, float* const*,
                              int64_t* const*, int64_t, int64_t);

ScanBlocksFn pick_scan_blocks() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
    return scan_blocks_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return scan_blocks_avx2;
#endif
  return scan_blocks_base;
}

KnnResult knn_generic(const at::Tensor& base, const at::Tensor& query, int64_t k, const KnnOptions& o) {
  // Device-agnostic path (CUDA): exact float64 distances in row blocks, top-k by (distance, index).
  // The squares are summed feature by feature, the order of the CPU kernel's re-ranking, so both
  // paths give the same float64 distances bit for bit (and so the same order among near-ties), and
  // the scratch really is one [rows, N] tile. float64 input is used as it is, float32 widened.
  const int64_t n = base.size(0), q = query.size(0), d = base.size(1);
  const auto b64 = base.to(torch::kFloat64);
  const auto q64 = query.to(torch::kFloat64);
  const int64_t rows = std::max<int64_t>(1, o.tile_bytes / (8 * std::max<int64_t>(n, 1)));
  std::vector<at::Tensor> idx, dist;
  for (int64_t r0 = 0; r0 < q; r0 += rows) {
    const auto qb = q64.slice(0, r0, std::min(q, r0 + rows));
    auto acc = torch::zeros({qb.size(0), n}, qb.options());
    for (int64_t j = 0; j < d; ++j) {
      const auto t = qb.select(1, j).unsqueeze(1) - b64.select(1, j).unsqueeze(0);
      acc.add_(t * t);
    }
    // Stable sort on distance keeps the lower index first among ties.
    auto sorted = acc.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false);
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

namespace {

/// The CPU kernel on rows of type T (float or double): a float32 screen of centred copies, then
/// every candidate re-ranked on exact float64 distances computed from the T rows themselves. The
/// screen keeps m >= m_min candidates per row; rows whose m candidates cannot certify the k
/// nearest are screened again with 8 m candidates, up to every row.
template <class T>
KnnResult knn_cpu(const at::Tensor& base, const at::Tensor& query, int64_t k, int64_t m_min = 0) {
  // Centre on the base mean: distances are unchanged but float32 norms shrink, which tightens the
  // rounding bound and so the number of rows that need the exact fallback. The centred copies are
  // made straight into the kernel's layouts below, never as whole float64 tensors.
  const int64_t n = base.size(0), q = query.size(0), d = base.size(1);
  const T* bp = base.data_ptr<T>();
  const T* qp = query.data_ptr<T>();
  std::vector<double> mean(d, 0.0);
  {
    std::vector<std::vector<double>> part(std::max<int64_t>(1, at::get_num_threads()), std::vector<double>(d, 0.0));
    at::parallel_for(0, n, 4096, [&](int64_t r0, int64_t r1) {
      auto& acc = part[at::get_thread_num()];
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < d; ++j) acc[j] += bp[r * d + j];
    });
    for (const auto& p : part)
      for (int64_t j = 0; j < d; ++j) mean[j] += p[j];
    for (auto& v : mean) v /= static_cast<double>(n);
  }
  const int64_t m = std::min(n, std::max(m_min, k + std::max<int64_t>(8, k)));

  // Work items are (query block, base chunk) pairs, each run on one thread; every item keeps the m best of its chunk,
  // and the chunks of a query are merged in base order afterwards, so ties keep the lower index.
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  // Each base sub-chunk (~256 KB: stays in L2) serves every query of a block, so a base too big
  // for the caches streams from memory once per bq queries: 512 then keeps that traffic well
  // under the arithmetic (1M x 30: 2.6 -> 2.4 s); a cache-resident base does better with 64.
  const bool base_in_cache = n * d * 4 <= (int64_t(8) << 20);
  const int64_t bq = std::min<int64_t>(q, base_in_cache ? 64 : 512);
  const int64_t q_blocks = (q + bq - 1) / bq;
  const int64_t bb = std::clamp<int64_t>((int64_t(256) << 10) / (4 * d), 256, 4096);
  // Enough base chunks that every thread has work even for a handful of queries.
  const int64_t want_chunks = std::max<int64_t>(1, (4 * threads + q_blocks - 1) / q_blocks);
  const int64_t chunk = (std::max<int64_t>(bb, (n + want_chunks - 1) / want_chunks) + kLanes - 1) / kLanes * kLanes;
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  const int64_t mm = std::min(m, chunk);

  auto top_val = torch::full({n_chunks, q, mm}, std::numeric_limits<float>::infinity(), torch::kFloat32);
  auto top_idx = torch::full({n_chunks, q, mm}, int64_t(-1), torch::kInt64);
  float* tv_all = top_val.data_ptr<float>();
  int64_t* ti_all = top_idx.data_ptr<int64_t>();
  // Base rows transposed per block of 16 lanes; padding lanes get an infinite norm so they never
  // win. Queries times -2, padded with zero rows to a multiple of kQueries.
  const int64_t nblocks_all = (n + kLanes - 1) / kLanes;
  std::vector<float> bt(nblocks_all * d * kLanes, 0.0f), bnorm(nblocks_all * kLanes, std::numeric_limits<float>::infinity());
  std::vector<float> bn_block_max(nblocks_all, 0.0f);
  at::parallel_for(0, nblocks_all, 256, [&](int64_t k0, int64_t k1) {
    for (int64_t blk = k0; blk < k1; ++blk)
      for (int64_t l = 0; l < kLanes && blk * kLanes + l < n; ++l) {
        const int64_t r = blk * kLanes + l;
        double norm = 0.0;
        for (int64_t j = 0; j < d; ++j) {
          const float v = static_cast<float>(static_cast<double>(bp[r * d + j]) - mean[j]);
          bt[(blk * d + j) * kLanes + l] = v;
          norm += static_cast<double>(v) * v;
        }
        bnorm[r] = static_cast<float>(norm);
        bn_block_max[blk] = std::max(bn_block_max[blk], bnorm[r]);
      }
  });
  const double bn_max = *std::max_element(bn_block_max.begin(), bn_block_max.end());
  const int64_t q_pad = (q + kQueries - 1) / kQueries * kQueries;
  std::vector<float> qm2(q_pad * d, 0.0f);
  std::vector<double> qn(q, 0.0);
  at::parallel_for(0, q, 1024, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < d; ++j) {
        const float v = static_cast<float>(static_cast<double>(qp[r * d + j]) - mean[j]);
        qm2[r * d + j] = -2.0f * v;
        qn[r] += static_cast<double>(v) * v;
      }
  });
  auto out_idx = torch::empty({q, k}, torch::kInt64);
  auto out_dist = torch::empty({q, k}, torch::kFloat64);
  int64_t* oi = out_idx.data_ptr<int64_t>();
  double* od = out_dist.data_ptr<double>();
  // Centred values or norms beyond float32's range (float64 data, or float32 data near its limit)
  // leave the float32 scores meaningless: every row is then searched exactly.
  if (!(*std::max_element(qn.begin(), qn.end()) + bn_max < kScreenLimit)) {
    at::parallel_for(0, q, 16, [&](int64_t r0, int64_t r1) {
      std::vector<std::pair<double, int64_t>> cand;
      for (int64_t r = r0; r < r1; ++r) {
        cand.clear();
        for (int64_t j = 0; j < n; ++j) cand.emplace_back(exact_sq(qp + r * d, bp + j * d, d), j);
        finish_row(cand, k, oi + r * k, od + r * k);
      }
    });
    return {out_idx, out_dist};
  }
  const int64_t bb_blocks = std::max<int64_t>(1, bb / kLanes);
  static const ScanBlocksFn scan_blocks = pick_scan_blocks();
  at::parallel_for(0, q_blocks * n_chunks, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t qb_i = w / n_chunks, c = w % n_chunks;
      const int64_t q0 = qb_i * bq, q1 = std::min(q, q0 + bq);
      const int64_t c0 = c * chunk, c1 = std::min(n, c0 + chunk);
      float* tv = tv_all + c * q * mm;
      int64_t* ti = ti_all + c * q * mm;
      // Chunks start on a block boundary (chunk is a multiple of kLanes); a sub-chunk of the base
      // stays in cache while every query of the block passes over it.
      for (int64_t b0 = c0; b0 < c1; b0 += bb_blocks * kLanes) {
        const int64_t b1 = std::min(c1, b0 + bb_blocks * kLanes);
        const int64_t nblk = (b1 - b0 + kLanes - 1) / kLanes;
        for (int64_t s0 = q0; s0 < q1; s0 += kQueries) {
          const int64_t nq = std::min(q1 - s0, kQueries);
          float* vals[kQueries];
          int64_t* ids[kQueries];
          for (int64_t i = 0; i < nq; ++i) {
            vals[i] = tv + (s0 + i) * mm;
            ids[i] = ti + (s0 + i) * mm;
          }
          scan_blocks(bt.data() + (b0 / kLanes) * d * kLanes, bnorm.data() + b0, nblk, d, qm2.data() + s0 * d, b0,
                      vals, ids, nq, mm);
        }
      }
    }
  });
  // Merge the chunks of each query into the first chunk's slot, chunk by chunk in base order.
  float* tv = tv_all;
  int64_t* ti = ti_all;
  std::vector<float> merged_v;
  std::vector<int64_t> merged_i;
  if (n_chunks > 1 || mm < m) {
    merged_v.assign(q * m, std::numeric_limits<float>::infinity());
    merged_i.assign(q * m, -1);
    at::parallel_for(0, q, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        TopM top{merged_v.data() + r * m, merged_i.data() + r * m, m};
        for (int64_t c = 0; c < n_chunks; ++c)
          for (int64_t j = 0; j < mm; ++j) {
            const int64_t id = ti_all[(c * q + r) * mm + j];
            if (id >= 0) top.push(tv_all[(c * q + r) * mm + j], id);
          }
      }
    });
    tv = merged_v.data();
    ti = merged_i.data();
  }

  const double* qnp = qn.data();
  // |approx - exact| <= tol for every pair (gamma_D bound on the dot product and the norms, and
  // the one rounding of each centred value to float32). float64 rows are rounded to float32 once,
  // exactly as float32 rows are after centring, so the same bound holds; they get a factor two
  // to spare on its constant (as search.cpp's), since their re-ranking is what guarantees values
  // that float32 cannot tell apart (4e9 and 4e9 + 1) are still told apart.
  const double tol_coef = std::is_same_v<T, float> ? 2.0 * d + 8.0 : 2.0 * d + 16.0;
  std::vector<char> wider(q, 0);
  at::parallel_for(0, q, 16, [&](int64_t r0, int64_t r1) {
    std::vector<std::pair<double, int64_t>> cand;
    for (int64_t r = r0; r < r1; ++r) {
      const float* vals = tv + r * m;
      const int64_t* ids = ti + r * m;
      const double tol = tol_coef * kUnitRoundoff32 * (qnp[r] + bn_max) + 1e-30;
      const bool certified = m == n || static_cast<double>(vals[m - 1]) - static_cast<double>(vals[k - 1]) > 2.0 * tol;
      if (!certified) {
        // Too close to call in float32 among m candidates (many near-equal distances): a row
        // outside them may still be nearer, so this row is screened again with more candidates
        // (with m = n every row is a candidate and the re-ranking is the exact search).
        wider[r] = 1;
        continue;
      }
      cand.clear();
      const T* qrow = qp + r * d;
      for (int64_t j = 0; j < m; ++j) cand.emplace_back(exact_sq(qrow, bp + ids[j] * d, d), ids[j]);
      finish_row(cand, k, oi + r * k, od + r * k);
    }
  });
  std::vector<int64_t> again;
  for (int64_t r = 0; r < q; ++r)
    if (wider[r]) again.push_back(r);
  if (!again.empty()) {
    const auto rows = torch::tensor(again, torch::kInt64);
    const auto sub = knn_cpu<T>(base, query.index_select(0, rows).contiguous(), k, std::min(n, 8 * m));
    out_idx.index_copy_(0, rows, sub.indices);
    out_dist.index_copy_(0, rows, sub.distances);
  }
  return {out_idx, out_dist};
}

}  // namespace

KnnResult knn(const at::Tensor& base_in, const at::Tensor& query_in, int64_t k, const KnnOptions& o) {
  REBALANCE_CHECK(base_in.dim() == 2 && query_in.dim() == 2, "knn: base and query must be 2-D, got {}-D and {}-D",
                  base_in.dim(), query_in.dim());
  REBALANCE_CHECK(base_in.size(1) == query_in.size(1), "knn: base has {} features, query has {}", base_in.size(1),
                  query_in.size(1));
  const int64_t n = base_in.size(0), q = query_in.size(0);
  REBALANCE_CHECK(k >= 1 && k <= n, "knn: k must be in [1, {}] (the number of base rows), got {}", n, k);
  REBALANCE_CHECK(base_in.device() == query_in.device(), "knn: base and query are on different devices");
  if (q == 0)
    return {torch::empty({0, k}, torch::kInt64), torch::empty({0, k}, torch::kFloat64)};
  if (o.backend.value_or(default_backend()) == Backend::Hnsw) return knn_hnsw(base_in, query_in, k, o);
  if (!base_in.device().is_cpu() || o.device_path) return knn_generic(base_in, query_in, k, o);
  // Exact CPU searches are shared while a KnnCache lives on this thread (neighbors/cache.hpp).
  auto* cache = KnnCache::active();
  std::string key;
  if (cache) {
    key = KnnCache::key("knn", {base_in, query_in});
    if (auto hit = cache->find(key, k)) return *hit;
  }
  // Rows are searched in their own type: float64 when either side is (widening float32 is exact).
  auto r = base_in.scalar_type() == torch::kFloat64 || query_in.scalar_type() == torch::kFloat64
               ? knn_cpu<double>(base_in.to(torch::kFloat64).contiguous(), query_in.to(torch::kFloat64).contiguous(), k)
               : knn_cpu<float>(base_in.to(torch::kFloat32).contiguous(), query_in.to(torch::kFloat32).contiguous(), k);
  if (cache) cache->store(key, r);
  return r;
}

}  // namespace rebalance::neighbors
