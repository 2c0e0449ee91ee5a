// RISE and Grad-CAM saliency maps and their heat overlays.
#include "rebalance/models/saliency.hpp"

#include <torch/torch.h>

#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/models/classifier.hpp"

namespace rebalance::models {

at::Tensor rise_saliency(Classifier& model, const at::Tensor& x_in, int64_t cls, const RiseOptions& o) {
  REBALANCE_CHECK(x_in.defined() && x_in.dim() == 4 && x_in.size(0) >= 1,
                  "rise_saliency: images [n, C, H, W] expected, got {} dimensions", x_in.defined() ? x_in.dim() : 0);
  REBALANCE_CHECK(o.masks >= 1 && o.cells >= 1 && o.batch >= 1, "rise_saliency: masks, cells and batch must be >= 1");
  REBALANCE_CHECK(o.keep > 0 && o.keep < 1, "rise_saliency: keep must be in (0, 1), got {}", o.keep);
  const int64_t n = x_in.size(0), h = x_in.size(2), w = x_in.size(3);
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  const auto x = x_in.to(device, torch::kFloat32);
  torch::NoGradGuard ng;
  model.eval();
  // Masks: a cells x cells grid upsampled to (cells + 1) cell sizes, cropped at a random offset
  // within one cell (the paper's construction), all drawn from the seed.
  Rng rng(o.seed);
  const int64_t ch = (h + o.cells - 1) / o.cells, cw = (w + o.cells - 1) / o.cells;
  auto grid = torch::empty({o.masks, 1, o.cells, o.cells});
  auto* g = grid.data_ptr<float>();
  for (int64_t i = 0; i < grid.numel(); ++i) g[i] = rng.uniform() < o.keep ? 1.0f : 0.0f;
  const auto up = torch::nn::functional::interpolate(
      grid, torch::nn::functional::InterpolateFuncOptions()
                .size(std::vector<int64_t>{(o.cells + 1) * ch, (o.cells + 1) * cw})
                .mode(torch::kBilinear)
                .align_corners(false));
  std::vector<at::Tensor> crops;
  for (int64_t m = 0; m < o.masks; ++m) {
    const auto dy = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(ch)));
    const auto dx = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(cw)));
    crops.push_back(up[m][0].slice(0, dy, dy + h).slice(1, dx, dx + w));
  }
  const auto masks = torch::stack(crops).to(device);  // [M, H, W]
  auto out = torch::zeros({n, h, w}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t m0 = 0; m0 < o.masks; m0 += o.batch) {
      const auto mk = masks.slice(0, m0, std::min(o.masks, m0 + o.batch));
      const auto logits = model.forward(x[i].unsqueeze(0) * mk.unsqueeze(1));
      REBALANCE_CHECK(cls >= 0 && cls < logits.size(1), "rise_saliency: class {} is not among the model's {} outputs",
                      cls, logits.size(1));
      const auto p = torch::softmax(logits, 1).select(1, cls);  // [m]
      out[i] += (p.view({-1, 1, 1}) * mk).sum(0);
    }
  }
  return (out / (static_cast<double>(o.masks) * o.keep)).to(torch::kCPU);
}

bool has_feature_map(Classifier& model, const at::Tensor& x) {
  REBALANCE_CHECK(x.defined() && x.dim() == 4 && x.size(0) >= 1,
                  "grad_cam: images [n, C, H, W] expected, got {} dimensions", x.defined() ? x.dim() : 0);
  torch::NoGradGuard ng;
  model.eval();
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  return model.forward_with_features(x.slice(0, 0, 1).to(device, torch::kFloat32)).second.defined();
}

at::Tensor grad_cam(Classifier& model, const at::Tensor& x_in, int64_t cls) {
  REBALANCE_CHECK(x_in.defined() && x_in.dim() == 4 && x_in.size(0) >= 1,
                  "grad_cam: images [n, C, H, W] expected, got {} dimensions", x_in.defined() ? x_in.dim() : 0);
  const int64_t h = x_in.size(2), w = x_in.size(3);
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  model.eval();
  torch::AutoGradMode on(true);
  // The image carries the graph (so frozen weights do too); autograd::grad returns the feature
  // map's gradient without accumulating anything into the weights' .grad.
  const auto x = x_in.to(device, torch::kFloat32).clone().requires_grad_(true);
  const auto [logits, features] = model.forward_with_features(x);
  REBALANCE_CHECK(features.defined(), "grad_cam: the model '{}' has no convolutional feature map (use RISE for it)",
                  model.spec().empty() ? model.name() : model.spec());
  REBALANCE_CHECK(features.dim() == 4, "grad_cam: the feature map must be [n, K, h, w], got {} dimensions",
                  features.dim());
  REBALANCE_CHECK(cls >= 0 && cls < logits.size(1), "grad_cam: class {} is not among the model's {} outputs", cls,
                  logits.size(1));
  // Each image's logit depends on its own features only (evaluation mode), so one backward of the
  // sum gives every image's gradient.
  const auto grads = torch::autograd::grad({logits.select(1, cls).sum()}, {features})[0];
  const auto alpha = grads.mean({2, 3}, /*keepdim=*/true);                             // [n, K, 1, 1]
  const auto cam = torch::relu((alpha * features).sum(1, /*keepdim=*/true)).detach();  // [n, 1, h, w]
  const auto up = torch::nn::functional::interpolate(
      cam, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
  return up.squeeze(1).to(torch::kCPU, torch::kFloat32).contiguous();
}

at::Tensor saliency_overlay(const at::Tensor& x_in, const at::Tensor& maps_in) {
  REBALANCE_CHECK(x_in.dim() == 4 && maps_in.dim() == 3 && x_in.size(0) == maps_in.size(0) &&
                      x_in.size(2) == maps_in.size(1) && x_in.size(3) == maps_in.size(2),
                  "saliency_overlay: images [n, C, H, W] and maps [n, H, W] of the same n, H, W expected");
  REBALANCE_CHECK(x_in.size(1) == 1 || x_in.size(1) == 3, "saliency_overlay: 1 or 3 channels, got {}", x_in.size(1));
  const auto x = x_in.to(torch::kCPU, torch::kFloat32).clamp(0.0, 1.0);
  const auto rgb = x.size(1) == 1 ? x.expand({-1, 3, -1, -1}) : x;
  const auto m = maps_in.to(torch::kCPU, torch::kFloat32);
  const auto flat = m.flatten(1);
  const auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1}), hi = std::get<0>(flat.max(1)).view({-1, 1, 1});
  const auto s = ((m - lo) / (hi - lo).clamp_min(1e-12)).unsqueeze(1);  // [n, 1, H, W] in [0, 1]
  const auto heat = torch::cat({s, torch::zeros_like(s), 1.0 - s}, 1);
  const auto over = 0.45 * rgb + 0.55 * heat;
  return torch::stack({rgb, over}, 1).reshape({-1, 3, x.size(2), x.size(3)}).contiguous();
}

}  // namespace rebalance::models
