#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "rebalance/automl/image_search.hpp"
#include "rebalance/automl/search.hpp"
#include "rebalance/experiment/report.hpp"
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
  auto* cmd = app.add_subcommand("auto", "choose a re-balancing recipe for the data and a model within a budget: "
                                         "successive halving over stratified folds (tabular data) or over training "
                                         "epochs on a validation split (images); the winner scored on rows the search "
                                         "never saw");
  static std::string data, label, delimiter, budget, output, leaderboard, recipes;
  static automl::SearchOptions o;
  static bool quiet = false;
  o.train.model = "logreg";
  o.train.epochs = 20;
  o.train.batch_size = 64;
  o.train.lr = 0.01;
  cmd->add_option("--data", data, "a CSV, .npy or built-in tabular spec (the tabular search), or image data: a "
                                  "built-in image set or an image folder (the image search)")->required();
  cmd->add_option("--label", label, "the CSV label column (or the labels file of a .npy)");
  cmd->add_option("--delimiter", delimiter, "CSV field separator (default: tab for .tsv, else ',')");
  static CLI::Option* model_flag = nullptr;
  model_flag = cmd->add_option("--model", o.train.model, "the classifier every recipe trains: logreg, "
                                     "mlp:hidden=[..], ... (images: default lenet)")->capture_default_str();
  static CLI::Option* epochs_flag = nullptr;
  epochs_flag = cmd->add_option("--epochs", o.train.epochs, "its training epochs (images: the last rung's; "
                                      "default 8)")->check(CLI::Range(1, 100000))->capture_default_str();
  static TaskOptions task;
  static std::string method_out, report_dir;
  static bool no_generators = false;
  cmd->add_option("--pair", task.pair, "images: a binary task A:N_A,B:N_B");
  cmd->add_option("--long-tail", task.long_tail, "images: a long-tailed training profile with imbalance ratio rho");
  cmd->add_option("--keep", task.keep, "images: per-class training counts CLASS:N,...");
  cmd->add_option("--test", task.test, "images: a separate test set (default: a stratified split of --data)");
  cmd->add_option("--val-fraction", task.val_fraction, "images: the validation share the search scores on")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  cmd->add_option("--method-out", method_out, "images: write the winner as a [[method]] block for `rebalance run`");
  cmd->add_option("--report", report_dir, "images: write results.jsonl (each recipe's validation report at each "
                                          "rung) and report.html into this folder");
  cmd->add_flag("--no-generators", no_generators, "images: leave out the recipes that train a generator");
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
      const double whole_budget = o.budget_s;
      // The budget counts the whole command: what reading the data took is the search's less.
      const auto left = [&] {
        if (whole_budget <= 0) return 0.0;
        const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        REBALANCE_CHECK(spent < whole_budget, "--budget {}: reading the data took {:.1f}s of it", budget, spent);
        return whole_budget - spent;
      };
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
      auto loaded = load_data_and_test(data, "", label, "", parse_delimiter(delimiter), "--label");
      if (loaded.first.x.dim() == 4) {
        check_outputs({{"--data", data}, {"--label", label}, {"--test", task.test}},
                      {{"--output", output}, {"--method-out", method_out}, {"--report", report_dir, true}});
        if (model_flag->count() == 0) o.train.model = "lenet";
        if (epochs_flag->count() == 0) o.train.epochs = 8;
        (void)models::make_model(o.train.model, loaded.first.feature_shape(), 2, 0);
        REBALANCE_CHECK(leaderboard.empty() && recipes.empty(), "--leaderboard and --recipes are for tabular data; "
                        "the image search prints its leaderboard and searches its own recipes");
        task.data = data, task.label = label, task.delimiter = parse_delimiter(delimiter), task.seed = o.seed;
        const Task t = build_task(task);
        std::cout << fmt::format("train {}\nvalidation {}\ntest {}\n", counts_line(t.train), counts_line(t.validation),
                                 counts_line(t.test));
        automl::ImageSearchOptions io;
        io.max_epochs = o.train.epochs, io.factor = o.factor, io.budget_s = left(), io.metric = o.metric;
        io.seed = o.seed, io.train = o.train, io.generators = !no_generators, io.progress = !quiet;
        const auto r = automl::search_images(t.train, t.validation, t.test, io, std::cerr);
        std::cout << automl::image_leaderboard_text(r);
        std::cout << "the winner as a [[method]] of a `rebalance run` config:\n" << r.winner().recipe.method_toml();
        std::string results, html;
        {  // the method block, the model and the results appear together, or (on an error) none
          AtomicFileGroup files;
          if (!method_out.empty()) {
            write_atomic(method_out, [&](std::ostream& out) { out << r.winner().recipe.method_toml(); }, false);
            std::cout << "wrote " << method_out << "\n";
          }
          if (!output.empty()) {
            train::save_model(output, *r.winner_model, r.winner_train);
            std::cout << "wrote " << output << " (" << r.winner().recipe.name << ", as trained in the search)\n";
          }
          if (!report_dir.empty()) {
            std::filesystem::create_directories(report_dir);
            results = (std::filesystem::path(report_dir) / "results.jsonl").string();
            html = (std::filesystem::path(report_dir) / "report.html").string();
            write_atomic(results, [&](std::ostream& out) {
              for (const auto& row : automl::image_results_rows(r, "rebalance auto " + data)) out << row.dump() << "\n";
            }, false);
          }
          files.commit();
        }
        if (!report_dir.empty()) {  // from the committed results, as `rebalance report` would
          ReportOptions ro;
          ro.title = "rebalance auto: validation " + o.metric + " of each recipe at each rung";
          write_report(results, html, ro);
          std::cout << "wrote " << results << " and " << html << "\n";
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << fmt::format("{:.1f}s{}\n", seconds,
                                 whole_budget > 0 ? fmt::format(" of a {:.0f}s budget", whole_budget) : std::string());
        return;
      }
      REBALANCE_CHECK(task.pair.empty() && task.keep.empty() && task.long_tail == 0 && task.test.empty() &&
                      method_out.empty() && report_dir.empty(), "--pair, --keep, --long-tail, --test, --method-out "
                      "and --report are for image data; \"{}\" is tabular", data);
      (void)models::make_model(o.train.model, {2}, 2, 0);  // a bad --model is named before the search
      const Dataset& rows = loaded.first;
      std::cout << fmt::format("data {}\n", counts_line(rows));
      o.budget_s = left();
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
                               whole_budget > 0 ? fmt::format(" of a {:.0f}s budget", whole_budget) : std::string());
    };
  });
}

}  // namespace rebalance::cli
