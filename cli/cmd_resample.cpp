#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <limits>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/png.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/stream/out_of_core.hpp"

#include <sys/resource.h>

namespace rebalance::cli {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

/// `data` as an image folder DIR/<class>/... (the class as label_folder writes it: one folder per
/// class, inside DIR, reversibly): a kept row is a byte-for-byte copy of its source
/// file (`files`, by origin), a new row a PNG named after the image it was made from; DIR/rows.csv
/// lists path,label,origin,source for every row. Written as DIR.partial, then renamed.
void write_image_folder(const std::string& dir, const Dataset& data, const std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  REBALANCE_CHECK(data.x.dim() == 4, "--output {}: a folder holds images, and these rows have {} features; write "
                  ".csv or .npy", dir, data.num_features());
  REBALANCE_CHECK(!fs::exists(dir), "--output {} exists; an image folder is written new (remove it or choose "
                  "another name)", dir);
  const fs::path tmp = fs::path(dir).string() + ".partial";
  fs::remove_all(tmp);
  const auto origin = data.origin.to(torch::kCPU).contiguous();
  const auto parents = data.parents_or_none().to(torch::kCPU).contiguous();
  const auto y = data.y.to(torch::kCPU).contiguous();
  std::string rows = "path,label,origin,source\n";
  for (int64_t i = 0; i < data.size(); ++i) {
    const auto& cls = data.class_names[y.data_ptr<int64_t>()[i]];
    const fs::path folder = tmp / label_folder(cls);
    fs::create_directories(folder);
    const int64_t o = origin.data_ptr<int64_t>()[i], p = parents.data_ptr<int64_t>()[2 * i];
    const auto known = [&](int64_t r) { return r >= 0 && r < static_cast<int64_t>(files.size()); };
    std::string name, source;
    if (known(o)) {
      source = files[static_cast<size_t>(o)];
      name = fs::path(source).filename().string();
      if (fs::exists(folder / name)) name = fmt::format("{}_{}", i, name);
      fs::copy_file(source, folder / name);
    } else {
      source = known(p) ? files[static_cast<size_t>(p)] : std::string();
      name = fmt::format("synthetic-{:06d}{}.png", i, source.empty() ? "" : "-from-" + fs::path(source).stem().string());
      write_png((folder / name).string(), data.x[i]);
    }
    rows += fmt::format("{},{},{},{}\n", csv_field(label_folder(cls) + "/" + name), csv_field(cls), o, csv_field(source));
  }
  write_atomic((tmp / "rows.csv").string(), [&](std::ostream& out) { out << rows; }, false);
  fs::rename(tmp, dir);
}


/// Names of the parts of a composition "a:..+b:..".
std::vector<std::string> method_names(const std::string& method) {
  std::vector<std::string> names;
  for (const auto& part : split_top_level(method, '+')) names.push_back(parse_spec(part).name);
  return names;
}

/// SMOTENC without categorical_features takes the categorical columns the CSV reader found.
std::string with_categorical_features(const std::string& method, const std::vector<int64_t>& found) {
  if (found.empty()) return method;
  std::string out;
  for (const auto& part : split_top_level(method, '+')) {
    const auto spec = parse_spec(part);
    std::string text = part;
    const bool given = std::any_of(spec.args.begin(), spec.args.end(),
                                   [](const auto& kv) { return kv.first == "categorical_features"; });
    if (spec.name == "smotenc" && !given)
      text += fmt::format("{}categorical_features=[{}]", spec.args.empty() ? ":" : ",", fmt::join(found, ","));
    out += (out.empty() ? "" : "+") + text;
  }
  return out;
}

/// Peak resident memory of this process so far, in MiB.
double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// `resample --out-of-core`: a .npy features file with its labels .npy, or a CSV, block by block.
void resample_out_of_core_files(const std::string& method, const std::string& input, const std::string& label,
                                const std::string& output, const std::string& provenance, bool provenance_columns,
                                const CsvOptions& csv, uint64_t seed, int64_t block_rows) {
  const auto in_ext = std::filesystem::path(input).extension().string();
  const auto out_ext = std::filesystem::path(output).extension().string();
  const bool npy = in_ext == ".npy";
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<RowSource> source;
  std::unique_ptr<RowSink> sink;
  if (npy) {
    REBALANCE_CHECK(out_ext == ".npy", "--out-of-core writes .npy input as .npy (features, labels to "
                    "NAME_labels.npy); got --output {}", output);
    REBALANCE_CHECK(!label.empty(), "--out-of-core needs the labels of {} as a .npy file: --label Y.npy", input);
    REBALANCE_CHECK(!provenance_columns, "--provenance-columns needs a CSV output; for .npy output use --provenance "
                    "P.npy");
    auto s = std::make_unique<NpyRowSource>(input, label);
    sink = make_npy_sink(*s, output, labels_path(output), provenance);
    source = std::move(s);
  } else {
    REBALANCE_CHECK(in_ext == ".csv" || in_ext == ".tsv" || in_ext == ".tab",
                    "--out-of-core reads a .npy features file (with --label Y.npy) or a .csv/.tsv file; got --input {}",
                    input);
    REBALANCE_CHECK(out_ext == ".csv" || out_ext == ".tsv" || out_ext == ".tab",
                    "--out-of-core writes a CSV input as CSV (its own columns and rows); got --output {}", output);
    REBALANCE_CHECK(provenance.empty(), "--out-of-core with a CSV writes provenance as columns: use "
                    "--provenance-columns instead of --provenance {}", provenance);
    auto s = std::make_unique<CsvRowSource>(input, csv);
    sink = make_csv_sink(*s, output, provenance_columns);
    source = std::move(s);
  }
  std::cout << fmt::format("{}: {} rows {} ({:.1f} GB of features, out of core)\n", input, source->rows(),
                           format_counts(source->class_counts(), source->class_names()),
                           static_cast<double>(source->rows()) * source->row_bytes() / 1e9);
  OutOfCoreOptions options;
  options.block_rows = block_rows;
  const auto report = resample_out_of_core(method, seed, *source, *sink, options);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format("{}: {} rows ({} synthetic, {} removed) in {:.2f} s; peak memory {:.0f} MiB\n", method,
                           report.rows_out, report.synthetic, report.removed, secs, peak_rss_mib());
  std::cout << fmt::format("wrote {}{}{}\n", output, npy ? " and " + labels_path(output) : "",
                           provenance.empty() ? "" : " and " + provenance);
}

}  // namespace

