// NumPy .npy files, read and written, so data and predictions move between rebalance and Python.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace rebalance {

/// Read a .npy file (format 1.0-3.0, little-endian or byte-sized, C or Fortran order) of dtype
/// float32, float64, int64, int32, uint8 or bool into a CPU tensor of the same dtype and shape.
/// Error names the file and what is wrong (magic, header, dtype, big-endian, truncated payload).
at::Tensor read_npy(const std::string& path);

/// Where a .npy file's array lies, from its header alone (the payload is not read): for readers
/// that map the file in windows (data/chunked.hpp). Errors as read_npy's.
struct NpyLayout {
  std::string descr;           ///< '<f4', '<i8', '|b1', ...
  std::vector<int64_t> shape;
  bool fortran = false;
  size_t offset = 0;           ///< first payload byte
  size_t file_size = 0;
};
NpyLayout read_npy_layout(const std::string& path);

/// The bytes of a format 1.0 header for a C-order array (magic, version, length, dict, padding to
/// 64 bytes), as write_npy writes it.
std::string npy_header_bytes(const std::string& descr, const std::vector<int64_t>& shape);

/// Write a tensor (float32, float64, int64, int32, uint8 or bool) as .npy, atomically.
void write_npy(const std::string& path, const at::Tensor& t);

/// A labels .npy: 1-D of any integer, bool, float or unicode-string dtype ('<U'), as classes.
struct NpyLabels {
  at::Tensor y;                          ///< [N] int64 class of each row
  std::vector<std::string> class_names;  ///< sorted distinct values, as text ("3", "1.5", "True", "cat")
  std::string descr;                     ///< the file's dtype ('<i8', '<U5', ...), to write back in
};
NpyLabels read_npy_labels(const std::string& path);

/// Write labels back as values of `descr` (from read_npy_labels; '<i8' when the names are
/// integers and no dtype is known, '<U' strings otherwise): classes -> the original values.
void write_npy_labels(const std::string& path, const at::Tensor& y, const std::vector<std::string>& class_names,
                      std::string descr = "");

}  // namespace rebalance
