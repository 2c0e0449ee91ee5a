// The training options' declarations: one line per option drives the CLI flags, the experiment
// config keys, the options JSON and the Python keywords.
#include "rebalance/train/train_options.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"
#include "rebalance/train/decouple.hpp"

namespace rebalance::train {

namespace {

constexpr double kBig = double(int64_t(1) << 40);

std::string choices_text(const std::vector<std::string>& choices);

// "a, b or c" of a factory's registry, so a flag's help lists exactly what the factory accepts.
template <class Info>
std::string names_of(const std::vector<Info>& registry) {
  std::vector<std::string> names;
  for (const auto& info : registry) names.push_back(info.name);
  return choices_text(names);
}

std::vector<TrainParam> declare() {
  using O = TrainOptions;
  const auto N = CliGroup::Network, T = CliGroup::Train, X = CliGroup::None;
  const auto always = JsonWhen::Always, changed = JsonWhen::NotDefault, never = JsonWhen::Never;
  // key, field, help, lo, hi, choices, cli, flag, [train] key, JSON, Python
  return {
      {"model", &O::model,
       fmt::format("{}, with parameters (e.g. resnet:depth=20; see `rebalance methods models`)",
                   names_of(models::model_registry())),
       0, 0, {}, N, "", true, always, true},
      {"loss", &O::loss,
       fmt::format("{}, with parameters (see `rebalance methods losses`)", names_of(losses::loss_registry())), 0, 0,
       {}, N, "", false, always, true},
      {"batch_policy", &O::batch_policy,
       fmt::format("{}, with parameters (see `rebalance methods batch-policies`)", names_of(batch_policy_registry())),
       0, 0, {}, N, "", false, always, false},
      {"augment", &O::augment,
       "augment every training batch in real time (e.g. \"rotate:degrees=10+hflip\"; see `rebalance methods "
       "augmentations`)",
       0, 0, {}, N, "", true, changed, false},
      {"mix", &O::mix,
       fmt::format("mix every training batch: {}, with parameters (see `rebalance methods mixing`)",
                   names_of(mix::mix_registry())),
       0, 0, {}, N, "", true, changed, false},
      {"decouple", &O::decouple,
       fmt::format("after training, re-balance the final layer on frozen features: {} (see `rebalance methods "
                   "decoupling`)", names_of(decouple_registry())),
       0, 0, {}, N, "", true, changed, true},
      {"max_norm", &O::max_norm, "> 0: MaxNorm radius of each class's final-layer weights after every step (weight "
       "balancing)", 0.0, 1e6, {}, N, "", true, changed, true},
      {"optimizer", &O::optimizer, "adam or sgd", 0, 0, {"adam", "sgd"}, N, "", true, always, true},
      {"momentum", &O::momentum, "SGD momentum", 0.0, 1.0, {}, N, "", true, always, true},
      {"weight_decay", &O::weight_decay, "L2 weight decay", 0.0, 10.0, {}, N, "", true, always, true},
      {"batch_size", &O::batch_size, "batch size", 1, double(1 << 20), {}, N, "", true, always, true},
      {"seed", &O::seed, "random seed (data splits, sampler, initialisation, batches)", 0, 0, {}, N, "", false, always,
       false},
      {"device", &O::device, "cpu or cuda", 0, 0, {}, N, "", true, never, false},
      {"unfreeze_after", &O::unfreeze_after, "with --freeze: unfreeze after N epochs and fine-tune all", 0, 100000, {},
       T, "", true, changed, false},
      {"unfreeze_lr_factor", &O::unfreeze_lr_factor, "learning rate factor once unfrozen", 1e-6, 100.0, {}, T, "",
       true, changed, false},
      {"synthetic_weight", &O::synthetic_weight, "loss weight of the --sampler's synthetic rows against a real row's 1",
       0.0, 100.0, {}, T, "", false, changed, false},
      {"loss_counts", &O::loss_counts,
       "class counts behind the loss's margins, weights and prior: all training rows, or real (the --sampler's "
       "synthetic rows left out)",
       0, 0, {"all", "real"}, T, "", false, changed, false},
      {"decision", &O::decision,
       fmt::format("{}, with parameters (e.g. threshold:metric=f1; see `rebalance methods decisions`)",
                   names_of(decision_registry())),
       0, 0, {}, T, "", false, always, true},
      {"lr", &O::lr, "learning rate", 1e-12, 100.0, {}, T, "", true, always, true},
      {"schedule", &O::schedule, "none, step:every=30,gamma=0.1, exp:gamma=0.95 (per epoch), cosine", 0, 0, {}, T, "",
       true, always, true},
      {"epochs", &O::epochs, "epochs", 1, 100000, {}, T, "", true, always, true},
      {"iterations", &O::iterations, "> 0: train this many optimiser steps instead of --epochs", 0, kBig, {}, T, "",
       true, changed, false},
      {"monitor", &O::monitor,
       "validation metric for model selection (none: keep the final weights; auto: f1_macro when the validation set "
       "holds at least 5 rows of every class, else none)",
       0, 0, {"auto", "f1_macro", "acsa", "gmean", "mcc", "accuracy", "map5", "top5", "none"}, T, "", true, always,
       true},
      {"patience", &O::patience, "early stopping patience in epochs (0: off)", 0, 100000, {}, T, "", true, always,
       false},
      {"checkpoint_dir", &O::checkpoint_dir, "directory for per-epoch checkpoints", 0, 0, {}, T, "--checkpoint", false,
       never, false},
      {"resume", &O::resume, "continue the run in --checkpoint", 0, 0, {}, T, "", false, never, false},
      {"progress", &O::progress, "a progress bar when stderr is a terminal", 0, 0, {}, X, "", false, never, false},
      {"stop_after_epochs", &O::stop_after_epochs, "end the process after so many epochs (tests)", 0, 0, {}, X, "",
       false, never, false},
  };
}

template <class T>
const T& field_of(const TrainOptions& o, const TrainParam& p) {
  return o.*std::get<T TrainOptions::*>(p.field);
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i)
    out += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

}  // namespace

const std::vector<TrainParam>& train_params() {
  static const std::vector<TrainParam> all = declare();
  return all;
}

const TrainParam& train_param(const std::string& key) {
  for (const auto& p : train_params())
    if (p.key == key) return p;
  std::string keys;
  for (const auto& p : train_params()) keys += (keys.empty() ? "" : ", ") + p.key;
  REBALANCE_THROW("unknown training option \"{}\" (known: {})", key, keys);
}

nlohmann::json train_option_value(const TrainOptions& o, const TrainParam& p) {
  return std::visit([&o](auto member) { return nlohmann::json(o.*member); }, p.field);
}

std::string train_option_default(const TrainParam& p) {
  const auto v = train_option_value(TrainOptions{}, p);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string train_option_flag(const TrainParam& p) {
  if (!p.flag.empty()) return p.flag;
  std::string f = "--" + p.key;
  for (auto& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

void set_train_option(TrainOptions& o, const TrainParam& p, const nlohmann::json& v, const std::string& where) {
  const auto what = fmt::format("{}: {}", where, p.key);
  const auto in_range = [&](double x) {
    REBALANCE_CHECK(p.lo == p.hi || (x >= p.lo && x <= p.hi), "{} must be in [{}, {}], got {}", what, p.lo, p.hi, x);
  };
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(o.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          REBALANCE_CHECK(v.is_string(), "{} must be a string, got {}", what, v.dump());
          const auto s = v.get<std::string>();
          REBALANCE_CHECK(p.choices.empty() || std::find(p.choices.begin(), p.choices.end(), s) != p.choices.end(),
                          "{} must be {}, got \"{}\"", what, choices_text(p.choices), s);
          o.*member = s;
        } else if constexpr (std::is_same_v<T, bool>) {
          REBALANCE_CHECK(v.is_boolean(), "{} must be true or false, got {}", what, v.dump());
          o.*member = v.get<bool>();
        } else if constexpr (std::is_same_v<T, double>) {
          REBALANCE_CHECK(v.is_number() && std::isfinite(v.get<double>()), "{} must be a number, got {}", what,
                          v.dump());
          in_range(v.get<double>());
          o.*member = v.get<double>();
        } else {
          REBALANCE_CHECK(v.is_number_integer() && (!std::is_unsigned_v<T> || v.get<int64_t>() >= 0),
                          "{} must be a whole number{}, got {}", what, std::is_unsigned_v<T> ? " >= 0" : "", v.dump());
          in_range(static_cast<double>(v.get<int64_t>()));
          o.*member = v.get<T>();
        }
      },
      p.field);
}

std::string train_choices_text(const TrainParam& p) { return choices_text(p.choices); }

nlohmann::json options_to_json(const TrainOptions& o) {
  static const TrainOptions defaults;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& p : train_params()) {
    if (p.json == JsonWhen::Never) continue;
    const auto v = train_option_value(o, p);
    if (p.json == JsonWhen::NotDefault && v == train_option_value(defaults, p)) continue;
    j[p.key] = v;
  }
  // A learning-rate factor that applies only once unfrozen is part of that choice.
  if (j.contains("unfreeze_after")) j["unfreeze_lr_factor"] = o.unfreeze_lr_factor;
  else j.erase("unfreeze_lr_factor");
  return j;
}

}  // namespace rebalance::train
