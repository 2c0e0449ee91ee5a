// `rebalance auto` for tabular data: choose a re-balancing recipe (nothing, class weights, a
// sampler) for the user's data and model by successive halving over stratified folds, within a
// time budget, and score the winner on rows the search never saw, beside its (optimistic)
// selection score. The Python side's rebalance.auto.AutoResampler does the same with any
// scikit-learn estimator; this one trains rebalance's own models (logreg, mlp, ...).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"
#include "rebalance/train/train_options.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::automl {

/// One recipe: a sampler (or none) and the loss.
struct Recipe {
  std::string name;    ///< as the leaderboard shows it: the sampler spec, "nothing" or "class weights"
  std::string family;  ///< none, class weights, over-sampling, under-sampling, cleaning, over-sampling then cleaning
  std::string sampler; ///< a `rebalance methods samplers` spec; empty: none
  std::string loss = "ce";
  /// The recipe as `rebalance train` flags, e.g. "--sampler smote:k_neighbors=3 --loss ce".
  std::string flags() const;
};

/// The tabular catalogue, cheapest families first (27 - 6 = 21 recipes: the Python side adds the
/// Python-only samplers and the ensembles).
std::vector<Recipe> tabular_recipes();

/// "90s", "10m", "2h", "1h30m" or a number of seconds; Error otherwise.
double parse_budget(const std::string& text);

struct SearchOptions {
  int64_t folds = 5;    ///< stratified folds (fewer where the smallest class has fewer rows)
  int64_t factor = 3;   ///< each rung keeps the best 1/factor
  double budget_s = 0;  ///< the whole search, hold-out scoring and refit included; 0: no limit
  double holdout = 0.2; ///< share of the rows kept out of the search to score the winner
  std::string metric = "acsa";  ///< a metric of the test report: acsa (balanced accuracy), f1_macro, gmean, mcc, ...
  uint64_t seed = 0;
  train::TrainOptions train;    ///< the model and its training (loss and sampler come from the recipe)
  std::vector<Recipe> recipes;  ///< empty: tabular_recipes()
  bool progress = true;         ///< a progress line with the time left on the log
  /// Share the samplers' exact neighbour searches between the recipes of a fold (neighbors::KnnCache);
  /// false only to measure what that saves.
  bool share_neighbours = true;
  /// Seconds on a monotonic clock, what the budget is counted on; empty: std::chrono::steady_clock.
  /// Tests pass a virtual clock, so that what the budget decides does not hang on the machine's load.
  std::function<double()> clock;
};

struct RecipeResult {
  Recipe recipe;
  std::vector<double> scores;   ///< per fold, in fold order
  std::vector<double> seconds;  ///< per fold evaluated
  std::string status;           ///< winner, ok, eliminated after N fold(s), budget: ..., or the error
  bool failed = false;
  bool tied = false;            ///< the winner, or a paired t-test over shared folds cannot tell it from it
  double p_vs_best = std::numeric_limits<double>::quiet_NaN();
  double mean() const;
  double std() const;
  double ci_half() const;       ///< half the 95% t interval over the folds (NaN with fewer than 2)
};

struct SearchResult {
  std::vector<RecipeResult> board;  ///< best first; board.front() is the winner
  int64_t folds = 0;
  std::string metric;
  double selection = 0;  ///< the winner's mean over the search's folds (the best of many: optimistic)
  double estimate = 0;   ///< the winner, trained on the searched rows, scored on the hold-out
  int64_t searched_rows = 0, held_out_rows = 0;
  bool exhausted = false;  ///< the budget left some recipe or fold out
  double seconds = 0;
  /// Exact neighbour searches the samplers asked for that an earlier recipe on the same rows had
  /// already run (served from neighbors::KnnCache), and those run.
  int64_t neighbour_searches_shared = 0, neighbour_searches_run = 0;
  const RecipeResult& winner() const { return board.front(); }
};

/// Search on `data` minus a stratified hold-out and score the winner there. `deadline_s` counts
/// from the call. Error when no recipe can be scored (the plain model's own error where it fails).
SearchResult search(const Dataset& data, const SearchOptions& o, std::ostream& log);

/// The metrics a search may maximise (a test report's numbers; "balanced_accuracy" is acsa): Error
/// naming them for any other.
void check_metric(const std::string& name);

/// The metric `name` of a report as metrics::report_to_json writes it ("balanced_accuracy" is acsa).
double report_metric(const nlohmann::json& report, const std::string& name);

/// `clock()`, or std::chrono::steady_clock's seconds where it is empty: the searches' budget clock.
double clock_seconds(const std::function<double()>& clock);

/// One rung of successive halving, shared by the searches: `scored` sorted best first by `score`,
/// the best ceil(n / factor) (at least one) kept and returned; `eliminate` is called on the rest.
std::vector<size_t> keep_best(std::vector<size_t> scored, const std::function<double(size_t)>& score, int64_t factor,
                              const std::function<void(size_t)>& eliminate);

/// The metric `name` of a test report of `model`'s predictions on `test`.
double score(const train::TrainResult& model, const Dataset& test, const std::string& name);

/// Train `r` on `data` with `o` (its sampler first, its loss), no validation: the refit.
train::TrainResult fit_recipe(const Dataset& data, const Recipe& r, const train::TrainOptions& o, uint64_t seed,
                              std::ostream& log);

/// The leaderboard as text (a `*` marks the tied) and as CSV.
std::string leaderboard_text(const SearchResult& r);
std::string leaderboard_csv(const SearchResult& r);

}  // namespace rebalance::automl
