#include "rebalance/experiment/report.hpp"

#include <fmt/ranges.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/system.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/runner.hpp"
#include "rebalance/experiment/table.hpp"

namespace rebalance {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<VegaPackage>& vega_packages() {
  // Exact versions: the report must look the same wherever setup ran. vega-lite 5.23 needs
  // vega ^5.24, vega-embed 6.29 needs vega ^5.21.
  static const std::vector<VegaPackage> packages = {
      {"vega", "5.33.1", "build/vega.min.js"},
      {"vega-lite", "5.23.0", "build/vega-lite.min.js"},
      {"vega-embed", "6.29.0", "build/vega-embed.min.js"},
  };
  return packages;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

namespace {

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63], out += kAlphabet[(v >> 6) & 63], out += '=';
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// JSON inside <script type="application/json">: "<" only ever occurs inside JSON strings, where
// \u003c means the same, and escaping it keeps a class name like "</script>" from ending the block.
std::string script_json(const json& j) {
  std::string s = j.dump();
  replace_all(s, "<", "\\u003c");
  replace_all(s, ">", "\\u003e");
  replace_all(s, "&", "\\u0026");
  return s;
}

/// A library's minified build, safe to inline: no "</script" can end the tag early, and the source
/// map comment goes (the map is not shipped, so the browser's devtools would only report a 404).
std::string inline_script(std::string js) {
  replace_all(js, "</script", "<\\/script");
  replace_all(js, "</SCRIPT", "<\\/SCRIPT");
  replace_all(js, "<!--", "<\\!--");
  if (const auto at = js.rfind("//# sourceMappingURL="); at != std::string::npos) js.erase(at);
  return js;
}

std::string load_vega_scripts(const ReportOptions& o) {
  const std::string dir = o.vega_dir.empty() ? data_cache_dir() : o.vega_dir;
  std::string out;
  for (const auto& p : vega_packages()) {
    const auto path = (fs::path(dir) / p.name / p.script).string();
    REBALANCE_CHECK(fs::is_regular_file(path),
                    "{} not found: the report inlines Vega-Lite so that it opens offline; run scripts/setup (it "
                    "fetches the npm packages vega@{}, vega-lite@{} and vega-embed@{} into {}) or set REBALANCE_DATA",
                    path, vega_packages()[0].version, vega_packages()[1].version, vega_packages()[2].version, dir);
    out += fmt::format("<script>/* {}@{} */\n{}\n</script>\n", p.name, p.version, inline_script(read_file(path)));
  }
  return out;
}

const std::map<std::string, std::string>& metric_titles() {
  static const std::map<std::string, std::string> titles = {
      {"f1_macro", "macro F1"},
      {"f1_micro", "micro F1"},
      {"f1_weighted", "weighted F1"},
      {"acsa", "ACSA (average class-specific accuracy)"},
      {"gmean", "G-mean of the class recalls"},
      {"mcc", "Matthews correlation coefficient"},
      {"accuracy", "accuracy"},
      {"roc_auc", "ROC AUC"},
      {"average_precision", "average precision"},
      {"misclassified", "misclassified test samples"},
      {"map_at_k", "MAP@5 (mean average precision of the top 5)"},
      {"top_k_accuracy", "top-5 accuracy"},
  };
  return titles;
}

std::string metric_title(const std::string& metric) {
  const auto it = metric_titles().find(metric);
  return it == metric_titles().end() ? metric : it->second;
}

bool has_metric(const json& r, const std::string& metric) {
  if (metric.rfind("per_class.", 0) == 0) return true;  // make_table names what is missing
  const auto& m = r.at("metrics");
  return m.contains(metric) && m[metric].is_number();
}

/// Everything the report needs about the grid, read once from the results.
struct Grid {
  std::vector<json> results;
  std::vector<std::string> methods, levels;  ///< in order of first appearance (the config's order)
  std::vector<uint64_t> seeds;               ///< ascending
  std::map<std::string, double> level_x;     ///< level label -> x position (minority or rho)
  std::string x_title;                       ///< "minority size", "imbalance ratio rho", "level"
  bool x_numeric = false, x_log = false;
  bool binary = false;  ///< every result has test scores (curves)
};

Grid read_grid(const std::string& results_path) {
  REBALANCE_CHECK(fs::is_regular_file(results_path),
                  "{}: no such results file; `rebalance run CONFIG --out DIR` writes DIR/results.jsonl", results_path);
  Grid g;
  g.results = read_results(results_path);
  REBALANCE_CHECK(!g.results.empty(), "{}: no results (is the run still at its first cell?)", results_path);
  std::map<std::string, std::pair<int64_t, double>> level_info;
  std::set<uint64_t> seeds;
  g.binary = true;
  for (size_t i = 0; i < g.results.size(); ++i) {
    const auto& r = g.results[i];
    REBALANCE_CHECK(r.is_object() && r.contains("method") && r["method"].is_string() && r.contains("level") &&
                        r["level"].is_string() && r.contains("metrics") && r["metrics"].is_object(),
                    "{}:{}: not a result of `rebalance run` (needs \"method\", \"level\" and \"metrics\")",
                    results_path, i + 1);
    const auto method = r["method"].get<std::string>(), level = r["level"].get<std::string>();
    if (std::find(g.methods.begin(), g.methods.end(), method) == g.methods.end()) g.methods.push_back(method);
    if (std::find(g.levels.begin(), g.levels.end(), level) == g.levels.end()) g.levels.push_back(level);
    level_info[level] = {r.value("minority", int64_t(-1)), r.value("rho", 0.0)};
    seeds.insert(r.value("seed", uint64_t(0)));
    g.binary = g.binary && r.contains("test_scores") && r.contains("test_labels");
  }
  g.seeds.assign(seeds.begin(), seeds.end());
  // Plot against the minority size when every level has one, else against rho, else evenly.
  bool all_minority = true, all_rho = true;
  for (const auto& [label, info] : level_info) all_minority &= info.first > 0, all_rho &= info.second > 0;
  g.x_numeric = all_minority || all_rho;
  g.x_title = all_minority ? "minority size" : all_rho ? "imbalance ratio ρ" : "level";
  double lo = 0, hi = 0;
  for (size_t j = 0; j < g.levels.size(); ++j) {
    const auto& info = level_info[g.levels[j]];
    const double x = all_minority ? double(info.first) : all_rho ? info.second : double(j);
    g.level_x[g.levels[j]] = x;
    lo = j == 0 ? x : std::min(lo, x), hi = j == 0 ? x : std::max(hi, x);
  }
  // Minority sizes are usually chosen on a geometric grid (10, 20, 50, 100, ...).
  g.x_log = g.x_numeric && lo > 0 && hi / lo >= 4;
  return g;
}

const json* find_result(const Grid& g, const std::string& method, const std::string& level, uint64_t seed) {
  for (const auto& r : g.results)
    if (r["method"] == method && r["level"] == level && r.value("seed", uint64_t(0)) == seed) return &r;
  return nullptr;
}

std::string format_value(double v, int digits) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("n/a");
}

std::string table_html(const ResultTable& t, const Grid& g) {
  const int digits = t.metric == "misclassified" ? 1 : 4;
  std::string out = fmt::format(
      "<table class=\"results\" data-metric=\"{}\">\n<caption><b>{}</b> <code>{}</code> — mean ± std over seeds; "
      "{}</caption>\n<thead><tr><th>method \\ {}</th>",
      html_escape(t.metric), html_escape(metric_title(t.metric)), html_escape(t.metric), html_escape(table_marking(t)),
      html_escape(g.x_title));
  for (const auto& l : t.levels) out += "<th>" + html_escape(l) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < t.methods.size(); ++i) {
    out += "<tr><th>" + html_escape(t.methods[i]) + "</th>";
    for (size_t j = 0; j < t.levels.size(); ++j) {
      const auto& c = t.cells[i][j];
      if (!c) {
        out += "<td class=\"missing\">–</td>";
        continue;
      }
      std::string v = format_value(c->mean, digits);
      if (c->n > 1) v += " <span class=\"std\">± " + format_value(c->std, digits) + "</span>";
      if (c->tied)
        out += fmt::format("<td class=\"{}\"><strong>{}</strong></td>", c->best ? "best" : "tied", v);
      else
        out += "<td>" + v + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

json x_encoding(const Grid& g) {
  if (!g.x_numeric) return {{"field", "level"}, {"type", "ordinal"}, {"sort", g.levels}, {"title", g.x_title}};
  std::vector<double> ticks;
  for (const auto& l : g.levels) ticks.push_back(g.level_x.at(l));
  json x = {{"field", "x"},
            {"type", "quantitative"},
            {"title", g.x_title},
            {"axis", {{"values", ticks}, {"format", "~g"}, {"grid", true}}}};
  // Padding keeps the points at the first and last level clear of the plot edges.
  x["scale"] = g.x_log ? json{{"type", "log"}, {"nice", false}, {"padding", 16}}
                       : json{{"zero", false}, {"nice", false}, {"padding", 16}};
  return x;
}

/// Methods by name in the config's order: a fixed scale domain gives each method the same colour
/// in every chart and lets colour and dash legends merge into one.
json method_encoding(const Grid& g) {
  return {{"field", "method"}, {"type", "nominal"}, {"scale", {{"domain", g.methods}}}, {"title", "method"}};
}

/// One level only: the methods side by side (a row each, the mean with ± 1 std), coloured by
/// whether the paired test over seeds tells them from the best, not dots on one vertical line.
json single_level_chart(const ResultTable& t, const Grid& g, const json& values, const std::string& title,
                        const json& tooltip) {
  const json mark_domain = json::array({"best", "not told apart from the best", "below the best"});
  return {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"title", {{"text", title}, {"subtitle", fmt::format("{} {}: mean over seeds, bars: ± 1 std", g.x_title,
                                                           t.levels.front())}}},
      {"width", 420},
      {"height", std::max<int64_t>(120, 22 * static_cast<int64_t>(t.methods.size()))},
      {"data", {{"values", values}}},
      {"encoding",
       {{"y", {{"field", "method"}, {"type", "nominal"}, {"sort", g.methods}, {"title", "method"}}},
        {"color", {{"field", "marked"}, {"type", "nominal"}, {"scale", {{"domain", mark_domain}}}, {"title", ""}}}}},
      {"layer",
       json::array(
           {{{"mark", {{"type", "errorbar"}, {"ticks", true}}},
             {"encoding",
              {{"x", {{"field", "lo"}, {"type", "quantitative"}, {"title", t.metric}, {"scale", {{"zero", false}}}}},
               {"x2", {{"field", "hi"}}}}}},
            {{"mark", {{"type", "point"}, {"filled", true}, {"size", 70}}},
             {"encoding",
              {{"x", {{"field", "mean"}, {"type", "quantitative"}, {"title", t.metric}}}, {"tooltip", tooltip}}}}})}};
}

json metric_chart(const ResultTable& t, const Grid& g) {
  json values = json::array();
  for (size_t i = 0; i < t.methods.size(); ++i)
    for (size_t j = 0; j < t.levels.size(); ++j) {
      const auto& c = t.cells[i][j];
      if (!c || !std::isfinite(c->mean)) continue;
      values.push_back({{"method", t.methods[i]},
                        {"level", t.levels[j]},
                        {"x", g.level_x.at(t.levels[j])},
                        {"mean", c->mean},
                        {"std", c->std},
                        {"lo", c->mean - c->std},
                        {"hi", c->mean + c->std},
                        {"seeds", c->n},
                        {"marked", c->best   ? "best"
                                   : c->tied ? "not told apart from the best"
                                             : "below the best"}});
    }
  const std::string title = metric_title(t.metric) + (t.lower_is_better ? " (lower is better)" : "");
  const json tooltip = json::array({{{"field", "method"}},
                                    {{"field", "level"}, {"title", g.x_title}},
                                    {{"field", "mean"}, {"format", ".4f"}},
                                    {{"field", "std"}, {"format", ".4f"}},
                                    {{"field", "seeds"}}});
  if (t.levels.size() == 1) return single_level_chart(t, g, values, title, tooltip);
  return {
      {"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
      {"title", {{"text", title}, {"subtitle", "mean over seeds, bars: ± 1 std"}}},
      {"width", 420},
      {"height", 260},
      {"data", {{"values", values}}},
      {"encoding", {{"x", x_encoding(g)}, {"color", method_encoding(g)}}},
      {"layer",
       json::array(
           {{{"mark", {{"type", "errorbar"}, {"ticks", true}}},
             {"encoding",
              {{"y", {{"field", "lo"}, {"type", "quantitative"}, {"title", t.metric}}}, {"y2", {{"field", "hi"}}}}}},
            {{"mark", {{"type", "line"}, {"point", true}}},
             {"encoding",
              {{"y", {{"field", "mean"}, {"type", "quantitative"}, {"title", t.metric}, {"scale", {{"zero", false}}}}},
               {"strokeDash", method_encoding(g)},
               {"tooltip", tooltip}}}}})}};
}

/// Precision and recall at each score threshold where recall grows (the corners of the step
/// curve that average precision sums), from (recall 0, precision 1) as scikit-learn draws it.
std::vector<std::pair<double, double>> pr_curve(const json& r) {
  const auto scores = r.at("test_scores").get<std::vector<double>>();
  const auto labels = r.at("test_labels").get<std::vector<int64_t>>();
  REBALANCE_CHECK(scores.size() == labels.size(), "result {} / {}: {} test scores but {} labels",
                  r["method"].get<std::string>(), r["level"].get<std::string>(), scores.size(), labels.size());
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  const auto positives = std::count(labels.begin(), labels.end(), int64_t(1));
  std::vector<std::pair<double, double>> curve = {{0.0, 1.0}};
  if (positives == 0) return curve;
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    const int64_t tp_before = tp;
    size_t j = i;
    for (; j < order.size() && scores[order[j]] == scores[order[i]]; ++j) (labels[order[j]] == 1 ? tp : fp)++;
    if (tp > tp_before) curve.emplace_back(double(tp) / double(positives), double(tp) / double(tp + fp));
    i = j;
  }
  return curve;
}

json pr_chart(const Grid& g, const std::vector<std::string>& levels, uint64_t seed, const std::string& positive) {
  json values = json::array();
  for (const auto& level : levels)
    for (const auto& method : g.methods) {
      const json* r = find_result(g, method, level, seed);
      if (!r) continue;
      const auto curve = pr_curve(*r);
      for (size_t i = 0; i < curve.size(); ++i)
        values.push_back({{"method", method},
                          {"level", level},
                          {"i", i},
                          {"recall", curve[i].first},
                          {"precision", curve[i].second}});
    }
  const json layer = {{"width", levels.size() > 1 ? 300 : 420},
                      {"height", levels.size() > 1 ? 260 : 300},
                      {"mark", {{"type", "line"}, {"interpolate", "step-before"}, {"strokeWidth", 1.8}}},
                      {"encoding",
                       {{"x", {{"field", "recall"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}}}},
                        {"y", {{"field", "precision"}, {"type", "quantitative"}, {"scale", {{"domain", {0, 1}}}}}},
                        {"order", {{"field", "i"}, {"type", "quantitative"}}},
                        {"color", method_encoding(g)},
                        // Methods that share a model (a threshold rule on the plain one) draw the same curve:
                        // dashes keep the one underneath visible.
                        {"strokeDash", method_encoding(g)},
                        {"tooltip", json::array({{{"field", "method"}},
                                                 {{"field", "recall"}, {"format", ".3f"}},
                                                 {{"field", "precision"}, {"format", ".3f"}}})}}}};
  json spec = {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
               {"title",
                {{"text", fmt::format("precision-recall of class \"{}\", seed {}", positive, seed)},
                 {"subtitle", levels.size() > 1 ? "one panel per " + g.x_title : g.x_title + " " + levels[0]}}},
               {"data", {{"values", values}}}};
  if (levels.size() == 1) {
    spec.update(layer);
  } else {
    spec["facet"] = {{"column", {{"field", "level"}, {"type", "ordinal"}, {"sort", levels}, {"title", g.x_title}}}};
    spec["spec"] = layer;
  }
  return spec;
}

json confusion_chart(const Grid& g, const std::string& level, uint64_t seed) {
  json values = json::array();
  std::vector<std::string> classes;
  for (const auto& method : g.methods) {
    const json* r = find_result(g, method, level, seed);
    if (!r || !r->at("metrics").contains("confusion_matrix")) continue;
    const auto cm = r->at("metrics")["confusion_matrix"].get<std::vector<std::vector<int64_t>>>();
    classes = r->at("metrics").value("classes", std::vector<std::string>{});
    if (classes.size() != cm.size()) {
      classes.clear();
      for (size_t k = 0; k < cm.size(); ++k) classes.push_back(std::to_string(k));
    }
    for (size_t t = 0; t < cm.size(); ++t) {
      int64_t row = 0;
      for (const auto v : cm[t]) row += v;
      for (size_t p = 0; p < cm[t].size(); ++p)
        values.push_back({{"method", method},
                          {"true", classes[t]},
                          {"predicted", classes[p]},
                          {"count", cm[t][p]},
                          {"share", row > 0 ? double(cm[t][p]) / double(row) : 0.0}});
    }
  }
  const int side = static_cast<int>(std::clamp<size_t>(classes.size() * 36, 120, 360));
  const json axis_sort = classes;
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
          {"title",
           {{"text", fmt::format("confusion matrices, {} {}, seed {}", g.x_title, level, seed)},
            {"subtitle", "colour: share of the true class (row); numbers: test samples"}}},
          {"data", {{"values", values}}},
          {"columns", std::min<size_t>(g.methods.size(), classes.size() > 4 ? 2 : 4)},
          {"facet", {{"field", "method"}, {"type", "nominal"}, {"sort", g.methods}, {"title", nullptr}}},
          {"spec",
           {{"width", side},
            {"height", side},
            {"encoding",
             {{"x", {{"field", "predicted"}, {"type", "nominal"}, {"sort", axis_sort}, {"axis", {{"labelAngle", 0}}}}},
              {"y", {{"field", "true"}, {"type", "nominal"}, {"sort", axis_sort}}}}},
            {"layer", json::array({{{"mark", "rect"},
                                    {"encoding",
                                     {{"color",
                                       {{"field", "share"},
                                        {"type", "quantitative"},
                                        {"scale", {{"domain", {0, 1}}, {"scheme", "blues"}}},
                                        {"title", "share of row"}}},
                                      {"tooltip", json::array({{{"field", "true"}},
                                                               {{"field", "predicted"}},
                                                               {{"field", "count"}},
                                                               {{"field", "share"}, {"format", ".3f"}}})}}}},
                                   {{"mark", {{"type", "text"}, {"fontSize", classes.size() > 4 ? 9 : 13}}},
                                    {"encoding",
                                     {{"text", {{"field", "count"}, {"type", "quantitative"}}},
                                      {"color",
                                       {{"condition", {{"test", "datum.share > 0.5"}, {"value", "white"}}},
                                        {"value", "black"}}}}}}})}}}};
}

