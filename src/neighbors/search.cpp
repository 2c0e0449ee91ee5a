#include "rebalance/neighbors/search.hpp"

#include "rebalance/neighbors/cache.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <thread>
#include <vector>
#include "avx2_tile.hpp"

#include "rebalance/core/error.hpp"

namespace rebalance::neighbors {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Unit roundoff of float32, for the rounding bound of the float32 scores.
constexpr double kUnitRoundoff32 = 5.97e-8;
/// Bound on |q|^2 + |b|^2 (centred) below which no float32 score or partial sum can overflow.
constexpr double kScreenLimit = 1e37;
/// Rows kept per query in the float32 pass beyond the k wanted: the margin that lets most rows
/// be certified from the first pass.
constexpr int64_t kExtra = 3;
/// Base rows per block of the float32 pass (a multiple of 32; 1024 x 30 features is 120 KB, at
/// home in L2 while a group of queries runs over it), and queries per unit of work.
constexpr int64_t kBlockRows = 1024;
constexpr int64_t kQueryGroup = 64;
constexpr int64_t kTileQueries = 8;
/// Rows per cell of a partition: small enough that searching a few cells is cheap, large enough
/// that a row's own cell usually holds rows nearly as close as its true nearest.
constexpr int64_t kCellRows = 64;
/// The cell search widens in stages: a row's own cell, then the cells nearest it. Rows no stage
/// settles are searched in full.
constexpr int64_t kStages = 3;
constexpr int64_t kProbes[kStages] = {1, 12, 64};

/// body(i) for i in [0, n) on at::get_num_threads() threads, indices handed out one at a time so
/// a thread slowed by the machine's other work does not hold the rest up. Plain std::threads:
/// at::parallel_for is inline and runs serially in a file built without OpenMP flags, as this
/// project's are.
template <class Body>
void dynamic_for(int64_t n, const Body& body) {
  if (n <= 0) return;
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < n; i = next++) body(i);
  };
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), n);
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

/// body(begin, end) over [0, n) in chunks of `grain`, spread as dynamic_for spreads indices.
template <class Body>
void chunked_for(int64_t n, int64_t grain, const Body& body) {
  dynamic_for((n + grain - 1) / grain, [&](int64_t c) { body(c * grain, std::min(n, (c + 1) * grain)); });
}

