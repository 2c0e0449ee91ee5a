#include "rebalance/experiment/runner.hpp"

#include <torch/torch.h>
#include <torch/version.h>

#include "rebalance/sampling/util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/png.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/generative/quality.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/metrics/classification.hpp"
#include "rebalance/metrics/report.hpp"
#include "rebalance/models/saliency.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string cell_key(const std::string& hash, const ImbalanceLevel& level, const MethodConfig& m, uint64_t seed) {
  // Keys added later enter only when set, so results written before them keep their cells.
  const auto weight = m.synthetic_weight == 1.0 ? std::string() : fmt::format("|synthetic_weight={}", m.synthetic_weight);
  const auto counts = m.loss_counts == "all" ? std::string() : "|loss_counts=" + m.loss_counts;
  const auto joint = m.joint.empty() ? std::string() : "|joint=" + m.joint;
  const auto aug = (m.augment.empty() ? std::string() : "|augment=" + m.augment) + (m.mix.empty() ? "" : "|mix=" + m.mix) +
                   (m.decouple.empty() ? "" : "|decouple=" + m.decouple) + (m.model.empty() ? "" : "|model=" + m.model);
  const auto unfreeze = (m.unfreeze_after < 0 ? std::string() : fmt::format("|unfreeze_after={}", m.unfreeze_after)) +
                        (m.weight_decay < 0 ? std::string() : fmt::format("|weight_decay={}", m.weight_decay)) +
                        (m.max_norm < 0 ? std::string() : fmt::format("|max_norm={}", m.max_norm));
  return fmt::format("{}|{}|{}|{}|{}|{}|{}{}{}{}{}{}|{}", hash, level.label, m.name, m.sampler, m.loss, m.batch_policy,
                     m.decision, weight, counts, joint, aug, unfreeze, seed);
}

/// The training/validation/test sets of one (level, seed): built once, shared by every method.
Task make_cell_task(const ExperimentConfig& c, const Dataset& pool, const Dataset& test, const ImbalanceLevel& level,
                    uint64_t seed) {
  Task t;
  const bool first = c.select == "first";
  if (!c.pair_majority.empty()) {
    const auto a = pool.class_index(c.pair_majority), b = pool.class_index(c.pair_minority);
    const auto binary = binary_pair(pool, a, -1, b, -1, seed);
    auto [train, val] = draw_train_validation(binary, {{0, c.majority}, {1, level.minority}}, c.val_fraction, seed,
                                              first);
    t = {train, val, binary_pair(test, a, -1, b, -1, seed)};
  } else if (!c.majority_classes.empty()) {
    std::vector<int64_t> maj, min;
    std::map<int64_t, int64_t> counts;
    for (const auto& n : c.majority_classes) maj.push_back(pool.class_index(n)), counts[maj.back()] = c.majority;
    for (const auto& n : c.minority_classes) min.push_back(pool.class_index(n)), counts[min.back()] = level.minority;
    auto [train, val] = draw_train_validation(pool, counts, c.val_fraction, seed, first);
    t = {binary_groups(train, maj, min, {}, seed), binary_groups(val, maj, min, {}, seed),
         binary_groups(test, maj, min, {}, seed)};
  } else {
    std::map<int64_t, int64_t> counts;
    const auto available = pool.class_counts();
    std::vector<int64_t> profile;
    if (level.rho > 0) profile = long_tail_counts(*std::min_element(available.begin(), available.end()),
                                                  pool.num_classes(), level.rho);
    for (int64_t k = 0; k < pool.num_classes(); ++k) counts[k] = profile.empty() ? -1 : profile[k];
    auto [train, val] = draw_train_validation(pool, counts, c.val_fraction, seed, first, c.validation == "long_tail");
    t = {train, val, test};
  }
  return t;
}

/// The method's name in results, tables and reports: a leaking method says so.
std::string display_name(const MethodConfig& m) {
  return m.leak_test_minority_to_sampler > 0 ? m.name + " (generator saw test images)" : m.name;
}

