// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Read an unsigned-byte IDX file (magic 0x0000080N, N dimensions), plain or .gz, into a uint8
/// tensor of the stored shape. Error names the file and the bad magic or the missing byte count.
at::Tensor read_idx(const std::string& path);

/// Images + labels IDX pair -> Dataset with x [N, 1, H, W] float32 in [0, 1] and y [N] int64.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names, std::string name);

}  // namespace rebalance
