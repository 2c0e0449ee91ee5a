// Large CPU buffers for sampler outputs. A fresh 100+ MB tensor costs more in page faults than
// in the work that fills it (measured: a third of SMOTE's time at 1M x 30); buffers asked for
// here are 2 MB-aligned and advised to use transparent huge pages, 512x fewer faults.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace rebalance {

/// An uninitialised contiguous CPU tensor, like torch::empty; from 64 MiB up its memory is
/// 2 MiB-aligned and madvise(MADV_HUGEPAGE)d (a hint: where the kernel has transparent huge
/// pages off it is ordinary memory). Freed with the tensor. REBALANCE_HUGE_PAGES=0 turns it off.
at::Tensor empty_large(const std::vector<int64_t>& shape, at::ScalarType dtype);

/// Keep freed buffers of up to 64 MiB in the process heap for reuse (glibc's mallopt), instead
/// of returning them to the kernel and faulting fresh pages in on the next sampler call: the
/// CLI and the experiment runner resample the same sizes again and again.
void configure_memory();

}  // namespace rebalance