/// The rows a method's sampler is fitted on. Without the config's explicit leak key that is the
/// training set and nothing else; where the test set was split off the same data, the rows'
/// provenance is checked too (no training row may be a test row), so a bug in the task builder
/// cannot hand a sampler a test row unnoticed.
Dataset sampler_input(const Task& t, const MethodConfig& m, bool test_split_from_data, std::ostream& log) {
  if (test_split_from_data) {
    const auto train_origin = t.train.origin.to(torch::kCPU), test_origin = t.test.origin.to(torch::kCPU);
    const auto shared = torch::isin(train_origin, test_origin);
    REBALANCE_CHECK(!shared.any().item<bool>(), "internal: training row {} is also a test row; no sampler may see it",
                    train_origin.index({shared}).min().item<int64_t>());
  }
  const int64_t n = m.leak_test_minority_to_sampler;
  if (n == 0) return t.train;
  // The minority is the binary task's class 1; the first n of its test rows, in file order.
  const auto test_min = t.test.indices_of(1);
  REBALANCE_CHECK(test_min.size(0) >= n, "[method] \"{}\": leak_test_minority_to_sampler = {}, but the test set has "
                  "{} minority rows", m.name, n, test_min.size(0));
  log << fmt::format("    LEAK: method \"{}\" fits its sampler on {} TEST images of class \"{}\" "
                     "(leak_test_minority_to_sampler); its results say \"generator saw test images\"\n",
                     m.name, n, t.test.class_names[1]);
  const auto majority = t.train.subset(torch::nonzero(t.train.y.to(torch::kCPU) != 1).flatten());
  return Dataset::concat(majority, t.test.subset(test_min.slice(0, 0, n)));
}

/// The sample-quality diagnostics of each class the sampler grew ({class name: {...}}), the test
/// rows serving as held-out rows (scored only). The embedding is kept for one seed (the report
/// draws it); an under-sampler or a sampler that made no rows gives an empty object.
nlohmann::json sample_quality_json(const std::function<double(int64_t, const at::Tensor&)>& reconstruction,
                                   const Dataset& made, const Dataset& test, uint64_t seed, bool with_embedding,
                                   models::Classifier* judge) {
  nlohmann::json out = nlohmann::json::object();
  generative::QualityOptions qo;
  qo.seed = seed;
  for (const auto& [cls, q] : generative::resampled_quality(made, test, qo, reconstruction)) {
    auto j = generative::quality_to_json(q, with_embedding);
    if (judge) {
      // Seed 004's "inception accuracy": the share of the class's synthetic rows that a classifier
      // trained on balanced real data calls the class.
      const auto rows = ((made.y == cls) & (made.origin < 0)).nonzero().flatten();
      const auto pred = train::predict_logits(*judge, made.x.index_select(0, rows)).argmax(1);
      j["judge_recall"] = (pred == cls).to(torch::kFloat64).mean().item<double>();
    }
    out[made.class_names[cls]] = j;
  }
  return out;
}

/// The judge of judge_recall: the experiment's classifier trained 3 epochs on balanced real data,
/// every training-split row of the task's classes (test rows never), each class drawn down to
/// the smallest one's count. Trained once per output directory and experiment hash: `kept` (a model
/// file, data only) holds it, so a resumed run and the other workers of `run --jobs` load the same
/// weights instead of training it again (on long-tailed Fashion-MNIST, 60,000 images for 3 epochs).
std::shared_ptr<models::Classifier> train_judge(const ExperimentConfig& c, const Dataset& pool, const std::string& kept,
                                                std::ostream& log) {
  if (fs::exists(kept)) {
    auto loaded = train::load_model(kept);
    log << fmt::format("    judge for judge_recall: {} (trained by an earlier run)\n", kept);
    return loaded.model;
  }
  Dataset task = pool;
  if (!c.pair_majority.empty()) {
    task = binary_pair(pool, pool.class_index(c.pair_majority), -1, pool.class_index(c.pair_minority), -1, 0);
  } else if (!c.majority_classes.empty()) {
    std::vector<int64_t> maj, min;
    for (const auto& n : c.majority_classes) maj.push_back(pool.class_index(n));
    for (const auto& n : c.minority_classes) min.push_back(pool.class_index(n));
    task = binary_groups(pool, maj, min, {}, 0);
  }
  const auto counts = task.class_counts();
  const int64_t smallest = *std::min_element(counts.begin(), counts.end());
  std::map<int64_t, int64_t> keep;
  for (int64_t k = 0; k < task.num_classes(); ++k) keep[k] = smallest;
  const auto balanced = make_imbalance(task, keep, 0);
  train::TrainOptions o;
  o.model = c.train.model;
  o.epochs = 3;
  o.batch_size = 128;
  o.monitor = "none";
  o.progress = false;
  o.device = c.train.device;
  std::ostringstream quiet;
  auto r = train::fit(balanced, balanced.subset(torch::empty({0}, torch::kInt64)), o, quiet);
  {
    // In place at once, not with the cell's files (the group its cell commits when it ends): the other
    // workers look for it now. Atomically: a worker that trained it too writes the same weights.
    AtomicFileGroup judge_file;
    train::save_model(kept, r, balanced);
    judge_file.commit();
  }
  log << fmt::format("    judge for judge_recall: {} trained on {} balanced real training images, kept in {}\n",
                     o.model, balanced.size(), kept);
  return r.model;
}

/// File-name-safe text: letters, digits, '-', '.', others as '_'.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.') ? ch : '_';
  return out;
}