/// The sample-quality measures the runner records per grown class ("quality" in a result).
struct QualityMeasure {
  const char* key;
  const char* title;
  int digits;
};
constexpr QualityMeasure kQualityMeasures[] = {
    {"two_sample_auc", "two-sample AUC, real vs synthetic rows of the class (0.5: indistinguishable; 1: always told "
                       "apart)", 3},
    {"memorisation", "memorisation: median distance to the nearest training row of the class, synthetic rows over "
                     "held-out real rows (well below 1: copies; above 1: off the data)", 2},
    {"copies", "copies: the share of synthetic rows equal to a training row of the class (random over-sampling: 1; "
               "M2m: its fall-back where a translation fails)", 2},
    {"tstr_recall", "train on synthetic, test on real: recall of the class's test rows by a classifier that saw no "
                    "real row of it", 3},
    {"tstr_other_recall", "train on synthetic, test on real: recall of the other classes' test rows", 3},
    {"judge_recall", "judge recall (Sahoo et al.'s inception accuracy): the share of synthetic rows that a classifier "
                     "trained on balanced real training data calls the class", 3},
    {"reconstruction_error", "the generator's reconstruction error on the class's test rows (mean squared, per "
                             "feature; CycleGAN: the cycle B -> A -> B)", 4}};

/// Methods whose results carry quality measures, in the config's order.
std::vector<std::string> quality_methods(const Grid& g) {
  std::vector<std::string> out;
  for (const auto& method : g.methods)
    for (const auto& r : g.results)
      if (r["method"] == method && r.contains("quality") && r["quality"].is_object() && !r["quality"].empty()) {
        out.push_back(method);
        break;
      }
  return out;
}

