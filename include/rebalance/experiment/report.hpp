// The HTML report of an experiment: one self-contained file (tables, Vega-Lite charts, sample
// images, machine and config) built from results.jsonl that opens offline in any browser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rebalance {

/// The npm packages whose build/*.min.js the report inlines; scripts/setup fetches exactly these
/// into data_cache_dir()/<name>/.
struct VegaPackage {
  const char* name;
  const char* version;
  const char* script;  ///< path inside the package
};
const std::vector<VegaPackage>& vega_packages();

struct ReportOptions {
  std::string title;                 ///< empty: "rebalance: <experiment name>"
  std::optional<std::string> level;  ///< level label for confusion matrices and PR curves (default:
                                     ///< confusion at the first level, PR curves at every level)
  std::optional<uint64_t> seed;      ///< seed for confusion matrices and PR curves (default: lowest)
  /// Tables in the seeds' layouts: methods x levels, mean ± std over seeds, best per column marked.
  std::vector<std::string> table_metrics = {"f1_macro", "acsa", "misclassified"};
  /// One chart each against minority size (or rho); metrics absent from the results are skipped.
  std::vector<std::string> chart_metrics = {"f1_macro", "acsa", "gmean", "mcc", "average_precision", "misclassified"};
  std::string vega_dir;  ///< folder holding vega/, vega-lite/, vega-embed/; empty: data_cache_dir()
};

/// Read `results_path` (results.jsonl of `rebalance run`) and write the report to `html_path`
/// atomically. PNGs in <results dir>/samples/ are embedded, as is <results dir>/config.toml.
/// Errors: missing or empty results, an unknown --level or --seed, Vega scripts not installed.
///
///     write_report("results/tiny/results.jsonl", "results/tiny/report.html", {});
void write_report(const std::string& results_path, const std::string& html_path, const ReportOptions& options);

/// `text` with &, <, >, " and ' replaced by entities: safe in HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace rebalance
