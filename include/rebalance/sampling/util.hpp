// Building blocks shared by sampler implementations: keeping rows, appending synthetic rows with
// their provenance, per-class index lists.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Rows at positions `rows` (in this order), origin and parents carried over.
Dataset keep_rows(const Dataset& data, const std::vector<int64_t>& rows);

/// `data` followed by synthetic rows `x_new` ([M, D] or [M, ...feature shape], stored in data's
/// dtype) of labels `y_new` ([M] int64). `parent_rows` ([M, 2] int64) are *positions* in `data`
/// (-1 for none); they are stored as the parents' origin ids, so provenance survives chains of
/// samplers.
Dataset append_synthetic(const Dataset& data, const at::Tensor& x_new, const at::Tensor& y_new,
                         const at::Tensor& parent_rows);

/// Positions of class c's rows, ascending.
std::vector<int64_t> rows_of_class(const Dataset& data, int64_t c);

/// Tensor <-> vector conveniences for index lists.
at::Tensor to_index_tensor(const std::vector<int64_t>& v);
std::vector<int64_t> to_index_vector(const at::Tensor& t);

}  // namespace rebalance
