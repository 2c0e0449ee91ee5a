// Transfer learning from a TorchScript backbone: any network a user exports with
// torch.jit.trace / torch.jit.script (or `rebalance pretrain`) becomes a feature extractor under a
// new linear head; frozen, only the head trains (seed 001: "only the last layer is made
// trainable"), unfrozen, the whole network fine-tunes (seed 002: ResNet-50 frozen, then unfrozen).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "rebalance/models/classifier.hpp"

namespace rebalance::models {

/// backbone(x) -> features [B, F] (a [B, F, 1, 1] map is flattened), then Linear(F, C).
///
///   auto m = make_model("backbone:path=fmnist_cnn.pt,freeze=true", {1, 28, 28}, 200, 0);
///   auto* b = dynamic_cast<BackboneClassifierImpl*>(m.get());
///   b->set_frozen(false);  // fine-tune everything from here on
class BackboneClassifierImpl : public Classifier {
 public:
  /// Load `path` and probe it with one zero input of `input_shape`: Error naming the file when
  /// it cannot be read, does not accept such inputs, or returns anything but features [1, F].
  BackboneClassifierImpl(const std::string& path, const std::vector<int64_t>& input_shape, int64_t num_classes,
                         bool frozen);
  torch::Tensor forward(torch::Tensor x) override;
  /// The backbone's features [B, F] (no head).
  torch::Tensor features(torch::Tensor x) override;
  torch::nn::Linear head() override { return head_; }
  void train(bool on = true) override;
  using Classifier::to;
  /// Moves the TorchScript module too (its constants as well as the shared parameters).
  void to(torch::Device device, bool non_blocking = false) override;
  /// Frozen: the backbone's parameters take no gradient and it runs in evaluation mode (batch
  /// norm statistics and dropout fixed), so only the head learns.
  void set_frozen(bool frozen);
  bool frozen() const { return frozen_; }
  int64_t feature_dim() const { return feature_dim_; }
  /// The backbone's parameters (as registered in this module, shared with the TorchScript module).
  std::vector<torch::Tensor> backbone_parameters() const;

 private:
  torch::jit::Module backbone_;
  torch::nn::Linear head_{nullptr};
  std::vector<std::string> backbone_names_;
  int64_t feature_dim_ = 0;
  bool frozen_ = false;
};
TORCH_MODULE(BackboneClassifier);

/// Features [N, F] of `x` ([N, ...] rows the backbone accepts) from the TorchScript file `path`,
/// in evaluation mode, in batches, as float32 on the CPU.
torch::Tensor embed(const std::string& path, const torch::Tensor& x, int64_t batch_size = 256,
                    torch::Device device = torch::kCPU);

/// A small CNN backbone written as TorchScript (3x3 conv-ReLU-maxpool blocks of `channels`,
/// then a ReLU layer of `features`), with weights initialised from `seed`: trained by
/// `rebalance pretrain` and saved with torch::jit::Module::save, loadable by torch.jit.load.
torch::jit::Module make_cnn_backbone(const std::vector<int64_t>& input_shape, const std::vector<int64_t>& channels,
                                     int64_t features, uint64_t seed);

}  // namespace rebalance::models
