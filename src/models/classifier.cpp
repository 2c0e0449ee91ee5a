#include "rebalance/models/classifier.hpp"

#include "rebalance/models/backbone.hpp"

#include <numeric>

#include <fmt/ranges.h>

#include "rebalance/core/error.hpp"

namespace rebalance::models {

namespace nn = torch::nn;

namespace {
int64_t numel(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
}

/// Weights are allocated as the model is built, before any other check could fail: a typo like
/// hidden=[100000000] asked for 314 GB and ended in an allocator error instead of a message.
constexpr int64_t kMaxParameters = int64_t(1) << 28;  // 1 GiB of float32 weights
/// He et al. 2016 train ResNet-1202 on CIFAR-10; deeper is a typo, and costs time per block.
constexpr int64_t kMaxResNetDepth = 1202;

/// Refuse a fully connected stack in -> widths... -> out with more than kMaxParameters weights
/// and biases (counted in double: the widths may be anything an int64 holds).
void check_dense_size(const std::string& text, int64_t in, const std::vector<int64_t>& widths, int64_t out) {
  double params = 0, width = static_cast<double>(in);
  for (auto w : widths) {
    params += (width + 1) * static_cast<double>(w);
    width = static_cast<double>(w);
  }
  params += (width + 1) * static_cast<double>(out);
  REBALANCE_CHECK(params <= static_cast<double>(kMaxParameters),
                  "model \"{}\": {:.4g} parameters for {} inputs; at most {} (1 GiB of float32 weights)", text,
                  params, in, kMaxParameters);
}
}  // namespace

torch::Tensor Classifier::features(torch::Tensor) {
  REBALANCE_THROW("model \"{}\" has no separate linear head on features", spec());
}

nn::Linear Classifier::head() { REBALANCE_THROW("model \"{}\" has no separate linear head on features", spec()); }

torch::Tensor cosine_logits(const torch::Tensor& features, const torch::Tensor& weight) {
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12);
  return F::normalize(features, unit).matmul(F::normalize(weight, unit).t());
}

void Classifier::use_cosine_head() {
  auto layer = head();
  if (layer->bias.defined()) {
    torch::NoGradGuard guard;
    layer->bias.zero_();
    layer->bias.set_requires_grad(false);
  }
  cosine_head_ = true;
}

torch::Tensor Classifier::apply_head(const torch::Tensor& features, nn::Linear head) const {
  return cosine_head_ ? cosine_logits(features, head->weight) : head->forward(features);
}

LogisticRegressionImpl::LogisticRegressionImpl(int64_t in_features, int64_t num_classes) {
  fc_ = register_module("fc", nn::Linear(in_features, num_classes));
}

torch::Tensor LogisticRegressionImpl::forward(torch::Tensor x) { return apply_head(x.flatten(1), fc_); }
torch::Tensor LogisticRegressionImpl::features(torch::Tensor x) { return x.flatten(1); }
nn::Linear LogisticRegressionImpl::head() { return fc_; }

MLPImpl::MLPImpl(int64_t in_features, std::vector<int64_t> hidden, int64_t num_classes, double dropout,
                 double negative_slope) {
  body_ = nn::Sequential();
  int64_t width = in_features;
  for (auto h : hidden) {
    body_->push_back(nn::Linear(width, h));
    if (negative_slope > 0)
      body_->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(negative_slope)));
    else
      body_->push_back(nn::ReLU());
    if (dropout > 0) body_->push_back(nn::Dropout(dropout));
    width = h;
  }
  body_->push_back(nn::Linear(width, num_classes));
  register_module("body", body_);
}

torch::Tensor MLPImpl::forward(torch::Tensor x) { return apply_head(features(std::move(x)), head()); }

torch::Tensor MLPImpl::features(torch::Tensor x) {
  x = x.flatten(1);
  auto layer = body_->begin();
  for (size_t i = 0; i + 1 < body_->size(); ++i, ++layer) x = layer->forward(x);
  return x;
}