/// For image data, a PNG grid of the minority class: 8 real rows, then up to 24 synthetic ones.
void save_sample_grid(const Dataset& resampled, const std::string& path) {
  if (resampled.x.dim() != 4) return;
  const int64_t minority = resampled.num_classes() - 1;
  const auto is_min = resampled.y == minority;
  const auto real = (is_min & (resampled.origin >= 0)).nonzero().flatten().slice(0, 0, 8);
  const auto synth = (is_min & (resampled.origin < 0)).nonzero().flatten().slice(0, 0, 24);
  if (synth.numel() == 0) return;
  const auto rows = torch::cat({real, synth});
  write_image_grid_png(path, resampled.x.index_select(0, rows).clamp(0.0, 1.0), 8);
}

/// Seed 004's figure: 8 majority images, their translations G_A->B(a) and cycles G_B->A(G_A->B(a)),
/// then 8 minority images, G_B->A(b) and G_A->B(G_B->A(b)), one row of 8 each.
void save_translation_grid(generative::ImageTranslator& gan, const Dataset& train, int64_t majority, int64_t minority,
                           const std::string& path) {
  if (train.x.dim() != 4) return;
  const auto counts = train.class_counts();
  const int64_t k = std::min<int64_t>({8, counts[majority], counts[minority]});
  auto first = [&](int64_t c) { return train.x.index_select(0, train.indices_of(c).slice(0, 0, k)).to(torch::kFloat32); };
  const auto a = first(majority), b = first(minority);
  const auto ab = gan.translate_ab(a), ba = gan.translate_ba(b);
  write_image_grid_png(path, torch::cat({a, ab, gan.translate_ba(ab), b, ba, gan.translate_ab(ba)}).clamp(0.0, 1.0), k);
}

std::string versions() {
  return fmt::format("rebalance {} / libtorch {}", REBALANCE_VERSION, TORCH_VERSION);
}

}  // namespace

std::vector<nlohmann::json> read_results(const std::string& path) {
  std::vector<nlohmann::json> out;
  if (!fs::exists(path)) return out;
  std::istringstream in(read_file(path));
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      REBALANCE_THROW("{}:{}: not a JSON result line: {}", path, n, e.what());
    }
  }
  return out;
}

