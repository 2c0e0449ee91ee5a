// Result tables in the layouts of the seeds: one row per method, one column per imbalance level,
// each cell the mean (and standard deviation over seeds) of a metric, the best of each column
// marked. Printed, and written as Markdown and CSV.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebalance {

struct TableCell {
  double mean = 0, std = 0;  ///< std: sample standard deviation over seeds (0 for one seed)
  int64_t n = 0;
  bool best = false;
};

struct ResultTable {
  std::string metric;
  bool lower_is_better = false;
  bool quality = false;              ///< a "quality.FIELD" table: no column best is marked
  std::vector<std::string> methods;  ///< rows, in the order they first appear
  /// Per method: its results came from a sampler that saw test rows (the config's leak key);
  /// such rows are shown but never marked best.
  std::vector<bool> leaked;
  std::vector<std::string> levels;   ///< columns, in the order they first appear
  std::vector<std::vector<std::optional<TableCell>>> cells;  ///< [method][level]
};

/// Metrics are read from each result's "metrics" object (per class: "per_class.NAME.recall").
/// "misclassified" is lower-is-better (seed 000's table), everything else higher-is-better.
/// Methods whose results carry "leak" (a sampler saw test rows) are never the column's best.
/// "quality.FIELD" tabulates a sample-quality measure of the synthetic rows ("two_sample_auc",
/// "memorisation", "tstr_recall", ...; the mean over grown classes) for the methods that have
/// one, with no best marked (an AUC of 0.5 is ideal, a memorisation of 1).
ResultTable make_table(const std::vector<nlohmann::json>& results, const std::string& metric);

/// Markdown with the best of each column in bold; `digits` decimals (misclassified counts: 1).
std::string table_markdown(const ResultTable& t, int digits = 4);
std::string table_csv(const ResultTable& t);

}  // namespace rebalance
