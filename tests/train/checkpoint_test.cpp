// The training loops' shared record of epochs and checkpoint folder (train/checkpoint.hpp).
#include "rebalance/train/checkpoint.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::train;
using rebalance::testing::TempDir;

namespace {

EpochRecord record(int64_t epoch, double metric) { return {epoch, 1.0 / (epoch + 1), 1e-3, metric, {metric}, 0.5}; }

}  // namespace

TEST(EpochLog, SelectKeepsTheFirstHighestMetricAndCountsEpochsSince) {
  EpochLog log(/*select=*/true);
  EXPECT_TRUE(log.add(record(0, 0.5)));
  EXPECT_TRUE(log.add(record(1, 0.7)));
  EXPECT_FALSE(log.add(record(2, 0.7)));  // a tie keeps the earlier epoch
  EXPECT_FALSE(log.add(record(3, 0.6)));
  EXPECT_EQ(log.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(log.best_metric(), 0.7);
  EXPECT_EQ(log.since_best(), 2);
  EXPECT_EQ(log.history().size(), 4u);
}

TEST(EpochLog, WithoutSelectionTheLatestEpochIsKept) {
  EpochLog log(/*select=*/false);
  for (int64_t e = 0; e < 3; ++e) EXPECT_TRUE(log.add(record(e, 0.0)));
  EXPECT_EQ(log.best_epoch(), 2);
  EXPECT_EQ(log.since_best(), 0);
}

TEST(EpochLog, StateRoundTripsAndOlderStatesWithoutSinceBestLoad) {
  EpochLog log(true);
  log.add(record(0, 0.4));
  log.add(record(1, 0.3));
  const auto state = log.state();
  EpochLog back(true);
  back.restore(state);
  EXPECT_EQ(back.best_epoch(), 0);
  EXPECT_EQ(back.since_best(), 1);
  ASSERT_EQ(back.history().size(), 2u);
  EXPECT_DOUBLE_EQ(back.history()[1].val_metric, 0.3);
  EXPECT_DOUBLE_EQ(back.history()[1].lr, 1e-3);
  auto old = state;
  old.erase("since_best");  // joint checkpoints before 0.3 did not keep it
  back.restore(old);
  EXPECT_EQ(back.since_best(), 0);
  // The continuation decides as the uninterrupted log would.
  EXPECT_TRUE(back.add(record(2, 0.9)));
}

TEST(EpochLog, HistoryJsonFormsOfTheCheckpointAndTheSummary) {
  std::vector<EpochRecord> h = {record(0, 0.5)};
  h[0].val_map5 = 0.25;
  const auto full = history_json(h);
  EXPECT_TRUE(full[0].contains("lr"));
  EXPECT_FALSE(full[0].contains("val_map5"));
  const auto summary = history_json(h, /*with_lr=*/false, /*with_map5=*/true);
  EXPECT_FALSE(summary[0].contains("lr"));
  EXPECT_DOUBLE_EQ(summary[0]["val_map5"].get<double>(), 0.25);
}

TEST(Checkpoint, SaveWritesFilesAndStateThenPrunesOlderSteps) {
  TempDir dir;
  const nlohmann::json config = {{"lr", 0.1}};
  Checkpoint ckpt(dir.file("ck"), "state.json", 1, config);
  std::ostringstream log;
  EXPECT_FALSE(ckpt.open(false, [](const nlohmann::json&) { FAIL(); }, log));
  auto writer = [](const std::string& text) {
    return [text](const std::string& p) { std::ofstream(p) << text; };
  };
  ckpt.save({{"model-0.pt", writer("a")}, {"best-0.pt", writer("b")}}, {{"epochs_done", 1}});
  ckpt.save({{"model-1.pt", writer("c")}, {"best-0.pt", {}}}, {{"epochs_done", 2}});
  std::ofstream(dir.file("ck/notes.txt")) << "the user's";
  ckpt.save({{"model-2.pt", writer("d")}, {"best-0.pt", {}}}, {{"epochs_done", 3}});
  namespace fs = std::filesystem;
  EXPECT_FALSE(fs::exists(dir.file("ck/model-0.pt")));
  EXPECT_FALSE(fs::exists(dir.file("ck/model-1.pt")));
  EXPECT_TRUE(fs::exists(dir.file("ck/model-2.pt")));
  EXPECT_TRUE(fs::exists(dir.file("ck/best-0.pt")));  // kept without being rewritten
  EXPECT_TRUE(fs::exists(dir.file("ck/notes.txt")));  // not ours: never removed
  // A new run refuses the folder; a resume reads the state back, config checked.
  EXPECT_ERROR_MENTIONS(ckpt.open(false, [](const nlohmann::json&) {}, log), "already holds a checkpoint",
                        "--resume");
  int64_t done = 0;
  EXPECT_TRUE(ckpt.open(true, [&](const nlohmann::json& s) { done = s.at("epochs_done").get<int64_t>(); }, log));
  EXPECT_EQ(done, 3);
  Checkpoint other(dir.file("ck"), "state.json", 1, {{"lr", 0.2}});
  EXPECT_ERROR_MENTIONS(other.open(true, [](const nlohmann::json&) {}, log), "cannot resume", "lr = 0.1",
                        "lr = 0.2");
}

TEST(Checkpoint, ResumeWithoutAStateStartsAfreshAndSaysSo) {
  TempDir dir;
  Checkpoint ckpt(dir.file("fresh"), "joint.json", 1, {});
  std::ostringstream log;
  EXPECT_FALSE(ckpt.open(true, [](const nlohmann::json&) { FAIL(); }, log));
  EXPECT_NE(log.str().find("no checkpoint in"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("fresh")));
}

TEST(Checkpoint, WithoutAFolderEveryCallDoesNothing) {
  Checkpoint none("", "state.json", 1, {});
  std::ostringstream log;
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(none.open(true, [](const nlohmann::json&) { FAIL(); }, log));
  none.save({{"model-0.pt", [](const std::string&) { FAIL(); }}}, {});
  EXPECT_TRUE(log.str().empty());
}
