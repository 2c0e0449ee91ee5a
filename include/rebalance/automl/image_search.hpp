// `rebalance auto` on images: successive halving over deep-learning recipes (loss x batch policy x
// mixing x generator x decision rule) with training epochs as the resource, on a stratified
// validation split: every recipe trains a few epochs, the best third trains longer, until the
// survivors have the full budget of epochs; recipes that train a generator first come last, and
// only while the time budget allows. The winner is scored once on the test rows, which the search
// never saw, beside its validation (selection) score.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "rebalance/data/dataset.hpp"
#include "rebalance/train/train_options.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::automl {

struct ImageRecipe {
  std::string name{};
  std::string sampler{};  ///< empty: none
  std::string loss = "ce";
  std::string batch_policy = "uniform";
  std::string mix{};      ///< empty: none
  std::string decision = "argmax";
  bool generator = false;  ///< trains a generator before the classifier: tried last, while the budget allows
  /// The recipe as a `[[method]]` block of a `rebalance run` config.
  std::string method_toml() const;
};

/// The catalogue for image data with `num_classes` classes, cheapest first: losses, batch policies,
/// mixing, decision rules, then generators (threshold moving only for two classes).
std::vector<ImageRecipe> image_recipes(int64_t num_classes);

struct ImageSearchOptions {
  int64_t max_epochs = 8;  ///< the last rung's epochs
  int64_t factor = 3;      ///< each rung keeps the best 1/factor and multiplies the epochs by it
  double budget_s = 0;     ///< 0: no limit
  std::string metric = "acsa";
  uint64_t seed = 0;
  train::TrainOptions train;         ///< the model and its optimiser (the recipe sets loss, policy, mix, decision)
  std::vector<ImageRecipe> recipes;  ///< empty: image_recipes()
  bool generators = true;            ///< false: leave the generator recipes out
  bool progress = true;
  std::function<double()> clock;  ///< the budget's clock, as SearchOptions::clock
};

struct ImageRecipeResult {
  ImageRecipe recipe;
  /// (epochs, validation score) of each rung it trained in, and the validation report of each.
  std::vector<std::pair<int64_t, double>> rungs;
  std::vector<nlohmann::json> reports;
  std::vector<double> seconds;  ///< per rung
  std::string status;           ///< winner, ok, eliminated after N epochs, budget: ..., or the error
  bool failed = false;
  double score() const { return rungs.empty() ? -1.0 : rungs.back().second; }
};

struct ImageSearchResult {
  std::vector<ImageRecipeResult> board;  ///< best first; board.front() is the winner
  std::vector<int64_t> rung_epochs;
  std::string metric;
  double selection = 0;         ///< the winner's validation score (the best of many: optimistic)
  double estimate = 0;          ///< the winner, as trained, scored on the test rows
  nlohmann::json test_report;   ///< its full test report
  bool exhausted = false;
  double seconds = 0;
  /// The validation split's rows of its smallest class, and that class: the selection rests on them.
  int64_t fewest_validation_rows = 0;
  std::string fewest_validation_class;
  std::shared_ptr<train::TrainResult> winner_model;  ///< the winner as trained (what `-o` saves)
  Dataset winner_train;                              ///< the rows it trained on (after its sampler)
  const ImageRecipeResult& winner() const { return board.front(); }
};

/// Search on `train`, scoring on `validation`; the winner, as trained at the last rung, is scored
/// on `test` and kept in `winner_model`. Error when no recipe can be scored.
ImageSearchResult search_images(const Dataset& train, const Dataset& validation, const Dataset& test,
                                const ImageSearchOptions& o, std::ostream& log);

std::string image_leaderboard_text(const ImageSearchResult& r);

/// Rows in `rebalance run`'s results.jsonl shape for `rebalance report`: each recipe's validation
/// report at each rung (level "N epochs"), so the report charts each recipe against the epochs.
std::vector<nlohmann::json> image_results_rows(const ImageSearchResult& r, const std::string& experiment);

}  // namespace rebalance::automl