nn::Linear MLPImpl::head() { return nn::Linear(body_->ptr<nn::LinearImpl>(body_->size() - 1)); }

LeNetImpl::LeNetImpl(int64_t in_channels, int64_t num_classes) {
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_channels, 6, 5).padding(2)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 16, 5)));
  fc1_ = register_module("fc1", nn::Linear(16 * 5 * 5, 120));
  fc2_ = register_module("fc2", nn::Linear(120, 84));
  fc3_ = register_module("fc3", nn::Linear(84, num_classes));
}

torch::Tensor LeNetImpl::forward(torch::Tensor x) { return forward_with_features(std::move(x)).first; }

std::pair<torch::Tensor, torch::Tensor> LeNetImpl::forward_with_features(torch::Tensor x) {
  x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
  const auto maps = torch::relu(conv2_->forward(x));  // the last conv layer's activations
  return {apply_head(penultimate(maps), fc3_), maps};
}

torch::Tensor LeNetImpl::penultimate(const torch::Tensor& maps) {
  auto x = torch::max_pool2d(maps, 2);
  x = torch::relu(fc1_->forward(x.flatten(1)));
  return torch::relu(fc2_->forward(x));
}

torch::Tensor LeNetImpl::features(torch::Tensor x) {
  x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
  return penultimate(torch::relu(conv2_->forward(x)));
}

nn::Linear LeNetImpl::head() { return fc3_; }

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_planes, planes, 3).stride(stride).padding(1).bias(false)));
  bn1_ = register_module("bn1", nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(planes, planes, 3).padding(1).bias(false)));
  bn2_ = register_module("bn2", nn::BatchNorm2d(planes));
  shortcut_ = nn::Sequential();
  if (stride != 1 || in_planes != planes) {
    shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in_planes, planes, 1).stride(stride).bias(false)));
    shortcut_->push_back(nn::BatchNorm2d(planes));
  }
  register_module("shortcut", shortcut_);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto out = torch::relu(bn1_->forward(conv1_->forward(x)));
  out = bn2_->forward(conv2_->forward(out));
  return torch::relu(out + (shortcut_->is_empty() ? x : shortcut_->forward(x)));
}

ResNetImpl::ResNetImpl(int64_t in_channels, int64_t num_classes, int64_t depth) {
  REBALANCE_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "resnet: depth must be 6n+2 (20, 32, 44, 56, 110), got {}", depth);
  const int64_t n = (depth - 2) / 6;
  stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(in_channels, 16, 3).padding(1).bias(false)));
  bn_ = register_module("bn", nn::BatchNorm2d(16));
  stages_ = nn::Sequential();
  int64_t planes_in = 16;
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t planes = 16 << stage;
    for (int64_t b = 0; b < n; ++b) {
      stages_->push_back(BasicBlock(planes_in, planes, b == 0 && stage > 0 ? 2 : 1));
      planes_in = planes;
    }
  }
  register_module("stages", stages_);
  head_ = register_module("head", nn::Linear(64, num_classes));
  for (auto& m : modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) { return forward_with_features(std::move(x)).first; }

std::pair<torch::Tensor, torch::Tensor> ResNetImpl::forward_with_features(torch::Tensor x) {
  x = torch::relu(bn_->forward(stem_->forward(x)));
  const auto maps = stages_->forward(x);  // the last stage's output
  return {apply_head(torch::adaptive_avg_pool2d(maps, {1, 1}).flatten(1), head_), maps};
}

torch::Tensor ResNetImpl::features(torch::Tensor x) {
  x = torch::relu(bn_->forward(stem_->forward(x)));
  return torch::adaptive_avg_pool2d(stages_->forward(x), {1, 1}).flatten(1);
}

nn::Linear ResNetImpl::head() { return head_; }

