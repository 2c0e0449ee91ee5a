#include "rebalance/experiment/table.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/metrics/stats.hpp"

namespace rebalance {

namespace {

std::optional<double> metric_of(const nlohmann::json& r, const std::string& metric) {
  const auto& m = r.at("metrics");
  // "per_class.NAME.field" reaches into the per-class block (class names may hold dots).
  if (metric.rfind("per_class.", 0) == 0) {
    const auto last = metric.rfind('.');
    const auto cls = metric.substr(10, last - 10), field = metric.substr(last + 1);
    if (m.contains("per_class") && m["per_class"].contains(cls) && m["per_class"][cls].contains(field))
      return m["per_class"][cls][field].get<double>();
    return std::nullopt;
  }
  if (m.contains(metric) && m[metric].is_number()) return m[metric].get<double>();
  return std::nullopt;
}

/// "quality.FIELD": the sample-quality measure FIELD of the result's synthetic rows (the mean over
/// the classes its sampler grew); none where the method made no rows or the measure is null.
std::optional<double> quality_of(const nlohmann::json& r, const std::string& field) {
  if (!r.contains("quality") || !r["quality"].is_object()) return std::nullopt;
  double sum = 0;
  int64_t n = 0;
  for (const auto& [cls, q] : r["quality"].items())
    if (q.contains(field) && q[field].is_number()) sum += q[field].get<double>(), ++n;
  if (n == 0) return std::nullopt;
  return sum / double(n);
}

}  // namespace

ResultTable make_table(const std::vector<nlohmann::json>& results, const std::string& metric,
                       const TableOrder& order) {
  ResultTable t;
  t.metric = metric;
  t.lower_is_better = metric == "misclassified";
  t.quality = metric.rfind("quality.", 0) == 0;
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<uint64_t, double>>> values;
  for (const auto& r : results) {
    const auto method = r.at("method").get<std::string>(), level = r.at("level").get<std::string>();
    // Results without a seed (hand-made ones) pair by their order within the cell.
    const auto seed = r.value("seed", static_cast<uint64_t>(values[{method, level}].size()));
    if (t.quality) {
      // Only methods whose sampler made rows have sample-quality measures.
      const auto v = quality_of(r, metric.substr(8));
      if (!v) continue;
      if (std::find(t.methods.begin(), t.methods.end(), method) == t.methods.end()) {
        t.methods.push_back(method);
        t.leaked.push_back(r.contains("leak"));
      }
      if (std::find(t.levels.begin(), t.levels.end(), level) == t.levels.end()) t.levels.push_back(level);
      values[{method, level}].emplace_back(seed, *v);
      continue;
    }
    const auto v = metric_of(r, metric);
    REBALANCE_CHECK(v.has_value(), "results have no metric \"{}\" (method {}, level {}); metrics present: {}", metric,
                    method, level, [&] {
                      std::string keys;
                      for (const auto& [k, val] : r.at("metrics").items())
                        if (val.is_number()) keys += (keys.empty() ? "" : ", ") + k;
                      return keys;
                    }());
    const auto at = std::find(t.methods.begin(), t.methods.end(), method);
    if (at == t.methods.end()) {
      t.methods.push_back(method);
      t.leaked.push_back(r.contains("leak"));
    } else if (r.contains("leak")) {
      t.leaked[at - t.methods.begin()] = true;
    }
    if (std::find(t.levels.begin(), t.levels.end(), level) == t.levels.end()) t.levels.push_back(level);
    values[{method, level}].emplace_back(seed, *v);
  }
  REBALANCE_CHECK(!t.methods.empty(), "{}", t.quality ? fmt::format("no result has the sample-quality measure \"{}\" "
                  "(rebalance run records two_sample_auc, memorisation, copies, tstr_recall, tstr_other_recall, "
                  "judge_recall, reconstruction_error, nn_synthetic and nn_held_out for methods whose sampler or "
                  "joint generator makes rows)",
                  metric.substr(8)) : std::string("no results to tabulate"));
  // The order's names first, as it lists them; the rest after, as they first appeared.
  const auto rank = [](const std::vector<std::string>& listed, const std::string& name) {
    return static_cast<size_t>(std::find(listed.begin(), listed.end(), name) - listed.begin());
  };
  std::vector<size_t> rows(t.methods.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) {
    return rank(order.methods, t.methods[a]) < rank(order.methods, t.methods[b]);
  });
  std::vector<std::string> methods;
  std::vector<bool> leaked;
  for (const auto i : rows) methods.push_back(t.methods[i]), leaked.push_back(t.leaked[i]);
  t.methods = std::move(methods);
  t.leaked = std::move(leaked);
  std::stable_sort(t.levels.begin(), t.levels.end(), [&](const std::string& a, const std::string& b) {
    return rank(order.levels, a) < rank(order.levels, b);
  });
  t.cells.assign(t.methods.size(), std::vector<std::optional<TableCell>>(t.levels.size()));
  for (size_t i = 0; i < t.methods.size(); ++i)
    for (size_t j = 0; j < t.levels.size(); ++j) {
      const auto it = values.find({t.methods[i], t.levels[j]});
      if (it == values.end()) continue;
      TableCell c;
      c.values = it->second;
      c.n = static_cast<int64_t>(c.values.size());
      for (const auto& [seed, x] : c.values) c.mean += x;
      c.mean /= c.n;
      if (c.n > 1) {
        for (const auto& [seed, x] : c.values) c.std += (x - c.mean) * (x - c.mean);
        c.std = std::sqrt(c.std / (c.n - 1));
      }
      t.cells[i][j] = c;
    }
  // A sample-quality measure has no "best" direction (an AUC of 0.5 is ideal, a memorisation of 1).
  for (size_t j = 0; j < t.levels.size() && !t.quality; ++j) {
    std::optional<size_t> best;
    for (size_t i = 0; i < t.methods.size(); ++i)
      if (const auto& c = t.cells[i][j];
          c && !t.leaked[i] &&
          (!best || (t.lower_is_better ? c->mean < t.cells[*best][j]->mean : c->mean > t.cells[*best][j]->mean)))
        best = i;
    if (!best) continue;
    const auto& top = *t.cells[*best][j];
    for (size_t i = 0; i < t.methods.size(); ++i) {
      auto& c = t.cells[i][j];
      if (!c || t.leaked[i]) continue;
      if (std::fabs(c->mean - top.mean) <= 1e-12) {
        c->best = c->tied = true;  // equal means: each is the best
        continue;
      }
      // Pair the two methods' values seed by seed.
      std::vector<double> a, b;
      for (const auto& [seed, x] : c->values)
        for (const auto& [top_seed, y] : top.values)
          if (seed == top_seed) {
            a.push_back(x), b.push_back(y);
            break;
          }
      const auto test = metrics::paired_t_test(a, b);
      c->paired = test.n;
      c->p_vs_best = test.p;
      c->tied = test.n >= 2 && test.p >= t.alpha;
    }
  }
  return t;
}

