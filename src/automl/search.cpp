#include "rebalance/automl/search.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <regex>
#include <sstream>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/metrics/report.hpp"
#include "rebalance/metrics/stats.hpp"
#include "rebalance/neighbors/cache.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance::automl {

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? std::numeric_limits<double>::quiet_NaN() : s / static_cast<double>(v.size());
}

/// One line rewritten in place: what runs and the time left.
class Progress {
 public:
  Progress(std::ostream& log, bool on, std::optional<double> deadline, std::function<double()> now)
      : log_(log), on_(on), deadline_(deadline), now_(std::move(now)) {}
  void operator()(const std::string& what) {
    if (!on_) return;
    std::string left;
    if (deadline_) left = fmt::format(", {:.0f}s left", std::max(0.0, *deadline_ - now_()));
    log_ << "\rauto: " << what << left << "\033[K" << std::flush;
  }
  void done() {
    if (on_) log_ << "\n";
  }

 private:
  std::ostream& log_;
  bool on_;
  std::optional<double> deadline_;
  std::function<double()> now_;
};

/// Folds scored by the end of each rung; the last is every fold.
std::vector<int64_t> rungs(int64_t folds, int64_t factor) {
  std::vector<int64_t> out;
  for (int64_t upto = folds;; upto = std::max<int64_t>(1, (upto + factor - 1) / factor)) {
    if (!out.empty() && out.back() == upto) break;
    out.push_back(upto);
    if (upto == 1) break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

std::string Recipe::flags() const {
  return (sampler.empty() ? std::string() : "--sampler " + sampler + " ") + "--loss " + loss;
}

std::vector<Recipe> tabular_recipes() {
  const std::string over = "over-sampling", under = "under-sampling", clean = "cleaning",
                    both = "over-sampling then cleaning";
  return {
      {"nothing", "none", "", "ce"},
      {"class weights", "class weights", "", "weighted_ce"},
      {"random_over", over, "random_over"},
      {"random_under", under, "random_under"},
      {"smote:k_neighbors=5", over, "smote:k_neighbors=5"},
      {"smote:k_neighbors=3", over, "smote:k_neighbors=3"},
      {"borderline_smote:kind=borderline-1", over, "borderline_smote:kind=borderline-1"},
      {"borderline_smote:kind=borderline-2", over, "borderline_smote:kind=borderline-2"},
      {"adasyn", over, "adasyn"},
      {"kmeans_smote", over, "kmeans_smote"},
      {"tomek_links", clean, "tomek_links"},
      {"enn", clean, "enn"},
      {"renn", clean, "renn"},
      {"allknn", clean, "allknn"},
      {"ncr", clean, "ncr"},
      {"oss", clean, "oss"},
      {"near_miss:version=1", under, "near_miss:version=1"},
      {"near_miss:version=3", under, "near_miss:version=3"},
      {"cluster_centroids", under, "cluster_centroids"},
      {"smote_enn", both, "smote_enn"},
      {"smote_tomek", both, "smote_tomek"},
  };
}

double parse_budget(const std::string& text) {
  static const std::regex form(R"(\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*)");
  std::smatch m;
  if (!text.empty() && std::regex_match(text, m, form) && (m[1].matched || m[2].matched || m[3].matched)) {
    const auto part = [&](int i) { return m[i].matched ? std::stod(m[i].str()) : 0.0; };
    const double seconds = 3600 * part(1) + 60 * part(2) + part(3);
    if (seconds > 0 && std::isfinite(seconds)) return seconds;
  }
  REBALANCE_THROW("budget \"{}\": give seconds or text like 90s, 10m, 2h, 1h30m", text);
}

double RecipeResult::mean() const { return mean_of(scores); }

double RecipeResult::std() const {
  if (scores.size() < 2) return scores.empty() ? std::numeric_limits<double>::quiet_NaN() : 0.0;
  const double m = mean();
  double s = 0;
  for (double x : scores) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(scores.size() - 1));
}

double RecipeResult::ci_half() const { return metrics::t_interval_half_width(scores); }

void check_metric(const std::string& name) {
  static const std::vector<std::string> known = {"acsa", "balanced_accuracy", "f1_macro", "f1_micro", "f1_weighted",
                                                 "gmean", "mcc", "accuracy", "average_precision", "roc_auc"};
  REBALANCE_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "metric \"{}\" is not one a search "
                  "maximises: {}", name, fmt::join(known, ", "));
}

