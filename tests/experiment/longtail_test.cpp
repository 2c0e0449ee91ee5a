// Level 1: many-class long tails: the tail split keeps single-image classes in training, the
// trainer monitors MAP@5 with a validation set that lacks classes, and make-longtail writes the
// folder it promises.
#include <torch/torch.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "../test_util.hpp"
#include "rebalance/data/image_folder.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/longtail.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/train/trainer.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

/// 12 classes: 3 of 20 rows, 3 of 5, 3 of 2 and 3 single rows, separable by the mean pixel.
Dataset tail_images() {
  std::vector<int64_t> y;
  const int64_t sizes[] = {20, 20, 20, 5, 5, 5, 2, 2, 2, 1, 1, 1};
  for (int64_t c = 0; c < 12; ++c)
    for (int64_t i = 0; i < sizes[c]; ++i) y.push_back(c);
  const auto yt = torch::tensor(y);
  torch::manual_seed(0);
  const auto x = (torch::rand({yt.size(0), 1, 4, 4}) * 0.05 + yt.to(torch::kFloat32).view({-1, 1, 1, 1}) / 12.0);
  return Dataset::from_tensors(x, yt, {}, "tail");
}

}  // namespace

TEST(LongTail, TailSplitKeepsSingletonsInTraining) {
  const auto d = tail_images();
  std::map<int64_t, int64_t> all;
  for (int64_t c = 0; c < 12; ++c) all[c] = -1;
  EXPECT_ERROR_MENTIONS(draw_train_validation(d, all, 0.2, 0), "has 1 row(s): need at least 2");
  const auto [train, val] = draw_train_validation(d, all, 0.2, 0, false, true);
  const auto tc = train.class_counts(), vc = val.class_counts();
  for (int64_t c = 0; c < 12; ++c) {
    EXPECT_GE(tc[c], 1) << c;
    EXPECT_EQ(tc[c] + vc[c], d.class_counts()[c]) << c;
  }
  EXPECT_EQ(vc[0], 4);   // round(20 * 0.2)
  EXPECT_EQ(vc[3], 1);   // round(5 * 0.2)
  EXPECT_EQ(vc[6], 0);   // round(2 * 0.2): both rows train
  EXPECT_EQ(vc[9], 0);   // the single row trains
}

TEST(LongTail, TrainerMonitorsMap5WhenValidationLacksClasses) {
  const auto d = tail_images();
  std::map<int64_t, int64_t> all;
  for (int64_t c = 0; c < 12; ++c) all[c] = -1;
  const auto [train, val] = draw_train_validation(d, all, 0.2, 0, false, true);
  train::TrainOptions o;
  o.model = "mlp:hidden=[32]";
  o.epochs = 3;
  o.batch_size = 8;
  o.lr = 0.01;
  o.progress = false;
  o.monitor = "f1_macro";
  std::ostringstream log;
  EXPECT_ERROR_MENTIONS(train::fit(train, val, o, log), "has no rows of class", "map5");
  o.monitor = "map5";
  const auto r = train::fit(train, val, o, log);
  EXPECT_NE(log.str().find("the validation set lacks 6 of 12 classes"), std::string::npos) << log.str();
  ASSERT_EQ(r.history.size(), 3u);
  for (const auto& h : r.history) {
    EXPECT_DOUBLE_EQ(h.val_metric, h.val_map5);
    EXPECT_GE(h.val_map5, 0.0);
    EXPECT_LE(h.val_map5, 1.0);
  }
  // Dynamic sampling sees an F1 for every class (the others' mean where validation has none).
  o.batch_policy = "dynamic";
  const auto dyn = train::fit(train, val, o, log);
  for (const auto& h : dyn.history) {
    ASSERT_EQ(h.val_f1.size(), 12u);
    for (double f : h.val_f1) EXPECT_TRUE(std::isfinite(f));
  }
  o.monitor = "top5";
  EXPECT_EQ(train::fit(train, val, o, log).history.size(), 3u);
}

TEST(LongTail, MakeLongtailWritesTrainAndTestFolders) {
  TempDir dir;
  // 3 classes of 30 images each, 3 sub-classes per class.
  torch::manual_seed(1);
  const auto x = torch::rand({90, 1, 6, 6});
  const auto y = torch::arange(90, torch::kInt64).remainder(3);
  const auto source = Dataset::from_tensors(x, y, {"a/b", "c d", "e"}, "src");
  LongTailFolderOptions o;
  o.subclasses = 3;
  o.max_per_class = 8;
  o.singletons = 0.5;
  o.test_per_class = 2;
  std::ostringstream log;
  const auto out = dir.file("lt");
  const auto s = make_longtail_folder(source, o, out, log);
  EXPECT_EQ(s.classes + s.dropped_classes, 9);
  const auto train = load_dataset(out + "/train"), test = load_dataset(out + "/test");
  EXPECT_EQ(train.class_names, test.class_names);
  EXPECT_EQ(train.num_classes(), s.classes);
  EXPECT_EQ(train.size(), s.train_images);
  EXPECT_EQ(test.size(), 2 * s.classes);
  int64_t singles = 0;
  for (auto n : train.class_counts()) singles += n == 1;
  EXPECT_EQ(singles, s.singleton_classes);
  EXPECT_GE(singles, s.classes / 2);
  EXPECT_EQ(train.class_names.front().rfind("a-b.", 0), 0u);  // '/' cannot name a folder
  // Files are named by their source row: no image is in both train and test.
  std::set<std::string> train_rows;
  const ImageFolder train_files(out + "/train"), test_files(out + "/test");
  for (const auto& f : train_files.files()) train_rows.insert(std::filesystem::path(f).filename());
  for (const auto& f : test_files.files())
    EXPECT_EQ(train_rows.count(std::filesystem::path(f).filename()), 0u) << f;
  EXPECT_ERROR_MENTIONS(make_longtail_folder(source, o, out, log), "exists");
  const auto again = dir.file("lt2");
  make_longtail_folder(source, o, again, log);
  EXPECT_TRUE(torch::equal(load_dataset(again + "/train").x, train.x));  // seeded
}
