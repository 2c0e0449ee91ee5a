#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/metrics/report.hpp"

namespace rebalance::cli {

namespace {

/// Rows of numbers from a .npy file or a text/CSV file (optional header line, comma or whitespace
/// separated). Labels given as class names are mapped through `names`.
at::Tensor read_table(const std::string& path, const std::vector<std::string>& names, bool labels) {
  if (std::filesystem::path(path).extension() == ".npy") return read_npy(path);
  const std::string text = read_file(path);
  REBALANCE_CHECK(!text.empty(), "{}: empty file", path);
  std::vector<std::vector<double>> rows;
  std::istringstream in(text);
  std::string line;
  int64_t line_no = 0;
  size_t width = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (auto& ch : line)
      if (ch == ',' || ch == '\t' || ch == ';') ch = ' ';
    std::istringstream cells(line);
    std::vector<double> row;
    std::string cell;
    bool header = false;
    while (cells >> cell) {
      if (auto v = parse_double(cell)) {
        row.push_back(*v);
      } else if (labels && std::find(names.begin(), names.end(), cell) != names.end()) {
        row.push_back(static_cast<double>(std::find(names.begin(), names.end(), cell) - names.begin()));
      } else if (rows.empty() && line_no == 1) {
        header = true;
        break;
      } else {
        REBALANCE_THROW("{}:{}: cannot parse \"{}\" as a number{}", path, line_no, cell,
                        labels && !names.empty() ? fmt::format(" or a class name ({})", fmt::join(names, ", ")) : "");
      }
    }
    if (header || row.empty()) continue;
    if (width == 0) width = row.size();
    REBALANCE_CHECK(row.size() == width, "{}:{}: ragged row: {} values, earlier rows have {}", path, line_no,
                    row.size(), width);
    rows.push_back(std::move(row));
  }
  REBALANCE_CHECK(!rows.empty(), "{}: no data rows", path);
  auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < width; ++j) a[i][j] = rows[i][j];
  return width == 1 ? t.flatten() : t;
}

at::Tensor as_labels(const at::Tensor& t, const std::string& path) {
  auto v = t.dim() == 2 && t.size(1) == 1 ? t.flatten() : t;
  REBALANCE_CHECK(v.dim() == 1, "{}: labels must be one value per row, got shape [{}]", path,
                  fmt::join(v.sizes(), ", "));
  if (v.is_floating_point()) {
    const auto bad = (v != v.round()).nonzero();
    REBALANCE_CHECK(bad.numel() == 0, "{}: row {}: label {} is not an integer", path,
                    bad.numel() ? bad[0][0].item<int64_t>() + 1 : 0,
                    bad.numel() ? v[bad[0][0]].item<double>() : 0.0);
  }
  return v.to(torch::kInt64);
}

}  // namespace

void add_evaluate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("evaluate", "labels + predictions (and scores) -> imbalanced-learn style report");
  static std::string true_path, pred_path, scores_path, names_text, format = "table", output;
  static int64_t classes = 0, k = 5;
  static int digits = 2;
  cmd->add_option("--true", true_path, "true labels: .npy or text (one per line; integers or class names)")
      ->required();
  cmd->add_option("--pred", pred_path, "predicted labels (.npy or text); default: argmax of --scores");
  cmd->add_option("--scores", scores_path, "class scores [N, C] (.npy or CSV), for ROC-AUC, AP, top-k, MAP@k");
  cmd->add_option("--classes", classes, "number of classes (default: from --class-names, scores or labels)");
  cmd->add_option("--class-names", names_text, "comma-separated class names, in class order");
  cmd->add_option("--k", k, "k for top-k accuracy and MAP@k")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--digits", digits, "decimals in the table")->capture_default_str()->check(CLI::Range(0, 12));
  cmd->add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  cmd->add_option("-o,--output", output, "write the report to this file (atomically) instead of stdout");
  cmd->callback([&action] {
    action = [] {
      check_outputs({{"--true", true_path}, {"--pred", pred_path}, {"--scores", scores_path}}, {{"--output", output}});
      std::vector<std::string> names;
      if (!names_text.empty()) names = split_top_level(names_text, ',');
      const auto y_true = as_labels(read_table(true_path, names, true), true_path);
      std::optional<at::Tensor> scores;
      if (!scores_path.empty()) scores = read_table(scores_path, {}, false).to(torch::kFloat64);
      REBALANCE_CHECK(!pred_path.empty() || scores, "give --pred, or --scores to predict by argmax");
      const auto y_pred = pred_path.empty() ? scores->reshape({scores->size(0), -1}).argmax(1)
                                            : as_labels(read_table(pred_path, names, true), pred_path);
      int64_t c = classes;
      if (c == 0 && !names.empty()) c = static_cast<int64_t>(names.size());
      if (c == 0 && scores && scores->dim() == 2) c = scores->size(1);
      if (c == 0) c = std::max(y_true.max().item<int64_t>(), y_pred.max().item<int64_t>()) + 1;
      if (c < 2) c = 2;
      REBALANCE_CHECK(names.empty() || static_cast<int64_t>(names.size()) == c,
                      "--class-names gives {} names for {} classes", names.size(), c);
      const auto report = metrics::evaluate(y_true, y_pred, scores, c, names, k);
      const std::string text =
          format == "json" ? metrics::report_to_json(report).dump(2) + "\n" : metrics::format_report(report, digits);
      if (output.empty()) {
        std::cout << text;
      } else {
        write_atomic(output, [&](std::ostream& out) { out << text; }, false);
      }
    };
  });
}

}  // namespace rebalance::cli
