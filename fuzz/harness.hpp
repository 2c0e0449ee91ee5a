// What each fuzz target does with one input, shared by the libFuzzer binaries (fuzz/fuzz_target.cpp)
// and the ctest replay of every checked-in crash (tests/fuzz/regression_test.cpp), so a
// regression test runs exactly the code that found the crash.
//
// The contract every parser is held to: an input is either refused with rebalance::Error (the
// expected failure) or accepted, and then what it produced passes the invariants below. Anything
// else (another exception, a c10::Error, an invariant broken, a sanitizer report) is a bug.
//
//   const auto& t = rebalance::fuzz::target("csv");
//   rebalance::fuzz::Verdict v = t.run(bytes);  // throws Violation (or worse) on a bug
#pragma once

#include <unistd.h>

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/data/chunked.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/data/idx.hpp"
#include "rebalance/data/image_folder.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/mnist_json.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/experiment/config.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/sampling/strategy.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::fuzz {

enum class Verdict { Refused, Accepted };

/// An accepted input produced something that breaks an invariant. Deliberately not a
/// rebalance::Error: no harness may mistake it for a refusal.
class Violation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

template <typename... Args>
void require(bool cond, fmt::format_string<Args...> message, Args&&... args) {
  if (!cond) throw Violation(fmt::format(message, std::forward<Args>(args)...));
}

