// Classifiers as libtorch modules (logistic regression, MLP, LeNet, CIFAR-style ResNet) behind
// one base class and a string factory: make_model("mlp:hidden=[512,256],dropout=0.2", ...).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rebalance/core/spec.hpp"

namespace rebalance::models {

/// A classifier maps a batch of inputs [B, ...feature shape] to logits [B, num_classes].
class Classifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// The logits and the last convolutional feature map [B, K, h, w] they are computed from, for
  /// Grad-CAM (models/saliency.hpp). Models without convolutions return an undefined map.
  virtual std::pair<torch::Tensor, torch::Tensor> forward_with_features(torch::Tensor x) { return {forward(x), {}}; }
  /// The features [B, F] the final linear layer reads: forward(x) == head()(features(x)). Decoupled
  /// training (train/decouple.hpp) retrains or rescales the head on them.
  /// A model without such a head refuses, naming itself.
  virtual torch::Tensor features(torch::Tensor x);
  /// The final linear layer (weight [C, F], bias [C]), shared with the model.
  virtual torch::nn::Linear head();
  /// The factory string it was built from, for checkpoints and summaries.
  const std::string& spec() const { return spec_; }
  void set_spec(std::string spec) { spec_ = std::move(spec); }
  /// True when the logits are the cosines between the L2-normalised features and the
  /// L2-normalised rows of the head's weight (`head=cosine`: Cao et al. 2019's NormedLinear, what
  /// LDAM's scale s=30 is meant for). They lie in [-1, 1]; the head's bias is not used.
  bool cosine_head() const { return cosine_head_; }
  /// Switch to cosine logits: the head's bias is zeroed and takes no gradient from here on.
  void use_cosine_head();

 protected:
  /// This model's logits from its features and head: head(features), or the cosines.
  torch::Tensor apply_head(const torch::Tensor& features, torch::nn::Linear head) const;

 private:
  std::string spec_;
  bool cosine_head_ = false;
};

/// The cosines between the rows of `features` [B, F] and of `weight` [C, F], [B, C] (rows of
/// norm 0 give 0).
torch::Tensor cosine_logits(const torch::Tensor& features, const torch::Tensor& weight);

/// Multinomial logistic regression: one linear layer on the flattened input.
class LogisticRegressionImpl : public Classifier {
 public:
  LogisticRegressionImpl(int64_t in_features, int64_t num_classes);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor features(torch::Tensor x) override;
  torch::nn::Linear head() override;

 private:
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(LogisticRegression);

/// Multi-layer perceptron: Linear-ReLU-Dropout blocks of the given widths, then a linear head.
///   MLP net(784, {512, 256}, 10, 0.2);   // the 784-512-256-10 benchmark network
class MLPImpl : public Classifier {
 public:
  /// negative_slope 0: ReLU; > 0: LeakyReLU with that slope (seed 003's classifier: 0.1).
  MLPImpl(int64_t in_features, std::vector<int64_t> hidden, int64_t num_classes, double dropout,
          double negative_slope = 0.0);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor features(torch::Tensor x) override;
  torch::nn::Linear head() override;

 private:
  torch::nn::Sequential body_{nullptr};
};
TORCH_MODULE(MLP);

/// LeNet-5-style CNN for 28x28 images (LeCun et al., Proc. IEEE 1998): conv(6,5x5,pad 2)-pool-
/// conv(16,5x5)-pool-fc120-fc84-fc(C), ReLU activations.
class LeNetImpl : public Classifier {
 public:
  LeNetImpl(int64_t in_channels, int64_t num_classes);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor features(torch::Tensor x) override;
  torch::nn::Linear head() override;
  std::pair<torch::Tensor, torch::Tensor> forward_with_features(torch::Tensor x) override;

 private:
  torch::Tensor penultimate(const torch::Tensor& maps);
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};
TORCH_MODULE(LeNet);

/// Basic residual block of the CIFAR ResNets (He et al., CVPR 2016, section 4.2), option A
/// shortcut replaced by a 1x1 projection when the shape changes.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

/// CIFAR-style ResNet-(6n+2): 3 stages of n blocks with 16, 32, 64 channels, global average pool,
/// linear head. depth=20 gives ResNet-20 (0.27M parameters).
class ResNetImpl : public Classifier {
 public:
  ResNetImpl(int64_t in_channels, int64_t num_classes, int64_t depth);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor features(torch::Tensor x) override;
  torch::nn::Linear head() override;
  std::pair<torch::Tensor, torch::Tensor> forward_with_features(torch::Tensor x) override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Sequential stages_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ResNet);

struct ModelInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;
};

/// Every model the factory builds, with its parameters (one declaration list).
const std::vector<ModelInfo>& model_registry();
/// Every model as `rebalance methods models` lists it, from model_registry().
std::vector<MethodDoc> model_docs();

/// Build a classifier for inputs of `input_shape` (without the batch dimension: {D} or {C, H, W})
/// and `num_classes` outputs, on `device`. Weights are initialised from `seed`. Models of more than
/// 2^28 parameters (1 GiB of float32) and ResNets deeper than 1202 are refused before allocating.
std::shared_ptr<Classifier> make_model(const std::string& spec, const std::vector<int64_t>& input_shape,
                                       int64_t num_classes, uint64_t seed, torch::Device device = torch::kCPU);

}  // namespace rebalance::models