/// k smallest (value, index) pairs of a stream, sorted; equal values keep the earlier index.
struct TopK {
  float* val;
  int64_t* idx;
  int64_t m;
  void push(float v, int64_t i) {
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

/// Offers a row of squared distances (base rows b0, b0 + 1, ...) to a query's top m, skipping
/// base row `self`. Almost every value loses to the current m-th, so sixteen are counted at a
/// time, and looked at closer only when one wins; compiled for AVX-512 and AVX2 too, the
/// machine's best chosen at load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void scan_row(const float* row, int64_t w, int64_t b0,
                                                                          int64_t self, float* val, int64_t* idx,
                                                                          int64_t m) {
  TopK top{val, idx, m};
  float thr = val[m - 1];
  for (int64_t j = 0; j < w; j += 16) {
    const int64_t len = std::min<int64_t>(16, w - j);
    int64_t wins = 0;  // a counting loop of unknown length is what the vectoriser takes
    for (int64_t u = 0; u < len; ++u) wins += row[j + u] < thr;
    if (wins == 0) continue;
    for (int64_t u = 0; u < len; ++u) {
      const float v = row[j + u];
      if (v < thr && b0 + j + u != self) {
        top.push(v, b0 + j + u);
        thr = val[m - 1];
      }
    }
  }
}

typedef float Floats16 __attribute__((vector_size(64)));

/// Scores of kTileQueries queries against a block of base rows stored feature-major
/// (b[j * stride + r], stride a multiple of 32): out[i * stride + r] = bn[r] - 2 q_i . b_r, which
/// is |q_i - b_r|^2 less the constant |q_i|^2. A register tile of 8 queries x 32 rows: sixteen
/// independent multiply-adds per two loads, so the loop runs near the multiply-add rate (about
/// 1.5 times what the BLAS reaches here with 20 or 30 features).
__attribute__((target_clones("avx512f", "default"))) void block_scores_vec(const float* const* q, const float* b,
                                                                          const float* bn, int64_t d, int64_t stride,
                                                                          float* out) {
  for (int64_t r = 0; r < stride; r += 32) {
    Floats16 acc[kTileQueries][2] = {};
    for (int64_t j = 0; j < d; ++j) {
      Floats16 v0, v1;
      std::memcpy(&v0, b + j * stride + r, sizeof v0);
      std::memcpy(&v1, b + j * stride + r + 16, sizeof v1);
      for (int64_t u = 0; u < kTileQueries; ++u) {
        const float x = q[u][j];
        acc[u][0] += x * v0;
        acc[u][1] += x * v1;
      }
    }
    Floats16 n0, n1;
    std::memcpy(&n0, bn + r, sizeof n0);
    std::memcpy(&n1, bn + r + 16, sizeof n1);
    for (int64_t u = 0; u < kTileQueries; ++u) {
      const Floats16 s0 = n0 - 2.0f * acc[u][0], s1 = n1 - 2.0f * acc[u][1];
      std::memcpy(out + u * stride + r, &s0, sizeof s0);
      std::memcpy(out + u * stride + r + 16, &s1, sizeof s1);
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
/// block_scores for AVX2 with 8-float registers. The tile above is 16 ymm accumulators there (all
/// of AVX2's registers) and GCC kept it on the stack: ENN over 1M x 30 took 367 s on an AVX2-only
/// EPYC. Here a tile is 4 queries x 16 rows: 8 accumulators, two base loads and a broadcast.
__attribute__((target("avx2,fma"))) void block_scores_avx2(const float* const* q, const float* b, const float* bn,
                                                          int64_t d, int64_t stride, float* out) {
  const __m256 two = _mm256_set1_ps(2.0f);
  for (int64_t r = 0; r < stride; r += 16) {
    const __m256 n0 = _mm256_loadu_ps(bn + r), n1 = _mm256_loadu_ps(bn + r + 8);
    for (int64_t u0 = 0; u0 < kTileQueries; u0 += 4) {
      const float* const qs[4] = {q[u0], q[u0 + 1], q[u0 + 2], q[u0 + 3]};
      __m256 a[4][2] = {};
      detail::avx2_tile_4x16(qs, b + r, stride, d, a);
      for (int u = 0; u < 4; ++u) {
        float* o = out + (u0 + u) * stride + r;
        _mm256_storeu_ps(o, _mm256_fnmadd_ps(two, a[u][0], n0)), _mm256_storeu_ps(o + 8, _mm256_fnmadd_ps(two, a[u][1], n1));
      }
    }
  }
}
#endif

/// The scores kernel for this CPU: AVX-512's or the portable one (target clones), or AVX2's.
void block_scores(const float* const* q, const float* b, const float* bn, int64_t d, int64_t stride, float* out) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx2_only = [] {
    __builtin_cpu_init();
    return !__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  if (avx2_only) return block_scores_avx2(q, b, bn, d, stride, out);
#endif
  block_scores_vec(q, b, bn, d, stride, out);
}

/// acc[r] += |q - b_r|^2 over a block stored feature-major (b[j * m + r]), vectorised across rows.
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_squared_distances(const float* q,
                                                                                       const float* b, int64_t d,
                                                                                       int64_t m, float* acc) {
  for (int64_t j = 0; j < d; ++j) {
    const float qj = q[j];
    const float* bj = b + j * m;
    for (int64_t r = 0; r < m; ++r) {
      const float t = qj - bj[r];
      acc[r] += t * t;
    }
  }
}

/// The exact k nearest rows of `base` for each query row (squared distances in
/// squared_distance's arithmetic, ties to the lower base index), skipping base row `self[i]` for
/// query i where self is given (-1: none).
///
/// A float32 pass (block_scores: |b|^2 - 2 q.b on data centred on the base mean, the centring
/// shrinking the norms and with them the rounding bound) keeps k + kExtra candidates per query; a
/// query whose k-th and last candidates are further apart than twice the rounding bound is settled
/// by ranking its candidates exactly. The rest get a second pass that keeps every row within that
/// bound of the k-th, then ranked exactly; only masses of (nearly) equidistant rows make that pass
/// large. The work is split over query groups handed out one at a time, and nothing here calls
/// into the BLAS, whose own threads would compete with them.
struct ExactSearch {
  std::vector<int64_t> idx;  ///< [Q * k] base positions, -1 where fewer than k exist
  std::vector<double> sq;    ///< [Q * k] squared distances
};

/// T is the rows' type (float or double): the float32 pass works on centred copies rounded to
/// float32 once, whichever the type, and every exact distance comes from the T rows themselves.
template <class T>
ExactSearch exact_search(const at::Tensor& base, const at::Tensor& query, int64_t k, const std::vector<int64_t>& self) {
  const int64_t nb = base.size(0), nq = query.size(0), d = base.size(1);
  ExactSearch out;
  out.idx.assign(nq * k, -1);
  out.sq.assign(nq * k, kInf);
  if (nq == 0 || nb == 0) return out;
  const T* bp = base.data_ptr<T>();
  const T* qp = query.data_ptr<T>();
  auto self_of = [&](int64_t i) { return self.empty() ? int64_t(-1) : self[i]; };

  std::vector<double> mean(d, 0.0);
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += bp[i * d + j];
  for (auto& v : mean) v /= static_cast<double>(nb);
  // The base, centred, in blocks of kBlockRows rows, each feature-major and padded to a multiple
  // of 32 rows (padding far away and never offered to a query), with the rows' squared norms.
  const int64_t blocks = (nb + kBlockRows - 1) / kBlockRows;
  const int64_t stride = (std::min(kBlockRows, nb) + 31) / 32 * 32;
  std::vector<float> bt(blocks * d * stride), bn(blocks * stride, 1e30f);
  std::vector<double> bn_max_of(blocks, 0.0);
  chunked_for(blocks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* blk = bt.data() + c * d * stride;
      const int64_t r0 = c * kBlockRows, w = std::min(kBlockRows, nb - r0);
      for (int64_t r = 0; r < stride; ++r) {
        double n2 = 0.0;
        for (int64_t j = 0; j < d; ++j) {
          const double v = r < w ? static_cast<double>(bp[(r0 + r) * d + j]) - mean[j] : 0.0;
          blk[j * stride + r] = static_cast<float>(v);
          n2 += v * v;
        }
        if (r < w) {
          bn[c * stride + r] = static_cast<float>(n2);
          bn_max_of[c] = std::max(bn_max_of[c], n2);
        }
      }
    }
  });
  const double bn_max = *std::max_element(bn_max_of.begin(), bn_max_of.end());
  std::vector<float> qc(nq * d);
  std::vector<double> qn(nq, 0.0);
  chunked_for(nq, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(qp[i * d + j]) - mean[j];
        qc[i * d + j] = static_cast<float>(v);
        qn[i] += v * v;
      }
  });
  // |score - (|q - b|^2 - |q|^2)| stays below this for every pair (rounding of the centring, the
  // dot product and the norms, with a factor two to spare). float64 rows reach the float32 pass
  // through the same single rounding of each centred value as float32 rows, so it bounds both.
  auto tol_of = [&](int64_t i) { return (2.0 * d + 16.0) * kUnitRoundoff32 * (qn[i] + bn_max) + 1e-30; };
  auto finish = [&](int64_t i, std::vector<std::pair<double, int64_t>>& cand) {
    const int64_t take = std::min<int64_t>(k, static_cast<int64_t>(cand.size()));
    std::partial_sort(cand.begin(), cand.begin() + take, cand.end());
    for (int64_t j = 0; j < take; ++j) {
      out.sq[i * k + j] = cand[j].first;
      out.idx[i * k + j] = cand[j].second;
    }
  };
  // Centred values beyond float32's range (float64 data, or float32 data near its limit) would
  // overflow the float32 scores: then every query is ranked exactly against every row.
  if (!(*std::max_element(qn.begin(), qn.end()) + bn_max < kScreenLimit)) {
    chunked_for(nq, 16, [&](int64_t i0, int64_t i1) {
      std::vector<std::pair<double, int64_t>> cand;
      for (int64_t i = i0; i < i1; ++i) {
        cand.clear();
        for (int64_t j = 0; j < nb; ++j)
          if (j != self_of(i)) cand.emplace_back(squared_distance(qp + i * d, bp + j * d, d), j);
        finish(i, cand);
      }
    });
    return out;
  }

