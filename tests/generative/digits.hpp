// Real images for the generator tests: the first n MNIST digits of each named class of the
// bundled set, relabelled 0, 1, ... in the order given.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "rebalance/data/registry.hpp"

namespace rebalance::testing {

inline Dataset digit_classes(const std::vector<std::pair<std::string, int64_t>>& classes) {
  const auto all = load_builtin("mnist-digits");
  std::vector<at::Tensor> xs, ys;
  std::vector<std::string> names;
  int64_t label = 0;
  for (const auto& [name, n] : classes) {
    const auto rows = all.indices_of(all.class_index(name)).slice(0, 0, n);
    xs.push_back(all.x.index_select(0, rows));
    ys.push_back(torch::full({n}, label++, torch::kInt64));
    names.push_back(name);
  }
  return Dataset::from_tensors(torch::cat(xs), torch::cat(ys), names, "mnist digits");
}

/// 200 zeros and 20 sixes.
inline Dataset zeros_and_sixes() { return digit_classes({{"0", 200}, {"6", 20}}); }

}  // namespace rebalance::testing
