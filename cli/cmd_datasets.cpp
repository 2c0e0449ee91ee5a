#include <iostream>

#include "commands.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/data/registry.hpp"

namespace rebalance::cli {

namespace {

std::string shape_text(const Dataset& d) {
  std::string s;
  for (auto v : d.feature_shape()) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

void print_dataset(const Dataset& d) {
  std::cout << fmt::format("{}\n  rows      {}\n  features  {} ({} values per row)\n  classes   {}\n", d.name,
                           d.size(), shape_text(d), d.num_features(), d.num_classes());
  const auto counts = d.class_counts();
  for (int64_t c = 0; c < d.num_classes(); ++c)
    std::cout << fmt::format("    {:>3}  {:<14} {:>7}  ({:.2f}%)\n", c, d.class_names[c], counts[c],
                             100.0 * counts[c] / std::max<int64_t>(1, d.size()));
  const auto [mn, mx] = std::minmax_element(counts.begin(), counts.end());
  if (*mn > 0) std::cout << fmt::format("  imbalance ratio (max/min) {:.2f}\n", double(*mx) / double(*mn));
}

}  // namespace

void add_datasets_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("datasets", "list the built-in data sets, or show one with its class counts");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "every built-in data set with its size and parameters");
  list->callback([&action] {
    action = [] {
      for (const auto& info : builtin_datasets()) {
        std::string size;
        try {
          const auto d = load_builtin(info.name);
          size = fmt::format("{} rows, {} features, {} classes {}", d.size(), shape_text(d), d.num_classes(),
                             format_counts(d.class_counts(), d.class_names));
        } catch (const Error& e) {
          size = fmt::format("not available: {}", e.what());
        }
        std::cout << fmt::format("{:<14} {}\n{:<14} {}\n", info.name, info.description, "", size);
        if (!info.params.empty()) std::cout << describe_params(info.params, std::string(17, ' '));
      }
    };
  });
  auto* show = cmd->add_subcommand("show", "load one data set (built-in spec or file) and print its class counts");
  static std::string name, label;
  show->add_option("name", name, "built-in spec (e.g. fashion-mnist:split=test) or a .csv/.npy file")->required();
  show->add_option("--label", label, "label column (CSV) or labels file (.npy or IDX)");
  static std::string delimiter;
  show->add_option("--delimiter", delimiter, "CSV field separator (default: tab for .tsv, else ',')");
  show->callback([&action] {
    action = [] {
      CsvOptions o;
      o.label = label;
      o.delimiter = parse_delimiter(delimiter);
      o.allow_categorical = true;  // shown, not sampled: text columns are listed as categorical
      print_dataset(load_dataset(name, o));
    };
  });
}

}  // namespace rebalance::cli