  // Runs visit(query, scores, b0, width) for every query of `rows` against every base block.
  auto sweep = [&](const std::vector<int64_t>& rows, auto&& visit) {
    const int64_t n_rows = static_cast<int64_t>(rows.size());
    dynamic_for((n_rows + kQueryGroup - 1) / kQueryGroup, [&](int64_t g) {
      thread_local std::vector<float> score;
      score.resize(kTileQueries * stride);
      const int64_t g0 = g * kQueryGroup, g1 = std::min(n_rows, g0 + kQueryGroup);
      for (int64_t c = 0; c < blocks; ++c) {
        const float* blk = bt.data() + c * d * stride;
        const int64_t b0 = c * kBlockRows, w = std::min(kBlockRows, nb - b0);
        for (int64_t i = g0; i < g1; i += kTileQueries) {
          const float* q[kTileQueries];
          for (int64_t u = 0; u < kTileQueries; ++u) q[u] = qc.data() + rows[std::min(i + u, g1 - 1)] * d;
          block_scores(q, blk, bn.data() + c * stride, d, stride, score.data());
          for (int64_t u = 0; u < kTileQueries && i + u < g1; ++u)
            visit(rows[i + u], score.data() + u * stride, b0, w);
        }
      }
    });
  };

  // Pass 1: top m per query.
  const int64_t m = std::min(nb, k + kExtra);
  std::vector<float> top_v(nq * m, std::numeric_limits<float>::infinity());
  std::vector<int64_t> top_i(nq * m, -1);
  std::vector<int64_t> all_rows(nq);
  for (int64_t i = 0; i < nq; ++i) all_rows[i] = i;
  sweep(all_rows, [&](int64_t i, const float* row, int64_t b0, int64_t w) {
    scan_row(row, w, b0, self_of(i), top_v.data() + i * m, top_i.data() + i * m, m);
  });