/// A per-process folder for the files the path-based readers take: on /dev/shm (memory, so a
/// fuzzer's many thousand writes a second never reach a disk) when it exists, else the temp dir.
class Scratch {
 public:
  static Scratch& get() {
    static Scratch s;
    return s;
  }
  std::string write(const std::string& name, std::string_view bytes) const {
    const auto p = (dir_ / name).string();
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("fuzz harness: cannot write " + p);
    return p;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  Scratch() {
    const std::filesystem::path shm = "/dev/shm";
    std::error_code ec;
    const auto base = std::filesystem::is_directory(shm, ec) ? shm : std::filesystem::temp_directory_path();
    dir_ = base / ("rebalance-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  std::filesystem::path dir_;
};

/// Dataset::validate, with its Error turned into a Violation: data a reader accepted must be valid.
inline void require_valid(const Dataset& ds, const char* what) {
  try {
    ds.validate();
  } catch (const Error& e) {
    throw Violation(fmt::format("{}: accepted data fails Dataset::validate: {}", what, e.what()));
  }
  require(ds.x.defined() && ds.y.defined() && ds.origin.defined(), "{}: undefined tensor in the dataset", what);
  require(ds.x.dim() >= 2 && ds.x.size(0) == ds.y.size(0), "{}: x has {} rows, y {}", what,
          ds.x.dim() ? ds.x.size(0) : -1, ds.y.size(0));
  require(ds.num_classes() >= 1 || ds.size() == 0, "{}: rows but no classes", what);
}

inline bool equal_bytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  return ca.nbytes() == cb.nbytes() && (ca.nbytes() == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0);
}

// ---- CSV: read_csv(path, options) with the defaults and with ordinal categories, label first ----

inline void check_csv(const Dataset& ds, const CsvOptions& opt, std::string_view bytes) {
  require_valid(ds, "csv");
  require(ds.x.dim() == 2, "csv: x has {} dimensions, expected [N, D]", ds.x.dim());
  require(ds.x.size(0) >= 1, "csv: accepted a file with no data rows");
  require(ds.x.size(1) >= 1, "csv: accepted a file with no feature columns");
  // Every data row ends a line or the file: never more rows than line breaks + 1, minus the header.
  int64_t breaks = 0;
  for (char c : bytes) breaks += c == '\n' || c == '\r';
  require(ds.size() <= breaks, "csv: {} rows from {} line breaks", ds.size(), breaks);
  require(ds.num_classes() >= opt.min_classes, "csv: {} classes, min_classes is {}", ds.num_classes(),
          opt.min_classes);
  require(ds.feature_names.empty() || static_cast<int64_t>(ds.feature_names.size()) == ds.x.size(1),
          "csv: {} feature names for {} features", ds.feature_names.size(), ds.x.size(1));
  auto names = ds.class_names;
  std::sort(names.begin(), names.end());
  require(std::adjacent_find(names.begin(), names.end()) == names.end(), "csv: a class name appears twice");
  const auto counts = ds.class_counts();
  for (size_t c = 0; c < counts.size(); ++c) require(counts[c] >= 1, "csv: class {} has no rows", c);
}

/// The out-of-core reader, a few rows at a time, must read what read_csv read from a file of
/// numeric features: the same rows, classes and counts (it refuses only categorical columns).
inline void check_csv_in_blocks(const std::string& path, const CsvOptions& opt, const Dataset& ds) {
  for (int64_t block : {1, 3}) {
    try {
      CsvRowSource source(path, opt);
      require(source.rows() == ds.size(), "csv in blocks: {} rows, read_csv {}", source.rows(), ds.size());
      require(source.class_names() == ds.class_names, "csv in blocks: classes {} , read_csv {}",
              fmt::join(source.class_names(), "|"), fmt::join(ds.class_names, "|"));
      require(source.class_counts() == ds.class_counts(), "csv in blocks: other class counts");
      std::vector<at::Tensor> xs, ys;
      source.for_each_block(block, [&](int64_t, const at::Tensor& x, const at::Tensor& y) {
        xs.push_back(x.clone());
        ys.push_back(y.clone());
      });
      require(torch::equal(torch::cat(xs), ds.x2d()), "csv in blocks of {}: other features", block);
      require(torch::equal(torch::cat(ys), ds.y), "csv in blocks of {}: other labels", block);
    } catch (const Error& e) {
      throw Violation(fmt::format("csv in blocks of {} refused what read_csv accepted: {}", block, e.what()));
    }
  }
}

inline Verdict run_csv(std::string_view bytes) {
  const auto path = Scratch::get().write("input.csv", bytes);
  Verdict verdict = Verdict::Refused;
  CsvOptions plain;
  plain.delimiter = ',';
  CsvOptions ordinal;
  ordinal.delimiter = bytes.find('\t') != std::string_view::npos ? '\t' : ',';
  ordinal.categorical_ordinal = true;
  ordinal.label = "0";
  for (const CsvOptions* opt : {&plain, &ordinal}) {
    Dataset ds;
    try {
      ds = read_csv(path, *opt);
    } catch (const Error&) {
      continue;
    }
    check_csv(ds, *opt, bytes);
    if (opt == &plain) check_csv_in_blocks(path, plain, ds);
    verdict = Verdict::Accepted;
  }
  return verdict;
}

// ---- NPY: read_npy, then a write_npy/read_npy round trip must give the same bytes ----

inline Verdict run_npy(std::string_view bytes) {
  const auto path = Scratch::get().write("input.npy", bytes);
  at::Tensor t;
  try {
    t = read_npy(path);
  } catch (const Error&) {
    return Verdict::Refused;
  }
  require(t.defined(), "npy: undefined tensor");
  const auto type = t.scalar_type();
  require(type == at::kFloat || type == at::kDouble || type == at::kLong || type == at::kInt ||
              type == at::kByte || type == at::kBool,
          "npy: unsupported dtype {} accepted", std::string(c10::toString(type)));
  require(t.device().is_cpu(), "npy: tensor not on the CPU");
  require(t.nbytes() <= bytes.size(), "npy: {} bytes of data from a {}-byte file", t.nbytes(), bytes.size());
  if (type == at::kBool && t.numel() > 0) {
    // Only 0 and 1 are bools; any other byte in a bool tensor is undefined behaviour downstream.
    const auto* p = static_cast<const uint8_t*>(t.contiguous().data_ptr());
    for (int64_t i = 0; i < t.numel(); ++i) require(p[i] <= 1, "npy: bool element {} holds byte {}", i, p[i]);
  }
  const auto again = Scratch::get().path("roundtrip.npy");
  try {
    write_npy(again, t);
  } catch (const Error& e) {
    throw Violation(fmt::format("npy: an accepted array cannot be written back: {}", e.what()));
  }
  at::Tensor u;
  try {
    u = read_npy(again);
  } catch (const Error& e) {
    throw Violation(fmt::format("npy: write_npy output is refused by read_npy: {}", e.what()));
  }
  require(equal_bytes(t, u), "npy: round trip changed the array ({} {} -> {} {})",
          std::string(c10::toString(t.scalar_type())), fmt::join(t.sizes(), "x"),
          std::string(c10::toString(u.scalar_type())), fmt::join(u.sizes(), "x"));
  return Verdict::Accepted;
}

// ---- IDX: read_idx (plain or gzip), and as images of load_idx_dataset when 3-dimensional ----

inline Verdict run_idx(std::string_view bytes) {
  const auto path = Scratch::get().write("input.idx", bytes);
  at::Tensor t;
  try {
    t = read_idx(path);
  } catch (const Error&) {
    return Verdict::Refused;
  }
  require(t.defined() && t.scalar_type() == at::kByte, "idx: expected a uint8 tensor");
  require(t.dim() >= 1 && t.dim() <= 4, "idx: {} dimensions", t.dim());
  const bool gzip = bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f && static_cast<uint8_t>(bytes[1]) == 0x8b;
  if (!gzip)
    require(static_cast<size_t>(t.numel()) + 4 + 4 * static_cast<size_t>(t.dim()) <= bytes.size(),
            "idx: {} bytes of data from a {}-byte file", t.numel(), bytes.size());
  // A matching labels file: one label per image, digits 0-9 taken from the image bytes. Past a
  // million images (all of them empty, or the size check above would have failed) it is skipped.
  if (t.dim() != 3 || t.size(0) > (1 << 20)) return Verdict::Accepted;
  const int64_t n = t.size(0), per_image = n ? t.numel() / n : 0;
  std::string labels = {0, 0, 8, 1};
  for (int s = 24; s >= 0; s -= 8) labels += static_cast<char>((n >> s) & 0xff);
  const auto* pixels = static_cast<const uint8_t*>(t.data_ptr());
  for (int64_t i = 0; i < n; ++i) labels += static_cast<char>(per_image ? pixels[i * per_image] % 10 : 0);
  const auto labels_path = Scratch::get().write("labels.idx", labels);
  std::vector<std::string> names;
  for (int d = 0; d < 10; ++d) names.push_back(std::to_string(d));
  Dataset ds;
  try {
    ds = load_idx_dataset(path, labels_path, names, "fuzz");
  } catch (const Error&) {
    return Verdict::Accepted;
  }
  require_valid(ds, "idx");
  require(ds.x.dim() == 4 && ds.x.size(0) == n && ds.x.size(1) == 1 && ds.x.size(2) == t.size(1) &&
              ds.x.size(3) == t.size(2),
          "idx: images [{}] became x [{}]", fmt::join(t.sizes(), ", "), fmt::join(ds.x.sizes(), ", "));
  if (ds.x.numel())
    require(ds.x.min().item<float>() >= 0.0f && ds.x.max().item<float>() <= 1.0f, "idx: pixels outside [0, 1]");
  return Verdict::Accepted;
}

// ---- mnist JSON: the input is digit 0's file, the other nine are empty ----

inline Verdict run_mnist_json(std::string_view bytes) {
  auto& scratch = Scratch::get();
  static const bool others_written = [&] {
    std::filesystem::create_directories(scratch.path("digits"));
    for (int d = 1; d < 10; ++d) scratch.write(fmt::format("digits/{}.json", d), R"({"data": []})");
    return true;
  }();
  (void)others_written;
  scratch.write("digits/0.json", bytes);
  Dataset ds;
  try {
    ds = load_mnist_json(scratch.path("digits"));
  } catch (const Error&) {
    return Verdict::Refused;
  }
  require_valid(ds, "mnist_json");
  require(ds.x.dim() == 4 && ds.x.size(1) == 1 && ds.x.size(2) == 28 && ds.x.size(3) == 28,
          "mnist_json: x [{}], expected [N, 1, 28, 28]", fmt::join(ds.x.sizes(), ", "));
  require(ds.num_classes() == 10, "mnist_json: {} classes", ds.num_classes());
  const auto counts = ds.class_counts();
  for (size_t c = 1; c < counts.size(); ++c) require(counts[c] == 0, "mnist_json: digit {} has rows", c);
  if (ds.x.numel())
    require(ds.x.min().item<float>() >= 0.0f && ds.x.max().item<float>() <= 1.0f,
            "mnist_json: pixels outside [0, 1]");
  return Verdict::Accepted;
}

// ---- TOML experiment config: load_experiment, which also builds every factory string once ----

inline Verdict run_config(std::string_view bytes) {
  const auto path = Scratch::get().write("config.toml", bytes);
  ExperimentConfig c;
  try {
    c = load_experiment(path);
  } catch (const Error&) {
    return Verdict::Refused;
  }
  require(!c.dataset.empty(), "config: accepted without a data set");
  require(!c.methods.empty(), "config: accepted without methods");
  require(!c.levels.empty(), "config: no imbalance level");
  require(!c.seeds.empty(), "config: no seeds");
  std::set<std::string> names;
  for (const auto& m : c.methods) {
    require(!m.name.empty(), "config: a method without a name");
    require(names.insert(m.name).second, "config: method {} listed twice", m.name);
  }
  require(c.train.epochs >= 1 && c.train.batch_size >= 1, "config: epochs {} batch {}", c.train.epochs,
          c.train.batch_size);
  require(experiment_hash(c).size() == 16, "config: hash is not 16 hex digits");
  return Verdict::Accepted;
}

// ---- factory spec strings: parse_spec, Params, every factory, sampling strategies ----

/// Three classes of 6, 4 and 2 rows in 2 features: enough to resolve any sampling strategy.
inline const Dataset& tiny_dataset() {
  static const Dataset ds = [] {
    auto x = torch::arange(24, torch::kFloat32).reshape({12, 2}).div_(7.0f);
    auto y = torch::tensor({0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2}, torch::kInt64);
    return Dataset::from_tensors(x, y, {"a", "b", "c"}, "tiny");
  }();
  return ds;
}

inline void check_spec(const Spec& s, std::string_view text) {
  require(!s.name.empty(), "spec: empty name accepted from \"{}\"", text);
  require(s.text == text, "spec: text not kept");
  for (size_t i = 0; i < s.args.size(); ++i) {
    require(!s.args[i].first.empty(), "spec: empty key accepted from \"{}\"", text);
    for (size_t j = 0; j < i; ++j) require(s.args[i].first != s.args[j].first, "spec: repeated key \"{}\"", s.args[i].first);
  }
}

inline Verdict run_spec(std::string_view bytes) {
  const std::string text(bytes);
  bool accepted = false;
  auto attempt = [&](auto&& f) {
    try {
      f();
      accepted = true;
    } catch (const Error&) {
    }
  };
  attempt([&] {
    const auto spec = parse_spec(text);
    check_spec(spec, text);
    // Every getter on every given key, against a declaration list made of those keys.
    std::vector<ParamDecl> decls;
    for (const auto& [k, v] : spec.args) decls.push_back({k, "", ""});
    const Params p(spec, decls, "fuzz");
    for (const auto& arg : spec.args) {
      const std::string& k = arg.first;  // a plain name: lambdas cannot capture structured bindings
      require(p.has(k), "spec: Params lost key \"{}\"", k);
      require(p.get_string(k) == arg.second, "spec: Params changed the value of \"{}\"", k);
      attempt([&] { p.get_int(k); });
      attempt([&] { p.get_double(k); });
      attempt([&] { p.get_bool(k); });
      attempt([&] { p.get_doubles(k); });
      attempt([&] { p.get_ints(k); });
      attempt([&] { p.get_int_in(k, -5, 5); });
      attempt([&] { p.get_double_in(k, 0.0, 1.0); });
    }
    describe_params(decls);
  });
  attempt([&] { split_top_level(text, '+'); });
  attempt([&] { require(make_sampler(text, 0) != nullptr, "spec: make_sampler returned null"); });
  attempt([&] { losses::make_loss(text, {10, 1}); });
  attempt([&] { losses::make_loss(text, {5, 3, 0}); });
  attempt([&] { models::make_model(text, {1, 28, 28}, 2, 0); });
  attempt([&] { models::make_model(text, {3}, 3, 0); });
  attempt([&] { train::make_batch_policy(text); });
  attempt([&] { train::make_decision_rule(text); });
  attempt([&] {
    const SamplingStrategy strategy(text);
    for (auto type : {SamplingType::Over, SamplingType::Under, SamplingType::Clean})
      attempt([&] {
        for (const auto& [c, n] : strategy.resolve(tiny_dataset(), type)) {
          require(c >= 0 && c < 3, "spec: strategy \"{}\" targets class {}", text, c);
          require(n >= 0, "spec: strategy \"{}\" asks {} rows of class {}", text, n, c);
        }
      });
  });
  attempt([&] {
    for (const auto& [c, n] : parse_class_counts(text, tiny_dataset(), "--pair"))
      require(c >= 0 && c < 3 && n >= -1, "spec: class counts \"{}\" gave {}:{}", text, c, n);
  });
  return accepted ? Verdict::Accepted : Verdict::Refused;
}

// ---- the list ----

struct Target {
  std::string_view name;
  Verdict (*run)(std::string_view bytes);
};

/// PNG and JPEG decoding (image folders): refused by path and reason, or decoded to exactly
/// height x width x channels bytes, 1 or 3 channels, in each channel mode.
inline Verdict run_image(std::string_view bytes) {
  const auto path = Scratch::get().write("input.img", bytes);
  Verdict v = Verdict::Refused;
  for (int channels : {0, 1, 3}) {
    DecodedImage img;
    try {
      img = decode_image(path, channels);
    } catch (const Error& e) {
      require(std::string(e.what()).find(path) != std::string::npos, "image: the error does not name the file: {}",
              e.what());
      continue;
    }
    v = Verdict::Accepted;
    require(img.channels == 1 || img.channels == 3, "image: {} channels", img.channels);
    require(channels == 0 || img.channels == channels, "image: asked for {} channels, got {}", channels, img.channels);
    require(img.height >= 1 && img.width >= 1, "image: {}x{}", img.height, img.width);
    require(img.pixels.size() == static_cast<size_t>(img.height * img.width * img.channels),
            "image: {} bytes for {}x{}x{}", img.pixels.size(), img.height, img.width, img.channels);
  }
  return v;
}

// ---- model files (train -o): a header that decides the network, then named tensors ----

/// load_model refuses (naming the file) or returns a network whose outputs agree with the header:
/// one logit per class name, predictions inside the class list, never a read past a tensor. A
/// torch archive (the old layout, which runs code) is refused: legacy files are not trusted here.
inline Verdict run_model(std::string_view bytes) {
  const auto path = Scratch::get().write("input.rbm", bytes);
  train::LoadedModel m;
  try {
    m = train::load_model(path);
  } catch (const Error& e) {
    require(std::string(e.what()).find(path) != std::string::npos, "model: the error does not name the file: {}",
            e.what());
    return Verdict::Refused;
  }
  std::vector<int64_t> shape = {2};
  shape.insert(shape.end(), m.input_shape.begin(), m.input_shape.end());
  const auto logits = train::predict_logits(*m.model, torch::zeros(shape));
  const auto classes = static_cast<int64_t>(m.class_names.size());
  require(logits.dim() == 2 && logits.size(0) == 2 && logits.size(1) == classes, "model: logits [{}] for {} classes",
          fmt::join(logits.sizes(), ", "), classes);
  const auto pred = m.decision->predict(logits);
  require(pred.numel() == 2 && pred.min().item<int64_t>() >= 0 && pred.max().item<int64_t>() < classes,
          "model: predictions outside the {} classes", classes);
  return Verdict::Accepted;
}

inline constexpr Target kTargets[] = {
    {"csv", run_csv},       {"npy", run_npy},       {"idx", run_idx},
    {"mnist_json", run_mnist_json}, {"config", run_config}, {"spec", run_spec},
    {"image", run_image},   {"model", run_model},
};

inline const Target& target(std::string_view name) {
  for (const auto& t : kTargets)
    if (t.name == name) return t;
  throw std::invalid_argument("no fuzz target named " + std::string(name));
}

}  // namespace rebalance::fuzz
