// Force-included into src/neighbors/knn.cpp in the fuzz build only: that kernel uses GCC's
// __builtin_shuffle(vector, mask), which clang does not have (its __builtin_shufflevector wants the
// lane numbers as separate constants). The variadic macro glues the braced mask back together, so
// __builtin_shuffle(v, I16{8, 9, ...}) becomes a lane-by-lane permutation in a statement
// expression: no function call, so no vector passed across the AVX2/AVX-512 target boundary. Not
// fast, and need not be: the fuzzers never reach the kNN kernels, they only have to link them.
#pragma once

#if defined(__clang__) && !__has_builtin(__builtin_shuffle)
#define __builtin_shuffle(v, ...)                                               \
  ({                                                                            \
    const auto rebalance_v_ = (v);                                              \
    const auto rebalance_m_ = __VA_ARGS__;                                      \
    constexpr int rebalance_n_ = sizeof(rebalance_v_) / sizeof(rebalance_v_[0]); \
    auto rebalance_r_ = rebalance_v_;                                           \
    for (int i_ = 0; i_ < rebalance_n_; ++i_)                                   \
      rebalance_r_[i_] = rebalance_v_[rebalance_m_[i_] & (rebalance_n_ - 1)];   \
    rebalance_r_;                                                               \
  })
#endif