  // Settle the certified queries; list the others.
  std::vector<double> limit(nq, 0.0);
  std::vector<char> certified(nq, 1);
  chunked_for(nq, 1024, [&](int64_t i0, int64_t i1) {
    std::vector<std::pair<double, int64_t>> cand;
    for (int64_t i = i0; i < i1; ++i) {
      const float* v = top_v.data() + i * m;
      const int64_t* id = top_i.data() + i * m;
      const bool full = id[m - 1] < 0;  // fewer than m rows exist: all of them are here
      limit[i] = (k <= m ? static_cast<double>(v[std::min(k, m) - 1]) : kInf) + 2.0 * tol_of(i);
      if (!full && !(static_cast<double>(v[m - 1]) > limit[i])) {
        certified[i] = 0;
        continue;
      }
      cand.clear();
      for (int64_t j = 0; j < m && id[j] >= 0; ++j)
        cand.emplace_back(squared_distance(qp + i * d, bp + id[j] * d, d), id[j]);
      finish(i, cand);
    }
  });
  std::vector<int64_t> unsettled;
  for (int64_t i = 0; i < nq; ++i)
    if (!certified[i]) unsettled.push_back(i);
  if (unsettled.empty()) return out;

  // Pass 2: every row within the bound of the k-th, for the unsettled queries.
  std::vector<std::vector<int64_t>> near(nq);
  sweep(unsettled, [&](int64_t i, const float* row, int64_t b0, int64_t w) {
    const double lim = limit[i];
    const int64_t me = self_of(i);
    for (int64_t j = 0; j < w; ++j)
      if (static_cast<double>(row[j]) <= lim && b0 + j != me) near[i].push_back(b0 + j);
  });
  chunked_for(static_cast<int64_t>(unsettled.size()), 16, [&](int64_t u0, int64_t u1) {
    std::vector<std::pair<double, int64_t>> cand;
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t i = unsettled[u];
      cand.clear();
      for (auto j : near[i]) cand.emplace_back(squared_distance(qp + i * d, bp + j * d, d), j);
      finish(i, cand);
      std::vector<int64_t>().swap(near[i]);
    }
  });
  return out;
}

/// exact_search on float32 tensors (the cells' centres): [Q, k] indices and distances.
KnnResult exact_knn(const at::Tensor& base, const at::Tensor& query, int64_t k) {
  const auto b = base.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto q = query.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto r = exact_search<float>(b, q, k, {});
  auto idx = torch::tensor(r.idx, torch::kInt64).view({q.size(0), k});
  auto dist = torch::tensor(r.sq, torch::kFloat64).view({q.size(0), k}).sqrt();
  return {idx, dist};
}

/// Rows on the CPU, contiguous, in their own type: float64 stays float64, anything else float32.
at::Tensor cpu_rows(const at::Tensor& x) {
  return x.to(torch::kCPU, x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32).contiguous();
}
at::Tensor cpu_index(const at::Tensor& t) { return t.to(torch::kCPU, torch::kInt64).contiguous().flatten(); }
at::Tensor index_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64).reshape({static_cast<int64_t>(v.size())});
}

