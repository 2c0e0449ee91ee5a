// The training loops' shared record of epochs and their checkpoint folder.
#include "rebalance/train/checkpoint.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/tensor_archive.hpp"

namespace rebalance::train {

namespace fs = std::filesystem;

bool EpochLog::add(const EpochRecord& rec) {
  const bool best = !select_ || best_epoch_ < 0 || rec.val_metric > best_metric_;
  if (best) {
    best_epoch_ = rec.epoch;
    best_metric_ = rec.val_metric;
    since_best_ = 0;
  } else {
    ++since_best_;
  }
  history_.push_back(rec);
  return best;
}

nlohmann::json history_json(const std::vector<EpochRecord>& history, bool with_lr, bool with_map5) {
  auto out = nlohmann::json::array();
  for (const auto& h : history) {
    nlohmann::json e = {{"epoch", h.epoch}, {"train_loss", h.train_loss}, {"val_metric", h.val_metric},
                        {"val_f1", h.val_f1}, {"seconds", h.seconds}};
    if (with_lr) e["lr"] = h.lr;
    if (with_map5 && h.val_map5 >= 0) e["val_map5"] = h.val_map5;
    out.push_back(std::move(e));
  }
  return out;
}

nlohmann::json EpochLog::state() const {
  return {{"best_epoch", best_epoch_}, {"best_metric", best_metric_}, {"since_best", since_best_},
          {"history", history_json(history_)}};
}

void EpochLog::restore(const nlohmann::json& state) {
  best_epoch_ = state.at("best_epoch").get<int64_t>();
  best_metric_ = state.at("best_metric").get<double>();
  since_best_ = state.value("since_best", int64_t(0));
  history_.clear();
  for (const auto& h : state.at("history"))
    history_.push_back({h.at("epoch"), h.at("train_loss"), h.at("lr"), h.at("val_metric"),
                        h.at("val_f1").get<std::vector<double>>(), h.at("seconds")});
}

Checkpoint::Checkpoint(std::string dir, std::string state_name, int format, nlohmann::json config)
    : dir_(std::move(dir)), state_name_(std::move(state_name)), format_(format), config_(std::move(config)) {}

std::string Checkpoint::state_path() const { return (fs::path(dir_) / state_name_).string(); }

std::string Checkpoint::path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

std::string Checkpoint::file(const nlohmann::json& state, const std::string& key) const {
  return checkpoint_file(dir_, state, key);
}

bool Checkpoint::open(bool resume, const std::function<void(const nlohmann::json&)>& restore, std::ostream& log,
                      bool refuse_existing) {
  if (!enabled()) return false;
  fs::create_directories(dir_);
  const auto state_file = state_path();
  if (resume && fs::exists(state_file)) {
    read_framed(state_file, "checkpoint state", [&] { restore(read_checkpoint_state(state_file, format_, config_)); });
    return true;
  }
  if (resume) {
    log << fmt::format("no checkpoint in {}; starting afresh\n", dir_);
  } else {
    REBALANCE_CHECK(!refuse_existing || !fs::exists(state_file), "{} already holds a checkpoint; pass --resume to "
                    "continue it, or choose another directory (it is never overwritten by a new run)", dir_);
  }
  return false;
}

void Checkpoint::save(const Files& files, nlohmann::json state) const {
  if (!enabled()) return;
  // Files named by step, then the state renamed over the old one: the commit point. The group
  // renames all of them or none (a full disk leaves nothing of this step behind).
  AtomicFileGroup group;
  std::set<std::string> keep;
  for (const auto& [name, write] : files) {
    keep.insert(name);
    if (write) write(path(name));
  }
  state["format"] = format_;
  state["config"] = config_;
  write_atomic(state_path(), [&](std::ostream& out) { out << state.dump(1); }, false);
  group.commit();
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const auto name = entry.path().filename().string();
    const bool ours = name.ends_with(".pt") || name.ends_with(".gen");
    if (ours && !keep.count(name)) fs::remove(entry.path());
  }
}

nlohmann::json read_checkpoint_state(const std::string& path, int format, const nlohmann::json& config) {
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    REBALANCE_THROW("{}: unreadable checkpoint state: {}", path, e.what());
  }
  REBALANCE_CHECK(state.value("format", 0) == format, "{}: unknown checkpoint format", path);
  const auto dir = fs::path(path).parent_path().string();
  for (const auto& [key, value] : config.items()) {
    const auto saved = state["config"].value(key, nlohmann::json());
    REBALANCE_CHECK(saved == value, "cannot resume from {}: it was trained with {} = {}, this run has {} = {}. "
                    "Use the same configuration, or another checkpoint directory", dir, key, saved.dump(), key,
                    value.dump());
  }
  return state;
}

nlohmann::json fingerprint(const Dataset& d) {
  return {{"rows", d.size()},
          {"shape", d.feature_shape()},
          {"classes", d.class_names},
          {"x_sum", d.x.to(torch::kFloat64).sum().item<double>()},
          {"y_sum", d.y.sum().item<int64_t>()}};
}

void save_archive(const std::string& path, const std::function<void(TensorWriter&)>& fill) {
  TensorWriter archive;
  fill(archive);
  const std::string blob = archive.bytes();
  write_atomic(path, [&](std::ostream& out) { out.write(blob.data(), static_cast<std::streamsize>(blob.size())); });
}

void save_module(const std::string& path, models::Classifier& model) {
  save_archive(path, [&](TensorWriter& a) { a.add_module("model", model); });
}

void save_optimizer(const std::string& path, torch::optim::Optimizer& optimizer) {
  save_archive(path, [&](TensorWriter& a) { a.add_optimizer("optimizer", optimizer); });
}

void load_module(models::Classifier& model, const std::string& path) {
  const std::string bytes = read_file(path);
  if (is_tensor_payload(bytes)) {
    try {
      TensorReader(bytes, path).load_module("model", model);
    } catch (const Error& e) {
      std::string what = e.what();
      if (what.rfind(path + ": ", 0) == 0) what = what.substr(path.size() + 2);
      REBALANCE_THROW("{} does not fit model \"{}\": {}", path, model.spec(), what);
    }
    return;
  }
  require_trusted_legacy(path);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    model.load(archive);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    REBALANCE_THROW("{} does not fit model \"{}\": {}", path, model.spec(), what.substr(0, what.find('\n')));
  }
}

void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  const std::string bytes = read_file(path);
  if (is_tensor_payload(bytes)) {
    TensorReader(bytes, path).load_optimizer("optimizer", optimizer);
    return;
  }
  require_trusted_legacy(path);
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  optimizer.load(archive);
}

std::string checkpoint_file(const std::string& dir, const nlohmann::json& state, const std::string& key) {
  const auto where = (fs::path(dir) / "state.json").string();
  REBALANCE_CHECK(state.contains(key) && state[key].is_string(), "{}: corrupt checkpoint state: \"{}\" is not a file "
                  "name", where, key);
  const auto name = state[key].get<std::string>();
  REBALANCE_CHECK(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                      name.find('\\') == std::string::npos && name.find('\0') == std::string::npos,
                  "{}: \"{}\" names \"{}\", not a file inside the checkpoint folder", where, key, name);
  return (fs::path(dir) / name).string();
}

void copy_parameters(models::Classifier& to, models::Classifier& from) {
  torch::NoGradGuard guard;
  auto a = to.named_parameters(), b = from.named_parameters();
  for (auto& item : b) a[item.key()].copy_(item.value());
  auto ab = to.named_buffers(), bb = from.named_buffers();
  for (auto& item : bb) ab[item.key()].copy_(item.value());
}

}  // namespace rebalance::train