const std::vector<ModelInfo>& model_registry() {
  static const ParamDecl kHead = {"head", "linear",
                                  "linear, or cosine: the logits are cosines between the normalised features and "
                                  "class weights, in [-1, 1] (Cao et al.'s head for ldam, whose s scales them)"};
  static const std::vector<ModelInfo> list = {
      {"logreg", "multinomial logistic regression on the flattened input", {kHead}},
      {"mlp", "multi-layer perceptron, ReLU (or LeakyReLU), optional dropout",
       {{"hidden", "[512,256]", "hidden layer widths"},
        {"dropout", "0.0", "dropout after each hidden layer"},
        {"negative_slope", "0.0", "0: ReLU; > 0: LeakyReLU with this slope (the MGVAE paper: 0.1)"},
        kHead}},
      {"lenet", "LeNet-5-style CNN for 28x28 images", {kHead}},
      {"resnet", "CIFAR-style ResNet (depth 6n+2) for images", {{"depth", "20", "20, 32, 44, 56 or 110 (6n+2, at most 1202)"}, kHead}},
      {"backbone", "a TorchScript feature extractor (torch.jit.save, `rebalance pretrain`) under a new linear head",
       {{"path", "", "the TorchScript file"},
        {"freeze", "false", "true: the backbone's weights stay fixed and only the head trains"},
        kHead}},
  };
  return list;
}

std::vector<MethodDoc> model_docs() {
  return registry_docs(model_registry());
}

std::shared_ptr<Classifier> make_model(const std::string& text, const std::vector<int64_t>& input_shape,
                                       int64_t num_classes, uint64_t seed, torch::Device device) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(model_registry(), spec, "model");
  REBALANCE_CHECK(num_classes >= 2, "model \"{}\": need at least 2 classes, got {}", text, num_classes);
  REBALANCE_CHECK(!input_shape.empty(), "model \"{}\": empty input shape", text);
  const Params p(spec, info->params, "model");
  torch::manual_seed(seed);  // initial weights
  std::shared_ptr<Classifier> model;
  const int64_t features = numel(input_shape);
  auto need_image = [&](const char* what) {
    REBALANCE_CHECK(input_shape.size() == 3, "model \"{}\" needs images [C, H, W]; the data has shape [{}]", what,
                    fmt::join(input_shape, ", "));
  };
  if (spec.name == "backbone") {
    model = std::make_shared<BackboneClassifierImpl>(p.get_string("path"), input_shape, num_classes,
                                                     p.get_bool("freeze"));
  } else if (spec.name == "logreg") {
    check_dense_size(text, features, {}, num_classes);
    model = LogisticRegression(features, num_classes).ptr();
  } else if (spec.name == "mlp") {
    const auto hidden = p.get_ints("hidden");
    for (auto h : hidden) REBALANCE_CHECK(h > 0, "model \"{}\": hidden widths must be > 0, got {}", text, h);
    check_dense_size(text, features, hidden, num_classes);
    model = MLP(features, hidden, num_classes, p.get_double_in("dropout", 0.0, 0.99),
                p.get_double_in("negative_slope", 0.0, 1.0))
                .ptr();
  } else if (spec.name == "lenet") {
    need_image("lenet");
    REBALANCE_CHECK(input_shape[1] == 28 && input_shape[2] == 28, "model \"lenet\" expects 28x28 images, got {}x{}",
                    input_shape[1], input_shape[2]);
    model = LeNet(input_shape[0], num_classes).ptr();
  } else {
    need_image("resnet");
    model = ResNet(input_shape[0], num_classes, p.get_int_in("depth", 8, kMaxResNetDepth)).ptr();
  }
  const auto head = p.get_string("head");
  REBALANCE_CHECK(head == "linear" || head == "cosine", "model \"{}\": head must be linear or cosine, got \"{}\"", text,
                  head);
  if (head == "cosine") model->use_cosine_head();
  model->set_spec(text);
  model->to(device);
  return model;
}

}  // namespace rebalance::models
