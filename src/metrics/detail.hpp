// Input checks shared by the metrics sources; private to src/metrics.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebalance::metrics {

namespace detail {
// Shared by the metrics sources, not part of the API: validate a [N] label tensor (integer
// dtype, 1-D, N > 0, values in 0..n_classes-1; `name` is used in messages) and return its values.
std::vector<int64_t> read_labels(const at::Tensor& labels, int64_t n_classes, std::string_view name);
// "[N, C]" for error messages.
std::string shape_of(const at::Tensor& t);
}  // namespace detail

}  // namespace rebalance::metrics
