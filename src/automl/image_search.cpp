#include "rebalance/automl/image_search.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "rebalance/automl/search.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/metrics/report.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"

namespace rebalance::automl {

namespace {

/// The first run of a recipe that trains a generator, before anything is known of it.
constexpr double kGeneratorGuessSeconds = 60.0;

/// Epochs of each rung: the last is max_epochs, each before it 1/factor of the next (at least 1).
std::vector<int64_t> epoch_rungs(int64_t max_epochs, int64_t factor) {
  std::vector<int64_t> out = {max_epochs};
  while (out.front() / factor >= 1 && out.front() / factor < out.front()) out.insert(out.begin(), out.front() / factor);
  return out;
}

std::string toml_string(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

nlohmann::json evaluate_on(const train::TrainResult& r, const Dataset& rows) {
  const auto logits = train::predict_logits(*r.model, rows.x);
  return metrics::report_to_json(metrics::evaluate(rows.y, r.decision->predict(logits), torch::softmax(logits, 1),
                                                   rows.num_classes(), rows.class_names));
}

}  // namespace

std::string ImageRecipe::method_toml() const {
  std::string out = "[[method]]\nname = " + toml_string(name) + "\n";
  if (!sampler.empty()) out += "sampler = " + toml_string(sampler) + "\n";
  out += "loss = " + toml_string(loss) + "\n";
  if (batch_policy != "uniform") out += "batch_policy = " + toml_string(batch_policy) + "\n";
  if (!mix.empty()) out += "mix = " + toml_string(mix) + "\n";
  if (decision != "argmax") out += "decision = " + toml_string(decision) + "\n";
  return out;
}

std::vector<ImageRecipe> image_recipes(int64_t num_classes) {
  std::vector<ImageRecipe> r = {
      {.name = "ERM"},
      {.name = "class weights", .loss = "weighted_ce"},
      {.name = "class-balanced loss", .loss = "cb:beta=0.9999"},
      {.name = "focal loss", .loss = "focal:gamma=1"},
      {.name = "balanced softmax", .loss = "balanced_softmax"},
      {.name = "balanced batches", .batch_policy = "balanced"},
      {.name = "square-root batches", .batch_policy = "sqrt"},
      {.name = "post-hoc logit adjustment", .decision = "prior:tau=auto"},
      {.name = "Remix + class weights", .loss = "weighted_ce", .mix = "remix"},
      {.name = "CMO + balanced softmax", .loss = "balanced_softmax", .mix = "cmo"},
      {.name = "random over-sampling", .sampler = "random_over"},
  };
  if (num_classes == 2) r.push_back({.name = "threshold moving", .decision = "threshold"});
  r.push_back({.name = "DeepSMOTE", .sampler = "deepsmote", .generator = true});
  r.push_back({.name = "conditional VAE", .sampler = "vae:conditional=true", .generator = true});
  return r;
}

ImageSearchResult search_images(const Dataset& train, const Dataset& validation, const Dataset& test,
                                const ImageSearchOptions& o, std::ostream& log) {
  REBALANCE_CHECK(o.max_epochs >= 1, "auto: epochs must be >= 1, got {}", o.max_epochs);
  REBALANCE_CHECK(o.factor >= 2, "auto: factor must be >= 2, got {}", o.factor);
  REBALANCE_CHECK(validation.size() > 0 && test.size() > 0, "auto: the image search needs validation and test rows "
                  "(validation {}, test {})", validation.size(), test.size());
  auto recipes = o.recipes.empty() ? image_recipes(train.num_classes()) : o.recipes;
  if (!o.generators)
    recipes.erase(std::remove_if(recipes.begin(), recipes.end(), [](const ImageRecipe& r) { return r.generator; }),
                  recipes.end());
  REBALANCE_CHECK(!recipes.empty(), "auto: no recipe to search");
  for (const auto& r : recipes) {  // every spec checked before any training
    if (!r.sampler.empty()) (void)make_sampler(r.sampler, 0);
    losses::check_loss_spec(r.loss);
    (void)train::make_batch_policy(r.batch_policy);
    (void)train::make_decision_rule(r.decision);
    if (!r.mix.empty()) (void)mix::make_mix(r.mix);
  }
  check_metric(o.metric);
  const auto now = [&] { return clock_seconds(o.clock); };
  const auto since = [&](double t) { return now() - t; };
  const double start = now();
  std::optional<double> deadline;
  if (o.budget_s > 0) deadline = start + o.budget_s;
  const auto progress = [&](const std::string& what) {
    if (!o.progress) return;
    log << "\rauto: " << what
        << (deadline ? fmt::format(", {:.0f}s left", std::max(0.0, *deadline - now())) : std::string()) << "\033[K"
        << std::flush;
  };

  const auto rungs = epoch_rungs(o.max_epochs, o.factor);
  std::vector<ImageRecipeResult> state(recipes.size());
  for (size_t i = 0; i < recipes.size(); ++i) state[i].recipe = recipes[i], state[i].status = "ok";
  std::map<size_t, Dataset> resampled;  // a generator trains once; its rows serve every rung
  std::map<size_t, double> sampler_seconds;
  std::shared_ptr<train::TrainResult> best_model;
  Dataset best_train;
  std::optional<size_t> best_index;
  bool exhausted = false;
  std::vector<size_t> alive(recipes.size());
  for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
  // The cheap recipes first; a generator's first run costs its generator too, guessed as three
  // times the slowest run so far.
  std::stable_partition(alive.begin(), alive.end(), [&](size_t i) { return !recipes[i].generator; });
  for (size_t rung = 0; rung < rungs.size() && !exhausted; ++rung) {
    const int64_t epochs = rungs[rung];
    double slowest = 0;
    for (const auto& s : state)
      for (double t : s.seconds) slowest = std::max(slowest, t);
    for (const size_t i : alive) {
      auto& st = state[i];
      if (st.failed) continue;
      // Expected: its own last run scaled by the epochs, else the slowest run so far scaled by them.
      const double per_epoch = !st.seconds.empty() ? st.seconds.back() / std::max<int64_t>(1, st.rungs.back().first)
                                                    : slowest / std::max<int64_t>(1, rungs[std::max<size_t>(rung, 1) - 1]);
      // Half again as a margin: a busy machine runs a fit slower than the last one ran.
      double expected = 1.5 * per_epoch * static_cast<double>(epochs);
      // A generator's training can be neither predicted before it first runs nor cut short: it
      // starts only while half the budget is left, guessed at a minute (DeepSMOTE and the VAE
      // took 60-80 s on 740 digits here) or three times the slowest run, whichever is more.
      const bool untried_generator = st.recipe.generator && !resampled.count(i);
      if (untried_generator) expected = std::max(kGeneratorGuessSeconds, 3.0 * std::max(expected, slowest));
      // And a reserve: if the budget stops the search before a full-length run, the best is
      // retrained once at the longest rung reached (about the slowest run so far).
      double reserve = 0;
      for (const auto& s : state)
        for (double t : s.seconds) reserve = std::max(reserve, t);
      const double t0 = now();  // one reading decides and times the run
      if (deadline && (t0 + expected + 1.5 * reserve > *deadline ||
                       (untried_generator && *deadline - t0 < 0.5 * o.budget_s))) {
        exhausted = true;
        if (untried_generator) continue;  // the cheaper recipes of the rung still run
        break;
      }
      progress(fmt::format("{} for {} epoch(s)", st.recipe.name, epochs));
      try {
        if (!st.recipe.sampler.empty() && !resampled.count(i)) {
          const double ts = now();
          resampled.emplace(i, make_sampler(st.recipe.sampler, o.seed)->fit_resample(train));
          sampler_seconds[i] = since(ts);
        }
        const Dataset& rows = st.recipe.sampler.empty() ? train : resampled.at(i);
        auto opts = o.train;
        opts.loss = st.recipe.loss, opts.batch_policy = st.recipe.batch_policy, opts.mix = st.recipe.mix;
        opts.decision = st.recipe.decision, opts.epochs = epochs, opts.monitor = "none", opts.progress = false;
        opts.checkpoint_dir.clear();
        std::ostringstream quiet;
        auto result = std::make_shared<train::TrainResult>(train::fit(rows, validation, opts, quiet));
        const auto report = evaluate_on(*result, validation);
        const double score = report_metric(report, o.metric);
        REBALANCE_CHECK(std::isfinite(score), "the validation score is {}", score);
        st.rungs.emplace_back(epochs, score);
        st.reports.push_back(report);
        if (rung + 1 == rungs.size() && (!best_index || score > state[*best_index].score())) {
          best_index = i, best_model = result, best_train = rows;
        }
      } catch (const std::exception& e) {
        st.failed = true;
        st.status = e.what();
      }
      st.seconds.push_back(since(t0));
    }
    if (exhausted || rung + 1 == rungs.size()) break;
    std::vector<size_t> scored;
    for (const size_t i : alive)
      if (!state[i].failed && !state[i].rungs.empty() && state[i].rungs.back().first == epochs) scored.push_back(i);
    alive = keep_best(scored, [&](size_t i) { return state[i].score(); }, o.factor,
                      [&](size_t i) { state[i].status = fmt::format("eliminated after {} epoch(s)", epochs); });
  }
  for (auto& st : state)
    if (!st.failed && st.status == "ok" && (st.rungs.empty() || st.rungs.back().first < rungs.back()))
      st.status = st.rungs.empty() ? "budget: not run"
                                   : fmt::format("budget: stopped at {} of {} epochs", st.rungs.back().first, rungs.back());
  // Without a full-length run (the budget), the winner is the best at the longest rung reached,
  // retrained once for that rung's epochs to be scored.
  if (!best_index) {
    int64_t longest = 0;
    for (const auto& s : state)
      if (!s.failed && !s.rungs.empty()) longest = std::max(longest, s.rungs.back().first);
    for (size_t i = 0; i < state.size(); ++i)
      if (!state[i].failed && !state[i].rungs.empty() && state[i].rungs.back().first == longest &&
          (!best_index || state[i].score() > state[*best_index].score()))
        best_index = i;
    if (!best_index) {
      if (o.progress) log << "\n";
      for (const auto& s : state)
        if (s.failed && s.recipe.name == "ERM") REBALANCE_THROW("auto: the model fails on these rows: {}", s.status);
      for (const auto& s : state)
        if (s.failed) REBALANCE_THROW("auto: no recipe could be scored: {}: {}", s.recipe.name, s.status);
      REBALANCE_THROW("auto: no recipe could be scored within the budget of {:.0f}s: raise --budget", o.budget_s);
    }
    const auto& st = state[*best_index];
    progress(fmt::format("retraining {} for {} epoch(s) to score it", st.recipe.name, longest));
    const Dataset& rows = st.recipe.sampler.empty() ? train : resampled.at(*best_index);
    auto opts = o.train;
    opts.loss = st.recipe.loss, opts.batch_policy = st.recipe.batch_policy, opts.mix = st.recipe.mix;
    opts.decision = st.recipe.decision, opts.epochs = longest, opts.monitor = "none", opts.progress = false;
    std::ostringstream quiet;
    best_model = std::make_shared<train::TrainResult>(train::fit(rows, validation, opts, quiet));
    best_train = rows;
  }
  if (o.progress) log << "\n";
  ImageSearchResult r;
  const auto val_counts = validation.class_counts();
  const auto fewest = std::min_element(val_counts.begin(), val_counts.end()) - val_counts.begin();
  r.fewest_validation_rows = val_counts[static_cast<size_t>(fewest)];
  r.fewest_validation_class = validation.class_names[static_cast<size_t>(fewest)];
  r.rung_epochs = rungs;
  r.metric = o.metric;
  r.exhausted = exhausted;
  state[*best_index].status = "winner";
  r.selection = state[*best_index].score();
  r.test_report = evaluate_on(*best_model, test);
  r.estimate = report_metric(r.test_report, o.metric);
  r.winner_model = best_model;
  r.winner_train = best_train;
  std::stable_sort(state.begin(), state.end(), [](const ImageRecipeResult& a, const ImageRecipeResult& b) {
    if (a.status == "winner" || b.status == "winner") return a.status == "winner" && b.status != "winner";
    const int64_t ea = a.rungs.empty() ? 0 : a.rungs.back().first, eb = b.rungs.empty() ? 0 : b.rungs.back().first;
    if (ea != eb) return ea > eb;
    return a.score() > b.score();
  });
  r.board = std::move(state);
  r.seconds = since(start);
  return r;
}

std::string image_leaderboard_text(const ImageSearchResult& r) {
  size_t width = 6;
  for (const auto& s : r.board) width = std::max(width, s.recipe.name.size());
  std::string out = fmt::format("{:>4}  {:<{}}  {:>8}  {:>6}  {:>8}  status\n", "rank", "recipe", width,
                                "val " + r.metric, "epochs", "seconds");
  for (size_t i = 0; i < r.board.size(); ++i) {
    const auto& s = r.board[i];
    double seconds = 0;
    for (double t : s.seconds) seconds += t;
    out += fmt::format("{:>4}  {:<{}}  {:>8}  {:>6}  {:>8.1f}  {}\n", i + 1, s.recipe.name, width,
                       s.rungs.empty() ? std::string("-") : fmt::format("{:.4f}", s.score()),
                       s.rungs.empty() ? int64_t(0) : s.rungs.back().first, seconds, s.status);
  }
  out += fmt::format("rungs of {} epoch(s); each recipe scored on one validation split (no folds or seeds: the "
                     "differences are not tested)\n", fmt::join(r.rung_epochs, ", "));
  out += fmt::format("winner: {}; validation {} {:.4f} (the best of {} recipes, optimistic), test {} {:.4f} on rows "
                     "the search never saw: {:+.4f} optimism\n",
                     r.winner().recipe.name, r.metric, r.selection, r.board.size(), r.metric, r.estimate,
                     r.selection - r.estimate);
  if (r.exhausted) out += "the budget ran out before every recipe had every rung\n";
  if (r.fewest_validation_rows < 20)
    out += fmt::format("warning: the validation split holds {} row{} of class \"{}\", and the recipes are told apart on "
                       "them: a larger --val-fraction (or more data) makes the choice less a matter of chance\n",
                       r.fewest_validation_rows, r.fewest_validation_rows == 1 ? "" : "s", r.fewest_validation_class);
  return out;
}

std::vector<nlohmann::json> image_results_rows(const ImageSearchResult& r, const std::string& experiment) {
  std::vector<nlohmann::json> rows;
  for (const auto& s : r.board)
    for (size_t k = 0; k < s.rungs.size(); ++k)
      rows.push_back({{"experiment", experiment},
                      {"level", fmt::format("{} epoch{}", s.rungs[k].first, s.rungs[k].first == 1 ? "" : "s")},
                      {"method", s.recipe.name},
                      {"seed", 0},
                      {"spec",
                       {{"sampler", s.recipe.sampler}, {"loss", s.recipe.loss}, {"batch_policy", s.recipe.batch_policy},
                        {"mix", s.recipe.mix}, {"decision", s.recipe.decision}}},
                      {"metrics", s.reports[k]},
                      {"timings", {{"total_s", s.seconds[std::min(k, s.seconds.size() - 1)]}}}});
  return rows;
}

}  // namespace rebalance::automl
