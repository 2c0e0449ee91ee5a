#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance::cli {

namespace {

/// OUT.npy -> OUT_labels.npy: where the labels of a .npy output go.
std::string labels_path(const std::string& out) {
  const std::filesystem::path p(out);
  return (p.parent_path() / (p.stem().string() + "_labels.npy")).string();
}

}  // namespace

void add_resample_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("resample", "apply a sampler (or a composition a+b) to a data set and write the result");
  static std::string method, input, label, output, provenance, categorical = "error", backend = "exact";
  static std::vector<std::string> drop;
  static uint64_t seed = 0;
  cmd->add_option("-m,--method", method, "sampler spec, e.g. smote:k_neighbors=5 or smote+tomek (see `rebalance methods`)")
      ->required();
  cmd->add_option("-i,--input", input, "built-in data set spec or a .csv/.npy file")->required();
  cmd->add_option("--label", label, "label column of a CSV (name or index; default: last), or the labels .npy of a .npy input");
  cmd->add_option("-o,--output", output, "output .csv (features + label) or .npy (features; labels to NAME_labels.npy)")
      ->required();
  cmd->add_option("--provenance", provenance, "also write [M, 3] int64 .npy: origin row, parent 0, parent 1 (-1 = none)");
  cmd->add_option("--seed", seed, "random seed")->capture_default_str();
  static int repeat = 1;
  cmd->add_option("--repeat", repeat, "run fit_resample N times and report the fastest (for benchmarks)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--categorical", categorical, "CSV categorical columns: error or ordinal")
      ->check(CLI::IsMember({"error", "ordinal"}))
      ->capture_default_str();
  cmd->add_option("--drop", drop, "CSV columns to ignore");
  cmd->add_option("--neighbors", backend, "k-NN backend: exact, or hnsw (approximate, for very large data)")
      ->check(CLI::IsMember({"exact", "hnsw"}))
      ->capture_default_str();
  cmd->callback([&action] {
    action = [] {
      const auto ext = std::filesystem::path(output).extension().string();
      REBALANCE_CHECK(ext == ".csv" || ext == ".npy", "--output {}: expected a .csv or .npy file name", output);
      if (!provenance.empty())
        REBALANCE_CHECK(std::filesystem::path(provenance).extension() == ".npy", "--provenance {}: expected a .npy file",
                        provenance);
      neighbors::set_default_backend(neighbors::parse_backend(backend));
      CsvOptions csv;
      csv.label = label;
      csv.categorical_ordinal = categorical == "ordinal";
      csv.drop = drop;
      const Dataset data = load_dataset(input, csv);
      auto sampler = make_sampler(method, seed);
      std::cout << fmt::format("{}: {} rows {}\n", input, data.size(), format_counts(data.class_counts(), data.class_names));
      Dataset out;
      double secs = std::numeric_limits<double>::infinity();
      for (int r = 0; r < repeat; ++r) {
        // A fresh sampler each time: same seed, same bytes, and no state carried between runs.
        if (r > 0) sampler = make_sampler(method, seed);
        const auto t0 = std::chrono::steady_clock::now();
        out = sampler->fit_resample(data);
        secs = std::min(secs, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::cout << fmt::format("{}: {} rows {} ({} synthetic) in {:.6f} s{}\n", method, out.size(),
                               format_counts(out.class_counts(), out.class_names),
                               (out.origin < 0).sum().item<int64_t>(), secs,
                               repeat > 1 ? fmt::format(" (fastest of {})", repeat) : "");
      if (ext == ".csv") {
        write_csv(output, out);
      } else {
        write_npy(output, out.x);
        write_npy(labels_path(output), out.y);
      }
      if (!provenance.empty())
        write_npy(provenance, torch::cat({out.origin.unsqueeze(1), out.parents_or_none()}, 1));
      std::cout << fmt::format("wrote {}{}{}\n", output, ext == ".npy" ? " and " + labels_path(output) : "",
                               provenance.empty() ? "" : " and " + provenance);
    };
  });
}

void add_methods_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("methods", "every method with its parameters, defaults and description");
  cmd->callback([&action] { action = [] { std::cout << describe_samplers(); }; });
}

}  // namespace rebalance::cli
