#include "rebalance/under_sampling/common.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "rebalance/core/error.hpp"

namespace rebalance::under_sampling {

at::Tensor cpu_features(const Dataset& data) {
  const auto t = data.x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  return data.x2d().to(torch::kCPU, t).contiguous();
}

std::vector<int64_t> cpu_labels(const Dataset& data) {
  const auto y = data.y.to(torch::kCPU, torch::kInt64).contiguous();
  return std::vector<int64_t>(y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + y.numel());
}

int64_t first_minority_class(const std::vector<int64_t>& y, int64_t num_classes) {
  std::vector<int64_t> count(num_classes, 0);
  for (auto v : y) ++count[v];
  int64_t best = -1;
  std::vector<char> seen(num_classes, 0);
  for (auto v : y) {
    if (seen[v]) continue;
    seen[v] = 1;
    if (best < 0 || count[v] < count[best]) best = v;
  }
  REBALANCE_CHECK(best >= 0, "no rows, so no minority class");
  return best;
}

std::vector<int64_t> class_rows(const std::vector<int64_t>& y, int64_t c) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < static_cast<int64_t>(y.size()); ++i)
    if (y[i] == c) rows.push_back(i);
  return rows;
}

KindSel parse_kind_sel(const std::string& text, std::string_view sampler) {
  if (text == "all") return KindSel::All;
  if (text == "mode") return KindSel::Mode;
  REBALANCE_THROW("{}: kind_sel must be one of all, mode; got \"{}\"", sampler, text);
}

const char* to_string(KindSel kind) { return kind == KindSel::All ? "all" : "mode"; }

int64_t mode_label(const int64_t* labels, int64_t k) {
  int64_t best = -1, best_count = 0;
  for (int64_t i = 0; i < k; ++i) {
    int64_t c = 0;
    for (int64_t j = 0; j < k; ++j) c += labels[j] == labels[i];
    if (c > best_count || (c == best_count && labels[i] < best)) {
      best = labels[i];
      best_count = c;
    }
  }
  return best;
}

}  // namespace rebalance::under_sampling
