#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/experiment/runner.hpp"
#include "rebalance/experiment/table.hpp"

namespace rebalance::cli {

void add_run_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "run an experiment config (TOML) cell by cell; a rerun resumes");
  static std::string config_path, out_dir;
  static int64_t stop_after = -1;
  cmd->add_option("config", config_path, "experiment .toml")->required();
  cmd->add_option("--out", out_dir, "output directory (default: results/<config name>)");
  cmd->add_option("--stop-after", stop_after, "stop after this many new cells (a rerun continues)");
  cmd->callback([&action] {
    action = [] {
      const auto config = load_experiment(config_path);
      RunOptions o;
      o.out_dir = out_dir.empty() ? (std::filesystem::path("results") / std::filesystem::path(config_path).stem()).string()
                                  : out_dir;
      o.stop_after_cells = stop_after;
      check_outputs({{"config", config_path}}, {{"--out", o.out_dir, true}});
      std::cout << fmt::format("{}: {} cells ({} levels x {} seeds x {} methods) -> {}\n", config.name,
                               config.levels.size() * config.seeds.size() * config.methods.size(), config.levels.size(),
                               config.seeds.size(), config.methods.size(), o.out_dir);
      const auto s = run_experiment(config, o, std::cout);
      std::cout << fmt::format("done: {} run, {} already in {}, {} of {} complete\n", s.ran, s.skipped, s.results_path,
                               s.ran + s.skipped, s.total);
      if (s.ran + s.skipped == s.total) {
        const auto results = read_results(s.results_path);
        std::cout << "\n" << table_markdown(make_table(results, config.metric));
      }
    };
  });
}

void add_table_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("table", "tabulate results.jsonl: methods x imbalance levels, mean ± std over seeds");
  static std::string results_path, output;
  static std::vector<std::string> metric_names = {"f1_macro"};
  cmd->add_option("results", results_path, "results.jsonl written by `rebalance run`")->required();
  cmd->add_option("-m,--metric", metric_names,
                  "metric(s): f1_macro, acsa, gmean, misclassified, per_class.NAME.recall, ..., or a sample-quality "
                  "measure of the synthetic rows: quality.two_sample_auc, quality.memorisation, quality.tstr_recall, ...")
      ->capture_default_str();
  cmd->add_option("-o,--output", output, "also write PREFIX.md and PREFIX.csv (one pair per metric: PREFIX_METRIC.*)");
  cmd->callback([&action] {
    action = [] {
      std::vector<NamedPath> outs;
      for (const auto& m : metric_names)
        for (const char* ext : {".md", ".csv"})
          if (!output.empty()) outs.push_back({"--output", (metric_names.size() > 1 ? output + "_" + m : output) + ext});
      check_outputs({{"results", results_path}}, outs);
      const auto results = read_results(results_path);
      REBALANCE_CHECK(!results.empty(), "{}: no results", results_path);
      for (const auto& m : metric_names) {
        const auto t = make_table(results, m);
        const auto md = table_markdown(t);
        std::cout << md << "\n";
        if (!output.empty()) {
          const std::string prefix = metric_names.size() > 1 ? output + "_" + m : output;
          AtomicFileGroup files;  // the pair appears together, or (on an error) neither changes
          write_atomic(prefix + ".md", [&](std::ostream& out) { out << md; }, false);
          write_atomic(prefix + ".csv", [&](std::ostream& out) { out << table_csv(t); }, false);
          files.commit();
          std::cout << "wrote " << prefix << ".md and " << prefix << ".csv\n";
        }
      }
    };
  });
}

}  // namespace rebalance::cli
