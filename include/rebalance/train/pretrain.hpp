// Pre-training a backbone on a balanced source task (all 60,000 Fashion-MNIST training images,
// say) and exporting it as TorchScript: the stand-in for ImageNet weights, which cannot be
// downloaded here, for transfer learning (`train --backbone`, `embed`).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance::train {

struct PretrainOptions {
  std::vector<int64_t> channels = {32, 64};  ///< conv blocks (3x3 conv, ReLU, 2x2 max-pool)
  int64_t features = 128;                    ///< width of the feature layer the backbone returns
  int64_t epochs = 3;
  int64_t batch_size = 128;
  double lr = 1e-3;                          ///< Adam
  uint64_t seed = 0;
  std::string device = "cpu";
};

struct PretrainResult {
  std::vector<double> epoch_loss;
  double test_accuracy = -1;  ///< on `test` with the source head, when a test set was given
};

/// Train make_cnn_backbone(...) plus a linear head on `source` (images), report accuracy on
/// `test` (may be empty) and write the backbone alone, without the head, to `path` as a
/// TorchScript archive (atomically). Seeded: the same seed gives the same file.
PretrainResult pretrain_backbone(const Dataset& source, const Dataset& test, const PretrainOptions& o,
                                 const std::string& path, std::ostream& log);

}  // namespace rebalance::train
