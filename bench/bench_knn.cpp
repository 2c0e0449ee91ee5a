// Times the exact kNN engine: rebalance_bench_knn N D Q K
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "rebalance/core/system.hpp"
#include "rebalance/neighbors/knn.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s N D Q K\n", argv[0]);
    return 2;
  }
  const int64_t n = std::atoll(argv[1]), d = std::atoll(argv[2]), q = std::atoll(argv[3]), k = std::atoll(argv[4]);
  rebalance::configure_threads();
  torch::manual_seed(0);
  const auto base = torch::randn({n, d});
  const auto query = base.slice(0, 0, q);
  // WARM=n: n untimed calls first (thread pools, BLAS buffers), for profiling the steady state.
  for (int i = 0, w = std::getenv("WARM") ? std::atoi(std::getenv("WARM")) : 0; i < w; ++i)
    (void)rebalance::neighbors::knn(base, query, k);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = rebalance::neighbors::knn(base, query, k);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("knn N=%lld D=%lld Q=%lld k=%lld: %.3f s (%.1f GFLOP/s GEMM-equivalent)\n", (long long)n, (long long)d,
              (long long)q, (long long)k, s, 2.0 * n * q * d / s / 1e9);
  return r.indices.size(0) == q ? 0 : 1;
}
