#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/experiment/report.hpp"

namespace rebalance::cli {

void add_report_command(CLI::App& app, Action& action) {
  auto* cmd =
      app.add_subcommand("report", "write a self-contained HTML report (tables, charts, samples) of results.jsonl");
  static std::string results_path, output, level;
  static int64_t seed = -1;
  cmd->add_option("results", results_path, "results.jsonl written by `rebalance run`")->required();
  cmd->add_option("-o,--output", output, "HTML file to write (default: report.html beside the results)");
  cmd->add_option("--level", level,
                  "level label for the confusion matrices and PR curves (default: first level; "
                  "PR curves: every level)");
  cmd->add_option("--seed", seed, "seed for the confusion matrices and PR curves (default: the lowest)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([&action] {
    action = [] {
      ReportOptions o;
      if (!level.empty()) o.level = level;
      if (seed >= 0) o.seed = static_cast<uint64_t>(seed);
      const auto path =
          output.empty() ? (std::filesystem::path(results_path).parent_path() / "report.html").string() : output;
      // A missing results file is reported as such by write_report, before anything is written.
      if (std::filesystem::is_regular_file(results_path)) check_outputs({{"results", results_path}}, {{"--output", path}});
      write_report(results_path, path, o);
      std::cout << "wrote " << path << "\n";
    };
  });
}

}  // namespace rebalance::cli
