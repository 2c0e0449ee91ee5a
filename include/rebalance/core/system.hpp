// What the machine gives rebalance: threads, the BLAS libtorch really calls, versions. The CLI
// sets threads once at start and `rebalance version` prints this, warning on the slow BLAS.
#pragma once

#include <string>

namespace rebalance {

/// Use every hardware thread (or `threads` if > 0, else $REBALANCE_THREADS if set) for libtorch's
/// intra-op pool.
/// Returns the number set.
int configure_threads(int threads = 0);

struct SystemInfo {
  std::string rebalance_version;
  std::string torch_version;
  int threads = 0;            ///< libtorch intra-op threads
  int hardware_threads = 0;
  std::string blas_library;   ///< resolved path of the loaded BLAS shared object
  std::string blas_kind;      ///< "openblas", "mkl", "reference", "unknown"
  std::string openblas_config;
  bool slow_blas = false;     ///< the reference (netlib) BLAS: ~20x slower training
  double gemm_gflops = 0.0;   ///< measured float32 GEMM throughput
  bool cuda_available = false;
};

/// Inspect the running process (loaded libraries, libtorch settings) and time a small GEMM.
SystemInfo system_info(bool measure_gemm = true);

}  // namespace rebalance