/// One table per measure: methods x levels, mean ± std over seeds (and grown classes).
std::string quality_html(const Grid& g) {
  const auto methods = quality_methods(g);
  if (methods.empty())
    return "<p class=\"note\">No sample-quality measures: no method made synthetic rows (or the config set "
           "<code>[run] quality = false</code>).</p>\n";
  std::string out =
      "<p class=\"note\">Synthetic rows of each method against the real rows: the test rows are the held-out rows "
      "(scored, never trained on). Logistic regressions on standardised features; at most 2000 rows per set.</p>\n";
  for (const auto& m : kQualityMeasures) {
    out += fmt::format("<table class=\"results\" data-quality=\"{}\">\n<caption><b>{}</b> <code>{}</code> — mean ± "
                       "std over seeds</caption>\n<thead><tr><th>method \\ {}</th>",
                       m.key, html_escape(m.title), m.key, html_escape(g.x_title));
    for (const auto& l : g.levels) out += "<th>" + html_escape(l) + "</th>";
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& method : methods) {
      out += "<tr><th>" + html_escape(method) + "</th>";
      for (const auto& level : g.levels) {
        std::vector<double> v;
        for (const auto& r : g.results) {
          if (r["method"] != method || r["level"] != level || !r.contains("quality")) continue;
          for (const auto& [cls, q] : r["quality"].items())
            if (q.contains(m.key) && q[m.key].is_number()) v.push_back(q[m.key].get<double>());
        }
        if (v.empty()) {
          out += "<td class=\"missing\">–</td>";
          continue;
        }
        double mean = 0, var = 0;
        for (double x : v) mean += x;
        mean /= double(v.size());
        for (double x : v) var += (x - mean) * (x - mean);
        std::string cell = format_value(mean, m.digits);
        if (v.size() > 1)
          cell += " <span class=\"std\">± " + format_value(std::sqrt(var / double(v.size() - 1)), m.digits) + "</span>";
        out += "<td>" + cell + "</td>";
      }
      out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
  }
  return out;
}