double report_metric(const nlohmann::json& report, const std::string& name) {
  const auto key = name == "balanced_accuracy" ? std::string("acsa") : name;
  REBALANCE_CHECK(report.contains(key) && report[key].is_number(), "metric \"{}\" is not in the test report (acsa or "
                  "balanced_accuracy, f1_macro, gmean, mcc, accuracy, average_precision, roc_auc, ...)", name);
  return report[key].get<double>();
}

double clock_seconds(const std::function<double()>& clock) {
  if (clock) return clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<size_t> keep_best(std::vector<size_t> scored, const std::function<double(size_t)>& score, int64_t factor,
                              const std::function<void(size_t)>& eliminate) {
  std::stable_sort(scored.begin(), scored.end(), [&](size_t a, size_t b) { return score(a) > score(b); });
  const size_t keep = std::max<size_t>(1, (scored.size() + static_cast<size_t>(factor) - 1) / static_cast<size_t>(factor));
  for (size_t j = keep; j < scored.size(); ++j) eliminate(scored[j]);
  scored.resize(std::min(scored.size(), keep));
  return scored;
}

double score(const train::TrainResult& model, const Dataset& test, const std::string& name) {
  const auto logits = train::predict_logits(*model.model, test.x);
  const auto report = metrics::evaluate(test.y, model.decision->predict(logits), torch::softmax(logits, 1),
                                        test.num_classes(), test.class_names);
  return report_metric(metrics::report_to_json(report), name);
}

train::TrainResult fit_recipe(const Dataset& data, const Recipe& r, const train::TrainOptions& o, uint64_t seed,
                              std::ostream& log) {
  Dataset rows = r.sampler.empty() ? data : make_sampler(r.sampler, seed)->fit_resample(data);
  auto opts = o;
  opts.loss = r.loss;
  opts.monitor = "none";
  opts.progress = false;
  opts.checkpoint_dir.clear();
  return train::fit(rows, data.subset(torch::empty({0}, torch::kInt64)), opts, log);
}

SearchResult search(const Dataset& data, const SearchOptions& o, std::ostream& log) {
  REBALANCE_CHECK(o.folds >= 2, "auto: folds must be >= 2, got {}", o.folds);
  REBALANCE_CHECK(o.factor >= 2, "auto: factor must be >= 2, got {}", o.factor);
  REBALANCE_CHECK(o.holdout > 0 && o.holdout < 1, "auto: the hold-out share must lie in (0, 1), got {}", o.holdout);
  REBALANCE_CHECK(o.budget_s >= 0, "auto: the budget must be >= 0 seconds, got {}", o.budget_s);
  check_metric(o.metric);
  const auto recipes = o.recipes.empty() ? tabular_recipes() : o.recipes;
  for (const auto& r : recipes) {
    if (!r.sampler.empty()) (void)make_sampler(r.sampler, 0);  // every spec checked before any training
    losses::check_loss_spec(r.loss);
  }
  const auto now = [&] { return clock_seconds(o.clock); };
  const auto since = [&](double t) { return now() - t; };
  const double start = now();
  std::optional<double> deadline;
  if (o.budget_s > 0) deadline = start + o.budget_s;
  Progress progress(log, o.progress, deadline, now);

  const auto counts = data.class_counts();
  for (size_t c = 0; c < counts.size(); ++c)
    REBALANCE_CHECK(counts[c] >= 3, "auto: class \"{}\" has {} row(s); the hold-out and two folds need at least 3 of "
                    "every class", data.class_names[c], counts[c]);
  const auto split = stratified_split(data, 0.0, o.holdout, o.seed);
  const Dataset& searched = split.train;
  const Dataset& held = split.test;
  const auto searched_counts = searched.class_counts();
  const int64_t k = std::min(o.folds, *std::min_element(searched_counts.begin(), searched_counts.end()));
  REBALANCE_CHECK(k >= 2, "auto: after the hold-out the smallest class has {} row(s); two folds need 2",
                  *std::min_element(searched_counts.begin(), searched_counts.end()));
  Rng fold_rng = Rng(o.seed).fork(streams::kFoldAssignment);
  const auto fold_of = stratified_fold_ids(searched, k, fold_rng);
  std::vector<Dataset> fold_train, fold_test;
  for (int64_t f = 0; f < k; ++f) {
    std::vector<int64_t> in, out;
    for (int64_t i = 0; i < searched.size(); ++i) (fold_of[static_cast<size_t>(i)] == f ? out : in).push_back(i);
    fold_train.push_back(searched.subset(torch::tensor(in, torch::kInt64)));
    fold_test.push_back(searched.subset(torch::tensor(out, torch::kInt64)));
  }

  // The recipes of a fold train on the same rows: their samplers' neighbour searches are shared.
  std::optional<neighbors::KnnCache> shared_neighbours;
  if (o.share_neighbours) shared_neighbours.emplace();
  std::vector<RecipeResult> state(recipes.size());
  for (size_t i = 0; i < recipes.size(); ++i) state[i].recipe = recipes[i], state[i].status = "ok";
  const auto predicted = [&](size_t i) {
    if (!state[i].seconds.empty()) return mean_of(state[i].seconds);
    std::vector<double> seen;
    for (const auto& s : state) seen.insert(seen.end(), s.seconds.begin(), s.seconds.end());
    if (seen.empty()) return 0.0;
    std::nth_element(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(seen.size() / 2), seen.end());
    return seen[seen.size() / 2];
  };
  const auto reserve = [&] {  // the winner's hold-out fit and refit on every row
    double most = 0;
    for (const auto& s : state)
      if (!s.failed)
        for (double t : s.seconds) most = std::max(most, t);
    return 3.0 * most;
  };
  std::vector<size_t> alive(recipes.size());
  for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
  bool exhausted = false;
  for (const int64_t upto : rungs(k, o.factor)) {
    for (const size_t i : alive) {
      auto& st = state[i];
      for (auto f = static_cast<int64_t>(st.scores.size()); f < upto && !st.failed && !exhausted; ++f) {
        const double t0 = now();  // one reading decides and times the fit
        if (deadline && t0 + predicted(i) + reserve() > *deadline) {
          exhausted = true;
          break;
        }
        progress(fmt::format("{} fold {}/{}", st.recipe.name, f + 1, k));
        try {
          std::ostringstream quiet;
          const uint64_t seed = Rng(o.seed).fork(streams::kFoldModel + static_cast<uint64_t>(f)).next_u64() >> 1;
          auto model = fit_recipe(fold_train[static_cast<size_t>(f)], st.recipe, o.train, seed, quiet);
          const double s = score(model, fold_test[static_cast<size_t>(f)], o.metric);
          REBALANCE_CHECK(std::isfinite(s), "the score is {}", s);
          st.scores.push_back(s);
        } catch (const std::exception& e) {
          // A recipe that fails on these rows loses and says why.
          st.failed = true;
          st.status = e.what();
        }
        st.seconds.push_back(since(t0));
      }
      if (exhausted) break;
    }
    if (exhausted || upto == k) break;
    std::vector<size_t> scored;
    for (const size_t i : alive)
      if (!state[i].failed && static_cast<int64_t>(state[i].scores.size()) >= upto) scored.push_back(i);
    alive = keep_best(scored, [&](size_t i) { return state[i].mean(); }, o.factor,
                      [&](size_t i) { state[i].status = fmt::format("eliminated after {} fold(s)", upto); });
  }
  for (auto& st : state)
    if (!st.failed && st.status == "ok" && static_cast<int64_t>(st.scores.size()) < k)
      st.status = st.scores.empty() ? "budget: not run" : fmt::format("budget: {} of {} folds", st.scores.size(), k);

  // The winner: the best mean among the recipes scored on the most folds.
  std::optional<size_t> best;
  for (size_t i = 0; i < state.size(); ++i) {
    const auto& s = state[i];
    if (s.failed || s.scores.empty()) continue;
    if (!best || s.scores.size() > state[*best].scores.size() ||
        (s.scores.size() == state[*best].scores.size() && s.mean() > state[*best].mean()))
      best = i;
  }
  if (!best) {
    progress.done();
    for (const auto& s : state)
      if (s.failed && s.recipe.name == "nothing") REBALANCE_THROW("auto: the model fails on these rows: {}", s.status);
    for (const auto& s : state)
      if (s.failed) REBALANCE_THROW("auto: no recipe could be scored: {}: {}", s.recipe.name, s.status);
    REBALANCE_THROW("auto: no recipe could be scored within the budget of {:.0f}s: raise --budget", o.budget_s);
  }
  const auto& top = state[*best];
  for (size_t i = 0; i < state.size(); ++i) {
    auto& s = state[i];
    if (i == *best) {
      s.tied = true, s.status = "winner";
      continue;
    }
    const size_t shared = std::min(s.scores.size(), top.scores.size());
    if (s.failed || shared < 2) continue;
    const auto test = metrics::paired_t_test(std::vector<double>(s.scores.begin(), s.scores.begin() + shared),
                                             std::vector<double>(top.scores.begin(), top.scores.begin() + shared));
    s.p_vs_best = test.p;
    s.tied = test.p >= 0.05;
  }

  SearchResult r;
  r.folds = k;
  r.metric = o.metric;
  r.exhausted = exhausted;
  r.searched_rows = searched.size();
  r.held_out_rows = held.size();
  r.selection = top.mean();
  progress(fmt::format("scoring {} on the {} held-out rows", top.recipe.name, held.size()));
  {
    std::ostringstream quiet;
    const auto model = fit_recipe(searched, top.recipe, o.train, o.seed, quiet);
    r.estimate = score(model, held, o.metric);
  }
  progress.done();
  std::stable_sort(state.begin(), state.end(), [](const RecipeResult& a, const RecipeResult& b) {
    if (a.status == "winner" || b.status == "winner") return a.status == "winner" && b.status != "winner";
    if (a.scores.size() != b.scores.size()) return a.scores.size() > b.scores.size();
    return a.mean() > b.mean();
  });
  r.board = std::move(state);
  r.seconds = since(start);
  if (shared_neighbours) {
    r.neighbour_searches_shared = shared_neighbours->hits();
    r.neighbour_searches_run = shared_neighbours->misses();
  }
  return r;
}

std::string leaderboard_text(const SearchResult& r) {
  size_t width = 6;
  for (const auto& s : r.board) width = std::max(width, s.recipe.name.size());
  std::string out = fmt::format("{:>4}  {:<{}}  {:>7}  {:>6}  {:>17}  {:>5}  {:>7}  status\n", "rank", "recipe", width,
                                r.metric, "std", "95% interval", "folds", "s/fold");
  for (size_t i = 0; i < r.board.size(); ++i) {
    const auto& s = r.board[i];
    const auto num = [](double v, int d) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, d) : std::string("-"); };
    const double half = s.ci_half();
    const auto interval = std::isfinite(half) ? fmt::format("[{:.4f}, {:.4f}]", s.mean() - half, s.mean() + half)
                                              : std::string();
    out += fmt::format("{:>4}{} {:<{}}  {:>7}  {:>6}  {:>17}  {:>5}  {:>7}  {}\n", i + 1, s.tied ? "*" : " ",
                       s.recipe.name, width, num(s.mean(), 4), num(s.std(), 4), interval, s.scores.size(),
                       num(mean_of(s.seconds), 3), s.status);
  }
  out += fmt::format("* a paired t-test over the folds both were scored on (of {}) cannot tell it from the winner "
                     "(p >= 0.05); a recipe eliminated after one fold is not tested\n", r.folds);
  out += fmt::format("winner: {} ({}); selection score {:.4f} (the best of {} recipes on {} searched rows, "
                     "optimistic), estimate {:.4f} on the {} held-out rows the search never saw: {:+.4f} optimism\n",
                     r.winner().recipe.name, r.winner().recipe.flags(), r.selection, r.board.size(), r.searched_rows,
                     r.estimate, r.held_out_rows, r.selection - r.estimate);
  if (r.neighbour_searches_shared > 0)
    out += fmt::format("neighbour searches: {} run, {} more served from those (the same rows, an earlier recipe)\n",
                       r.neighbour_searches_run, r.neighbour_searches_shared);
  if (r.exhausted) out += "the budget ran out before every recipe was scored on every fold\n";
  return out;
}

std::string leaderboard_csv(const SearchResult& r) {
  const auto csv_text = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  const auto num = [](double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string(); };
  std::string out = "rank,recipe,family,sampler,loss,mean,std,ci_low,ci_high,folds,seconds_per_fold,tied_with_best,"
                    "p_vs_best,status\n";
  for (size_t i = 0; i < r.board.size(); ++i) {
    const auto& s = r.board[i];
    const double half = s.ci_half();
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i + 1, csv_text(s.recipe.name),
                       csv_text(s.recipe.family), csv_text(s.recipe.sampler), csv_text(s.recipe.loss), num(s.mean()),
                       num(s.std()), num(s.mean() - half), num(s.mean() + half), s.scores.size(),
                       num(mean_of(s.seconds)), s.tied ? 1 : 0, num(s.p_vs_best), csv_text(s.status));
  }
  return out;
}

}  // namespace rebalance::automl