/// Nearest centre of each row by float32 scores (block_scores, then the smallest): a row given
/// a centre that is not quite its nearest only costs the cell search some speed.
std::vector<int64_t> nearest_centre(const at::Tensor& xs, const at::Tensor& centres) {
  const int64_t n = xs.size(0), nc = centres.size(0), d = xs.size(1);
  const int64_t stride = (nc + 31) / 32 * 32;
  const float* cp = centres.data_ptr<float>();
  const float* xp = xs.data_ptr<float>();
  std::vector<float> ct(d * stride, 0.0f), cn(stride, 1e30f);
  for (int64_t r = 0; r < nc; ++r) {
    double n2 = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      ct[j * stride + r] = cp[r * d + j];
      n2 += static_cast<double>(cp[r * d + j]) * cp[r * d + j];
    }
    cn[r] = static_cast<float>(n2);
  }
  std::vector<int64_t> out(n, 0);
  chunked_for(n, kQueryGroup, [&](int64_t i0, int64_t i1) {
    thread_local std::vector<float> score;
    score.resize(kTileQueries * stride);
    for (int64_t i = i0; i < i1; i += kTileQueries) {
      const float* q[kTileQueries];
      for (int64_t u = 0; u < kTileQueries; ++u) q[u] = xp + std::min(i + u, i1 - 1) * d;
      block_scores(q, ct.data(), cn.data(), d, stride, score.data());
      for (int64_t u = 0; u < kTileQueries && i + u < i1; ++u) {
        const float* sc = score.data() + u * stride;
        int64_t best = 0;
        for (int64_t r = 1; r < nc; ++r)
          if (sc[r] < sc[best]) best = r;
        out[i + u] = best;
      }
    }
  });
  return out;
}

