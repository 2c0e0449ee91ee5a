#include "rebalance/core/system.hpp"

#include <dlfcn.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace rebalance {

int configure_threads(int threads) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int n = threads > 0 ? threads : hw;
  if (const char* env = std::getenv("REBALANCE_THREADS"); threads <= 0 && env && std::atoi(env) > 0) n = std::atoi(env);
  torch::set_num_threads(n);
  return n;
}

SystemInfo system_info(bool measure_gemm) {
  SystemInfo s;
  s.rebalance_version = REBALANCE_VERSION;
  s.torch_version = TORCH_VERSION;
  s.threads = torch::get_num_threads();
  s.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  s.cuda_available = torch::cuda::is_available();

  // libtorch's BLAS is whatever libblas.so.3 resolves to at load time (Debian alternatives,
  // LD_LIBRARY_PATH), so ask the dynamic linker which object provides sgemm_, not the build.
  if (void* sym = dlsym(RTLD_DEFAULT, "sgemm_")) {
    Dl_info info{};
    if (dladdr(sym, &info) && info.dli_fname) {
      std::error_code ec;
      const auto real = std::filesystem::canonical(info.dli_fname, ec);
      s.blas_library = ec ? info.dli_fname : real.string();
    }
  }
  const auto& path = s.blas_library;
  if (path.find("openblas") != std::string::npos) {
    s.blas_kind = "openblas";
  } else if (path.find("mkl") != std::string::npos) {
    s.blas_kind = "mkl";
  } else if (path.find("/blas/") != std::string::npos || path.find("libblas.so") != std::string::npos) {
    s.blas_kind = "reference";
  }
  if (s.blas_kind.empty()) s.blas_kind = "unknown";
  s.slow_blas = s.blas_kind == "reference";
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
      fn && s.blas_kind == "openblas")
    s.openblas_config = fn();

  if (measure_gemm) {
    torch::NoGradGuard no_grad;
    const int64_t n = 1024;
    auto a = torch::rand({n, n}), b = torch::rand({n, n});
    auto c = torch::mm(a, b);  // warm up the pool
    const int reps = 3;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.gemm_gflops = 2.0 * n * n * n * reps / secs / 1e9;
  }
  return s;
}

}  // namespace rebalance
