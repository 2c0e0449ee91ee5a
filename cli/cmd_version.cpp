#include <iostream>

#include "commands.hpp"
#include "rebalance/core/system.hpp"

namespace rebalance::cli {

void add_version_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("version", "print versions, threads and the BLAS libtorch uses");
  cmd->callback([&action] {
    action = [] {
      const auto s = system_info();
      std::cout << "rebalance " << s.rebalance_version << "\n"
                << "libtorch  " << s.torch_version << (s.cuda_available ? " (CUDA available)" : " (CPU)") << "\n"
                << "threads   " << s.threads << " of " << s.hardware_threads << " hardware threads\n"
                << "blas      " << s.blas_kind << " (" << (s.blas_library.empty() ? "not found" : s.blas_library)
                << ")\n";
      if (!s.openblas_config.empty()) std::cout << "openblas  " << s.openblas_config << "\n";
      std::cout << fmt::format("gemm      {:.1f} GFLOP/s (float32, 1024x1024)\n", s.gemm_gflops);
      if (s.slow_blas)
        std::cerr << "WARNING: libtorch is running on the reference BLAS (" << s.blas_library
                  << "): training is ~20x slower.\n"
                  << "WARNING: run scripts/setup, or: apt-get install libopenblas0-openmp && "
                     "update-alternatives --config libblas.so.3-x86_64-linux-gnu\n";
    };
  });
}

}  // namespace rebalance::cli
