#include "rebalance/train/pretrain.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <chrono>
#include <sstream>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::train {

PretrainResult pretrain_backbone(const Dataset& source, const Dataset& test, const PretrainOptions& o,
                                 const std::string& path, std::ostream& log) {
  source.validate();
  REBALANCE_CHECK(source.x.dim() == 4, "pretrain: the source task must be images [C, H, W], got rows of {} features",
                  source.num_features());
  REBALANCE_CHECK(o.epochs >= 1 && o.batch_size >= 1 && o.lr > 0, "pretrain: epochs, batch size and lr must be positive");
  const torch::Device device(o.device);
  auto backbone = models::make_cnn_backbone(source.feature_shape(), o.channels, o.features, o.seed);
  backbone.to(device);
  std::vector<torch::Tensor> params;
  for (const auto& p : backbone.parameters()) {
    p.set_requires_grad(true);
    params.push_back(p);
  }
  torch::nn::Linear head(o.features, source.num_classes());
  head->to(device);
  for (const auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(o.lr));
  const auto x = source.x.to(device, torch::kFloat32);
  const auto y = source.y.to(device);
  PretrainResult r;
  backbone.train();
  for (int64_t e = 0; e < o.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng = Rng(o.seed).fork(streams::kEpochOrder + static_cast<uint64_t>(e));
    const auto order = torch::tensor(rng.permutation(source.size()), torch::kInt64).to(device);
    double total = 0;
    for (int64_t b = 0; b < source.size(); b += o.batch_size) {
      const auto idx = order.slice(0, b, std::min(source.size(), b + o.batch_size));
      opt.zero_grad();
      const auto feats = backbone.forward({x.index_select(0, idx)}).toTensor();
      auto loss = torch::nn::functional::cross_entropy(head(feats), y.index_select(0, idx));
      loss.backward();
      opt.step();
      total += loss.item<double>() * idx.size(0);
    }
    r.epoch_loss.push_back(total / source.size());
    log << fmt::format("pretrain epoch {}/{}  loss {:.4f}  {:.1f}s\n", e + 1, o.epochs, r.epoch_loss.back(),
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  backbone.eval();
  for (const auto& p : backbone.parameters()) p.set_requires_grad(false);
  if (test.size() > 0) {
    torch::NoGradGuard guard;
    int64_t right = 0;
    for (int64_t b = 0; b < test.size(); b += 1024) {
      const auto xb = test.x.slice(0, b, std::min(test.size(), b + 1024)).to(device, torch::kFloat32);
      const auto pred = head(backbone.forward({xb}).toTensor()).argmax(1).cpu();
      right += pred.eq(test.y.slice(0, b, std::min(test.size(), b + 1024)).cpu()).sum().item<int64_t>();
    }
    r.test_accuracy = double(right) / double(test.size());
    log << fmt::format("pretrain: source-task test accuracy {:.4f} ({} images)\n", r.test_accuracy, test.size());
  }
  backbone.to(torch::kCPU);
  std::ostringstream bytes;
  backbone.save(bytes);
  const std::string blob = bytes.str();
  write_atomic(path, [&](std::ostream& out) { out.write(blob.data(), static_cast<std::streamsize>(blob.size())); });
  log << fmt::format("wrote {} (TorchScript: input [N, {}], output features [N, {}])\n", path,
                     fmt::join(source.feature_shape(), ", "), o.features);
  return r;
}

}  // namespace rebalance::train