/// Rows `rows` of a contiguous [N, D] float32 or float64 matrix, in its type, copied by hand: a
/// torch op here would wake libtorch's OpenMP team, whose spinning then competes with our threads.
at::Tensor gather_rows(const at::Tensor& x, const std::vector<int64_t>& rows) {
  const int64_t d = x.size(1), bytes = d * static_cast<int64_t>(x.element_size());
  auto out = torch::empty({static_cast<int64_t>(rows.size()), d}, x.options());
  const char* src = static_cast<const char*>(x.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  for (size_t i = 0; i < rows.size(); ++i) std::memcpy(dst + i * bytes, src + rows[i] * bytes, bytes);
  return out;
}

/// Calls body(T{}) with T the rows' type, float or double.
template <class Body>
decltype(auto) by_row_type(const at::Tensor& x, const Body& body) {
  if (x.scalar_type() == torch::kFloat64) return body(double{});
  return body(float{});
}

/// A partition of rows into cells of about kCellRows rows around evenly spaced rows. A row joins
/// the nearest centre among those of its nearest coarse group (two levels, so the assignment
/// costs n * 2 sqrt(cells) distances rather than n * cells).
struct Cells {
  std::vector<int64_t> start;  ///< [cells + 1] offsets into rows
  std::vector<int64_t> rows;   ///< row positions, grouped by cell
  at::Tensor centres;          ///< [cells, D] float32
};

Cells make_cells(const at::Tensor& xs) {
  const int64_t n = xs.size(0), cells = std::max<int64_t>(1, n / kCellRows);
  const int64_t groups = std::max<int64_t>(1, static_cast<int64_t>(std::sqrt(static_cast<double>(cells))));
  auto evenly = [](int64_t count, int64_t of) {
    std::vector<int64_t> v(count);
    for (int64_t i = 0; i < count; ++i) v[i] = i * of / count;
    return v;
  };
  const auto group_of = nearest_centre(xs, gather_rows(xs, evenly(groups, n)));
  const int64_t* gp = group_of.data();
  std::vector<std::vector<int64_t>> members(groups);
  for (int64_t i = 0; i < n; ++i) members[gp[i]].push_back(i);
  std::vector<int64_t> cell(n, 0), centre_rows;
  int64_t next = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const auto& mem = members[g];
    const int64_t m = static_cast<int64_t>(mem.size());
    if (m == 0) continue;
    const int64_t sub = std::max<int64_t>(1, m / kCellRows);
    std::vector<int64_t> picks;
    for (auto p : evenly(sub, m)) picks.push_back(mem[p]);
    const auto a = nearest_centre(gather_rows(xs, mem), gather_rows(xs, picks));
    for (int64_t i = 0; i < m; ++i) cell[mem[i]] = next + a[i];
    centre_rows.insert(centre_rows.end(), picks.begin(), picks.end());
    next += sub;
  }
  Cells c;
  c.centres = gather_rows(xs, centre_rows);
  c.start.assign(next + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++c.start[cell[i] + 1];
  for (int64_t i = 0; i < next; ++i) c.start[i + 1] += c.start[i];
  c.rows.resize(n);
  std::vector<int64_t> fill(c.start.begin(), c.start.end() - 1);
  for (int64_t i = 0; i < n; ++i) c.rows[fill[cell[i]]++] = i;
  return c;
}

/// For query positions `qpos` in `xs` ([M, D] contiguous), whether k rows of xs other than the
/// query lie at squared distance strictly below limit_sq: proven by the cell search, so a false
/// means "not shown", never "shown false".
template <class T>
std::vector<char> prove_k_closer(const at::Tensor& xs, const std::vector<int64_t>& qpos,
                                 const std::vector<double>& limit_sq, int64_t k) {
  const int64_t d = xs.size(1), nq = static_cast<int64_t>(qpos.size()), ns = xs.size(0);
  std::vector<char> proven(nq, 0);
  if (nq == 0 || ns <= k) return proven;
  // Cells and the float32 pass only pick rows; the bound comes from the T rows themselves, so a
  // float32 copy of float64 rows serves them (a row it misplaces only costs speed).
  const at::Tensor xs32 = std::is_same_v<T, float> ? xs : xs.to(torch::kFloat32);
  const float* x32 = xs32.data_ptr<float>();
  const T* xp = xs.data_ptr<T>();
  const Cells cells = make_cells(xs32);
  const int64_t n_cells = static_cast<int64_t>(cells.start.size()) - 1;
  // Each cell's rows stored feature-major, so distances to a cell vectorise across its rows.
  std::vector<float> xt(ns * d);
  chunked_for(n_cells, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t b = cells.start[c], m = cells.start[c + 1] - b;
      float* block = xt.data() + b * d;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < d; ++j) block[j * m + i] = x32[cells.rows[b + i] * d + j];
    }
  });
  // Cells by nearness of their centres: the search widens over a cell's nearest cells.
  const int64_t widest = std::min(kProbes[kStages - 1], n_cells);
  const auto cell_nn = exact_knn(cells.centres, cells.centres, widest).indices.contiguous();
  const int64_t* cnp = cell_nn.data_ptr<int64_t>();
  std::vector<int64_t> cell_of(ns);
  for (int64_t c = 0; c < n_cells; ++c)
    for (int64_t r = cells.start[c]; r < cells.start[c + 1]; ++r) cell_of[cells.rows[r]] = c;
  std::vector<std::vector<int64_t>> open_in(n_cells);  // queries by the cell they sit in
  for (int64_t t = 0; t < nq; ++t) open_in[cell_of[qpos[t]]].push_back(t);
  std::vector<int64_t> busy;
  for (int64_t c = 0; c < n_cells; ++c)
    if (!open_in[c].empty()) busy.push_back(c);

  // Each stage bounds the k-th nearest distance of the queries still open by their k nearest
  // rows (picked in float32) among the cells nearest the query's cell; the picked rows are then
  // measured exactly, since any k rows bound the k-th distance from above.
  for (int64_t stage = 0; stage < kStages; ++stage) {
    const int64_t probes = std::min(kProbes[stage], n_cells);
    dynamic_for(static_cast<int64_t>(busy.size()), [&](int64_t bi) {
      thread_local std::vector<float> acc, best_v;
      thread_local std::vector<int64_t> best_j;
      best_v.resize(k);
      best_j.resize(k);
      const int64_t c = busy[bi];
      for (auto t : open_in[c]) {
        if (proven[t]) continue;
        const int64_t self = qpos[t];
        const T* xq = xp + self * d;
        const float* xq32 = x32 + self * d;
        std::fill(best_v.begin(), best_v.end(), std::numeric_limits<float>::infinity());
        std::fill(best_j.begin(), best_j.end(), int64_t(-1));
        TopK top{best_v.data(), best_j.data(), k};
        for (int64_t p = 0; p < probes; ++p) {
          const int64_t cc = cnp[c * widest + p], start = cells.start[cc], m = cells.start[cc + 1] - start;
          acc.assign(m, 0.0f);
          add_squared_distances(xq32, xt.data() + start * d, d, m, acc.data());
          for (int64_t r = 0; r < m; ++r)
            if (acc[r] < best_v[k - 1] && cells.rows[start + r] != self) top.push(acc[r], cells.rows[start + r]);
        }
        if (best_j[k - 1] < 0) continue;
        double u = 0.0;
        for (int64_t r = 0; r < k; ++r) u = std::max(u, squared_distance(xq, xp + best_j[r] * d, d));
        if (u < limit_sq[t]) proven[t] = 1;
      }
    });
  }
  return proven;
}

}  // namespace

