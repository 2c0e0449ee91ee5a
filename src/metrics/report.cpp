#include "rebalance/metrics/report.hpp"
#include "detail.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "rebalance/core/error.hpp"
#include "rebalance/metrics/ranking.hpp"

namespace rebalance::metrics {

namespace {

std::vector<std::string> resolve_names(std::vector<std::string> names, int64_t n_classes) {
  if (names.empty()) {
    for (int64_t i = 0; i < n_classes; ++i) names.push_back(std::to_string(i));
    return names;
  }
  REBALANCE_CHECK(static_cast<int64_t>(names.size()) == n_classes,
                  "{} class names given for n_classes = {}", names.size(), n_classes);
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    REBALANCE_CHECK(!names[i].empty(), "class name {} is empty", i);
    // Names key the JSON per_class object: a repeat would silently drop a class.
    REBALANCE_CHECK(seen.insert(names[i]).second, "class name '{}' is given twice", names[i]);
  }
  return names;
}

void check_scores_shape(const at::Tensor& scores, int64_t n_classes) {
  REBALANCE_CHECK(scores.defined(), "scores is an undefined tensor");
  if (scores.dim() == 1) {
    REBALANCE_CHECK(n_classes == 2,
                    "scores has shape {} (one score per sample), which only fits 2 classes; "
                    "n_classes = {} needs [N, {}]",
                    detail::shape_of(scores), n_classes, n_classes);
    return;
  }
  REBALANCE_CHECK(scores.dim() == 2 && scores.size(1) == n_classes,
                  "scores has shape {} but n_classes = {}: expected [N, {}]",
                  detail::shape_of(scores), n_classes, n_classes);
}

// Rows, columns and names must agree before anything indexes by class.
int64_t check_consistent(const Report& r) {
  REBALANCE_CHECK(r.confusion.defined() && r.confusion.dim() == 2,
                  "report has no [C, C] confusion matrix");
  const int64_t c = r.confusion.size(0);
  REBALANCE_CHECK(r.confusion.size(1) == c && static_cast<int64_t>(r.class_names.size()) == c &&
                      static_cast<int64_t>(r.per_class.size()) == c,
                  "report is inconsistent: confusion matrix {}, {} class names, {} per-class rows",
                  detail::shape_of(r.confusion), r.class_names.size(), r.per_class.size());
  return c;
}

std::vector<std::vector<int64_t>> confusion_rows(const at::Tensor& confusion) {
  at::Tensor cpu = confusion.to(at::kCPU, at::kLong).contiguous();
  const int64_t c = cpu.size(0);
  const int64_t* p = cpu.data_ptr<int64_t>();
  std::vector<std::vector<int64_t>> rows(c);
  for (int64_t i = 0; i < c; ++i) rows[i].assign(p + i * c, p + (i + 1) * c);
  return rows;
}

nlohmann::json class_json(const ClassMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall}, {"specificity", m.specificity},
          {"f1", m.f1},               {"gmean", m.gmean},   {"iba", m.iba},
          {"support", m.support}};
}

}  // namespace

Report evaluate(const at::Tensor& y_true, const at::Tensor& y_pred,
                const std::optional<at::Tensor>& scores, int64_t n_classes,
                std::vector<std::string> class_names, int64_t k) {
  REBALANCE_CHECK(k >= 1, "k = {} must be at least 1", k);
  Report r;
  r.confusion = confusion_matrix(y_true, y_pred, n_classes);
  r.class_names = resolve_names(std::move(class_names), n_classes);
  r.per_class = per_class_metrics(r.confusion);
  r.average = support_weighted_average(r.per_class);
  r.accuracy = accuracy(r.confusion);
  r.f1_macro = f1_macro(r.confusion);
  r.f1_micro = f1_micro(r.confusion);
  r.f1_weighted = f1_weighted(r.confusion);
  r.acsa = acsa(r.confusion);
  r.gmean = geometric_mean(r.confusion);
  r.mcc = mcc(r.confusion);
  r.misclassified = misclassified(r.confusion);
  r.n = y_true.numel();
  if (scores) {
    check_scores_shape(*scores, n_classes);
    const bool every_class_seen = std::all_of(r.per_class.begin(), r.per_class.end(),
                                              [](const ClassMetrics& m) { return m.support > 0; });
    if (every_class_seen) r.roc_auc = roc_auc(y_true, *scores);
    r.average_precision = average_precision(y_true, *scores);
    r.top_k_accuracy = top_k_accuracy(y_true, *scores, k);
    r.map_at_k = map_at_k(y_true, *scores, k);
    r.k = k;
  }
  return r;
}

