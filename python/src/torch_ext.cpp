// rebalance._torch: the library's deep-learning half for PyTorch users, built as a torch
// extension against the same libtorch as Python's torch, so a torch.Tensor crosses into rebalance
// without a copy (same storage) and autograd runs through rebalance's ops. Only conversion and
// argument checks live here; the formulas are the library's (losses, batch policies, decision
// rules, augmentations, generative samplers), the ones the CLI trainer uses. The PyTorch-shaped
// classes (nn.Module, Sampler, transforms) are the pure-Python layer in rebalance/torch/.
#include <torch/extension.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/augment/augment.hpp"
#include "rebalance/augment/augmentation_over_sampler.hpp"
#include "rebalance/sampling/strategy.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/m2m.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"
#include "rebalance/train/decouple.hpp"

namespace py = pybind11;
using namespace rebalance;

namespace {

/// torch's spelling of a dtype ("torch.float32", not "Float").
std::string torch_dtype(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return "torch.float32";
    case at::kDouble: return "torch.float64";
    case at::kHalf: return "torch.float16";
    case at::kBFloat16: return "torch.bfloat16";
    case at::kLong: return "torch.int64";
    case at::kInt: return "torch.int32";
    case at::kShort: return "torch.int16";
    case at::kChar: return "torch.int8";
    case at::kByte: return "torch.uint8";
    case at::kBool: return "torch.bool";
    default: return std::string("torch.") + c10::toString(t.scalar_type());
  }
}

py::list declarations(const std::vector<ParamDecl>& params) {
  py::list l;
  for (const auto& p : params) l.append(py::make_tuple(p.name, p.default_value, p.help));
  return l;
}

template <class Info>
py::list registry_list(const std::vector<Info>& infos) {
  py::list l;
  for (const auto& i : infos) l.append(py::make_tuple(i.name, i.description, declarations(i.params)));
  return l;
}

/// Class indices as a loss takes them: an integer tensor [B] on the logits' device, values in
/// 0..classes-1. Errors name the value (TypeError for a dtype, ValueError for the rest).
at::Tensor checked_targets(const at::Tensor& logits, const at::Tensor& target, int64_t classes, const std::string& who) {
  if (!at::isFloatingType(logits.scalar_type()))
    throw py::type_error(who + ": logits must be a floating-point tensor, got " + torch_dtype(logits));
  if (at::isFloatingType(target.scalar_type()) || at::isComplexType(target.scalar_type()) ||
      target.scalar_type() == at::kBool)
    throw py::type_error(who + ": targets must be an integer tensor of class indices, got " + torch_dtype(target) +
                         " (use target.long())");
  if (logits.dim() != 2)
    throw py::value_error(who + ": logits must be [batch, classes], got " + std::to_string(logits.dim()) + "-D");
  if (target.dim() != 1)
    throw py::value_error(who + ": targets must be [batch], got " + std::to_string(target.dim()) + "-D");
  if (logits.size(0) != target.size(0))
    throw py::value_error(who + ": logits have " + std::to_string(logits.size(0)) + " rows but targets " +
                          std::to_string(target.size(0)));
  if (logits.device() != target.device())
    throw py::value_error(who + ": logits are on " + logits.device().str() + " but targets on " +
                          target.device().str());
  if (logits.size(1) != classes)
    throw py::value_error(who + ": built for " + std::to_string(classes) + " classes, logits have " +
                          std::to_string(logits.size(1)));
  if (target.numel() > 0) {
    int64_t l = 0, h = 0;
    if (target.device().is_cpu() && target.scalar_type() == at::kLong && target.is_contiguous()) {
      // A batch's targets on the CPU: one pass over them, no tensor ops.
      const auto* p = target.data_ptr<int64_t>();
      l = h = p[0];
      for (int64_t i = 1; i < target.numel(); ++i) l = std::min(l, p[i]), h = std::max(h, p[i]);
    } else {
      const auto [lo, hi] = target.aminmax();
      l = lo.item<int64_t>(), h = hi.item<int64_t>();
    }
    if (l < 0 || h >= classes)
      throw py::value_error(who + ": target " + std::to_string(l < 0 ? l : h) + " is out of range for " +
                            std::to_string(classes) + " classes (0.." + std::to_string(classes - 1) + ")");
  }
  return target.scalar_type() == at::kLong ? target : target.to(at::kLong);
}

