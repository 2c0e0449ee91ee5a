// Level 1: the augmentation sampler on hand-made images: which rows it copies, through which
// transform, with what provenance, and its errors.
#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/augment/augment.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;

namespace {

/// Class 0: 12 images, class 1: 2, class 2: 1; image i is filled with a ramp starting at i.
Dataset whales() {
  std::vector<int64_t> y;
  for (int i = 0; i < 15; ++i) y.push_back(i < 12 ? 0 : i < 14 ? 1 : 2);
  const auto x = (torch::arange(15 * 12, torch::kFloat32).view({15, 1, 3, 4}) / 180.0).contiguous();
  return Dataset::from_tensors(x, torch::tensor(y), {"common", "rare", "single"}, "whales");
}

}  // namespace

TEST(AugmentationOverSampler, TopsUpEveryClassBelowMinCountFromItsOwnImages) {
  const auto data = whales();
  auto s = make_sampler("augment:min_count=10,transforms=hflip:p=1|vflip:p=1", 3);
  const auto out = s->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{12, 10, 10}));
  EXPECT_EQ(s->resolved_strategy(), (std::map<int64_t, int64_t>{{1, 8}, {2, 9}}));
  // The input rows first, unchanged; then the copies, synthetic, each naming its source image.
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 15), data.x));
  for (int64_t i = 15; i < out.size(); ++i) {
    EXPECT_EQ(out.origin[i].item<int64_t>(), -1);
    const int64_t src = out.parents[i][0].item<int64_t>();
    EXPECT_EQ(out.y[i].item<int64_t>(), data.y[src].item<int64_t>());
    EXPECT_EQ(out.parents[i][1].item<int64_t>(), -1);
  }
  // The single image's 9 copies alternate by round: hflip, vflip, hflip, ...
  const auto single = data.x[14];
  for (int64_t k = 0; k < 9; ++k)
    EXPECT_TRUE(torch::equal(out.x[15 + 8 + k], k % 2 == 0 ? single.flip({2}) : single.flip({1}))) << k;
  // The rare class's 8 copies: 4 rounds over its 2 images, each image twice through each flip.
  std::map<std::pair<int64_t, bool>, int> uses;
  for (int64_t k = 0; k < 8; ++k) {
    const int64_t src = out.parents[15 + k][0].item<int64_t>();
    const bool h = torch::equal(out.x[15 + k], data.x[src].flip({2}));
    EXPECT_TRUE(h || torch::equal(out.x[15 + k], data.x[src].flip({1})));
    ++uses[{src, h}];
  }
  for (int64_t src : {12, 13})
    for (bool h : {true, false}) EXPECT_EQ((uses[{src, h}]), 2) << src << h;
}

TEST(AugmentationOverSampler, StrategiesFlatRowsAndErrors) {
  const auto data = whales();
  // Any sampling strategy: auto grows every class to the majority.
  EXPECT_EQ(make_sampler("augment", 0)->fit_resample(data).class_counts(), (std::vector<int64_t>{12, 12, 12}));
  EXPECT_EQ(make_sampler("augment:sampling_strategy={rare: 5}", 0)->fit_resample(data).class_counts(),
            (std::vector<int64_t>{12, 5, 1}));
  EXPECT_EQ(make_sampler("augment:sampling_strategy=at_least:3", 0)->fit_resample(data).class_counts(),
            (std::vector<int64_t>{12, 3, 3}));
  // Flattened images with their shape given: the same rows, flat.
  Dataset flat = data;
  flat.x = data.x.reshape({15, 12});
  const auto a = make_sampler("augment:min_count=4,image_shape=[1,3,4]", 9)->fit_resample(flat);
  const auto b = make_sampler("augment:min_count=4", 9)->fit_resample(data);
  EXPECT_EQ(a.x.dim(), 2);
  EXPECT_TRUE(torch::equal(a.x, b.x.reshape({b.size(), 12})));
  EXPECT_ERROR_MENTIONS(make_sampler("augment", 0)->fit_resample(flat), "tabular", "image_shape");
  EXPECT_ERROR_MENTIONS(make_sampler("augment:image_shape=[1,3,3]", 0)->fit_resample(flat), "9 values", "12");
  EXPECT_ERROR_MENTIONS(make_sampler("augment:min_count=10,sampling_strategy=minority", 0), "not both");
  EXPECT_ERROR_MENTIONS(make_sampler("augment:transforms=swirl", 0), "unknown augmentation \"swirl\"");
  EXPECT_ERROR_MENTIONS(make_sampler("random_under:sampling_strategy=at_least:3", 0)->fit_resample(data),
                        "cannot be used with under-sampler");
  EXPECT_ERROR_MENTIONS(make_sampler("augment:sampling_strategy=at_least:0", 0), "N >= 1");
}

TEST(AugmentationOverSampler, RealTimeAugmentationInTraining) {
  const auto data = whales();
  train::TrainOptions o;
  o.model = "logreg";
  o.epochs = 2;
  o.batch_size = 4;
  o.monitor = "none";
  o.progress = false;
  o.augment = "rotate:degrees=10+hflip";
  std::ostringstream log;
  const auto empty = data.subset(torch::empty({0}, torch::kInt64));
  const auto a = train::fit(data, empty, o, log);
  const auto b = train::fit(data, empty, o, log);
  EXPECT_TRUE(rebalance::testing::same_tensors(a.model->parameters(), b.model->parameters()));
  o.augment = "";
  const auto plain = train::fit(data, empty, o, log);
  EXPECT_FALSE(rebalance::testing::same_tensors(a.model->parameters(), plain.model->parameters()));
  o.augment = "hflip";
  Dataset flat = data;
  flat.x = data.x.reshape({15, 12});
  EXPECT_ERROR_MENTIONS(train::fit(flat, flat.subset(torch::empty({0}, torch::kInt64)), o, log), "transforms images",
                        "--augment");
  EXPECT_EQ(train::options_to_json(o)["augment"], "hflip");
}