KnnResult knn_excluding_self(const at::Tensor& x_in, const at::Tensor& queries_in, int64_t k,
                             const at::Tensor& candidates_in) {
  REBALANCE_CHECK(x_in.dim() == 2, "knn_excluding_self: x must be [N, D], got {}-D", x_in.dim());
  REBALANCE_CHECK(k >= 1, "knn_excluding_self: k must be at least 1, got {}", k);
  const auto x = cpu_rows(x_in);
  const auto queries = cpu_index(queries_in);
  const int64_t q = queries.numel();
  const bool all = !candidates_in.defined();
  const auto cand = all ? at::Tensor() : cpu_index(candidates_in);
  const int64_t m = all ? x.size(0) : cand.numel();
  REBALANCE_CHECK(k <= m, "knn_excluding_self: {} neighbours asked of {} candidate rows", k, m);
  auto out_idx = torch::empty({q, k}, torch::kInt64);
  auto out_dist = torch::empty({q, k}, torch::kFloat64);
  if (q == 0) return {out_idx, out_dist};
  // Shared while a KnnCache lives on this thread (neighbors/cache.hpp).
  auto* cache = KnnCache::active();
  std::string key;
  if (cache) {
    key = KnnCache::key("knn_excluding_self", {x, queries, cand});
    if (auto hit = cache->find(key, k)) return *hit;
  }
  const int64_t* qp = queries.data_ptr<int64_t>();
  const int64_t* cp = all ? nullptr : cand.data_ptr<int64_t>();
  // The query's own row, as a position among the candidates, is skipped by the search.
  std::vector<int64_t> self(q, -1);
  for (int64_t i = 0; i < q; ++i) {
    if (!cp) {
      self[i] = qp[i];
    } else {
      const int64_t* at = std::lower_bound(cp, cp + m, qp[i]);
      if (at != cp + m && *at == qp[i]) self[i] = at - cp;
    }
  }
  const std::vector<int64_t> qrows(qp, qp + q);
  const auto r = by_row_type(x, [&](auto t) {
    return exact_search<decltype(t)>(all ? x : gather_rows(x, std::vector<int64_t>(cp, cp + m)), gather_rows(x, qrows),
                                     k, self);
  });
  int64_t* oi = out_idx.data_ptr<int64_t>();
  double* od = out_dist.data_ptr<double>();
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const int64_t p = r.idx[i * k + j];
      REBALANCE_CHECK(p >= 0, "knn_excluding_self: row {} has fewer than {} candidate neighbours besides itself", qp[i],
                      k);
      oi[i * k + j] = cp ? cp[p] : p;
      od[i * k + j] = std::sqrt(r.sq[i * k + j]);
    }
  if (cache) cache->store(key, {out_idx, out_dist});
  return {out_idx, out_dist};
}

at::Tensor k_closer_than(const at::Tensor& x_in, const at::Tensor& pool_in, const at::Tensor& queries_in,
                         const at::Tensor& limit_sq_in, int64_t k) {
  REBALANCE_CHECK(x_in.dim() == 2, "k_closer_than: x must be [N, D], got {}-D", x_in.dim());
  REBALANCE_CHECK(k >= 1, "k_closer_than: k must be at least 1, got {}", k);
  const auto x = cpu_rows(x_in);
  const auto pool = cpu_index(pool_in);
  const auto queries = cpu_index(queries_in);
  const auto limit = limit_sq_in.to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  const int64_t q = queries.numel(), np = pool.numel();
  REBALANCE_CHECK(limit.numel() == q, "k_closer_than: {} queries but {} limits", q, limit.numel());
  const int64_t* pp = pool.data_ptr<int64_t>();
  const int64_t* qp = queries.data_ptr<int64_t>();
  std::vector<int64_t> qpos(q);
  for (int64_t t = 0; t < q; ++t) {
    const int64_t* at = std::lower_bound(pp, pp + np, qp[t]);
    REBALANCE_CHECK(at != pp + np && *at == qp[t], "k_closer_than: query row {} is not in the pool", qp[t]);
    qpos[t] = at - pp;
  }
  const std::vector<double> lim(limit.data_ptr<double>(), limit.data_ptr<double>() + q);
  const auto proven = by_row_type(x, [&](auto t) {
    return prove_k_closer<decltype(t)>(gather_rows(x, std::vector<int64_t>(pp, pp + np)), qpos, lim, k);
  });
  auto out = torch::zeros({q}, torch::kBool);
  std::copy(proven.begin(), proven.end(), out.data_ptr<bool>());
  return out;
}