void check_counts(const std::vector<int64_t>& counts, const std::string& who) {
  if (counts.size() < 2)
    throw py::value_error(who + ": class_counts must name at least 2 classes, got " + std::to_string(counts.size()));
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] <= 0)
      throw py::value_error(who + ": class_counts[" + std::to_string(c) + "] is " + std::to_string(counts[c]) +
                            "; every class needs at least one training example");
}

/// Labels as the library's batch policies take them, with their errors.
std::vector<int64_t> label_vector(const at::Tensor& labels, int64_t num_classes) {
  if (at::isFloatingType(labels.scalar_type()) || labels.scalar_type() == at::kBool)
    throw py::type_error("targets must hold integer class indices, got " + torch_dtype(labels));
  if (labels.dim() != 1) throw py::value_error("targets must be 1-D, got " + std::to_string(labels.dim()) + "-D");
  const auto t = labels.to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<int64_t> v(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < 0 || v[i] >= num_classes)
      throw py::value_error("target " + std::to_string(v[i]) + " (index " + std::to_string(i) + ") is out of range for " +
                            std::to_string(num_classes) + " classes (0.." + std::to_string(num_classes - 1) + ")");
  return v;
}

/// A generative sampler kept after fit_resample, with the data it saw, so that more rows of a
/// class come from the trained networks and those networks can be traced.
class Generator {
 public:
  Generator(const std::string& spec, uint64_t seed) : sampler_(make_sampler(spec, seed)), spec_(spec) {
    fitted_ = dynamic_cast<generative::FittedGenerator*>(sampler_.get());
    // DeepSMOTE and M2m make their rows from the training rows (codes interpolated between
    // neighbours; majority rows moved by gradient steps): fit_resample only.
    const bool from_rows = dynamic_cast<generative::DeepSMOTEOverSampler*>(sampler_.get()) ||
                           dynamic_cast<joint::M2mOverSampler*>(sampler_.get());
    if (!fitted_ && !from_rows)
      throw py::value_error("\"" + spec + "\" is not a generative sampler (vae, mgvae, deepsmote, m2m, cyclegan or "
                            "stargan)");
  }
  py::tuple fit_resample(const at::Tensor& x, const at::Tensor& y, int64_t num_classes) {
    Dataset out;
    {
      py::gil_scoped_release release;
      data_ = Dataset();
      data_.name = "x";
      data_.x = x;
      data_.y = y;
      data_.origin = torch::arange(y.size(0), torch::TensorOptions().dtype(torch::kInt64));
      for (int64_t c = 0; c < num_classes; ++c) data_.class_names.push_back(std::to_string(c));
      out = sampler_->fit_resample(data_);
      if (out.x.is_alias_of(x)) out.x = out.x.clone();
      if (out.y.is_alias_of(y)) out.y = out.y.clone();
    }
    return py::make_tuple(out.x, out.y, out.origin, out.parents_or_none());
  }
  /// Whether more rows of a class and the networks behind them exist after fit_resample.
  bool has_networks() const { return fitted_ != nullptr; }
  py::tuple sample(int64_t cls, int64_t n, uint64_t draw) {
    if (!data_.x.defined()) throw py::value_error("call fit or fit_resample before sample");
    networks();
    if (n < 0) throw py::value_error("n must be >= 0, got " + std::to_string(n));
    std::vector<int64_t> parents;
    at::Tensor rows;
    {
      py::gil_scoped_release release;
      rows = fitted_->sample_class(data_, cls, n, draw, &parents);
    }
    return py::make_tuple(rows, torch::tensor(parents, torch::kInt64));
  }
  std::vector<int64_t> fitted_classes() const { return networks().fitted_classes(); }
  at::Tensor network(int64_t cls, const at::Tensor& input) { return networks().network(cls, input); }
  int64_t network_latent(int64_t cls) const { return networks().network_latent(cls); }
  std::vector<at::Tensor> network_tensors(int64_t cls) const { return networks().network_tensors(cls); }
  void set_trainable(bool on) { networks().set_trainable(on); }
  std::map<int64_t, int64_t> strategy() const { return sampler_->resolved_strategy(); }

 private:
  generative::FittedGenerator& networks() const {
    if (!fitted_)
      throw py::value_error("\"" + spec_ + "\" makes its rows from the training rows (DeepSMOTE: codes interpolated "
                            "between neighbours of a class; M2m: majority rows moved by gradient steps), so it keeps no "
                            "network that draws rows of a class on its own: use fit_resample");
    return *fitted_;
  }
  std::unique_ptr<Sampler> sampler_;
  std::string spec_;
  generative::FittedGenerator* fitted_ = nullptr;
  Dataset data_;
};

}  // namespace

