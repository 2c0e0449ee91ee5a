// NumPy .npy files, read and written, so data and predictions move between rebalance and Python.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace rebalance {

/// Read a .npy file (format 1.0-3.0, little-endian or byte-sized, C or Fortran order) of dtype
/// float32, float64, int64, int32, uint8 or bool into a CPU tensor of the same dtype and shape.
/// Error names the file and what is wrong (magic, header, dtype, size).
at::Tensor read_npy(const std::string& path);

/// Write a tensor (float32, float64, int64, int32, uint8 or bool) as .npy, atomically.
void write_npy(const std::string& path, const at::Tensor& t);

}  // namespace rebalance
