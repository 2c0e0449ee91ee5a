// Level 1: transfer learning from a TorchScript backbone: frozen layers stay fixed, unfreezing
// fine-tunes them, the model file round-trips, bad backbones are refused clearly.
#include <torch/script.h>
#include <torch/torch.h>

#include <sstream>

#include "../test_util.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/train/lr_find.hpp"
#include "rebalance/train/pretrain.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

Dataset tiny_images() {
  torch::manual_seed(4);
  std::vector<int64_t> y;
  for (int i = 0; i < 40; ++i) y.push_back(i % 4 == 0 ? 1 : 0);
  auto x = torch::rand({40, 1, 8, 8});
  for (int i = 0; i < 40; ++i)
    if (y[i] == 1) x[i] += 0.5;  // learnable
  return Dataset::from_tensors(x.clamp(0, 1), torch::tensor(y), {"common", "rare"}, "tiny");
}

std::string saved_backbone(const TempDir& d, uint64_t seed = 1) {
  auto m = models::make_cnn_backbone({1, 8, 8}, {4}, 6, seed);
  const auto path = d.file("bb.pt");
  m.save(path);
  return path;
}

std::vector<at::Tensor> clones(const std::vector<at::Tensor>& v) {
  std::vector<at::Tensor> out;
  for (const auto& t : v) out.push_back(t.detach().clone());
  return out;
}

}  // namespace

TEST(Backbone, FrozenLayersDoNotChangeAndUnfreezingFineTunes) {
  TempDir d;
  const auto path = saved_backbone(d);
  const auto data = tiny_images();
  train::TrainOptions o;
  o.model = "backbone:path=" + path + ",freeze=true";
  o.epochs = 3;
  o.batch_size = 8;
  o.lr = 0.01;
  o.monitor = "none";
  o.progress = false;
  const auto empty = data.subset(torch::empty({0}, torch::kInt64));
  auto fresh = models::make_model(o.model, {1, 8, 8}, 2, o.seed);
  auto* fb = dynamic_cast<models::BackboneClassifierImpl*>(fresh.get());
  ASSERT_NE(fb, nullptr);
  EXPECT_EQ(fb->feature_dim(), 6);
  const auto before = clones(fb->backbone_parameters());
  std::ostringstream log;
  const auto frozen = train::fit(data, empty, o, log);
  auto* b = dynamic_cast<models::BackboneClassifierImpl*>(frozen.model.get());
  EXPECT_TRUE(rebalance::testing::same_tensors(b->backbone_parameters(), before));
  EXPECT_FALSE(torch::equal(frozen.model->named_parameters()["head.weight"], fresh->named_parameters()["head.weight"]));
  // The file itself is untouched and the frozen backbone's features equal the file's.
  EXPECT_TRUE(torch::allclose(b->features(data.x), models::embed(path, data.x)));

  o.unfreeze_after = 1;
  std::ostringstream log2;
  const auto tuned = train::fit(data, empty, o, log2);
  auto* t = dynamic_cast<models::BackboneClassifierImpl*>(tuned.model.get());
  EXPECT_FALSE(rebalance::testing::same_tensors(t->backbone_parameters(), before));
  EXPECT_NE(log2.str().find("epoch 2: backbone unfrozen"), std::string::npos) << log2.str();
  EXPECT_EQ(train::options_to_json(o)["unfreeze_after"], 1);

  // The model file holds the fine-tuned weights.
  const auto file = d.file("model.bin");
  train::save_model(file, tuned, data);
  const auto loaded = train::load_model(file);
  EXPECT_TRUE(torch::allclose(train::predict_logits(*loaded.model, data.x), train::predict_logits(*tuned.model, data.x)));

  o.model = "mlp";
  EXPECT_ERROR_MENTIONS(train::fit(data, empty, o, log), "frozen backbone model");
}

TEST(Backbone, BadBackbonesAreRefusedByFile) {
  TempDir d;
  const auto path = saved_backbone(d);
  EXPECT_ERROR_MENTIONS(models::make_model("backbone:path=" + d.file("none.pt"), {1, 8, 8}, 2, 0), "none.pt",
                        "not a TorchScript model");
  const auto junk = d.write("junk.pt", "not a zip archive");
  EXPECT_ERROR_MENTIONS(models::make_model("backbone:path=" + junk, {1, 8, 8}, 2, 0), "junk.pt", "not a TorchScript");
  // Three channels into a one-channel network.
  EXPECT_ERROR_MENTIONS(models::make_model("backbone:path=" + path, {3, 8, 8}, 2, 0), "does not accept inputs [1, 3, 8, 8]");
  // A backbone that returns a feature map, not features.
  torch::jit::Module identity("Identity");
  identity.define("def forward(self, x):\n    return torch.relu(x)\n");
  identity.save(d.file("map.pt"));
  EXPECT_ERROR_MENTIONS(models::make_model("backbone:path=" + d.file("map.pt"), {1, 8, 8}, 2, 0), "returns [1, 1, 8, 8]",
                        "features [1, F]");
  EXPECT_ERROR_MENTIONS(models::make_model("backbone", {1, 8, 8}, 2, 0), "path");
}

TEST(Backbone, PretrainWritesASeededTorchScriptBackbone) {
  TempDir d;
  const auto data = tiny_images();
  train::PretrainOptions o;
  o.channels = {4};
  o.features = 5;
  o.epochs = 2;
  o.batch_size = 8;
  std::ostringstream log;
  const auto r = train::pretrain_backbone(data, data, o, d.file("a.pt"), log);
  EXPECT_EQ(r.epoch_loss.size(), 2u);
  EXPECT_GE(r.test_accuracy, 0.0);
  train::pretrain_backbone(data, Dataset{}, o, d.file("b.pt"), log);
  EXPECT_TRUE(torch::equal(models::embed(d.file("a.pt"), data.x), models::embed(d.file("b.pt"), data.x)));
  EXPECT_EQ(models::embed(d.file("a.pt"), data.x).sizes(), (std::vector<int64_t>{40, 5}));
  Dataset flat = data;
  flat.x = data.x.reshape({40, 64});
  EXPECT_ERROR_MENTIONS(train::pretrain_backbone(flat, Dataset{}, o, d.file("c.pt"), log), "images");
}

TEST(LrFind, RangeTestSuggestsARateWithinTheSweep) {
  const auto data = tiny_images();
  train::TrainOptions o;
  o.model = "mlp:hidden=[16]";
  o.batch_size = 8;
  train::LrFindOptions f;
  f.start_lr = 1e-5;
  f.end_lr = 10;
  f.steps = 60;
  std::ostringstream log;
  const auto r = train::lr_find(data, o, f, log);
  ASSERT_GE(r.lr.size(), 3u);
  EXPECT_DOUBLE_EQ(r.lr.front(), 1e-5);
  for (size_t i = 1; i < r.lr.size(); ++i) EXPECT_GT(r.lr[i], r.lr[i - 1]);
  EXPECT_GE(r.suggested, r.lr.front());
  EXPECT_LE(r.suggested, r.min_loss_lr);
  // Seeded: the same curve again.
  const auto again = train::lr_find(data, o, f, log);
  EXPECT_EQ(r.loss, again.loss);
  const auto svg = train::lr_find_svg(r, "a<b & c");
  EXPECT_NE(svg.find("a&lt;b &amp; c"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("suggested"), std::string::npos);
  EXPECT_NE(train::lr_find_text_plot(r).find('*'), std::string::npos);
  f.end_lr = f.start_lr;
  EXPECT_ERROR_MENTIONS(train::lr_find(data, o, f, log), "0 < start");
}