PYBIND11_MODULE(_torch, m) {
  m.doc() = "rebalance's losses, batch policies, decision rules, augmentations and generators on torch tensors";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rebalance::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.attr("TORCH_VERSION") = TORCH_VERSION;
  m.def("data_ptr", [](const at::Tensor& t) { return reinterpret_cast<std::uintptr_t>(t.data_ptr()); },
        "The address of the tensor's data as the C++ side sees it (zero-copy checks).");

  // ---- losses ----
  m.def("losses", [] { return registry_list(losses::loss_registry()); });
  py::class_<losses::Loss, std::shared_ptr<losses::Loss>>(m, "Loss")
      .def("forward", [](losses::Loss& l, const at::Tensor& logits, const at::Tensor& target) {
        const auto t = checked_targets(logits, target, static_cast<int64_t>(l.classes()), "loss \"" + l.spec() + "\"");
        return l.forward(logits, t);
      }, py::arg("logits"), py::arg("target"))
      .def("per_sample", [](losses::Loss& l, const at::Tensor& logits, const at::Tensor& target) {
        const auto t = checked_targets(logits, target, static_cast<int64_t>(l.classes()), "loss \"" + l.spec() + "\"");
        return l.per_sample(logits, t);
      }, py::arg("logits"), py::arg("target"))
      .def("set_epoch", &losses::Loss::set_epoch, py::arg("epoch"))
      .def("class_weights", &losses::Loss::class_weights)
      .def_property_readonly("spec", &losses::Loss::spec);
  m.def("make_loss", [](const std::string& spec, const std::vector<int64_t>& counts) {
    check_counts(counts, "loss \"" + spec + "\"");
    return std::shared_ptr<losses::Loss>(losses::make_loss(spec, counts));
  }, py::arg("spec"), py::arg("class_counts"));

  // ---- batch policies ----
  m.def("batch_policies", [] { return registry_list(train::batch_policy_registry()); });
  m.def("epoch_rows", [](const std::string& spec, const at::Tensor& labels, int64_t num_classes, int64_t batch_size,
                         uint64_t seed, int64_t epoch, const std::vector<double>& state) {
    const auto y = label_vector(labels, num_classes);
    std::vector<int64_t> rows;
    {
      py::gil_scoped_release release;
      auto policy = train::make_batch_policy(spec);
      if (!state.empty()) policy->set_state(state);
      // The CLI trainer's stream for the epoch's order: the same seed gives the same rows.
      Rng rng = Rng(seed).fork(streams::kEpochOrder + static_cast<uint64_t>(epoch));
      rows = policy->epoch_rows(y, num_classes, batch_size, rng);
    }
    return torch::tensor(rows, torch::kInt64);
  }, py::arg("spec"), py::arg("labels"), py::arg("num_classes"), py::arg("batch_size"), py::arg("seed"),
     py::arg("epoch"), py::arg("state"));
  m.def("dynamic_sample_counts", &train::dynamic_sample_counts, py::arg("f1"), py::arg("total"), py::arg("floor"));

  // ---- decision rules ----
  m.def("decisions", [] { return registry_list(train::decision_registry()); });
  py::class_<train::DecisionRule, std::shared_ptr<train::DecisionRule>>(m, "DecisionRule")
      .def("fit", [](train::DecisionRule& d, const at::Tensor& logits, const at::Tensor& labels,
                     const std::vector<int64_t>& counts) {
        const auto t = checked_targets(logits, labels, logits.dim() == 2 ? logits.size(1) : 0,
                                       "decision rule \"" + d.spec() + "\"");
        d.fit(logits.detach().to(torch::kCPU, torch::kFloat32), t.to(torch::kCPU), counts);
      }, py::arg("logits"), py::arg("labels"), py::arg("class_counts"))
      .def("predict", [](const train::DecisionRule& d, const at::Tensor& logits) {
        if (!at::isFloatingType(logits.scalar_type()) || logits.dim() != 2)
          throw py::type_error("logits must be a floating-point tensor [N, C], got " + torch_dtype(logits) + " " +
                               std::to_string(logits.dim()) + "-D");
        return d.predict(logits.detach());
      }, py::arg("logits"))
      .def("adjust", [](const train::DecisionRule& d, const at::Tensor& logits) {
        if (!at::isFloatingType(logits.scalar_type()) || logits.dim() != 2)
          throw py::type_error("logits must be a floating-point tensor [N, C], got " + torch_dtype(logits) + " " +
                               std::to_string(logits.dim()) + "-D");
        return d.adjust(logits);
      }, py::arg("logits"))
      .def("state", &train::DecisionRule::state)
      .def("set_state", &train::DecisionRule::set_state, py::arg("state"))
      .def_property_readonly("spec", &train::DecisionRule::spec);
  m.def("make_decision_rule", [](const std::string& spec) {
    return std::shared_ptr<train::DecisionRule>(train::make_decision_rule(spec));
  }, py::arg("spec"));

  // ---- augmentations ----
  m.def("augmentations", [] { return registry_list(augment::op_registry()); });
  py::class_<augment::Augmentation, std::shared_ptr<augment::Augmentation>>(m, "Augmentation")
      .def("apply", [](const augment::Augmentation& a, const at::Tensor& x, uint64_t seed) {
        py::gil_scoped_release release;
        return a.apply(x, seed);
      }, py::arg("x"), py::arg("seed"))
      .def("apply_alternative", [](const augment::Augmentation& a, int64_t k, const at::Tensor& x, uint64_t seed) {
        if (k < 0 || k >= a.alternatives())
          throw py::value_error("alternative " + std::to_string(k) + " of " + std::to_string(a.alternatives()));
        py::gil_scoped_release release;
        Rng rng(seed);
        return a.apply_alternative(k, x, rng);
      }, py::arg("k"), py::arg("x"), py::arg("seed"))
      .def_property_readonly("alternatives", &augment::Augmentation::alternatives)
      .def_property_readonly("spec", &augment::Augmentation::spec);
  m.def("make_augmentation", [](const std::string& spec) {
    return std::shared_ptr<augment::Augmentation>(augment::make_augmentation(spec));
  }, py::arg("spec"));

  // ---- decoupled training ----
  m.def("tau_normalized", [](const at::Tensor& weight, double tau) {
    if (!at::isFloatingType(weight.scalar_type()) || weight.dim() != 2)
      throw py::type_error("weight must be a floating-point tensor [C, F], got " + torch_dtype(weight) + " " +
                           std::to_string(weight.dim()) + "-D");
    return train::tau_normalized(weight, tau);
  }, py::arg("weight"), py::arg("tau"));
  m.def("choose_tau", [](const at::Tensor& features, const at::Tensor& weight, const at::Tensor& labels) {
    if (!at::isFloatingType(weight.scalar_type()) || weight.dim() != 2)
      throw py::type_error("choose_tau: the head's weight must be a floating-point tensor [C, F], got " +
                           torch_dtype(weight) + " " + std::to_string(weight.dim()) + "-D");
    if (features.dim() != 2 || features.size(1) != weight.size(1))
      throw py::value_error("choose_tau: features must be [N, " + std::to_string(weight.size(1)) +
                            "] (the head's inputs), got " + std::to_string(features.dim()) + "-D of width " +
                            std::to_string(features.dim() == 2 ? features.size(1) : 0));
    // The targets checked as those of the head's scores [N, C] (their shape only).
    const auto t =
        checked_targets(features.new_empty({features.size(0), weight.size(0)}), labels, weight.size(0), "choose_tau")
            .to(torch::kCPU);
    if (t.numel() == 0) throw py::value_error("choose_tau: tau is chosen on held-out rows, and none were given");
    py::gil_scoped_release release;
    const auto f = features.detach().to(torch::kCPU, torch::kFloat32);
    const auto w = weight.detach().to(torch::kCPU, torch::kFloat32);
    return train::best_balanced_accuracy_value(
        [&](double tau) { return torch::matmul(f, train::tau_normalized(w, tau).t()).argmax(1); }, t, w.size(0));
  }, py::arg("features"), py::arg("weight"), py::arg("labels"));
  m.def("cosine_logits", [](const at::Tensor& features, const at::Tensor& weight) {
    if (!at::isFloatingType(features.scalar_type()) || features.dim() != 2 || !at::isFloatingType(weight.scalar_type()) ||
        weight.dim() != 2)
      throw py::type_error("cosine_logits needs floating-point features [B, F] and weight [C, F], got " +
                           torch_dtype(features) + " " + std::to_string(features.dim()) + "-D and " +
                           torch_dtype(weight) + " " + std::to_string(weight.dim()) + "-D");
    if (features.size(1) != weight.size(1))
      throw py::value_error("cosine_logits: features have " + std::to_string(features.size(1)) +
                            " columns but the weight's rows " + std::to_string(weight.size(1)));
    return models::cosine_logits(features, weight);
  }, py::arg("features"), py::arg("weight"));
  m.def("project_max_norm_", [](at::Tensor weight, double radius) {
    if (!at::isFloatingType(weight.scalar_type()) || weight.dim() != 2)
      throw py::type_error("weight must be a floating-point tensor [C, F], got " + torch_dtype(weight) + " " +
                           std::to_string(weight.dim()) + "-D");
    train::project_max_norm_(weight, radius);
  }, py::arg("weight"), py::arg("radius"));

  // ---- mixing ----
  m.def("mixes", [] { return registry_list(mix::mix_registry()); });
  py::class_<mix::Mix, std::shared_ptr<mix::Mix>>(m, "Mix")
      .def("set_training_set", [](mix::Mix& mx, std::optional<at::Tensor> x, const at::Tensor& labels,
                                  int64_t num_classes) {
        const auto t = checked_targets(torch::empty({labels.dim() == 1 ? labels.size(0) : 0, num_classes},
                                                    torch::TensorOptions().device(labels.device())), labels,
                                       num_classes, "mix \"" + mx.spec() + "\"");
        const auto l = t.to(torch::kCPU).contiguous();
        mx.set_training_set(x ? x->detach() : at::Tensor(),
                            std::vector<int64_t>(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel()), num_classes);
      }, py::arg("x"), py::arg("labels"), py::arg("num_classes"))
      .def("apply", [](const mix::Mix& mx, const at::Tensor& x, const at::Tensor& y, int64_t epoch, int64_t epochs,
                       uint64_t seed) {
        mix::MixedBatch b;
        {
          py::gil_scoped_release release;
          Rng rng(seed);
          b = mx.apply(x, y, epoch, epochs, rng);
        }
        return py::make_tuple(b.x, b.y_a, b.y_b, b.lam, b.ratio, b.mixed, b.per_row);
      }, py::arg("x"), py::arg("y"), py::arg("epoch"), py::arg("epochs"), py::arg("seed"))
      .def("active", &mix::Mix::active, py::arg("epoch"), py::arg("epochs"))
      .def_property_readonly("needs_images", &mix::Mix::needs_images)
      .def_property_readonly("probability", &mix::Mix::probability)
      .def_property_readonly("start", &mix::Mix::start_epoch)
      .def_property_readonly("end", &mix::Mix::end_epochs)
      .def_property_readonly("class_counts", &mix::Mix::class_counts)
      .def_property_readonly("spec", &mix::Mix::spec);
  m.def("make_mix", [](const std::string& spec) { return std::shared_ptr<mix::Mix>(mix::make_mix(spec)); },
        py::arg("spec"));

  m.def("copy_plan", [](int64_t class_rows, int64_t add, int64_t alternatives, uint64_t seed, int64_t cls) {
    const auto plan = augment::copy_plan(class_rows, add, alternatives, seed, cls);
    return py::make_tuple(plan.source, plan.alternative);
  }, py::arg("class_rows"), py::arg("add"), py::arg("alternatives"), py::arg("seed"), py::arg("cls"));
  m.def("resolve_strategy", [](const std::string& text, const at::Tensor& labels, int64_t num_classes,
                               const std::string& type) {
    // imbalanced-learn's sampling_strategy_ (class -> rows to add or keep) for labels 0..C-1.
    const auto y = torch::tensor(label_vector(labels, num_classes), torch::kInt64);
    std::vector<std::string> names;
    for (int64_t c = 0; c < num_classes; ++c) names.push_back(std::to_string(c));
    auto data = Dataset::from_tensors(torch::zeros({y.size(0), 1}), y, std::move(names), "targets");
    return SamplingStrategy(text).resolve(data, type == "over-sampling" ? SamplingType::Over : SamplingType::Under);
  }, py::arg("text"), py::arg("labels"), py::arg("num_classes"), py::arg("type"));

  // ---- generators ----
  py::class_<Generator>(m, "Generator")
      .def(py::init<const std::string&, uint64_t>(), py::arg("spec"), py::arg("seed"))
      .def("fit_resample", &Generator::fit_resample, py::arg("x"), py::arg("y"), py::arg("num_classes"))
      .def("sample", &Generator::sample, py::arg("cls"), py::arg("n"), py::arg("draw"))
      .def("fitted_classes", &Generator::fitted_classes)
      .def("network", &Generator::network, py::arg("cls"), py::arg("input"))
      .def("network_latent", &Generator::network_latent, py::arg("cls"))
      .def("network_tensors", &Generator::network_tensors, py::arg("cls"))
      .def("set_trainable", &Generator::set_trainable, py::arg("on"))
      .def("strategy", &Generator::strategy)
      .def("has_networks", &Generator::has_networks);
}
