// rebalance._core: the compiled half of the Python package. It only converts arrays and calls the
// library (samplers through the same factory as the CLI, metrics); the scikit-learn conventions,
// validation of Python objects and pandas/sparse handling live in the pure-Python layer above.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "rebalance/augment/augment.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/system.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/metrics/classification.hpp"
#include "rebalance/metrics/ranking.hpp"
#include "rebalance/neighbors/cache.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/trainer.hpp"

namespace py = pybind11;
using namespace rebalance;

namespace {

/// A numpy array that views a tensor's memory; the capsule keeps the tensor alive.
py::array to_numpy(at::Tensor t) {
  t = t.contiguous();
  py::dtype dt;
  switch (t.scalar_type()) {
    case at::kFloat: dt = py::dtype::of<float>(); break;
    case at::kDouble: dt = py::dtype::of<double>(); break;
    case at::kLong: dt = py::dtype::of<int64_t>(); break;
    default: throw std::runtime_error("rebalance._core: unexpected tensor dtype");
  }
  std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end());
  std::vector<py::ssize_t> strides;
  for (auto s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.element_size()));
  auto* owner = new at::Tensor(t);
  py::capsule keep(owner, [](void* p) { delete static_cast<at::Tensor*>(p); });
  return py::array(dt, shape, strides, t.data_ptr(), keep);
}

/// A tensor viewing a C-contiguous float32/float64/int64 numpy array (no copy; the caller keeps
/// the array alive for as long as the tensor is used).
at::Tensor view_of(const py::array& a, const char* what) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(what) + " must be C-contiguous");
  // Compared by value, not by identity: an array that went through pickle (joblib workers,
  // joblib.load) carries an equal dtype object of its own, and int64 may be 'l' or 'q'.
  const py::dtype dt = a.dtype();
  const bool native = dt.attr("isnative").cast<bool>();
  at::ScalarType st;
  if (native && dt.kind() == 'f' && dt.itemsize() == 4) st = at::kFloat;
  else if (native && dt.kind() == 'f' && dt.itemsize() == 8) st = at::kDouble;
  else if (native && dt.kind() == 'i' && dt.itemsize() == 8) st = at::kLong;
  else throw py::value_error(std::string(what) + ": dtype must be float32, float64 or int64, got " +
                             py::str(a.dtype()).cast<std::string>());
  std::vector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  return torch::from_blob(const_cast<void*>(a.data()), shape, torch::TensorOptions().dtype(st));
}

py::dict declaration(const SamplerInfo& info) {
  py::dict d;
  d["name"] = info.name;
  d["class_name"] = info.class_name;
  d["aliases"] = info.aliases;
  d["type"] = std::string(to_string(info.type));
  d["description"] = info.description;
  py::list params;
  for (const auto& p : sampler_params(info)) params.append(py::make_tuple(p.name, p.default_value, p.help));
  d["params"] = params;
  return d;
}