std::string format_report(const Report& r, int digits) {
  REBALANCE_CHECK(digits >= 0, "digits = {} must be >= 0", digits);
  const int64_t c = check_consistent(r);
  const std::string last_heading = "avg / total";

  // The table: classification_report_imbalanced's "%{width}s  " + " ".join(["% 9s"] * 7).
  size_t width = last_heading.size();
  for (const std::string& name : r.class_names) width = std::max(width, name.size());
  width = std::max(width, static_cast<size_t>(digits));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s = fmt::format("{:>{}}  ", cells[0], width);
    for (size_t i = 1; i < cells.size(); ++i) s += fmt::format("{}{:>9}", i > 1 ? " " : "", cells[i]);
    return s + "\n";
  };
  auto row = [&](const std::string& name, const ClassMetrics& m) {
    std::vector<std::string> cells{name};
    for (double v : {m.precision, m.recall, m.specificity, m.f1, m.gmean, m.iba})
      cells.push_back(fmt::format("{:.{}f}", v, digits));
    cells.push_back(std::to_string(m.support));
    return line(cells);
  };
  std::string out = line({"", "pre", "rec", "spe", "f1", "geo", "iba", "sup"}) + "\n";
  for (int64_t i = 0; i < c; ++i) out += row(r.class_names[i], r.per_class[i]);
  out += "\n";
  out += row(last_heading, r.average);

  // The confusion matrix, labelled on both axes.
  const auto cm = confusion_rows(r.confusion);
  size_t name_width = 0;
  for (const std::string& name : r.class_names) name_width = std::max(name_width, name.size());
  std::vector<size_t> col_width(c);
  for (int64_t j = 0; j < c; ++j) {
    col_width[j] = r.class_names[j].size();
    for (int64_t i = 0; i < c; ++i) col_width[j] = std::max(col_width[j], std::to_string(cm[i][j]).size());
  }
  out += "\nconfusion matrix (rows: true class, columns: predicted class)\n";
  out += fmt::format("{:>{}}", "", name_width);
  for (int64_t j = 0; j < c; ++j) out += fmt::format("  {:>{}}", r.class_names[j], col_width[j]);
  out += "\n";
  for (int64_t i = 0; i < c; ++i) {
    out += fmt::format("{:>{}}", r.class_names[i], name_width);
    for (int64_t j = 0; j < c; ++j) out += fmt::format("  {:>{}}", cm[i][j], col_width[j]);
    out += "\n";
  }

  // The summary metrics.
  out += "\n";
  auto metric = [&](const std::string& label, const std::string& value) {
    out += fmt::format("{:<22}{}\n", label, value);
  };
  auto num = [&](double v) { return fmt::format("{:.{}f}", v, digits); };
  metric("accuracy", num(r.accuracy));
  metric("f1 macro", num(r.f1_macro));
  metric("f1 micro", num(r.f1_micro));
  metric("f1 weighted", num(r.f1_weighted));
  metric("ACSA", num(r.acsa));
  metric("G-mean", num(r.gmean));
  metric("MCC", num(r.mcc));
  metric("misclassified", fmt::format("{} of {}", r.misclassified, r.n));
  if (r.roc_auc) {
    metric(c == 2 ? "ROC-AUC" : "ROC-AUC (ovr macro)", num(*r.roc_auc));
  } else if (r.average_precision) {
    metric("ROC-AUC", "undefined (a class has no true sample)");
  }
  if (r.average_precision) metric(c == 2 ? "average precision" : "AP (ovr macro)", num(*r.average_precision));
  if (r.top_k_accuracy) metric(fmt::format("top-{} accuracy", r.k), num(*r.top_k_accuracy));
  if (r.map_at_k) metric(fmt::format("MAP@{}", r.k), num(*r.map_at_k));
  return out;
}

nlohmann::json report_to_json(const Report& r) {
  const int64_t c = check_consistent(r);
  nlohmann::json per_class = nlohmann::json::object();
  for (int64_t i = 0; i < c; ++i) per_class[r.class_names[i]] = class_json(r.per_class[i]);
  nlohmann::json j = {
      {"n", r.n},
      {"classes", r.class_names},
      {"per_class", per_class},
      {"average", class_json(r.average)},
      {"confusion_matrix", confusion_rows(r.confusion)},
      {"accuracy", r.accuracy},
      {"f1_macro", r.f1_macro},
      {"f1_micro", r.f1_micro},
      {"f1_weighted", r.f1_weighted},
      {"acsa", r.acsa},
      {"gmean", r.gmean},
      {"mcc", r.mcc},
      {"misclassified", r.misclassified},
  };
  if (r.roc_auc) j["roc_auc"] = *r.roc_auc;
  if (r.average_precision) j["average_precision"] = *r.average_precision;
  if (r.top_k_accuracy) j["top_k_accuracy"] = *r.top_k_accuracy;
  if (r.map_at_k) j["map_at_k"] = *r.map_at_k;
  if (r.top_k_accuracy || r.map_at_k) j["k"] = r.k;
  return j;
}

}  // namespace rebalance::metrics