/// The 2-D PCA embedding of real and synthetic rows, one panel per method (the level and seed of
/// the confusion matrices; the runner keeps embeddings for the first seed).
json embedding_chart(const Grid& g, const std::vector<std::string>& methods, const std::string& level, uint64_t seed) {
  json values = json::array();
  for (const auto& method : methods) {
    const json* r = find_result(g, method, level, seed);
    if (!r || !r->contains("quality")) continue;
    for (const auto& [cls, q] : (*r)["quality"].items()) {
      if (!q.contains("embedding")) continue;
      const std::string names[3] = {"real, other classes", "real " + cls, "synthetic " + cls};
      for (const auto& p : q["embedding"])
        values.push_back({{"method", method}, {"x", p[0]}, {"y", p[1]}, {"rows", names[p[2].get<int>()]}});
    }
  }
  if (values.empty()) return nullptr;
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
          {"title",
           {{"text", fmt::format("real and synthetic rows, {} {}, seed {}", g.x_title, level, seed)},
            {"subtitle", "PCA of each method's rows to two dimensions (at most 300 rows per group)"}}},
          {"data", {{"values", values}}},
          {"columns", std::min<size_t>(methods.size(), 3)},
          {"facet", {{"field", "method"}, {"type", "nominal"}, {"sort", methods}, {"title", nullptr}}},
          {"resolve", {{"scale", {{"x", "independent"}, {"y", "independent"}}}}},
          {"spec",
           {{"width", 240},
            {"height", 200},
            {"mark", {{"type", "point"}, {"filled", true}, {"size", 14}, {"opacity", 0.55}}},
            {"encoding",
             {{"x", {{"field", "x"}, {"type", "quantitative"}, {"title", "PC 1"}}},
              {"y", {{"field", "y"}, {"type", "quantitative"}, {"title", "PC 2"}}},
              {"color", {{"field", "rows"}, {"type", "nominal"}, {"title", "rows"}}}}}}}};
}

