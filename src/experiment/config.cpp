#include "rebalance/experiment/config.hpp"

#include "rebalance/augment/augment.hpp"
#include "rebalance/mix/mix.hpp"

#include <toml++/toml.h>

#include <functional>
#include <set>
#include <variant>
#include <algorithm>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/data/csv_table.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decouple.hpp"

namespace rebalance {

namespace {

/// Reads one TOML table, remembering which keys were used so unknown ones can be refused.
class Table {
 public:
  Table(const toml::table* t, std::string name, std::string path) : t_(t), name_(std::move(name)), path_(std::move(path)) {}

  std::string where(const std::string& key) const {
    const toml::node* n = t_ ? t_->get(key) : nullptr;
    const auto line = n ? n->source().begin.line : (t_ ? t_->source().begin.line : 0);
    return fmt::format("{}:{}: {}{}", path_, line, name_.empty() ? "" : "[" + name_ + "].", key);
  }
  bool has(const std::string& key) {
    used_.insert(key);
    return t_ && t_->contains(key);
  }
  std::string str(const std::string& key, const std::string& fallback) {
    if (!has(key)) return fallback;
    auto v = t_->get(key)->value<std::string>();
    REBALANCE_CHECK(v.has_value(), "{} must be a string", where(key));
    return *v;
  }
  bool boolean(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    auto v = t_->get(key)->value<bool>();
    REBALANCE_CHECK(v.has_value() && t_->get(key)->is_boolean(), "{} must be true or false", where(key));
    return *v;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
    if (!has(key)) return fallback;
    auto v = t_->get(key)->value<int64_t>();
    REBALANCE_CHECK(v.has_value() && t_->get(key)->is_integer(), "{} must be an integer", where(key));
    REBALANCE_CHECK(*v >= lo && *v <= hi, "{} must be in [{}, {}], got {}", where(key), lo, hi, *v);
    return *v;
  }
  double number(const std::string& key, double fallback, double lo, double hi) {
    if (!has(key)) return fallback;
    auto v = t_->get(key)->value<double>();
    REBALANCE_CHECK(v.has_value(), "{} must be a number", where(key));
    REBALANCE_CHECK(*v >= lo && *v <= hi, "{} must be in [{}, {}], got {}", where(key), lo, hi, *v);
    return *v;
  }
  template <typename T>
  std::vector<T> list(const std::string& key) {
    std::vector<T> out;
    if (!has(key)) return out;
    const auto* arr = t_->get(key)->as_array();
    REBALANCE_CHECK(arr, "{} must be a list", where(key));
    for (const auto& item : *arr) {
      auto v = item.value<T>();
      REBALANCE_CHECK(v.has_value(), "{}: element {} has the wrong type", where(key), out.size() + 1);
      out.push_back(*v);
    }
    return out;
  }
  /// Values that may be strings or integers (class names or numbers).
  std::vector<std::string> names(const std::string& key) {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const auto* arr = t_->get(key)->as_array();
    REBALANCE_CHECK(arr, "{} must be a list", where(key));
    for (const auto& item : *arr) {
      if (auto s = item.value<std::string>(); s && item.is_string()) out.push_back(*s);
      else if (auto i = item.value<int64_t>(); i && item.is_integer()) out.push_back(std::to_string(*i));
      else REBALANCE_THROW("{}: element {} must be a class name or number", where(key), out.size() + 1);
    }
    return out;
  }
  void finish() const {
    if (!t_) return;
    for (const auto& [k, v] : *t_) {
      const std::string key(k.str());
      REBALANCE_CHECK(used_.count(key), "{}:{}: unknown key {}{}", path_, v.source().begin.line,
                      name_.empty() ? "" : "[" + name_ + "].", key);
    }
  }