NeighbourhoodScreen screen_neighbourhoods(const at::Tensor& x_in, const at::Tensor& y_in, const at::Tensor& queries_in,
                                          int64_t k) {
  REBALANCE_CHECK(x_in.dim() == 2, "screen_neighbourhoods: x must be [N, D], got {}-D", x_in.dim());
  const auto x = cpu_rows(x_in);
  const auto y = cpu_index(y_in);
  const auto queries = cpu_index(queries_in);
  const int64_t n = x.size(0), q = queries.numel();
  REBALANCE_CHECK(y.numel() == n, "screen_neighbourhoods: {} rows but {} labels", n, y.numel());
  REBALANCE_CHECK(k >= 1 && k <= n - 1, "screen_neighbourhoods: k must be in [1, {}] (rows - 1), got {}", n - 1, k);
  NeighbourhoodScreen out{torch::zeros({q}, torch::kBool), torch::full({q, k}, int64_t(-1), torch::kInt64)};
  if (q == 0) return out;
  const int64_t* yp = y.data_ptr<int64_t>();
  const int64_t* qp = queries.data_ptr<int64_t>();
  bool* mixed = out.mixed.data_ptr<bool>();
  int64_t* oi = out.indices.data_ptr<int64_t>();

  std::map<int64_t, std::vector<int64_t>> by_label;  // label -> query positions
  for (int64_t t = 0; t < q; ++t) by_label[yp[qp[t]]].push_back(t);
  for (const auto& [label, js] : by_label) {
    std::vector<int64_t> same, other;
    for (int64_t i = 0; i < n; ++i) (yp[i] == label ? same : other).push_back(i);
    if (other.empty()) continue;
    const int64_t nq = static_cast<int64_t>(js.size()), ns = static_cast<int64_t>(same.size());
    std::vector<int64_t> todo;
    // The screen pays for a search against the other labels and a partition of this one; it
    // wins when the other labels are the smaller part and this one is queried at scale.
    const bool screen = ns > k + 1 && 2 * static_cast<int64_t>(other.size()) <= n &&
                        static_cast<double>(ns) * ns / kCellRows < 0.5 * static_cast<double>(nq) * n;
    if (!screen) {
      todo = js;
    } else {
      std::vector<int64_t> qrows(nq), qpos(nq);
      for (int64_t t = 0; t < nq; ++t) {
        qrows[t] = qp[js[t]];
        qpos[t] = std::lower_bound(same.begin(), same.end(), qrows[t]) - same.begin();
      }
      // A row is pure when k same-label rows lie strictly closer than its nearest other-label row.
      const auto nearest_other = by_row_type(
          x, [&](auto t) { return exact_search<decltype(t)>(gather_rows(x, other), gather_rows(x, qrows), 1, {}); });
      const auto proven = by_row_type(
          x, [&](auto t) { return prove_k_closer<decltype(t)>(gather_rows(x, same), qpos, nearest_other.sq, k); });
      for (int64_t t = 0; t < nq; ++t)
        if (!proven[t]) todo.push_back(js[t]);
    }
    if (todo.empty()) continue;
    std::vector<int64_t> rows(todo.size());
    for (size_t t = 0; t < todo.size(); ++t) rows[t] = qp[todo[t]];
    const auto r = knn_excluding_self(x, index_tensor(rows), k);
    const int64_t* ri = r.indices.data_ptr<int64_t>();
    for (size_t t = 0; t < todo.size(); ++t) {
      bool any = false;
      for (int64_t j = 0; j < k; ++j) any |= yp[ri[t * k + j]] != label;
      mixed[todo[t]] = any;
      if (any) std::copy(ri + t * k, ri + (t + 1) * k, oi + todo[t] * k);
    }
  }
  return out;
}

}  // namespace rebalance::neighbors