namespace {

/// An exclusive lock on a file (flock), held for the object's life.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    REBALANCE_CHECK(fd_ >= 0, "cannot open lock file {}: {}", path, std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0)
      REBALANCE_CHECK(errno == EINTR, "cannot lock {}: {}", path, std::strerror(errno));
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace

TableOrder table_order(const ExperimentConfig& c) {
  TableOrder order;
  for (const auto& m : c.methods) order.methods.push_back(display_name(m));
  for (const auto& level : c.levels) order.levels.push_back(level.label);
  return order;
}

std::vector<nlohmann::json> rows_of_grid(const ExperimentConfig& c, const std::vector<nlohmann::json>& results,
                                         int64_t* left_out) {
  const auto hash = experiment_hash(c);
  std::set<std::string> keys;
  for (const auto& level : c.levels)
    for (const auto seed : c.seeds)
      for (const auto& m : c.methods) keys.insert(cell_key(hash, level, m, seed));
  std::vector<nlohmann::json> rows;
  for (const auto& r : results)
    if (keys.count(r.value("key", ""))) rows.push_back(r);
  if (left_out) *left_out = static_cast<int64_t>(results.size() - rows.size());
  return rows;
}

int64_t order_results(const ExperimentConfig& c, const std::string& out_dir) {
  const auto path = (fs::path(out_dir) / "results.jsonl").string();
  FileLock lock((fs::path(out_dir) / "results.lock").string());
  auto rows = read_results(path);
  const auto hash = experiment_hash(c);
  std::map<std::string, size_t> rank;
  for (const auto& level : c.levels)
    for (const auto seed : c.seeds)
      for (const auto& m : c.methods) rank.emplace(cell_key(hash, level, m, seed), rank.size());
  std::stable_sort(rows.begin(), rows.end(), [&rank](const nlohmann::json& a, const nlohmann::json& b) {
    const auto ra = rank.find(a.value("key", "")), rb = rank.find(b.value("key", ""));
    return (ra == rank.end() ? rank.size() : ra->second) < (rb == rank.end() ? rank.size() : rb->second);
  });
  write_atomic(path, [&](std::ostream& out) {
    for (const auto& r : rows) out << r.dump() << "\n";
  }, false);
  int64_t found = 0;
  for (const auto& r : rows) found += rank.count(r.value("key", "")) > 0;
  return found;
}

namespace {

fs::path claims_dir(const std::string& out_dir) { return fs::path(out_dir) / ".claims"; }

/// A worker of `run --jobs` takes a cell by creating its claim file exclusively: the first to ask
/// runs it, and a long cell holds up no other worker.
bool claim_cell(const std::string& out_dir, int64_t index) {
  const auto dir = claims_dir(out_dir);
  fs::create_directories(dir);
  const auto path = dir / fmt::format("cell-{}", index);  // the cell's place in the grid (1-based)
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd < 0) {
    REBALANCE_CHECK(errno == EEXIST, "cannot claim a cell in {}: {}", dir.string(), std::strerror(errno));
    return false;
  }
  ::close(fd);
  return true;
}

fs::path checkpoints_dir(const std::string& out_dir) { return fs::path(out_dir) / ".checkpoints"; }

/// The folder of a cell's training checkpoints (a cell key holds characters no file name may).
fs::path cell_checkpoint_dir(const std::string& out_dir, const std::string& key) {
  return checkpoints_dir(out_dir) / ("cell-" + text_hash(key));
}

/// What a cell's sampler made (the training rows, their sample-quality measures and the times both
/// took), kept in the cell's checkpoint folder so that a killed run's rerun neither fits the
/// generator again nor measures its rows again. A framed file of named tensors: data, not code.
constexpr std::string_view kCellRowsMagic = "REBALANCE-CELL-ROWS 1\n";
constexpr const char* kCellRowsFile = "sampled.rows";
/// The cell's key, written into its checkpoint folder when the cell starts: which cell a folder
/// belongs to, for the runs of other configs that share the output folder.
constexpr const char* kCellKeyFile = "cell.key";

struct CellRows {
  Dataset train;
  nlohmann::json quality;
  double sampler_s = 0, quality_s = 0;
};

void write_cell_rows(const fs::path& dir, const CellRows& r) {
  fs::create_directories(dir);
  TensorWriter tensors;
  tensors.add("x", r.train.x);
  tensors.add("y", r.train.y);
  tensors.add("origin", r.train.origin);
  if (r.train.parents.defined()) tensors.add("parents", r.train.parents);
  const nlohmann::json header = {{"class_names", r.train.class_names}, {"feature_names", r.train.feature_names},
                                 {"name", r.train.name},               {"quality", r.quality},
                                 {"sampler_s", r.sampler_s},           {"quality_s", r.quality_s}};
  AtomicFileGroup file;  // in place now, not with the cell's files: a kill before the row keeps it
  write_atomic((dir / kCellRowsFile).string(),
               [&](std::ostream& out) { out << frame_header(kCellRowsMagic, header) << tensors.bytes(); }, false);
  file.commit();
}

/// The rows write_cell_rows kept in `dir`, if it kept any.
std::optional<CellRows> read_cell_rows(const fs::path& dir) {
  const auto path = (dir / kCellRowsFile).string();
  if (!fs::exists(path)) return std::nullopt;
  return read_framed(path, "cell rows file", [&] {
    const std::string bytes = read_file(path);
    const auto framed = unframe(bytes, kCellRowsMagic, "cell rows file", path);
    const TensorReader tensors(std::string_view(bytes).substr(framed.payload_offset), path);
    const auto& h = framed.header;
    CellRows r;
    r.train.x = tensors.get("x");
    r.train.y = tensors.get("y");
    r.train.origin = tensors.get("origin");
    if (tensors.has("parents")) r.train.parents = tensors.get("parents");
    r.train.class_names = h.at("class_names").get<std::vector<std::string>>();
    r.train.feature_names = h.at("feature_names").get<std::vector<std::string>>();
    r.train.name = h.at("name").get<std::string>();
    r.train.validate();
    r.quality = h.at("quality");
    r.sampler_s = h.at("sampler_s").get<double>();
    r.quality_s = h.at("quality_s").get<double>();
    return r;
  });
}

/// Whether a killed run left a checkpoint in a cell's folder: its sampler's rows or its training's.
std::vector<fs::path> training_checkpoint_files(const fs::path& dir);
bool has_checkpoint(const fs::path& dir) {
  return fs::exists(dir / kCellRowsFile) || !training_checkpoint_files(dir).empty();
}

/// The training's files in a cell's checkpoint folder (all but the sampler's rows and the key).
std::vector<fs::path> training_checkpoint_files(const fs::path& dir) {
  std::vector<fs::path> files;
  if (fs::exists(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (const auto name = entry.path().filename(); name != kCellRowsFile && name != kCellKeyFile)
        files.push_back(entry.path());
  return files;
}

/// Remove the checkpoint folders that no run will continue: a finished cell's (finished by another
/// run), and a cell's of another version of the config's data or training (its key's hash is not
/// `hash`). A folder of a cell of this version that this grid does not hold (another method or seed,
/// run by a config that narrows this one to some of its methods, seeds or levels) is kept for the
/// run that holds it; so is a folder whose cell is unknown (no key file: an older build's).
void prune_checkpoints(const std::string& out_dir, const std::string& hash, const std::set<std::string>& done) {
  const auto dir = checkpoints_dir(out_dir);
  if (!fs::exists(dir)) return;
  std::set<std::string> finished;
  for (const auto& key : done) finished.insert(cell_checkpoint_dir(out_dir, key).filename().string());
  for (const auto& entry : fs::directory_iterator(dir)) {
    bool obsolete = finished.count(entry.path().filename().string()) > 0;
    if (const auto key_file = entry.path() / kCellKeyFile; !obsolete && fs::exists(key_file)) {
      const auto key = read_file(key_file.string());
      obsolete = done.count(key) > 0 || key.substr(0, key.find('|')) != hash;
    }
    if (obsolete) fs::remove_all(entry.path());
  }
}

/// Mark a cell's checkpoint folder as the cell's (see kCellKeyFile).
void mark_checkpoint(const fs::path& dir, const std::string& key) {
  fs::create_directories(dir);
  if (!fs::exists(dir / kCellKeyFile))
    write_atomic((dir / kCellKeyFile).string(), [&](std::ostream& out) { out << key; }, false);
}

/// Train a cell with per-epoch checkpoints in `dir`, continuing from them where an earlier, killed
/// run left some (then `continued` is set). A checkpoint this run cannot continue (other options
/// or data) is removed, and the cell trains from the start.
template <class Fit>
auto fit_with_checkpoints(const fs::path& dir, std::ostream& log, bool& continued, const Fit& fit) {
  if (training_checkpoint_files(dir).empty()) return fit();
  log << fmt::format("    continuing the training from the checkpoint in {}\n", dir.string());
  try {
    auto result = fit();
    continued = true;
    return result;
  } catch (const Error& e) {
    log << fmt::format("    the checkpoint in {} does not fit this run ({}); training the cell from the start\n",
                       dir.string(), e.what());
  }
  for (const auto& f : training_checkpoint_files(dir)) fs::remove_all(f);
  return fit();
}

/// The cells of `c` whose keys `done` lacks, in grid order.
std::vector<MissingCell> missing_of(const ExperimentConfig& c, const std::string& hash, const std::set<std::string>& done) {
  std::vector<MissingCell> missing;
  for (const auto& level : c.levels)
    for (const auto seed : c.seeds)
      for (const auto& m : c.methods)
        if (auto key = cell_key(hash, level, m, seed); !done.count(key))
          missing.push_back({level.label, m.name, seed, std::move(key)});
  return missing;
}

}  // namespace

void clear_cell_claims(const std::string& out_dir) { fs::remove_all(claims_dir(out_dir)); }

std::vector<MissingCell> missing_cells(const ExperimentConfig& c, const std::string& out_dir) {
  std::set<std::string> done;
  for (const auto& r : read_results((fs::path(out_dir) / "results.jsonl").string())) done.insert(r.value("key", ""));
  auto missing = missing_of(c, experiment_hash(c), done);
  for (auto& m : missing) m.started = has_checkpoint(cell_checkpoint_dir(out_dir, m.key));
  return missing;
}

RunSummary run_experiment(const ExperimentConfig& c, const RunOptions& o, std::ostream& log) {
  REBALANCE_CHECK(o.workers >= 1 && o.worker >= 0 && o.worker < o.workers, "run_experiment: worker {} of {}",
                  o.worker, o.workers);
  REBALANCE_CHECK(!o.out_dir.empty(), "run_experiment: no output directory");
  fs::create_directories(o.out_dir);
  RunSummary s;
  s.results_path = (fs::path(o.out_dir) / "results.jsonl").string();
  auto results = read_results(s.results_path);
  if (!c.path.empty() && fs::exists(c.path)) {  // the report shows the config the results came from
    const auto text = read_file(c.path);
    write_atomic((fs::path(o.out_dir) / "config.toml").string(), [&](std::ostream& out) { out << text; }, false);
  }
  const auto hash = experiment_hash(c);
  std::set<std::string> done;
  for (const auto& r : results) done.insert(r.value("key", ""));
  s.total = static_cast<int64_t>(c.levels.size() * c.seeds.size() * c.methods.size());
  // Cells not in the results yet, from here on: the time-left estimate's count.
  auto missing = static_cast<int64_t>(missing_of(c, hash, done).size());
  if (o.worker == 0) prune_checkpoints(o.out_dir, hash, done);

  // Data sets are loaded once for the whole grid.
  // Named pair members, not a structured binding: clang 14 cannot capture a binding in a lambda.
  auto loaded = load_data_and_test(c.dataset, c.test, c.label, c.test_label, c.delimiter, "[data].test_label", c.images);
  Dataset pool = std::move(loaded.first);
  Dataset test = std::move(loaded.second);
  if (c.rows > 0) {
    REBALANCE_CHECK(c.rows <= pool.size(), "[data].rows = {}, but {} has {} rows", c.rows, c.dataset, pool.size());
    pool = pool.subset(torch::arange(c.rows, torch::kInt64));
  }
  if (c.test.empty()) {
    auto split = stratified_split(pool, 0.0, c.test_fraction, 0);
    pool = split.train;
    test = split.test;
  }
  // The judge of judge_recall, trained on first need (a sampler's or a joint method's quality).
  std::shared_ptr<models::Classifier> judge;
  const auto judge_for = [&]() -> std::shared_ptr<models::Classifier> {
    if (!judge) judge = train_judge(c, pool, (fs::path(o.out_dir) / fmt::format("judge-{}.model", hash)).string(), log);
    return judge;
  };
  const auto t_start = Clock::now();
  int64_t index = 0;
  for (const auto& level : c.levels) {
    for (const auto seed : c.seeds) {
      std::optional<Task> task;  // built on first need: a fully finished (level, seed) loads nothing
      for (const auto& m : c.methods) {
        ++index;
        const auto key = cell_key(hash, level, m, seed);
        if (done.count(key)) {
          ++s.skipped;
          continue;
        }
        if (o.stop_after_cells >= 0 && s.ran >= o.stop_after_cells) return s;
        const int64_t left = missing--;  // this cell and the missing ones after it
        if (o.workers > 1 && !claim_cell(o.out_dir, index)) continue;  // another worker's cell
        if (!task) task = make_cell_task(c, pool, test, level, seed);
        // This worker's time per cell, over the cells left, shared by the workers.
        const double elapsed = since(t_start);
        const double eta = s.ran > 0 ? elapsed / static_cast<double>(s.ran) * static_cast<double>(left) / o.workers : 0.0;
        log << fmt::format("[{}/{}] {} {} seed {}{}\n", index, s.total, level.label, m.name, seed,
                           s.ran > 0 ? fmt::format("  (~{:.0f}s left)", eta) : "");
        const auto t0 = Clock::now();
        // The cell's sample grid and its results line appear together: a cell that fails (a full
        // disk) leaves no file of its own but its checkpoint, and a rerun runs it again from there.
        // A cell of hours survives a killed run: its sampler's rows and its training's last finished
        // epoch are kept here until its row is written. (Its key file is written before the group,
        // which would stage it until the cell's end.)
        const auto checkpoint = cell_checkpoint_dir(o.out_dir, key);
        mark_checkpoint(checkpoint, key);
        AtomicFileGroup cell_files;
        Dataset train = task->train;
        double sampler_s = 0, quality_s = 0;
        nlohmann::json quality;
        std::optional<CellRows> kept_rows;
        if (!m.sampler.empty()) {
          try {
            kept_rows = read_cell_rows(checkpoint);
          } catch (const Error& e) {
            log << fmt::format("    {}; running the sampler again\n", e.what());
          }
        }
        if (kept_rows) {
          log << fmt::format("    the sampler's rows from the checkpoint in {}\n", checkpoint.string());
          train = std::move(kept_rows->train);
          quality = std::move(kept_rows->quality);
          sampler_s = kept_rows->sampler_s;
          quality_s = kept_rows->quality_s;
        } else if (!m.sampler.empty()) {
          const auto ts = Clock::now();
          const Dataset fit_on = sampler_input(*task, m, c.test.empty(), log);
          if (o.on_sampler_input) o.on_sampler_input(m.name, fit_on, task->test);
          const auto sampler = make_sampler(m.sampler, seed);
          const Dataset made = sampler->fit_resample(fit_on);
          if (m.leak_test_minority_to_sampler > 0) {
            // Only the synthetic rows join the real training set; their parents are test rows,
            // which the training set does not hold, so they are recorded as none.
            Dataset synthetic = made.subset(torch::nonzero(made.origin.to(torch::kCPU) < 0).flatten());
            synthetic.parents = at::Tensor();
            train = Dataset::concat(train, synthetic);
          } else {
            train = made;
          }
          sampler_s = since(ts);
          if (c.quality) {
            const auto tq = Clock::now();
            const auto reconstruction = [&](int64_t cls, const at::Tensor& rows) {
              return generative::generator_reconstruction_error(*sampler, cls, rows);
            };
            quality = sample_quality_json(reconstruction, made, task->test, seed, seed == c.seeds.front(),
                                          judge_for().get());
            quality_s = since(tq);
          }
          // Kept where making them again would cost more than writing and reading them.
          if (sampler_s + quality_s >= o.keep_sampler_rows_after_s)
            write_cell_rows(checkpoint, {train, quality, sampler_s, quality_s});
        }
        if (!m.sampler.empty() && seed == c.seeds.front()) {
          fs::create_directories(fs::path(o.out_dir) / "samples");
          save_sample_grid(train, (fs::path(o.out_dir) / "samples" /
                                   (safe_name(level.label + "_" + m.name) + ".png")).string());
        }
        auto opts = c.train;
        opts.loss = m.loss;
        opts.batch_policy = m.batch_policy;
        opts.decision = m.decision;
        opts.synthetic_weight = m.synthetic_weight;
        opts.loss_counts = m.loss_counts;
        if (!m.augment.empty()) opts.augment = m.augment;
        if (!m.mix.empty()) opts.mix = m.mix;
        if (!m.decouple.empty()) opts.decouple = m.decouple;
        if (!m.model.empty()) opts.model = m.model;
        if (m.unfreeze_after >= 0) opts.unfreeze_after = m.unfreeze_after;
        if (m.weight_decay >= 0) opts.weight_decay = m.weight_decay;
        if (m.max_norm >= 0) opts.max_norm = m.max_norm;
        opts.seed = seed;
        opts.progress = o.progress;
        opts.checkpoint_dir = checkpoint.string();
        opts.resume = true;
        opts.stop_after_epochs = o.stop_after_epochs;
        bool continued = kept_rows.has_value();
        std::ostringstream train_log;
        const auto ts = Clock::now();
        train::TrainResult result;
        nlohmann::json joint_phases;
        if (!m.joint.empty()) {
          auto jr = fit_with_checkpoints(checkpoint, log, continued, [&] {
            return joint::fit(train, task->validation, opts, joint::parse_joint(m.joint), train_log);
          });
          result = std::move(jr.train);
          joint_phases = joint::phases_json(jr.phases);
          if (c.quality) {
            // The translations G_A->c of (up to 2000) majority training rows as each minority
            // class's synthetic rows; the cycle c -> A -> c as its reconstruction.
            const auto tq = Clock::now();
            const auto maj_rows = train.indices_of(jr.majority);
            const auto from = train.x.index_select(0, maj_rows.slice(0, 0, std::min<int64_t>(2000, maj_rows.size(0))));
            Dataset made = train;
            for (const auto& [cls, gan] : jr.translators) {
              const auto fake = gan->translate_ab(from).to(train.x.scalar_type());
              Dataset synth = Dataset::from_tensors(fake, torch::full({fake.size(0)}, cls, torch::kInt64),
                                                    train.class_names, "translations");
              synth.origin = torch::full({fake.size(0)}, int64_t(-1), torch::kInt64);
              made = Dataset::concat(made, synth);
            }
            const auto cycle = [&](int64_t cls, const at::Tensor& rows) {
              const auto it = jr.translators.find(cls);
              if (it == jr.translators.end()) return std::numeric_limits<double>::quiet_NaN();
              const auto xr = rows.to(torch::kFloat32);
              return (it->second->translate_ab(it->second->translate_ba(xr)) - xr).pow(2).mean().item<double>();
            };
            quality = sample_quality_json(cycle, made, task->test, seed, seed == c.seeds.front(), judge_for().get());
            quality_s = since(tq);
          }
          if (seed == c.seeds.front()) {
            fs::create_directories(fs::path(o.out_dir) / "samples");
            for (const auto& [cls, gan] : jr.translators) {
              const auto suffix = jr.translators.size() > 1 ? "_" + train.class_names[cls] : std::string();
              save_translation_grid(*gan, train, jr.majority, cls,
                                    (fs::path(o.out_dir) / "samples" /
                                     (safe_name(level.label + "_" + m.name + suffix) + ".png")).string());
            }
          }
        } else {
          result = fit_with_checkpoints(checkpoint, log, continued,
                                        [&] { return train::fit(train, task->validation, opts, train_log); });
          if (!result.finished) return s;  // stop_after_epochs: the cell stays missing, its checkpoint kept
        }
        const double train_s = since(ts);
        if (seed == c.seeds.front() && task->test.x.dim() == 4 && task->test.num_classes() == 2 &&
            (task->test.x.size(1) == 1 || task->test.x.size(1) == 3)) {
          // Where the classifier looks (seed 004's heat-map figure): RISE maps of p(class 1) on the
          // first 4 test images of each class, the same masks for every method, and Grad-CAM maps
          // of class 1's logit where the model has a convolutional feature map.
          const auto pick = torch::cat({task->test.indices_of(0).slice(0, 0, 4), task->test.indices_of(1).slice(0, 0, 4)});
          const auto images = task->test.x.index_select(0, pick).to(torch::kFloat32);
          const auto samples = fs::path(o.out_dir) / "samples";
          const auto stem = safe_name(level.label + "_" + m.name);
          fs::create_directories(samples);
          const auto maps = models::rise_saliency(*result.model, images, 1, {});
          write_image_grid_png((samples / (stem + "_rise.png")).string(), models::saliency_overlay(images, maps), 8);
          if (models::has_feature_map(*result.model, images))
            write_image_grid_png((samples / (stem + "_gradcam.png")).string(),
                                 models::saliency_overlay(images, models::grad_cam(*result.model, images, 1)), 8);
        }
        const auto logits = train::predict_logits(*result.model, task->test.x);
        const auto scores = torch::softmax(logits, 1);
        const auto pred = result.decision->predict(logits);
        const auto report = metrics::evaluate(task->test.y, pred, scores, task->test.num_classes(),
                                              task->test.class_names);
        nlohmann::json row = {{"key", key},
                              {"experiment", c.name},
                              {"config_hash", hash},
                              {"versions", versions()},
                              {"level", level.label},
                              {"minority", level.minority},
                              {"rho", level.rho},
                              {"method", display_name(m)},
                              {"spec", {{"sampler", m.sampler}, {"loss", m.loss}, {"batch_policy", m.batch_policy},
                                        {"decision", m.decision}, {"synthetic_weight", m.synthetic_weight},
                                        {"loss_counts", m.loss_counts},
                                        {"augment", m.augment}, {"mix", m.mix}, {"decouple", m.decouple},
                                        {"model", m.model.empty() ? c.train.model : m.model},
                                        {"unfreeze_after", m.unfreeze_after},
                                        {"weight_decay", m.weight_decay < 0 ? c.train.weight_decay : m.weight_decay},
                                        {"max_norm", m.max_norm < 0 ? c.train.max_norm : m.max_norm}}},
                              {"seed", seed},
                              {"train_counts", train.class_counts()},
                              {"best_epoch", result.best_epoch},
                              {"decision_state", result.decision->state()},
                              {"metrics", metrics::report_to_json(report)}};
        if (task->test.num_classes() >= 3) {
          // Many-, medium- and few-shot accuracy by the real training counts (before any sampler).
          const auto shots = metrics::shot_accuracy(report.confusion, task->train.class_counts());
          row["metrics"]["many_shot"] = shots.many;
          row["metrics"]["medium_shot"] = shots.medium;
          row["metrics"]["few_shot"] = shots.few;
        }
        if (task->test.num_classes() == 2) {
          std::vector<double> p1;
          const auto col = scores.select(1, 1).to(torch::kFloat64).contiguous();
          p1.assign(col.data_ptr<double>(), col.data_ptr<double>() + col.numel());
          for (auto& v : p1) v = std::round(v * 1e6) / 1e6;  // 6 decimals: enough for curves
          row["test_scores"] = p1;
          row["test_labels"] = to_index_vector(task->test.y);
        }
        if (m.leak_test_minority_to_sampler > 0)
          row["leak"] = {{"test_rows_to_sampler", m.leak_test_minority_to_sampler},
                         {"note", "generator saw test images"}};
        if (!m.joint.empty()) {
          row["spec"]["joint"] = m.joint;
          row["joint_phases"] = joint_phases;
        }
        if (!quality.empty()) row["quality"] = quality;
        row["timings"] = {{"sampler_s", sampler_s}, {"train_s", train_s}, {"total_s", since(t0)}};
        if (!quality.empty()) row["timings"]["quality_s"] = quality_s;
        // A cell a killed run started: train_s and total_s count this run's part only, epochs_s every
        // epoch's time, the killed run's included (the cost of the cell's training, as if unbroken).
        if (continued) {
          row["timings"]["continued"] = true;
          if (m.joint.empty()) {
            double epochs_s = 0;
            for (const auto& e : result.history) epochs_s += e.seconds;
            row["timings"]["epochs_s"] = epochs_s;
          }
        }
        {
          // Parallel workers: one at a time, each adding its row to what the others wrote.
          std::optional<FileLock> lock;
          if (o.workers > 1) {
            lock.emplace((fs::path(o.out_dir) / "results.lock").string());
            results = read_results(s.results_path);
          }
          results.push_back(row);
          write_atomic(s.results_path, [&](std::ostream& out) {
            for (const auto& r : results) out << r.dump() << "\n";
          }, false);
          cell_files.commit();
        }
        fs::remove_all(checkpoint);
        ++s.ran;
        log << fmt::format("    {} {:.4f}  misclassified {}  ({:.1f}s)\n", c.metric,
                           metrics::report_to_json(report).value(c.metric, 0.0), report.misclassified, since(t0));
      }
    }
  }
  return s;
}

}  // namespace rebalance
