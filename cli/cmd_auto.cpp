#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "rebalance/automl/search.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/data/csv_table.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::cli {

namespace {
std::vector<std::string> split_on(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep))
    if (!part.empty()) out.push_back(part);
  return out;
}
}  // namespace

void add_auto_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("auto", "choose a re-balancing recipe for tabular data and a model: successive halving "
                                         "over stratified folds within a budget, the winner scored on held-out rows");
  static std::string data, label, delimiter, budget, output, leaderboard, recipes;
  static automl::SearchOptions o;
  static bool quiet = false;
  o.train.model = "logreg";
  o.train.epochs = 20;
  o.train.batch_size = 64;
  o.train.lr = 0.01;
  cmd->add_option("--data", data, "a CSV (or .npy, or a built-in tabular spec) with the labels")->required();
  cmd->add_option("--label", label, "the CSV label column (or the labels file of a .npy)");
  cmd->add_option("--delimiter", delimiter, "CSV field separator (default: tab for .tsv, else ',')");
  cmd->add_option("--model", o.train.model, "the classifier every recipe trains: logreg, mlp:hidden=[..], ...")
      ->capture_default_str();
  cmd->add_option("--epochs", o.train.epochs, "its training epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--batch-size", o.train.batch_size, "its batch size")->check(CLI::Range(1, 1 << 24))->capture_default_str();
  cmd->add_option("--lr", o.train.lr, "its learning rate")->check(CLI::Range(1e-12, 100.0))->capture_default_str();
  cmd->add_option("--optimizer", o.train.optimizer, "adam or sgd")->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--metric", o.metric, "what the search maximises: acsa (balanced accuracy), f1_macro, gmean, mcc, "
                                        "average_precision, ...")->capture_default_str();
  cmd->add_option("--budget", budget, "the whole run's time: 90s, 10m, 2h (default: no limit)");
  cmd->add_option("--folds", o.folds, "stratified folds of the search")->check(CLI::Range(2, 100))->capture_default_str();
  cmd->add_option("--factor", o.factor, "successive halving keeps the best 1/factor at each rung")
      ->check(CLI::Range(2, 100))->capture_default_str();
  cmd->add_option("--holdout", o.holdout, "share of the rows kept out of the search to score the winner")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  cmd->add_option("--recipes", recipes, "search only these recipes, ';'-separated (names as the leaderboard shows "
                                        "them; default: every tabular recipe)");
  cmd->add_option("--seed", o.seed, "seeds the hold-out, the folds, the samplers and the models")->capture_default_str();
  cmd->add_option("-o,--output", output, "write the winner refitted on every row here (a model file, as train -o)");
  cmd->add_option("--leaderboard", leaderboard, "write the leaderboard as CSV here");
  cmd->add_flag("--quiet", quiet, "no progress line");
  static bool separate = false;
  cmd->add_flag("--no-shared-neighbours", separate, "let every sampler search its own neighbours (to measure what "
                                                     "sharing them between the recipes of a fold saves)");
  cmd->callback([&action] {
    action = [] {
      check_outputs({{"--data", data}, {"--label", label}}, {{"--output", output}, {"--leaderboard", leaderboard}});
      const auto start = std::chrono::steady_clock::now();
      if (!budget.empty()) o.budget_s = automl::parse_budget(budget);
      o.train.seed = o.seed;
      o.progress = !quiet;
      o.share_neighbours = !separate;
      if (!recipes.empty()) {
        const auto all = automl::tabular_recipes();
        o.recipes.clear();
        for (const auto& name : split_on(recipes, ';')) {
          const auto it = std::find_if(all.begin(), all.end(), [&](const automl::Recipe& r) { return r.name == name; });
          if (it == all.end()) {
            std::string known;
            for (const auto& r : all) known += (known.empty() ? "" : "; ") + r.name;
            REBALANCE_THROW("--recipes: unknown recipe \"{}\"; the recipes: {}", name, known);
          }
          o.recipes.push_back(*it);
        }
      }
      (void)models::make_model(o.train.model, {2}, 2, 0);  // a bad --model is named before any data is read
      auto loaded = load_data_and_test(data, "", label, "", parse_delimiter(delimiter), "--label");
      const Dataset& rows = loaded.first;
      std::cout << fmt::format("data {}\n", counts_line(rows));
      const auto r = automl::search(rows, o, std::cerr);
      std::cout << automl::leaderboard_text(r);
      std::cout << fmt::format("recipe: rebalance train --model {} {}\n", o.train.model, r.winner().recipe.flags());
      AtomicFileGroup files;
      if (!leaderboard.empty()) {
        write_atomic(leaderboard, [&](std::ostream& out) { out << automl::leaderboard_csv(r); }, false);
        std::cout << "wrote " << leaderboard << "\n";
      }
      if (!output.empty()) {
        std::ostringstream quiet_log;
        const auto model = automl::fit_recipe(rows, r.winner().recipe, o.train, o.seed, quiet_log);
        train::save_model(output, model, rows);
        std::cout << "wrote " << output << " (" << r.winner().recipe.name << ", refitted on all " << rows.size()
                  << " rows)\n";
      }
      files.commit();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << fmt::format("{:.1f}s{}\n", seconds,
                               o.budget_s > 0 ? fmt::format(" of a {:.0f}s budget", o.budget_s) : std::string());
    };
  });
}

}  // namespace rebalance::cli