std::string now_utc() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string hostname() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("unknown");
}

std::string unique_values(const Grid& g, const std::string& key) {
  std::vector<std::string> seen;
  for (const auto& r : g.results) {
    const auto v = r.contains(key) ? (r[key].is_string() ? r[key].get<std::string>() : r[key].dump()) : "";
    if (!v.empty() && std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
  }
  std::string out;
  for (const auto& v : seen) out += (out.empty() ? "" : "; ") + v;
  return out.empty() ? "not recorded" : out;
}

std::string methods_html(const Grid& g, const std::string& level, uint64_t seed) {
  std::string out = fmt::format(
      "<table class=\"plain\">\n<thead><tr><th>method</th><th>sampler</th><th>loss</th><th>batch policy</th>"
      "<th>decision</th><th>training rows per class<br><small>{} {}, seed {}</small></th><th>sampler s</th>"
      "<th>train s</th><th>total s</th></tr></thead>\n<tbody>\n",
      html_escape(g.x_title), html_escape(level), seed);
  for (const auto& method : g.methods) {
    json spec = json::object();
    double sums[3] = {0, 0, 0};
    int64_t n = 0;
    for (const auto& r : g.results) {
      if (r["method"] != method) continue;
      if (r.contains("spec")) spec = r["spec"];
      if (r.contains("timings")) {
        const auto& t = r["timings"];
        sums[0] += t.value("sampler_s", 0.0), sums[1] += t.value("train_s", 0.0), sums[2] += t.value("total_s", 0.0);
        ++n;
      }
    }
    const json* cell = find_result(g, method, level, seed);
    std::string counts = "–";
    if (cell && cell->contains("train_counts") && (*cell)["train_counts"].is_array()) {
      const auto& tc = (*cell)["train_counts"];
      const auto classes = (*cell)["metrics"].value("classes", std::vector<std::string>{});
      counts.clear();
      for (size_t k = 0; k < tc.size(); ++k)
        counts += (k ? ", " : "") + (classes.size() == tc.size() ? classes[k] + ": " : "") + tc[k].dump();
    }
    auto field = [&](const char* key) {
      const auto v = spec.is_object() ? spec.value(key, std::string()) : std::string();
      return v.empty() ? std::string("–") : "<code>" + html_escape(v) + "</code>";
    };
    // A loss weight of the synthetic rows other than 1 shows beside the batch policy that draws them.
    const double w = spec.is_object() && spec.contains("synthetic_weight") && spec["synthetic_weight"].is_number()
                         ? spec["synthetic_weight"].get<double>() : 1.0;
    const auto weight = w == 1.0 ? std::string() : fmt::format(", synthetic rows weigh <code>{}</code>", w);
    auto mean = [&](int k) { return n > 0 ? fmt::format("{:.2f}", sums[k] / double(n)) : std::string("–"); };
    out += fmt::format(
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        html_escape(method), spec.is_object() && spec.contains("joint") ? "joint " + field("joint") : field("sampler"),
        field("loss"), field("batch_policy") + weight, field("decision"),
        html_escape(counts), mean(0), mean(1), mean(2));
  }
  return out + "</tbody>\n</table>\n<p class=\"note\">Times are means over all cells of the method, in seconds.</p>\n";
}

std::string samples_html(const fs::path& dir) {
  const auto samples = dir / "samples";
  std::vector<fs::path> pngs;
  std::error_code ec;
  if (fs::is_directory(samples, ec))
    for (const auto& e : fs::directory_iterator(samples, ec)) {
      auto ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (e.is_regular_file() && ext == ".png") pngs.push_back(e.path());
    }
  std::sort(pngs.begin(), pngs.end());
  if (pngs.empty())
    return "<p class=\"note\">No sample images: the run wrote nothing to <code>" +
           html_escape((samples / "*.png").string()) + "</code>.</p>\n";
  std::string out = "<div class=\"samples\">\n";
  for (const auto& p : pngs) {
    const auto name = html_escape(p.filename().string());
    out +=
        fmt::format("<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                    base64(read_file(p.string())), name, name);
  }
  return out + "</div>\n";
}

std::string machine_html(const Grid& g, const std::string& results_path) {
  const auto s = system_info(false);
  struct utsname u {};
  const std::string os = ::uname(&u) == 0 ? fmt::format("{} {} {}", u.sysname, u.release, u.machine) : "unknown";
  std::string packages;
  for (const auto& p : vega_packages())
    packages += (packages.empty() ? "" : ", ") + fmt::format("{}@{}", p.name, p.version);
  const std::pair<std::string, std::string> rows[] = {
      {"versions of the run", unique_values(g, "versions")},
      {"report written by", fmt::format("rebalance {} / libtorch {}", s.rebalance_version, s.torch_version)},
      {"host", hostname()},
      {"operating system", os},
      {"cores", fmt::format("{} hardware threads", std::max(1u, std::thread::hardware_concurrency()))},
      {"BLAS", s.blas_kind + (s.blas_library.empty() ? "" : " (" + s.blas_library + ")")},
      {"date", now_utc()},
      {"results", fs::absolute(results_path).string()},
      {"charts", packages},
  };
  std::string out = "<table class=\"plain kv\">\n";
  for (const auto& [k, v] : rows) out += "<tr><th>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>\n";
  return out +
         "</table>\n<p class=\"note\">The host, cores and date are those of the machine that wrote this report.</p>\n";
}

std::string config_html(const Grid& g, const fs::path& dir) {
  std::string out = "<table class=\"plain kv\">\n<tr><th>experiment</th><td>" +
                    html_escape(unique_values(g, "experiment")) + "</td></tr>\n<tr><th>config hash</th><td><code>" +
                    html_escape(unique_values(g, "config_hash")) + "</code></td></tr>\n";
  std::string seeds;
  for (const auto s : g.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
  out += "<tr><th>seeds</th><td>" + seeds + "</td></tr>\n</table>\n";
  const auto config = dir / "config.toml";
  std::error_code ec;
  if (fs::is_regular_file(config, ec))
    out += "<p><code>" + html_escape(config.string()) + "</code>:</p>\n<pre class=\"config\">" +
           html_escape(read_file(config.string())) + "</pre>\n";
  else
    out += "<p class=\"note\">No <code>config.toml</code> beside the results.</p>\n";
  return out;
}

constexpr const char* kStyle = R"css(
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; margin: 0;
       background: #f6f7f9; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 2px solid #d8dde6; }
nav a { margin-right: 14px; color: #2f5fa8; text-decoration: none; }
.meta { color: #5a6475; margin: 0 0 10px; }
.note { color: #5a6475; font-size: 13px; }
#errors, #warnings { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 13px; }
#errors:not(:empty) { background: #fde8e8; border: 1px solid #d33; color: #8a1010; padding: 8px 12px; }
#warnings:not(:empty) { background: #fff6dc; border: 1px solid #d9a400; padding: 8px 12px; }
table { border-collapse: collapse; background: #fff; margin: 0 0 22px; font-variant-numeric: tabular-nums; }
caption { text-align: left; padding: 4px 0 6px; color: #333; white-space: nowrap; }
th, td { border: 1px solid #d8dde6; padding: 5px 12px; }
thead th { background: #eef1f6; }
table.results td { text-align: right; white-space: nowrap; }
table.results tbody th, table.plain tbody th, table.kv th { text-align: left; font-weight: 600; background: #fafbfc; }
td.best { background: #dff3e4; }
td.tied { background: #eef8f0; }
.std { color: #6b7383; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
.chart { background: #fff; border: 1px solid #d8dde6; padding: 10px; min-height: 60px; }
.samples { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; background: #fff; border: 1px solid #d8dde6; padding: 8px; }
figure img { image-rendering: pixelated; min-width: 160px; max-width: 620px; height: auto; display: block; }
figcaption { font-size: 13px; color: #333; margin-top: 4px; font-family: ui-monospace, monospace; }
pre.config { background: #fff; border: 1px solid #d8dde6; padding: 10px 14px; overflow-x: auto; font-size: 13px; }
)css";

// Installed before anything else runs: any script error, rejected promise or console error lands
// in #errors (and console warnings, e.g. Vega's, in #warnings), where a reader or a headless
// browser test sees it.
constexpr const char* kErrorHook = R"js(
(function () {
  function sink(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent += text + "\n";
  }
  function describe(args) {
    return Array.prototype.map.call(args, function (a) {
      return a instanceof Error ? (a.stack || String(a)) : typeof a === "object" ? JSON.stringify(a) : String(a);
    }).join(" ");
  }
  window.onerror = function (message, source, line, column, error) {
    sink("errors", "error: " + message + (line ? " (line " + line + ")" : "") + (error && error.stack ? "\n" + error.stack : ""));
  };
  window.addEventListener("unhandledrejection", function (event) {
    var r = event.reason;
    sink("errors", "unhandled rejection: " + (r && r.stack ? r.stack : String(r)));
  });
  var error = console.error, warn = console.warn;
  console.error = function () { sink("errors", describe(arguments)); error.apply(console, arguments); };
  console.warn = function () { sink("warnings", describe(arguments)); warn.apply(console, arguments); };
})();
)js";

constexpr const char* kRenderCharts = R"js(
(function () {
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  var ids = Object.keys(specs);
  if (typeof vegaEmbed !== "function") {
    console.error("vega-embed did not load: the charts cannot be drawn");
    return;
  }
  var options = {renderer: "svg", actions: {export: true, source: false, compiled: false, editor: false}};
  Promise.all(ids.map(function (id) {
    return vegaEmbed("#" + id, specs[id], options).catch(function (e) {
      console.error("chart " + id + ": " + (e && e.message ? e.message : e));
    });
  })).then(function () { document.body.setAttribute("data-charts-done", String(ids.length)); });
})();
)js";

}  // namespace

void write_report(const std::string& results_path, const std::string& html_path, const ReportOptions& o) {
  const Grid g = read_grid(results_path);
  // Checked before any work so that a typo in --level or --seed fails at once.
  const uint64_t seed = o.seed.value_or(g.seeds.front());
  if (o.seed) {
    REBALANCE_CHECK(std::find(g.seeds.begin(), g.seeds.end(), *o.seed) != g.seeds.end(),
                    "--seed {}: no results for that seed; seeds present: {}", *o.seed, fmt::join(g.seeds, ", "));
  }
  if (o.level) {
    REBALANCE_CHECK(std::find(g.levels.begin(), g.levels.end(), *o.level) != g.levels.end(),
                    "--level {}: no results at that level; levels present: {}", *o.level, fmt::join(g.levels, ", "));
  }
  const std::string level = o.level.value_or(g.levels.front());
  const std::string scripts = load_vega_scripts(o);
  const fs::path dir = fs::path(results_path).has_parent_path() ? fs::path(results_path).parent_path() : fs::path(".");

  const std::string experiment = unique_values(g, "experiment");
  const std::string title = o.title.empty() ? "rebalance: " + experiment : o.title;

  std::string tables;
  for (const auto& metric : o.table_metrics) {
    if (!std::all_of(g.results.begin(), g.results.end(), [&](const json& r) { return has_metric(r, metric); })) {
      tables += "<p class=\"note\">No table of <code>" + html_escape(metric) + "</code>: not in every result.</p>\n";
      continue;
    }
    tables += table_html(make_table(g.results, metric), g);
  }

  json specs = json::object();
  std::string charts;
  auto add_chart = [&](const json& spec, const std::string& label) {
    const auto id = fmt::format("chart-{}", specs.size());
    specs[id] = spec;
    charts += fmt::format("<div class=\"chart\" id=\"{}\" aria-label=\"{}\"></div>\n", id, html_escape(label));
  };
  for (const auto& metric : o.chart_metrics)
    if (std::all_of(g.results.begin(), g.results.end(), [&](const json& r) { return has_metric(r, metric); }))
      add_chart(metric_chart(make_table(g.results, metric), g), metric);
  const std::string metric_charts = std::exchange(charts, "");

  std::string pr_charts;
  if (g.binary) {
    const auto classes = g.results.front()["metrics"].value("classes", std::vector<std::string>{});
    const std::string positive = classes.size() == 2 ? classes[1] : "1";
    const std::vector<std::string> levels = o.level ? std::vector<std::string>{level} : g.levels;
    add_chart(pr_chart(g, levels, seed, positive), "precision-recall");
    pr_charts = std::exchange(charts, "");
  }
  add_chart(confusion_chart(g, level, seed), "confusion matrices");
  const std::string confusion_charts = std::exchange(charts, "");
  const auto q_methods = quality_methods(g);
  std::string quality = quality_html(g);
  if (const auto spec = embedding_chart(g, q_methods, level, seed); !spec.is_null()) {
    add_chart(spec, "embedding of real and synthetic rows");
    quality += "<div class=\"charts\">\n" + std::exchange(charts, "") + "</div>\n";
  }

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<div id=\"errors\"></div><div id=\"warnings\"></div>\n";
  html += std::string("<script>") + kErrorHook + "</script>\n";
  html += "<main>\n<h1>" + html_escape(title) + "</h1>\n";
  html += fmt::format("<p class=\"meta\">{} results · {} methods · {} levels ({}) · {} seeds · config {} · {}</p>\n",
                      g.results.size(), g.methods.size(), g.levels.size(), html_escape(g.x_title), g.seeds.size(),
                      html_escape(unique_values(g, "config_hash")), html_escape(now_utc()));
  html += "<nav><a href=\"#tables\">Tables</a><a href=\"#metrics\">Metrics</a>";
  if (g.binary) html += "<a href=\"#pr\">Precision-recall</a>";
  html +=
      "<a href=\"#confusion\">Confusion</a><a href=\"#samples\">Samples</a><a href=\"#quality\">Sample quality</a>"
      "<a href=\"#methods\">Methods</a>"
      "<a href=\"#machine\">Machine</a><a href=\"#config\">Config</a></nav>\n";
  html += "<section id=\"tables\"><h2>Tables</h2>\n" + tables + "</section>\n";
  html += "<section id=\"metrics\"><h2>Metrics against " + html_escape(g.x_title) + "</h2>\n<div class=\"charts\">\n" +
          metric_charts + "</div></section>\n";
  if (g.binary)
    html += "<section id=\"pr\"><h2>Precision-recall curves</h2>\n<div class=\"charts\">\n" + pr_charts +
            "</div></section>\n";
  html += "<section id=\"confusion\"><h2>Confusion matrices</h2>\n<div class=\"charts\">\n" + confusion_charts +
          "</div></section>\n";
  html += "<section id=\"samples\"><h2>Samples</h2>\n" + samples_html(dir) + "</section>\n";
  html += "<section id=\"quality\"><h2>Sample quality</h2>\n" + quality + "</section>\n";
  html += "<section id=\"methods\"><h2>Methods</h2>\n" + methods_html(g, level, seed) + "</section>\n";
  html += "<section id=\"machine\"><h2>Machine and versions</h2>\n" + machine_html(g, results_path) + "</section>\n";
  html += "<section id=\"config\"><h2>Experiment config</h2>\n" + config_html(g, dir) + "</section>\n";
  html += "</main>\n";
  html += "<script type=\"application/json\" id=\"chart-specs\">" + script_json(specs) + "</script>\n";
  html += scripts;
  html += std::string("<script>") + kRenderCharts + "</script>\n</body>\n</html>\n";
  write_atomic(
      html_path, [&](std::ostream& out) { out << html; }, false);
}

}  // namespace rebalance
