#include "rebalance/automl/search.hpp"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <sstream>

#include "../test_util.hpp"
#include "../train/digits_task.hpp"
#include "rebalance/automl/image_search.hpp"
#include "rebalance/experiment/task.hpp"

using namespace rebalance;
using namespace rebalance::automl;

namespace {

/// Two overlapping Gaussians in 4-D, 1000 against 60: the linear boundary is right and its offset
/// is not, so shifting it (class weights) lifts balanced accuracy and removing a few border rows
/// (cleaning) does not.
Dataset overlapping(uint64_t seed) {
  torch::manual_seed(seed);
  const auto x = torch::cat({torch::randn({1000, 4}), torch::randn({60, 4}) + 1.2});
  const auto y = torch::cat({torch::zeros({1000}, torch::kInt64), torch::ones({60}, torch::kInt64)});
  return Dataset::from_tensors(x, y, {"common", "rare"}, "overlapping");
}

std::vector<Recipe> named(const std::vector<std::string>& names) {
  std::vector<Recipe> out;
  for (const auto& r : tabular_recipes())
    for (const auto& n : names)
      if (r.name == n) out.push_back(r);
  return out;
}

/// The budget's clock in a test: each reading moves it `step` seconds on, so what the budget
/// decides is the same on a loaded machine as on an idle one (tests never assert wall-clock time).
std::function<double()> ticking_clock(double step) {
  auto now = std::make_shared<double>(0.0);
  return [now, step] { return *now += step; };
}

SearchOptions small(const std::vector<std::string>& recipes) {
  SearchOptions o;
  o.train.model = "logreg";
  o.train.epochs = 15;
  o.train.batch_size = 64;
  o.train.lr = 0.02;
  o.recipes = named(recipes);
  o.progress = false;
  return o;
}

}  // namespace

TEST(AutoSearch, ClassWeightsWinWhereOnlyReweightingHelps) {
  std::ostringstream log;
  const auto r = search(overlapping(0), small({"nothing", "class weights", "tomek_links", "enn", "oss"}), log);
  EXPECT_EQ(r.winner().recipe.name, "class weights") << leaderboard_text(r);
  EXPECT_EQ(r.winner().recipe.flags(), "--loss weighted_ce");
  EXPECT_EQ(r.winner().scores.size(), 5u);
  EXPECT_EQ(r.folds, 5);
  EXPECT_DOUBLE_EQ(r.selection, r.winner().mean());
  EXPECT_GT(r.estimate, 0.6);
  EXPECT_EQ(r.searched_rows + r.held_out_rows, 1060);
  EXPECT_EQ(r.held_out_rows, 212);  // 20% of each class: 200 + 12
  // Successive halving: 5 recipes on fold 1, the best 2 on fold 2, the best of those on folds 3-5.
  int64_t fits = 0;
  for (const auto& s : r.board) fits += static_cast<int64_t>(s.scores.size());
  EXPECT_EQ(fits, 5 + 2 + 3);
  const auto nothing = std::find_if(r.board.begin(), r.board.end(), [](const auto& s) { return s.recipe.name == "nothing"; });
  EXPECT_LT(nothing->mean(), r.selection);
  const auto text = leaderboard_text(r);
  EXPECT_NE(text.find("winner: class weights (--loss weighted_ce); selection score"), std::string::npos) << text;
  EXPECT_NE(text.find("held-out rows the search never saw"), std::string::npos);
  EXPECT_NE(text.find("eliminated after 1 fold(s)"), std::string::npos);
  const auto csv = leaderboard_csv(r);
  EXPECT_EQ(csv.rfind("rank,recipe,family,sampler,loss,mean,std,ci_low,ci_high,folds,seconds_per_fold,tied_with_best,"
                      "p_vs_best,status\n1,\"class weights\",\"class weights\",\"\",\"weighted_ce\",", 0), 0u) << csv;
  // The same seed, the same search.
  std::ostringstream again_log;
  const auto again = search(overlapping(0), small({"nothing", "class weights", "tomek_links", "enn", "oss"}), again_log);
  EXPECT_EQ(again.winner().scores, r.winner().scores);
}

TEST(AutoSearch, SamplersOfOneFoldShareTheirNeighbourSearches) {
  std::ostringstream log;
  auto o = small({"smote:k_neighbors=5", "smote:k_neighbors=3", "borderline_smote:kind=borderline-1",
                  "borderline_smote:kind=borderline-2", "adasyn"});
  const auto r = search(overlapping(2), o, log);
  // On fold 1 all five search the same rows: SMOTE k=3 is served from k=5's search, the two
  // Borderline-SMOTEs share theirs.
  EXPECT_GE(r.neighbour_searches_shared, 2) << leaderboard_text(r);
  EXPECT_NE(leaderboard_text(r).find("more served from those"), std::string::npos);
}

TEST(AutoSearch, TheBudgetIsKept) {
  auto o = small({});
  o.recipes = tabular_recipes();
  // A fit reads the clock before and after it: each costs a tick of 0.05 s, the 21 recipes' first
  // folds alone over 1 s: a 1 s budget stops the search in its first rung.
  o.clock = ticking_clock(0.05);
  o.budget_s = 1.0;
  std::ostringstream log;
  const auto r = search(overlapping(1), o, log);
  EXPECT_LE(r.seconds, o.budget_s) << leaderboard_text(r);
  int64_t scored = 0;
  for (const auto& s : r.board) scored += !s.scores.empty();
  EXPECT_GE(scored, 2) << leaderboard_text(r);
  EXPECT_TRUE(r.exhausted);
  EXPECT_NE(leaderboard_text(r).find("the budget ran out"), std::string::npos);
  bool budget_status = false;
  for (const auto& s : r.board) budget_status |= s.status.rfind("budget", 0) == 0;
  EXPECT_TRUE(budget_status);
}

