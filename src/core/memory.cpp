#include "rebalance/core/memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <torch/torch.h>

#include <cstdlib>
#include <numeric>

#include "rebalance/core/error.hpp"

namespace rebalance {

at::Tensor empty_large(const std::vector<int64_t>& shape, at::ScalarType dtype) {
  constexpr size_t kHuge = size_t(2) << 20, kThreshold = size_t(64) << 20;
  const int64_t numel = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
  const size_t bytes = static_cast<size_t>(numel) * c10::elementSize(dtype);
  static const bool enabled = [] {
    const char* v = std::getenv("REBALANCE_HUGE_PAGES");
    return !(v && std::string(v) == "0");
  }();
  if (!enabled || bytes < kThreshold) return torch::empty(shape, torch::TensorOptions().dtype(dtype));
  // Below 64 MiB glibc serves (and re-serves) buffers from its heap; above it every buffer is a
  // fresh mmap whose pages fault in on first touch, which is where huge pages pay.
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
  REBALANCE_CHECK(p != nullptr, "out of memory: could not allocate {} MiB", rounded >> 20);
#ifdef MADV_HUGEPAGE
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint; failure only costs speed
#endif
  return torch::from_blob(p, shape, [](void* q) { std::free(q); }, torch::TensorOptions().dtype(dtype));
}

void configure_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

}  // namespace rebalance
