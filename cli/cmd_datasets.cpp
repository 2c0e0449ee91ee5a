#include <iostream>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/longtail.hpp"

namespace rebalance::cli {

namespace {

std::string shape_text(const Dataset& d) {
  std::string s;
  for (auto v : d.feature_shape()) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

void print_dataset(const Dataset& d, bool profile) {
  std::cout << fmt::format("{}\n  rows      {}\n  features  {} ({} values per row)\n  classes   {}\n", d.name,
                           d.size(), shape_text(d), d.num_features(), d.num_classes());
  const auto counts = d.class_counts();
  // Hundreds of classes: the long-tail profile says more than the list, which is kept short.
  const int64_t listed = profile && d.num_classes() > 30 ? 10 : d.num_classes();
  for (int64_t c = 0; c < listed; ++c)
    std::cout << fmt::format("    {:>3}  {:<14} {:>7}  ({:.2f}%)\n", c, d.class_names[c], counts[c],
                             100.0 * counts[c] / std::max<int64_t>(1, d.size()));
  if (listed < d.num_classes()) std::cout << fmt::format("    ... and {} more classes\n", d.num_classes() - listed);
  if (profile) std::cout << long_tail_profile(counts, d.class_names);
  const auto [mn, mx] = std::minmax_element(counts.begin(), counts.end());
  if (*mn > 0) std::cout << fmt::format("  imbalance ratio (max/min) {:.2f}\n", double(*mx) / double(*mn));
}

std::vector<int64_t> parse_image_size(const std::string& text) {
  const auto x = text.find('x');
  const auto h = parse_int(text.substr(0, x)), w = x == std::string::npos ? h : parse_int(text.substr(x + 1));
  REBALANCE_CHECK(h && w && *h >= 1 && *w >= 1, "--image-size must be HxW or N (square), got \"{}\"", text);
  return {*h, *w};
}

}  // namespace

/// Class counts, or for a many-class set the rows, classes held and the range of counts.
std::string counts_line(const Dataset& d) {
  const auto counts = d.class_counts();
  if (d.num_classes() <= 30) return format_counts(counts, d.class_names);
  int64_t held = 0, lo = INT64_MAX, hi = 0;
  for (auto n : counts)
    if (n > 0) ++held, lo = std::min(lo, n), hi = std::max(hi, n);
  return fmt::format("{} rows in {} of {} classes ({} to {} per class{})", d.size(), held, d.num_classes(),
                     held ? lo : 0, hi, held < d.num_classes() ? fmt::format("; {} classes absent", d.num_classes() - held)
                                                               : std::string());
}

void add_image_options(CLI::App* cmd, ImageFolderOptions& o) {
  cmd->add_option_function<std::string>("--image-size", [&o](const std::string& s) { o.size = parse_image_size(s); },
                                        "image folders: resize every image to HxW (default: all must share the first's size)");
  cmd->add_option("--image-channels", o.channels, "image folders: auto (the first image's), grey or rgb (convert all)")
      ->check(CLI::IsMember({"auto", "grey", "gray", "rgb"}))->capture_default_str();
  cmd->add_option("--on-bad-image", o.on_bad_image, "image folders: fail on a corrupt or mismatched image, or skip it")
      ->check(CLI::IsMember({"fail", "skip"}))->capture_default_str();
  cmd->add_option("--image-storage", o.storage,
                  "image folders: memory, disk (a memory-mapped scratch file), auto (disk past half the free memory)")
      ->check(CLI::IsMember({"auto", "memory", "disk"}))->capture_default_str();
}

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
  static ImageFolderOptions images;
  add_image_options(show, images);
  static bool profile = false;
  show->add_flag("--long-tail", profile, "print the long-tail profile (always for image folders and > 30 classes)");
  auto* tail = cmd->add_subcommand("make-longtail", "write a many-class long tail as an image folder (the shape of "
                                                    "Chatterjee's whale post's data): each class split into k-means sub-classes, most with one "
                                                    "training image");
  static std::string tail_source, tail_out;
  static LongTailFolderOptions lt;
  tail->add_option("source", tail_source, "images to draw from (e.g. fashion-mnist:split=test)")->required();
  tail->add_option("--out", tail_out, "the folder to create (train/ and test/ inside)")->required();
  tail->add_option("--subclasses", lt.subclasses, "k-means sub-classes per class")->capture_default_str();
  tail->add_option("--max-per-class", lt.max_per_class, "training images of the largest sub-class")->capture_default_str();
  tail->add_option("--singletons", lt.singletons, "share of sub-classes with one training image")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  tail->add_option("--test-per-class", lt.test_per_class, "test images per sub-class")->capture_default_str();
  tail->add_option("--seed", lt.seed, "random seed")->capture_default_str();
  tail->callback([&action] {
    action = [] {
      check_outputs({{"source", tail_source}}, {{"--out", tail_out, true}});
      make_longtail_folder(load_dataset(tail_source), lt, tail_out, std::cout);
    };
  });
  show->callback([&action] {
    action = [] {
      CsvOptions o;
      o.label = label;
      o.delimiter = parse_delimiter(delimiter);
      o.allow_categorical = true;  // shown, not sampled: text columns are listed as categorical
      const auto loaded = load_data(name, o, images);
      print_dataset(loaded.data, profile || loaded.format == LoadedData::Format::Images || loaded.data.num_classes() > 30);
    };
  });
}

}  // namespace rebalance::cli