TEST(AutoSearchErrors, BadBudgetsMetricsAndData) {
  EXPECT_EQ(parse_budget("10m"), 600);
  EXPECT_EQ(parse_budget("1h30m"), 5400);
  EXPECT_EQ(parse_budget("90s"), 90);
  EXPECT_EQ(parse_budget("45"), 45);
  EXPECT_ERROR_MENTIONS(parse_budget("soon"), "budget \"soon\"", "10m");
  EXPECT_ERROR_MENTIONS(parse_budget("0s"), "budget \"0s\"");
  std::ostringstream log;
  auto o = small({"nothing", "class weights"});
  o.metric = "auc_pr";
  EXPECT_ERROR_MENTIONS(search(overlapping(0), o, log), "metric \"auc_pr\" is not one a search maximises", "f1_macro");
  o = small({"nothing"});
  o.recipes.push_back({"bad", "over-sampling", "smote:k_neighbors=0", "ce"});
  EXPECT_ERROR_MENTIONS(search(overlapping(0), o, log), "k_neighbors");
  const auto tiny = overlapping(0).subset(torch::cat({torch::arange(0, 50), torch::tensor({1000, 1001})}));
  EXPECT_ERROR_MENTIONS(search(tiny, small({"nothing"}), log), "class \"rare\" has 2 row(s)");
}

TEST(AutoImageSearch, EpochRungsPickARebalancingRecipeAndScoreItOnTest) {
  const auto& t = rebalance::testing::digits_zero_six();  // 0 (all) against 20 sixes
  ImageSearchOptions o;
  o.train.model = "lenet";
  o.train.batch_size = 64;
  o.max_epochs = 3;
  o.progress = false;
  for (const auto& r : image_recipes(2))
    if (r.name == "ERM" || r.name == "class weights" || r.name == "balanced batches" || r.name == "DeepSMOTE")
      o.recipes.push_back(r);
  o.generators = false;
  std::ostringstream log;
  const auto r = search_images(t.train, t.validation, t.test, o, log);
  EXPECT_EQ(r.rung_epochs, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(r.board.size(), 3u);  // DeepSMOTE left out with the generators
  EXPECT_NE(r.winner().recipe.name, "ERM") << image_leaderboard_text(r);
  EXPECT_EQ(r.winner().rungs.back().first, 3);
  EXPECT_DOUBLE_EQ(r.selection, r.winner().score());
  EXPECT_DOUBLE_EQ(r.estimate, r.test_report["acsa"].get<double>());
  EXPECT_EQ(r.test_report["n"], t.test.size());
  ASSERT_TRUE(r.winner_model);
  // One recipe eliminated after the 1-epoch rung (3 recipes, a third kept... at least one).
  int64_t eliminated = 0;
  for (const auto& s : r.board) eliminated += s.status == "eliminated after 1 epoch(s)";
  EXPECT_EQ(eliminated, 2);
  const auto text = image_leaderboard_text(r);
  EXPECT_NE(text.find("test acsa"), std::string::npos);
  EXPECT_NE(text.find("rungs of 1, 3 epoch(s)"), std::string::npos);
  EXPECT_EQ(r.fewest_validation_class, "6");
  EXPECT_NE(text.find("warning: the validation split holds 2 rows of class \"6\""), std::string::npos) << text;
  // The winner as a config block, and one report row per recipe and rung.
  const auto block = r.winner().recipe.method_toml();
  EXPECT_EQ(block.rfind("[[method]]\nname = \"" + r.winner().recipe.name + "\"\n", 0), 0u) << block;
  const auto rows = image_results_rows(r, "unit");
  EXPECT_EQ(rows.size(), 3u + 1u);
  EXPECT_EQ(rows.front()["level"], "1 epoch");  // the winner first, its rungs in order
  EXPECT_EQ(rows[1]["level"], "3 epochs");
  EXPECT_TRUE(rows.front()["metrics"].contains("confusion_matrix"));
  o.metric = "auc_pr";
  EXPECT_ERROR_MENTIONS(search_images(t.train, t.validation, t.test, o, log), "metric \"auc_pr\"");
}

TEST(AutoImageSearch, GeneratorsRunOnlyWhileTheBudgetAllows) {
  const auto& t = rebalance::testing::digits_zero_six();
  ImageSearchOptions o;
  o.train.model = "lenet";
  o.train.batch_size = 64;
  o.max_epochs = 3;
  o.progress = false;
  // Each reading of the clock a quarter second on: a few cheap recipes fit in 4 s, no generator
  // (its first run is guessed at a minute) starts.
  const double tick = 0.25;
  o.clock = ticking_clock(tick);
  o.budget_s = 4.0;
  std::ostringstream log;
  const auto r = search_images(t.train, t.validation, t.test, o, log);
  EXPECT_TRUE(r.exhausted);
  int64_t scored = 0, generators = 0;
  for (const auto& s : r.board) {
    if (s.recipe.generator) EXPECT_EQ(s.status, "budget: not run") << s.recipe.name;
    scored += !s.rungs.empty();
    generators += s.recipe.generator;
  }
  // Within the budget but for the readings after the last run, which this clock makes cost a tick
  // each (a real one, nothing): one per generator turned down and the final one.
  EXPECT_LE(r.seconds, o.budget_s + tick * static_cast<double>(generators + 1)) << image_leaderboard_text(r);
  EXPECT_GE(scored, 2) << image_leaderboard_text(r);
  EXPECT_NE(image_leaderboard_text(r).find("the budget ran out"), std::string::npos);
}
