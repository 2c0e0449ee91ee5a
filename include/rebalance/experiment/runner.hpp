// The experiment runner: expand a config's grid (imbalance level x seed x method), run every
// cell, append each result atomically to results.jsonl, and skip finished cells on a rerun.
#pragma once

#include <functional>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebalance/experiment/config.hpp"
#include "rebalance/experiment/table.hpp"

namespace rebalance {

struct RunOptions {
  std::string out_dir;
  int64_t stop_after_cells = -1;  ///< end after this many newly run cells (tests: a "kill")
  int64_t stop_after_epochs = -1; ///< end inside a cell after this many of its epochs (tests: a "kill")
  bool progress = true;
  /// A cell's sampler rows (and their quality measures) are kept in its checkpoint, for a rerun
  /// after a kill, when making them took at least this long (tests: 0).
  double keep_sampler_rows_after_s = 10;
  /// One of `workers` processes sharing the grid (`rebalance run --jobs N` starts them): each takes
  /// the next cell in grid order that no worker has claimed (a file per cell under OUT/.claims,
  /// created exclusively; see clear_cell_claims), and adds each result row to results.jsonl under a
  /// lock, re-reading the others' rows first.
  int64_t worker = 0, workers = 1;
  /// Tests: called with exactly the rows each sampler is fitted on, and the cell's test set.
  std::function<void(const std::string& method, const Dataset& sampler_input, const Dataset& test)> on_sampler_input;
};

struct RunSummary {
  int64_t total = 0, skipped = 0, ran = 0;
  std::string results_path;
};

/// Run the grid. Cells run one after another with all cores each; data sets are loaded once.
/// Each result line holds the cell (level, method, seed), the config hash, versions, every test
/// metric, the confusion matrix, the test scores of binary tasks (for curves) and timings.
/// A cell's training writes per-epoch checkpoints under OUT/.checkpoints (removed when the cell's
/// row is written), so a killed run continues an unfinished cell from its last epoch.
RunSummary run_experiment(const ExperimentConfig& config, const RunOptions& options, std::ostream& log);

/// Rewrite results.jsonl with this config's cells in grid order (levels, seeds, methods), after
/// parallel workers added them in the order they finished; rows of other configs stay after them.
/// Returns how many of the grid's cells the file holds.
int64_t order_results(const ExperimentConfig& config, const std::string& out_dir);

/// The table order of `config`: its methods (as results name them) and levels, as it lists them.
TableOrder table_order(const ExperimentConfig& config);

/// The rows of `results` that are cells of `config`'s grid (by their keys); `left_out` receives
/// how many were not (rows of another version of the config: other data, training or method
/// settings, whose keys differ), which a table of this config must not mix in.
std::vector<nlohmann::json> rows_of_grid(const ExperimentConfig& config, const std::vector<nlohmann::json>& results,
                                         int64_t* left_out = nullptr);

/// Forget the cells claimed by earlier workers in `out_dir`: the process that starts the workers
/// calls it before they start and after they end (a killed run's claims would hide its unfinished
/// cells from the rerun).
void clear_cell_claims(const std::string& out_dir);

/// A cell of the grid not yet in results.jsonl (`rebalance run --status`).
struct MissingCell {
  std::string level, method;
  uint64_t seed = 0;
  std::string key;
  bool started = false;  ///< a killed run left its training checkpoint: a rerun continues it
};

/// The grid's cells that `out_dir`'s results.jsonl does not hold yet, in grid order (levels,
/// seeds, methods): what a rerun would run. Reads the results only, never the data.
std::vector<MissingCell> missing_cells(const ExperimentConfig& config, const std::string& out_dir);

/// results.jsonl as a list of JSON objects (a torn last line is an error naming the line).
std::vector<nlohmann::json> read_results(const std::string& path);

}  // namespace rebalance
