// Result tables in the layouts of the seeds: one row per method, one column per imbalance level,
// each cell the mean (and standard deviation over seeds) of a metric; marked in each column: the
// best mean and every method a paired t-test over the seeds cannot tell from it. Printed, and
// written as Markdown and CSV.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebalance {

struct TableCell {
  double mean = 0, std = 0;  ///< std: sample standard deviation over seeds (0 for one seed)
  int64_t n = 0;
  bool best = false;  ///< the column's best mean
  /// The best, or a method that a two-sided paired t-test over the seeds both have cannot tell
  /// from it (p >= ResultTable::alpha). Needs two shared seeds: with fewer, only the best is tied.
  bool tied = false;
  int64_t paired = 0;  ///< the seeds the comparison with the best rests on (0: the best itself, or none)
  double p_vs_best = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<uint64_t, double>> values;  ///< (seed, value), in the results' order
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
  double alpha = 0.05;  ///< the paired test's level: p >= alpha cannot tell a method from the best
};

/// What the table marks and on how many seeds that rests, for its caption: e.g. "bold: the best
/// mean per column and every method a two-sided paired t-test over 3 seeds cannot tell from it
/// (p >= 0.05)".
std::string table_marking(const ResultTable& t);

/// The order of a table's rows and columns, as a config lists its methods and levels (results of a
/// grid run by several workers arrive as their cells end). Names it lacks follow, in the order they
/// first appear in the results; empty lists leave that order alone.
struct TableOrder {
  std::vector<std::string> methods, levels;
};

/// Metrics are read from each result's "metrics" object (per class: "per_class.NAME.recall").
/// "misclassified" is lower-is-better (seed 000's table), everything else higher-is-better.
/// Methods whose results carry "leak" (a sampler saw test rows) are never the column's best.
/// "quality.FIELD" tabulates a sample-quality measure of the synthetic rows ("two_sample_auc",
/// "memorisation", "tstr_recall", ...; the mean over grown classes) for the methods that have
/// one, with no best marked (an AUC of 0.5 is ideal, a memorisation of 1).
ResultTable make_table(const std::vector<nlohmann::json>& results, const std::string& metric,
                       const TableOrder& order = {});

/// Markdown with the tied cells of each column (the best and those not told from it) in bold;
/// `digits` decimals (misclassified counts: 1).
std::string table_markdown(const ResultTable& t, int digits = 4);
std::string table_csv(const ResultTable& t);

}  // namespace rebalance
