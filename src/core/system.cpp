#include "rebalance/core/system.hpp"

#include <dlfcn.h>
#include <link.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

namespace rebalance {

namespace {

int collect_library(dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (info->dlpi_name && *info->dlpi_name) out->push_back(info->dlpi_name);
  return 0;
}

}  // namespace

int configure_threads(int threads) {
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int n = threads > 0 ? threads : hw;
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

  // libtorch's BLAS is whatever libblas.so.3 resolves to at load time (Debian alternatives), so
  // ask the dynamic linker rather than the build configuration.
  std::vector<std::string> libs;
  dl_iterate_phdr(collect_library, &libs);
  for (const auto& lib : libs) {
    std::error_code ec;
    const auto real = std::filesystem::canonical(lib, ec).string();
    const auto& path = ec ? lib : real;
    const bool is_blas = path.find("blas") != std::string::npos || path.find("libmkl") != std::string::npos;
    if (!is_blas) continue;
    s.blas_library = path;
    if (path.find("openblas") != std::string::npos) {
      s.blas_kind = "openblas";
      break;
    }
    if (path.find("mkl") != std::string::npos) {
      s.blas_kind = "mkl";
      break;
    }
    if (path.find("/blas/") != std::string::npos || path.find("libblas.so") != std::string::npos)
      s.blas_kind = "reference";
  }
  if (s.blas_kind.empty()) s.blas_kind = "unknown";
  s.slow_blas = s.blas_kind == "reference";
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) s.openblas_config = fn();

  if (measure_gemm) {
    torch::NoGradGuard no_grad;
    const int64_t n = 512;
    auto a = torch::rand({n, n}), b = torch::rand({n, n});
    auto c = torch::mm(a, b);  // warm up the pool
    const int reps = 5;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) c = torch::mm(a, b);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.gemm_gflops = 2.0 * n * n * n * reps / secs / 1e9;
  }
  return s;
}

}  // namespace rebalance