 private:
  const toml::table* t_;
  std::string name_, path_;
  std::set<std::string> used_;
};

/// Build a factory string once so a typo fails before any cell runs, naming the key.
void check_spec(const std::string& where, const std::function<void()>& make) {
  try {
    make();
  } catch (const Error& e) {
    REBALANCE_THROW("{}: {}", where, e.what());
  }
}

/// A model spec, checked without the data: a backbone file may be made by a step before the run
/// (`rebalance pretrain`), so only its parameters are checked here, the file when the run builds it.
void check_model(const std::string& where, const std::string& text) {
  check_spec(where, [&] {
    const auto spec = parse_spec(text);
    if (spec.name != "backbone") return (void)models::make_model(text, {1, 28, 28}, 2, 0);
    for (const auto& m : models::model_registry())
      if (m.name == "backbone") {
        const Params p(spec, m.params, "model");
        p.get_bool("freeze");
        REBALANCE_CHECK(p.get_string("head") == "linear" || p.get_string("head") == "cosine",
                        "model \"{}\": head must be linear or cosine, got \"{}\"", text, p.get_string("head"));
      }
  });
}


/// Keys in a config nest at most this deep (a.b.c = 1 is 3; [x.y] then z = 1 is 3 too): the
/// shipped configs use 2, and a bound keeps a crafted dotted key or header of thousands of parts
/// from building tables too deep for the stack.
constexpr int kMaxKeyDepth = 32;

/// Refuses, naming the line, a dotted key or table header with more than kMaxKeyDepth parts. A
/// lexical scan (strings, comments and values skipped), run before the TOML parser.
void check_key_depth(const std::string& text, const std::string& path) {
  int line = 1, parts = 1, table_parts = 0, inline_depth = 0, array_depth = 0;
  bool in_key = true, in_header = false;  // at a key: before '=', or at a key inside an inline table
  size_t i = 0;
  const auto skip_string = [&](char q) {
    const bool multi = text.compare(i, 3, std::string(3, q)) == 0;
    i += multi ? 3 : 1;
    while (i < text.size()) {
      if (q == '"' && text[i] == '\\') {
        i += 2;
        continue;
      }
      if (text[i] == '\n') ++line;
      if (multi ? text.compare(i, 3, std::string(3, q)) == 0 : text[i] == q) {
        i += multi ? 3 : 1;
        return;
      }
      ++i;
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      skip_string(c);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    const bool top = inline_depth == 0 && array_depth == 0;
    if (c == '\n') {
      ++line;
      if (top) in_key = true, parts = 1;
    } else if (c == '[' && top && in_key) {
      in_header = true, parts = 1;  // "[a.b]" or "[[a.b]]": its own parts, from the top
    } else if (c == ']' && in_header) {
      table_parts = parts, in_header = false, parts = 1;
      while (i + 1 < text.size() && text[i + 1] == ']') ++i;
    } else if (c == '=') {
      in_key = false;
    } else if (c == '[') {
      ++array_depth;
    } else if (c == ']') {
      array_depth = std::max(0, array_depth - 1);
    } else if (c == '{') {
      ++inline_depth, in_key = true, parts = 1;
    } else if (c == '}') {
      inline_depth = std::max(0, inline_depth - 1);
    } else if (c == ',' && inline_depth > 0) {
      in_key = true, parts = 1;
    } else if (c == '.' && (in_key || in_header)) {
      ++parts;
      REBALANCE_CHECK(parts + (in_header ? 0 : table_parts) + inline_depth <= kMaxKeyDepth,
                      "{}:{}: keys nested more than {} deep (a dotted key or table header of too many parts)", path,
                      line, kMaxKeyDepth);
    }
    ++i;
  }
}

}  // namespace

ExperimentConfig load_experiment(const std::string& path) {
  const std::string text = read_file(path);
  check_key_depth(text, path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    REBALANCE_THROW("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, e.description());
  }
  ExperimentConfig c;
  c.path = path;
  Table top(&root, "", path);
  c.name = top.str("name", path);
  for (const char* section : {"data", "train", "run"}) {
    top.has(section);
    if (root.contains(section))
      REBALANCE_CHECK(root.get(section)->is_table(), "{} must be a table [{}]", top.where(section), section);
  }
  top.has("method");

  Table data(root["data"].as_table(), "data", path);
  REBALANCE_CHECK(root["data"].as_table(), "{}: missing [data] table", path);
  c.dataset = data.str("dataset", "");
  REBALANCE_CHECK(!c.dataset.empty(), "{} is required (a built-in data set or a file)", data.where("dataset"));
  c.test = data.str("test", "");
  c.label = data.str("label", "");
  c.test_label = data.str("test_label", "");
  REBALANCE_CHECK(c.test_label.empty() || !c.test.empty(), "{} is given but [data].test is not",
                  data.where("test_label"));
  c.delimiter = parse_delimiter(data.str("delimiter", ""), data.where("delimiter"));
  c.test_fraction = data.number("test_fraction", 0.2, 0.01, 0.9);
  const auto pair = data.names("pair");
  REBALANCE_CHECK(pair.empty() || pair.size() == 2, "{} must name two classes [majority, minority]", data.where("pair"));
  if (!pair.empty()) c.pair_majority = pair[0], c.pair_minority = pair[1];
  c.majority_classes = data.names("majority_classes");
  c.minority_classes = data.names("minority_classes");
  REBALANCE_CHECK(c.majority_classes.empty() == c.minority_classes.empty(),
                  "{}: give both majority_classes and minority_classes", data.where("majority_classes"));
  REBALANCE_CHECK(pair.empty() || c.majority_classes.empty(), "{}: give either pair or majority/minority_classes",
                  data.where("pair"));
  c.majority = data.integer("majority", -1, -1, int64_t(1) << 40);
  for (auto m : data.list<int64_t>("minority")) {
    REBALANCE_CHECK(m >= 1, "{}: minority sizes must be >= 1, got {}", data.where("minority"), m);
    c.levels.push_back({std::to_string(m), m, 0.0});
  }
  for (auto r : data.list<double>("long_tail")) {
    REBALANCE_CHECK(r >= 1.0, "{}: imbalance ratios must be >= 1, got {}", data.where("long_tail"), r);
    c.levels.push_back({fmt::format("rho={}", r), -1, r});
  }
  if (c.levels.empty()) c.levels.push_back({"all", -1, 0.0});
  c.val_fraction = data.number("val_fraction", 0.1, 0.0, 0.9);
  c.select = data.str("select", c.select);
  REBALANCE_CHECK(c.select == "random" || c.select == "first",
                  "{} must be random (a seeded draw per class) or first (each class's first rows, in file order), "
                  "got \"{}\"", data.where("select"), c.select);
  c.rows = data.integer("rows", -1, 1, int64_t(1) << 40);
  c.validation = data.str("validation", c.validation);
  REBALANCE_CHECK(c.validation == "every_class" || c.validation == "long_tail", "{} must be every_class or long_tail, "
                  "got \"{}\"", data.where("validation"), c.validation);
  for (auto v : data.list<int64_t>("image_size")) c.images.size.push_back(v);
  REBALANCE_CHECK(c.images.size.empty() || (c.images.size.size() == 2 && c.images.size[0] >= 1 && c.images.size[1] >= 1),
                  "{} must be [H, W]", data.where("image_size"));
  c.images.channels = data.str("image_channels", c.images.channels);
  c.images.on_bad_image = data.str("on_bad_image", c.images.on_bad_image);
  c.images.storage = data.str("image_storage", c.images.storage);
  data.finish();

  Table tr(root["train"].as_table(), "train", path);
  auto& o = c.train;
  // Every option declared as a [train] key (train/train_options.hpp), with its type and range.
  for (const auto& p : train::train_params()) {
    if (!p.config) continue;
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(o.*member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            o.*member = tr.str(p.key, o.*member);
            REBALANCE_CHECK(p.choices.empty() || std::find(p.choices.begin(), p.choices.end(), o.*member) !=
                                                     p.choices.end(),
                            "{} must be {}, got \"{}\"", tr.where(p.key), train::train_choices_text(p), o.*member);
          } else if constexpr (std::is_same_v<T, bool>) {
            o.*member = tr.boolean(p.key, o.*member);
          } else if constexpr (std::is_same_v<T, double>) {
            o.*member = tr.number(p.key, o.*member, p.lo, p.hi);
          } else {
            o.*member = static_cast<T>(
                tr.integer(p.key, static_cast<int64_t>(o.*member), static_cast<int64_t>(p.lo), static_cast<int64_t>(p.hi)));
          }
        },
        p.field);
  }
  if (!o.augment.empty()) check_spec(tr.where("augment"), [&] { augment::make_augmentation(o.augment); });
  if (!o.mix.empty()) check_spec(tr.where("mix"), [&] { mix::make_mix(o.mix); });
  if (!o.decouple.empty()) check_spec(tr.where("decouple"), [&] { train::make_decoupler(o.decouple); });
  REBALANCE_CHECK(c.val_fraction > 0 || o.monitor == "none" || o.monitor == "auto",
                  "{} = 0 leaves no validation set, so [train].monitor = \"{}\" cannot pick an epoch: set monitor = "
                  "\"none\" (keep the final weights)", data.where("val_fraction"), o.monitor);
  tr.finish();
  check_model(tr.where("model"), o.model);

