// The AVX2 register tile shared by the kNN scan (knn.cpp) and the exact search's scores
// (search.cpp): 4 queries x 16 base rows in 8 ymm accumulators, leaving room for two base loads
// and a broadcast in AVX2's 16 registers (a 16-float-vector tile of 8 queries spills there).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include <cstdint>

namespace rebalance::neighbors::detail {

/// acc[u][h] += q_u[j] * b[j * stride + 8 h .. 8 h + 7] for j in [0, d), one multiply-add each
/// (the base stored feature-major, 16 consecutive rows per feature).
__attribute__((target("avx2,fma"), always_inline)) inline void avx2_tile_4x16(const float* const (&q)[4],
                                                                             const float* b, int64_t stride,
                                                                             int64_t d, __m256 (&acc)[4][2]) {
  __m256 a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
  __m256 a20 = acc[2][0], a21 = acc[2][1], a30 = acc[3][0], a31 = acc[3][1];
  for (int64_t j = 0; j < d; ++j) {
    const __m256 v0 = _mm256_loadu_ps(b + j * stride), v1 = _mm256_loadu_ps(b + j * stride + 8);
    __m256 x = _mm256_broadcast_ss(q[0] + j);
    a00 = _mm256_fmadd_ps(x, v0, a00), a01 = _mm256_fmadd_ps(x, v1, a01);
    x = _mm256_broadcast_ss(q[1] + j);
    a10 = _mm256_fmadd_ps(x, v0, a10), a11 = _mm256_fmadd_ps(x, v1, a11);
    x = _mm256_broadcast_ss(q[2] + j);
    a20 = _mm256_fmadd_ps(x, v0, a20), a21 = _mm256_fmadd_ps(x, v1, a21);
    x = _mm256_broadcast_ss(q[3] + j);
    a30 = _mm256_fmadd_ps(x, v0, a30), a31 = _mm256_fmadd_ps(x, v1, a31);
  }
  acc[0][0] = a00, acc[0][1] = a01, acc[1][0] = a10, acc[1][1] = a11;
  acc[2][0] = a20, acc[2][1] = a21, acc[3][0] = a30, acc[3][1] = a31;
}

}  // namespace rebalance::neighbors::detail

#endif
