#include "rebalance/models/backbone.hpp"

#include <fmt/ranges.h>

#include "rebalance/core/error.hpp"

namespace rebalance::models {

namespace {

/// The reason, without libtorch's backtrace or TorchScript's source excerpt: the last line that
/// names an error ("RuntimeError: ..."), else the first line.
std::string first_line(const std::exception& e) {
  const auto* c = dynamic_cast<const c10::Error*>(&e);
  const std::string w = c ? c->what_without_backtrace() : e.what();
  std::string best = w.substr(0, w.find('\n'));
  size_t at = 0;
  while (at < w.size()) {
    const size_t end = std::min(w.find('\n', at), w.size());
    const auto line = w.substr(at, end - at);
    if (line.find("Error: ") != std::string::npos) best = line;
    at = end + 1;
  }
  return best;
}

torch::jit::Module load_backbone(const std::string& path) {
  try {
    auto m = torch::jit::load(path, torch::kCPU);
    m.eval();
    return m;
  } catch (const std::exception& e) {
    REBALANCE_THROW("{}: not a TorchScript model (export one with torch.jit.trace or torch.jit.script and "
                    "torch.jit.save, or `rebalance pretrain`): {}", path, first_line(e));
  }
}

torch::Tensor run(torch::jit::Module& m, const torch::Tensor& x, const std::string& path) {
  torch::jit::IValue out;
  try {
    out = m.forward({x});
  } catch (const std::exception& e) {
    REBALANCE_THROW("backbone {} does not accept inputs [{}]: {}", path, fmt::join(x.sizes(), ", "), first_line(e));
  }
  REBALANCE_CHECK(out.isTensor(), "backbone {} returns a {}, not a tensor of features", path, out.tagKind());
  auto t = out.toTensor();
  if (t.dim() == 4 && t.size(2) == 1 && t.size(3) == 1) t = t.flatten(1);  // a global pool's [B, F, 1, 1]
  return t;
}

std::string param_name(const std::string& jit_name) {
  std::string s = "backbone_" + jit_name;
  for (auto& c : s)
    if (c == '.') c = '_';
  return s;
}

}  // namespace

BackboneClassifierImpl::BackboneClassifierImpl(const std::string& path, const std::vector<int64_t>& input_shape,
                                               int64_t num_classes, bool frozen)
    : backbone_(load_backbone(path)) {
  std::vector<int64_t> shape{1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  torch::Tensor probe;
  {
    torch::NoGradGuard guard;
    probe = run(backbone_, torch::zeros(shape), path);
  }
  REBALANCE_CHECK(probe.dim() == 2 && probe.size(0) == 1 && probe.size(1) >= 1,
                  "backbone {} returns [{}] for one input [{}]; the head needs features [1, F] (end the exported "
                  "model with a flatten or a global pool)", path, fmt::join(probe.sizes(), ", "), fmt::join(shape, ", "));
  REBALANCE_CHECK(probe.is_floating_point(), "backbone {} returns {} features; the head needs floating point", path,
                  std::string(c10::toString(probe.scalar_type())));
  feature_dim_ = probe.size(1);
  // The TorchScript module's tensors registered here too (the same tensors, not copies): the
  // optimiser, save/load and to(device) see them like any other parameter.
  for (const auto& p : backbone_.named_parameters(/*recurse=*/true)) {
    backbone_names_.push_back(param_name(p.name));
    register_parameter(backbone_names_.back(), p.value);
  }
  for (const auto& b : backbone_.named_buffers(/*recurse=*/true)) register_buffer(param_name(b.name), b.value);
  head_ = register_module("head", torch::nn::Linear(feature_dim_, num_classes));
  set_frozen(frozen);
}

torch::Tensor BackboneClassifierImpl::features(torch::Tensor x) { return run(backbone_, x, spec()); }

torch::Tensor BackboneClassifierImpl::forward(torch::Tensor x) { return apply_head(features(std::move(x)), head_); }

void BackboneClassifierImpl::train(bool on) {
  Classifier::train(on);
  backbone_.train(on && !frozen_);
}

void BackboneClassifierImpl::to(torch::Device device, bool non_blocking) {
  backbone_.to(device, non_blocking);
  Classifier::to(device, non_blocking);
}

void BackboneClassifierImpl::set_frozen(bool frozen) {
  frozen_ = frozen;
  for (auto& p : backbone_parameters()) p.set_requires_grad(!frozen);
  backbone_.train(is_training() && !frozen_);
}

std::vector<torch::Tensor> BackboneClassifierImpl::backbone_parameters() const {
  std::vector<torch::Tensor> out;
  const auto all = named_parameters(/*recurse=*/false);
  for (const auto& n : backbone_names_) out.push_back(all[n]);
  return out;
}

torch::Tensor embed(const std::string& path, const torch::Tensor& x, int64_t batch_size, torch::Device device) {
  auto m = load_backbone(path);
  m.to(device);
  torch::NoGradGuard guard;
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < x.size(0); b += batch_size) {
    const auto part = x.slice(0, b, std::min(x.size(0), b + batch_size)).to(device, torch::kFloat32);
    auto f = run(m, part, path);
    REBALANCE_CHECK(f.dim() == 2, "backbone {} returns [{}] for a batch; expected features [B, F]", path,
                    fmt::join(f.sizes(), ", "));
    out.push_back(f.to(torch::kCPU, torch::kFloat32));
  }
  return out.empty() ? torch::empty({0, 0}) : torch::cat(out);
}

torch::jit::Module make_cnn_backbone(const std::vector<int64_t>& input_shape, const std::vector<int64_t>& channels,
                                     int64_t features, uint64_t seed) {
  REBALANCE_CHECK(input_shape.size() == 3, "the CNN backbone needs images [C, H, W], got [{}]",
                  fmt::join(input_shape, ", "));
  REBALANCE_CHECK(!channels.empty() && features >= 1, "the CNN backbone needs at least one conv block and features >= 1");
  torch::manual_seed(seed);
  torch::jit::Module m("RebalanceCNN");
  int64_t c = input_shape[0], h = input_shape[1], w = input_shape[2];
  std::string src = "def forward(self, x):\n";
  for (size_t i = 0; i < channels.size(); ++i) {
    REBALANCE_CHECK(channels[i] >= 1 && h >= 2 && w >= 2, "the CNN backbone: block {} of [{}] does not fit images [{}]",
                    i, fmt::join(channels, ","), fmt::join(input_shape, ", "));
    // PyTorch's default initialisation, through the module that would hold the weights.
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c, channels[i], 3).padding(1));
    m.register_parameter(fmt::format("conv{}_weight", i), conv->weight.detach().clone(), false);
    m.register_parameter(fmt::format("conv{}_bias", i), conv->bias.detach().clone(), false);
    src += fmt::format("    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv{0}_weight, self.conv{0}_bias, "
                       "[1, 1], [1, 1])), [2, 2])\n", i);
    c = channels[i], h /= 2, w /= 2;
  }
  torch::nn::Linear fc(c * h * w, features);
  m.register_parameter("fc_weight", fc->weight.detach().clone(), false);
  m.register_parameter("fc_bias", fc->bias.detach().clone(), false);
  src += "    x = torch.flatten(x, 1)\n    return torch.relu(torch.matmul(x, self.fc_weight.t()) + self.fc_bias)\n";
  m.define(src);
  return m;
}

}  // namespace rebalance::models