  Table run(root["run"].as_table(), "run", path);
  const auto seeds = run.list<int64_t>("seeds");
  if (!seeds.empty()) c.seeds.assign(seeds.begin(), seeds.end());
  for (auto s : seeds) REBALANCE_CHECK(s >= 0, "{}: seeds must be >= 0, got {}", run.where("seeds"), s);
  c.metric = run.str("metric", c.metric);
  c.quality = run.boolean("quality", c.quality);
  run.finish();

  const auto* methods = root["method"].as_array();
  REBALANCE_CHECK(methods && !methods->empty(), "{}: no [[method]] given: list the methods to compare", path);
  std::set<std::string> names;
  for (const auto& node : *methods) {
    REBALANCE_CHECK(node.is_table(), "{}:{}: [[method]] entries must be tables", path, node.source().begin.line);
    Table m(node.as_table(), "method", path);
    MethodConfig mc;
    mc.name = m.str("name", "");
    REBALANCE_CHECK(!mc.name.empty(), "{} is required", m.where("name"));
    REBALANCE_CHECK(names.insert(mc.name).second, "{}: method \"{}\" is listed twice", m.where("name"), mc.name);
    mc.sampler = m.str("sampler", "");
    mc.loss = m.str("loss", mc.loss);
    mc.batch_policy = m.str("batch_policy", mc.batch_policy);
    mc.decision = m.str("decision", mc.decision);
    mc.augment = m.str("augment", "");
    mc.mix = m.str("mix", "");
    mc.decouple = m.str("decouple", "");
    mc.model = m.str("model", "");
    mc.unfreeze_after = m.integer("unfreeze_after", -1, 0, 100000);
    mc.weight_decay = m.number("weight_decay", -1.0, 0.0, 10.0);
    mc.max_norm = m.number("max_norm", -1.0, 0.0, 1e6);
    mc.synthetic_weight = m.number("synthetic_weight", 1.0, 0.0, 100.0);
    REBALANCE_CHECK(mc.synthetic_weight == 1.0 || !mc.sampler.empty(),
                    "{}: method \"{}\" has no sampler, so there are no synthetic rows to weigh",
                    m.where("synthetic_weight"), mc.name);
    // A [train] option set per method: its default and choices are the option's declaration.
    const auto& counts = train::train_param("loss_counts");
    mc.loss_counts = m.str("loss_counts", train::train_option_default(counts));
    REBALANCE_CHECK(std::find(counts.choices.begin(), counts.choices.end(), mc.loss_counts) != counts.choices.end(),
                    "{} must be {}, got \"{}\"", m.where("loss_counts"), train::train_choices_text(counts),
                    mc.loss_counts);
    REBALANCE_CHECK(mc.loss_counts == "all" || !mc.sampler.empty(),
                    "{}: method \"{}\" has no sampler, so every training row is real: drop loss_counts",
                    m.where("loss_counts"), mc.name);
    mc.joint = m.str("joint", "");
    REBALANCE_CHECK(mc.joint.empty() || mc.sampler.empty(),
                    "{}: method \"{}\" trains jointly with a CycleGAN, which makes its own translations; drop its "
                    "sampler (or joint)", m.where("joint"), mc.name);
    for (const auto& [key, own, value] : {std::tuple{"mix", !mc.mix.empty(), mc.mix.empty() ? c.train.mix : mc.mix},
                                          std::tuple{"augment", !mc.augment.empty(),
                                                     mc.augment.empty() ? c.train.augment : mc.augment}})
      REBALANCE_CHECK(mc.joint.empty() || value.empty(),
                      "{}: method \"{}\" trains jointly with a CycleGAN, whose classifier loss is a sum of parts (real "
                      "rows and translations, the majority's weighed by gamma), and a {} row belongs to no one part: "
                      "drop {} \"{}\" (mixing stacks on a generator's rows: sampler = \"stargan\")",
                      m.where(own ? key : "joint"), mc.name,
                      std::string(key) == "mix" ? "mixed" : "augmented", key, value);
    mc.leak_test_minority_to_sampler = m.integer("leak_test_minority_to_sampler", 0, 0, int64_t(1) << 40);
    REBALANCE_CHECK(mc.leak_test_minority_to_sampler == 0 || !mc.sampler.empty(),
                    "{}: the leak feeds test rows to a sampler, and method \"{}\" has none",
                    m.where("leak_test_minority_to_sampler"), mc.name);
    REBALANCE_CHECK(mc.leak_test_minority_to_sampler == 0 || !c.pair_majority.empty() || !c.majority_classes.empty(),
                    "{}: needs a binary task ([data].pair or majority/minority_classes): it names the minority",
                    m.where("leak_test_minority_to_sampler"));
    m.finish();
    if (!mc.sampler.empty()) check_spec(m.where("sampler"), [&] { make_sampler(mc.sampler, 0); });
    check_spec(m.where("loss"), [&] { losses::check_loss_spec(mc.loss); });
    check_spec(m.where("batch_policy"), [&] { train::make_batch_policy(mc.batch_policy); });
    check_spec(m.where("decision"), [&] { train::make_decision_rule(mc.decision); });
    if (!mc.augment.empty()) check_spec(m.where("augment"), [&] { augment::make_augmentation(mc.augment); });
    if (!mc.mix.empty()) check_spec(m.where("mix"), [&] { mix::make_mix(mc.mix); });
    if (!mc.decouple.empty()) check_spec(m.where("decouple"), [&] { train::make_decoupler(mc.decouple); });
    if (!mc.model.empty()) check_model(m.where("model"), mc.model);
    if (!mc.joint.empty()) check_spec(m.where("joint"), [&] { joint::parse_joint(mc.joint); });
    c.methods.push_back(mc);
  }
  top.finish();
  return c;
}

std::string experiment_hash(const ExperimentConfig& c) {
  nlohmann::json j = {{"dataset", c.dataset},  {"test", c.test},           {"test_fraction", c.test_fraction},
                      {"pair", {c.pair_majority, c.pair_minority}},     {"majority_classes", c.majority_classes},
                      {"minority_classes", c.minority_classes},         {"majority", c.majority},
                      {"val_fraction", c.val_fraction},                 {"train", train::options_to_json(c.train)}};
  // Keys added later enter only when set, so results written before them keep their hash.
  if (!c.label.empty()) j["label"] = c.label;
  if (!c.test_label.empty()) j["test_label"] = c.test_label;
  if (c.delimiter) j["delimiter"] = std::string(1, c.delimiter);
  if (c.select != "random") j["select"] = c.select;
  if (c.rows > 0) j["rows"] = c.rows;
  if (c.validation != "every_class") j["validation"] = c.validation;
  if (!c.images.size.empty()) j["image_size"] = c.images.size;
  if (c.images.channels != "auto") j["image_channels"] = c.images.channels;
  // Per-cell keys carry the level, method and seed; the hash covers what all cells share.
  return text_hash(j.dump());
}

std::string text_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  return fmt::format("{:016x}", h);
}

}  // namespace rebalance