std::string table_marking(const ResultTable& t) {
  const bool any_leak = std::find(t.leaked.begin(), t.leaked.end(), true) != t.leaked.end();
  const std::string lower = t.lower_is_better ? ", lower is better" : "";
  const std::string leak = any_leak ? "; rows whose generator saw test images are never marked" : "";
  if (t.quality) return "no best marked: a sample-quality measure has no better direction" + leak;
  // The seeds the tested comparisons rest on; a single shared seed tests nothing.
  int64_t lo = 0, hi = 0;
  bool untested = false;
  for (const auto& row : t.cells)
    for (const auto& c : row) {
      if (!c || c->best) continue;
      if (c->paired < 2) {
        untested = true;
        continue;
      }
      lo = lo == 0 ? c->paired : std::min(lo, c->paired);
      hi = std::max(hi, c->paired);
    }
  if (hi == 0)
    return fmt::format("bold: the best mean per column{}; one seed per cell, so no method can be told from another{}",
                       lower, leak);
  const auto seeds = lo == hi ? fmt::format("{} seeds", hi) : fmt::format("{}-{} seeds", lo, hi);
  return fmt::format("bold: the best mean per column{} and every method a two-sided paired t-test over {} cannot tell "
                     "from it (p >= {}){}{}", lower, seeds, t.alpha,
                     untested ? "; a method sharing one seed with the best is not tested, nor marked" : "", leak);
}

std::string table_markdown(const ResultTable& t, int digits) {
  const int d = t.metric == "misclassified" ? 1 : digits;
  std::string out =
      t.quality ? fmt::format("{} (mean ± std over seeds; methods whose sampler makes rows)\n\n| method |", t.metric)
                : fmt::format("{} (mean ± std over seeds; {})\n\n| method |", t.metric, table_marking(t));
  for (const auto& l : t.levels) out += " " + l + " |";
  out += "\n|---|";
  for (size_t j = 0; j < t.levels.size(); ++j) out += "---|";
  out += "\n";
  // A grid still running: a cell with fewer seeds than the table's fullest says how many it has.
  int64_t most_seeds = 0;
  for (const auto& row : t.cells)
    for (const auto& c : row)
      if (c) most_seeds = std::max<int64_t>(most_seeds, c->n);
  for (size_t i = 0; i < t.methods.size(); ++i) {
    out += "| " + t.methods[i] + " |";
    for (size_t j = 0; j < t.levels.size(); ++j) {
      const auto& c = t.cells[i][j];
      if (!c) {
        out += " – |";
        continue;
      }
      std::string v = c->n > 1 ? fmt::format("{:.{}f} ± {:.{}f}", c->mean, d, c->std, d) : fmt::format("{:.{}f}", c->mean, d);
      v = c->tied ? "**" + v + "**" : v;
      if (c->n < most_seeds) v += fmt::format(" ({} seed{})", c->n, c->n == 1 ? "" : "s");
      out += " " + v + " |";
    }
    out += "\n";
  }
  return out;
}

std::string table_csv(const ResultTable& t) {
  std::string out = "method";
  for (const auto& l : t.levels) out += fmt::format(",{0} mean,{0} std,{0} n,{0} best,{0} tied,{0} p_vs_best", l);
  out += "\n";
  for (size_t i = 0; i < t.methods.size(); ++i) {
    out += t.methods[i];
    for (size_t j = 0; j < t.levels.size(); ++j) {
      const auto& c = t.cells[i][j];
      out += c ? fmt::format(",{},{},{},{},{},{}", c->mean, c->std, c->n, c->best ? 1 : 0, c->tied ? 1 : 0,
                             std::isnan(c->p_vs_best) ? std::string() : fmt::format("{:.4g}", c->p_vs_best))
               : ",,,0,0,0,";
    }
    out += "\n";
  }
  return out;
}

}  // namespace rebalance
