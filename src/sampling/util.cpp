#include "rebalance/sampling/util.hpp"

#include <torch/torch.h>

#include "rebalance/core/error.hpp"

namespace rebalance {

at::Tensor to_index_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kInt64).reshape({static_cast<int64_t>(v.size())});
}

std::vector<int64_t> to_index_vector(const at::Tensor& t) {
  const auto c = t.to(torch::kCPU, torch::kInt64).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

Dataset keep_rows(const Dataset& data, const std::vector<int64_t>& rows) { return data.subset(to_index_tensor(rows)); }

std::vector<int64_t> rows_of_class(const Dataset& data, int64_t c) { return to_index_vector(data.indices_of(c)); }

Dataset append_synthetic(const Dataset& data, const at::Tensor& x_new, const at::Tensor& y_new,
                         const at::Tensor& parent_rows) {
  const int64_t m = y_new.size(0);
  REBALANCE_CHECK(x_new.size(0) == m && parent_rows.size(0) == m, "append_synthetic: {} rows, {} labels, {} parents",
                  x_new.size(0), m, parent_rows.size(0));
  if (m == 0) return data;
  auto shape = data.feature_shape();
  shape.insert(shape.begin(), m);
  Dataset extra = data;
  extra.x = x_new.to(data.x.device(), data.x.scalar_type()).reshape(shape);  // the data's dtype
  extra.y = y_new.to(data.y.device(), torch::kInt64);
  extra.origin = torch::full({m}, int64_t(-1), extra.y.options());
  // Parent positions -> parents' origin ids (-1 stays -1).
  const auto pos = parent_rows.to(data.y.device(), torch::kInt64);
  const auto valid = pos >= 0;
  const auto safe = torch::where(valid, pos, torch::zeros_like(pos));
  const auto ids = data.origin.index_select(0, safe.flatten()).view_as(pos);
  extra.parents = torch::where(valid, ids, torch::full_like(pos, -1));
  return Dataset::concat(data, extra);
}

}  // namespace rebalance