/// fit_resample through the factory. x: [N, ...] float32/float64 C-contiguous; y: [N] int64 codes
/// 0..C-1. The GIL is released while the sampler works.
py::dict fit_resample(const std::string& spec, const py::array& x, const py::array& y,
                      std::vector<std::string> class_names, uint64_t seed) {
  at::Tensor xt = view_of(x, "X");
  at::Tensor yt = view_of(y, "y");
  Dataset out;
  std::map<int64_t, int64_t> resolved;
  double seconds = 0;
  {
    py::gil_scoped_release release;
    const auto t0 = std::chrono::steady_clock::now();
    // Dataset::from_tensors without its validate(): Sampler::fit_resample validates the input
    // itself (as the CLI's kernel does), and one pass over the rows is enough.
    Dataset data;
    data.name = "X";
    data.x = xt;
    data.y = yt;
    data.origin = torch::arange(yt.size(0), torch::TensorOptions().dtype(torch::kInt64));
    data.class_names = std::move(class_names);
    auto sampler = make_sampler(spec, seed);
    out = sampler->fit_resample(data);
    resolved = sampler->resolved_strategy();
    // A result that still views the caller's array (nothing removed or added) must not outlive it.
    if (out.x.defined() && out.x.is_alias_of(xt)) out.x = out.x.clone();
    if (out.y.is_alias_of(yt)) out.y = out.y.clone();
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  py::dict r;
  r["x"] = to_numpy(out.x);
  r["y"] = to_numpy(out.y);
  r["origin"] = to_numpy(out.origin);
  r["parents"] = to_numpy(out.parents_or_none());
  r["strategy"] = resolved;
  r["seconds"] = seconds;
  return r;
}

/// imbalanced-learn's sampling_strategy_ for the labels y ([N] int64 codes): class -> count.
std::map<int64_t, int64_t> resolve_strategy(const std::string& text, const py::array& y,
                                            std::vector<std::string> class_names, const std::string& type) {
  at::Tensor yt = view_of(y, "y");
  const SamplingType st = type == "over-sampling" ? SamplingType::Over
                          : type == "under-sampling" ? SamplingType::Under
                                                     : SamplingType::Clean;
  auto data = Dataset::from_tensors(torch::zeros({yt.size(0), 1}), yt, std::move(class_names), "y");
  return SamplingStrategy(text).resolve(data, st);
}

py::dict class_metrics(const py::array& y_true, const py::array& y_pred, int64_t n_classes) {
  at::Tensor t = view_of(y_true, "y_true"), p = view_of(y_pred, "y_pred");
  auto cm = metrics::confusion_matrix(t, p, n_classes);
  auto rows = metrics::per_class_metrics(cm);
  std::vector<double> pre, rec, spe, f1, gm, iba;
  std::vector<int64_t> sup;
  for (const auto& m : rows) {
    pre.push_back(m.precision), rec.push_back(m.recall), spe.push_back(m.specificity), f1.push_back(m.f1);
    gm.push_back(m.gmean), iba.push_back(m.iba), sup.push_back(m.support);
  }
  py::dict d;
  d["confusion"] = to_numpy(cm);
  d["precision"] = pre, d["recall"] = rec, d["specificity"] = spe, d["f1"] = f1;
  d["gmean"] = gm, d["iba"] = iba, d["support"] = sup;
  d["acsa"] = metrics::acsa(cm);
  d["geometric_mean"] = metrics::geometric_mean(cm);
  return d;
}

/// A trained classifier held by Python: the network, its decision rule, and the model file's bytes
/// (train::save_model's format, the CLI's .rbm) so that pickling round-trips it exactly.
struct TrainedModel {
  std::shared_ptr<models::Classifier> model;
  std::shared_ptr<train::DecisionRule> decision;
  std::vector<std::string> class_names;
  std::vector<int64_t> input_shape;
  py::bytes file;
};

/// A private temporary path (mkstemp), removed when this goes out of scope.
struct TempPath {
  std::string path;
  TempPath() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rebalance-model-XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    REBALANCE_CHECK(fd >= 0, "cannot create a temporary file in {}", std::filesystem::temp_directory_path().string());
    close(fd);
    path = tmpl;
  }
  ~TempPath() { std::remove(path.c_str()); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TrainedModel model_from_file(const std::string& path) {
  auto loaded = train::load_model(path);
  TrainedModel t;
  t.model = loaded.model;
  t.decision = std::move(loaded.decision);
  t.class_names = loaded.class_names;
  t.input_shape = loaded.input_shape;
  t.file = py::bytes(read_bytes(path));
  return t;
}

/// Seed 004's joint training (joint::fit) on images x [N, C, H, W] with labels y [N] (codes): a
/// stratified validation share picks the epoch; returns the trained classifier and the phases.
py::tuple joint_fit(const py::array& x, const py::array& y, std::vector<std::string> class_names,
                    const std::string& joint_spec, const py::dict& options, double validation_fraction,
                    uint64_t seed) {
  at::Tensor xt = view_of(x, "X"), yt = view_of(y, "y");
  // Each keyword through its declaration (train/train_options.hpp): type and range checked there.
  train::TrainOptions o;
  for (const auto& [k, v] : options) {
    const auto key = k.cast<std::string>();
    const auto& p = train::train_param(key);
    REBALANCE_CHECK(p.python, "JointGANClassifier: {} is not one of its training options", key);
    nlohmann::json value;
    if (py::isinstance<py::bool_>(v)) value = v.cast<bool>();
    else if (py::isinstance<py::int_>(v)) value = v.cast<int64_t>();
    else if (py::isinstance<py::float_>(v)) value = v.cast<double>();
    else if (py::isinstance<py::str>(v)) value = v.cast<std::string>();
    else REBALANCE_THROW("JointGANClassifier: {} must be a string or a number, got {}", key,
                         py::str(py::type::of(v)).cast<std::string>());
    train::set_train_option(o, p, value, "JointGANClassifier");
  }
  o.seed = seed;
  o.progress = false;
  const auto jo = joint::parse_joint(joint_spec);
  TempPath file;
  std::vector<py::tuple> phases;
  {
    py::gil_scoped_release release;
    auto data = Dataset::from_tensors(xt, yt, std::move(class_names), "X");
    auto split = stratified_split(data, validation_fraction, 0.0, seed);
    std::ostringstream log;
    auto r = joint::fit(split.train, split.validation, o, jo, log);
    train::save_model(file.path, r.train, split.train);
    py::gil_scoped_acquire acquire;
    for (const auto& ph : r.phases) phases.push_back(py::make_tuple(ph.kind, ph.round, ph.steps, ph.loss, ph.seconds));
  }
  return py::make_tuple(model_from_file(file.path), phases);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "rebalance's compiled core: samplers and metrics of the C++ library (use the rebalance package)";
  configure_threads();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rebalance::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what_without_backtrace());
    }
  });
  m.def("samplers", [] {
    py::list l;
    for (const auto& info : sampler_registry()) l.append(declaration(info));
    return l;
  }, "Every sampler's declaration: name, imbalanced-learn class name, type, description, params.");
  m.def("fit_resample", &fit_resample, py::arg("spec"), py::arg("x"), py::arg("y"), py::arg("class_names"),
        py::arg("seed"));
  m.def("resolve_strategy", &resolve_strategy, py::arg("text"), py::arg("y"), py::arg("class_names"),
        py::arg("type"));
  m.def("class_metrics", &class_metrics, py::arg("y_true"), py::arg("y_pred"), py::arg("n_classes"));
  m.def("map_at_k", [](const py::array& y_true, const py::array& scores, int64_t k) {
    at::Tensor t = view_of(y_true, "y_true"), s = view_of(scores, "y_score");
    py::gil_scoped_release release;
    return metrics::map_at_k(t, s, k);
  }, py::arg("y_true"), py::arg("scores"), py::arg("k"));
  m.def("kneighbors", [](const py::array& base, const py::array& query, int64_t k) {
    at::Tensor b = view_of(base, "base"), q = view_of(query, "query");
    neighbors::KnnResult r;
    {
      py::gil_scoped_release release;
      r = neighbors::knn(b, q, k);
    }
    return py::make_tuple(to_numpy(r.indices), to_numpy(r.distances));
  }, py::arg("base"), py::arg("query"), py::arg("k"),
     "Exact k nearest rows of base for each query row (Euclidean; ties to the lower index): (indices, distances).");
  // `with _core.NeighbourCache() as c:` shares the exact neighbour searches of the samplers run
  // inside it on the same rows (neighbors/cache.hpp); AutoResampler opens one per search.
  struct NeighbourCache {
    std::unique_ptr<neighbors::KnnCache> cache;
    int64_t hits = 0, misses = 0;
  };
  py::class_<NeighbourCache>(m, "NeighbourCache", "Shares exact neighbour searches on the same rows while open.")
      .def(py::init<>())
      .def("__enter__", [](NeighbourCache& c) -> NeighbourCache& {
        if (c.cache) throw py::value_error("NeighbourCache is already open");
        c.cache = std::make_unique<neighbors::KnnCache>();
        return c;
      }, py::return_value_policy::reference)
      .def("__exit__", [](NeighbourCache& c, py::object, py::object, py::object) {
        if (c.cache) c.hits = c.cache->hits(), c.misses = c.cache->misses();
        c.cache.reset();
        return false;
      })
      .def_property_readonly("hits", [](const NeighbourCache& c) { return c.cache ? c.cache->hits() : c.hits; })
      .def_property_readonly("misses", [](const NeighbourCache& c) { return c.cache ? c.cache->misses() : c.misses; });
  py::class_<TrainedModel>(m, "TrainedModel", "A trained rebalance classifier (the CLI's .rbm model).")
      .def("logits", [](TrainedModel& t, const py::array& x) {
        at::Tensor xt = view_of(x, "X");
        at::Tensor out;
        {
          py::gil_scoped_release release;
          REBALANCE_CHECK(xt.dim() >= 2 && std::vector<int64_t>(xt.sizes().begin() + 1, xt.sizes().end()) == t.input_shape,
                          "X rows have shape {}, but the model was trained on rows of shape {}",
                          fmt::format("[{}]", fmt::join(xt.sizes().slice(1), ", ")), fmt::format("[{}]", fmt::join(t.input_shape, ", ")));
          out = train::predict_logits(*t.model, xt.to(torch::kFloat32));
        }
        return to_numpy(out);
      }, py::arg("x"), "Logits [N, C].")
      .def("predict", [](TrainedModel& t, const py::array& logits) {
        at::Tensor l = view_of(logits, "logits");
        return to_numpy(t.decision->predict(l.to(torch::kFloat32)).to(torch::kInt64));
      }, py::arg("logits"), "Class codes [N] by the model's decision rule.")
      .def_readonly("class_names", &TrainedModel::class_names)
      .def_readonly("input_shape", &TrainedModel::input_shape)
      .def("to_bytes", [](const TrainedModel& t) { return t.file; })
      .def_static("from_bytes", [](const py::bytes& b) {
        TempPath file;
        {
          std::ofstream out(file.path, std::ios::binary);
          const std::string s = b;
          out.write(s.data(), static_cast<std::streamsize>(s.size()));
        }
        return model_from_file(file.path);
      });
  m.def("train_options", [] {
    // The training options a Python class passes through (declared once: train/train_options.hpp).
    py::list l;
    for (const auto& p : train::train_params())
      if (p.python) l.append(py::make_tuple(p.key, train::train_option_default(p), p.help));
    return l;
  });
  m.def("joint_fit", &joint_fit, py::arg("x"), py::arg("y"), py::arg("class_names"), py::arg("joint_spec"),
        py::arg("options"), py::arg("validation_fraction"), py::arg("seed"));
  m.def("threads", [] { return torch::get_num_threads(); });
  m.def("set_trust_legacy_files", &set_trust_legacy_archives, py::arg("trust"),
        "Read model files written before rebalance 0.2 (torch archives, which run code when loaded).");
  m.def("augment", [](const std::string& spec, const py::array& x, uint64_t seed) {
    at::Tensor t = view_of(x, "X");
    at::Tensor out;
    {
      py::gil_scoped_release release;
      out = augment::make_augmentation(spec)->apply(t, seed);
    }
    return to_numpy(out);
  }, py::arg("spec"), py::arg("x"), py::arg("seed"));
  m.attr("__version__") = REBALANCE_PY_VERSION;
}