/// OUT.npy -> OUT_labels.npy: where the labels of a .npy output go.
std::string labels_path(const std::string& out) {
  const std::filesystem::path p(out);
  return (p.parent_path() / (p.stem().string() + "_labels.npy")).string();
}

void add_resample_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("resample", "apply a sampler (or a composition a+b) to a data set and write the result");
  static std::string method, input, label, output, provenance, categorical = "error", backend = "exact", delimiter;
  static std::vector<std::string> drop, passthrough, categorical_columns;
  static bool provenance_columns = false;
  static uint64_t seed = 0;
  cmd->add_option("-m,--method", method, "sampler spec, e.g. smote:k_neighbors=5 or smote+tomek (see `rebalance methods`)")
      ->required();
  cmd->add_option("-i,--input", input, "built-in data set spec, a CSV/TSV, .npy or IDX file, or an image folder (DIR/<class>/*.png|jpg)")->required();
  static ImageFolderOptions images;
  add_image_options(cmd, images);
  cmd->add_option("--label", label,
                  "label column of a CSV (name or index; default: last), or the labels file (.npy or IDX) of a "
                  ".npy / IDX input");
  cmd->add_option("-o,--output", output,
                  "output .csv (the input's columns, in its order), a new folder (images: DIR/<class>/, originals copied byte for byte, new images as PNG, rows.csv) or .npy (features; labels to NAME_labels.npy "
                  "in the input labels' dtype)")
      ->required();
  cmd->add_option("--provenance", provenance, "also write [M, 3] int64 .npy: origin row, parent 0, parent 1 (-1 = none)");
  cmd->add_flag("--provenance-columns", provenance_columns,
                "append columns origin, parent0, parent1 to a CSV output (0-based input rows; -1 = none)");
  cmd->add_option("--seed", seed, "random seed")->capture_default_str();
  static int repeat = 1;
  cmd->add_option("--repeat", repeat, "run fit_resample N times and report the fastest (for benchmarks)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--categorical", categorical,
                  "CSV text feature columns: error, or ordinal (codes for any sampler, written back as the "
                  "nearest category); smotenc and smoten take them as they are")
      ->check(CLI::IsMember({"error", "ordinal"}))
      ->capture_default_str();
  cmd->add_option("--categorical-columns", categorical_columns,
                  "CSV columns that are categorical even if numeric (names or indices)")
      ->delimiter(',');
  cmd->add_option("--drop", drop, "CSV columns to ignore (left out of the output)")->delimiter(',');
  cmd->add_option("--passthrough", passthrough,
                  "CSV columns carried through, not features (ids, timestamps): original rows keep them, "
                  "synthetic rows leave them empty")
      ->delimiter(',');
  cmd->add_option("--delimiter", delimiter, "CSV field separator (default: tab for .tsv, else ',')");
  cmd->add_option("--neighbors", backend, "k-NN backend: exact, or hnsw (approximate, for very large data)")
      ->check(CLI::IsMember({"exact", "hnsw"}))
      ->capture_default_str();
  static bool out_of_core = false;
  static int64_t block_rows = 0;
  cmd->add_flag("--out-of-core", out_of_core,
                "stream a .npy features file (with --label Y.npy) or a CSV block by block in bounded memory, for data "
                "larger than memory; see `rebalance methods out-of-core` for the samplers that can");
  cmd->add_option("--block-rows", block_rows, "rows read per block with --out-of-core (default: 64 MiB worth)")
      ->check(CLI::Range(int64_t(1), std::numeric_limits<int64_t>::max()));
  cmd->callback([&action] {
    action = [] {
      {
        const auto ext = std::filesystem::path(output).extension().string();
        const bool npy_out = ext == ".npy", folder_out = ext.empty() && !out_of_core;
        check_outputs({{"--input", input}, {"--label", label}},
                      {{"--output", output, folder_out},
                       {"--output's labels", npy_out ? labels_path(output) : ""},
                       {"--provenance", provenance}});
      }
      if (out_of_core) {
        REBALANCE_CHECK(repeat == 1, "--out-of-core runs once: --repeat does not apply");
        REBALANCE_CHECK(backend == "exact", "--out-of-core searches neighbours exactly, block by block; drop "
                        "--neighbors {}", backend);
        CsvOptions csv;
        csv.label = label;
        csv.delimiter = parse_delimiter(delimiter);
        csv.categorical_ordinal = categorical == "ordinal";
        csv.categorical = categorical_columns;
        csv.drop = drop;
        csv.passthrough = passthrough;
        resample_out_of_core_files(method, input, label, output, provenance, provenance_columns, csv, seed,
                                   block_rows);
        return;
      }
      REBALANCE_CHECK(block_rows == 0, "--block-rows applies to --out-of-core only");
      const auto ext = std::filesystem::path(output).extension().string();
      const bool folder = ext.empty();
      REBALANCE_CHECK(folder || ext == ".csv" || ext == ".tsv" || ext == ".npy",
                      "--output {}: expected a .csv, .tsv or .npy file name, or a new folder (images)", output);
      if (!provenance.empty())
        REBALANCE_CHECK(std::filesystem::path(provenance).extension() == ".npy", "--provenance {}: expected a .npy file",
                        provenance);
      REBALANCE_CHECK(!provenance_columns || ext != ".npy", "--provenance-columns needs a CSV output; for .npy "
                      "output use --provenance P.npy");
      neighbors::set_default_backend(neighbors::parse_backend(backend));
      const auto names = method_names(method);
      CsvOptions csv;
      csv.label = label;
      csv.delimiter = parse_delimiter(delimiter);
      csv.categorical_ordinal = categorical == "ordinal";
      csv.allow_categorical = std::any_of(names.begin(), names.end(),
                                          [](const auto& n) { return n == "smotenc" || n == "smoten"; });
      csv.categorical = categorical_columns;
      csv.drop = drop;
      csv.passthrough = passthrough;
      const LoadedData loaded = load_data(input, csv, images);
      const Dataset& data = loaded.data;
      const std::string spec = with_categorical_features(method, loaded.csv_info.categorical_features);
      auto sampler = make_sampler(spec, seed);
      // counts_line names the rows itself past 30 classes.
      const auto rows_and_counts = [](const Dataset& d) {
        return d.num_classes() > 30 ? counts_line(d) : fmt::format("{} rows {}", d.size(), counts_line(d));
      };
      std::cout << fmt::format("{}: {}\n", input, rows_and_counts(data));
      Dataset out;
      double secs = std::numeric_limits<double>::infinity();
      for (int r = 0; r < repeat; ++r) {
        // A fresh sampler each time: same seed, same bytes, and no state carried between runs.
        if (r > 0) sampler = make_sampler(spec, seed);
        const auto t0 = std::chrono::steady_clock::now();
        out = sampler->fit_resample(data);
        secs = std::min(secs, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::cout << fmt::format("{}: {} ({} synthetic) in {:.6f} s{}\n", spec, rows_and_counts(out),
                               (out.origin < 0).sum().item<int64_t>(), secs,
                               repeat > 1 ? fmt::format(" (fastest of {})", repeat) : "");
      if (folder) {
        REBALANCE_CHECK(provenance.empty() && !provenance_columns, "--output {}: an image folder lists its rows' "
                        "provenance in {}/rows.csv", output, output);
        write_image_folder(output, out, loaded.image_files);
        std::cout << fmt::format("wrote {}/ ({} images; rows.csv: path,label,origin,source)\n", output, out.size());
        return;
      }
      CsvWriteOptions wopt;
      wopt.provenance_columns = provenance_columns;
      AtomicFileGroup files;  // output, labels and provenance appear together, or (on an error) none
      if (ext != ".npy") {
        if (loaded.csv)
          write_csv(output, out, *loaded.csv, wopt);
        else
          write_csv(output, out, "label", wopt);
      } else {
        write_npy(output, out.x);
        if (loaded.format == LoadedData::Format::Builtin)
          write_npy(labels_path(output), out.y);  // built-in classes as their indices
        else
          write_npy_labels(labels_path(output), out.y, out.class_names, loaded.label_descr);
      }
      if (!provenance.empty())
        write_npy(provenance, torch::cat({out.origin.unsqueeze(1), out.parents_or_none()}, 1));
      files.commit();
      std::cout << fmt::format("wrote {}{}{}\n", output, ext == ".npy" ? " and " + labels_path(output) : "",
                               provenance.empty() ? "" : " and " + provenance);
    };
  });
}

}  // namespace rebalance::cli
