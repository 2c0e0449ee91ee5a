#include "rebalance/core/tensor_archive.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"

namespace rebalance {

namespace {

constexpr std::string_view kMagic = "REBALANCE-TENSORS 1\n";
constexpr int64_t kMaxElements = int64_t(1) << 40;

std::atomic<bool> g_trust_legacy{false};

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return nullptr;
  }
}

std::optional<at::ScalarType> dtype_of(const std::string& name) {
  for (const auto t : {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kByte, at::kBool})
    if (name == dtype_name(t)) return t;
  return std::nullopt;
}

/// The key an optimiser's state map uses for a parameter: a string of its TensorImpl's address in
/// libtorch 1.x, the address itself in 2.x.
template <class Map>
typename Map::key_type state_key(const Map&, const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return reinterpret_cast<Key>(p.unsafeGetTensorImpl());
  }
}

std::string param_name(const std::string& prefix, size_t group, size_t i, const char* what) {
  return fmt::format("{}/{}/{}/{}", prefix, group, i, what);
}

}  // namespace

void TensorWriter::add(const std::string& name, const at::Tensor& t) {
  REBALANCE_CHECK(t.defined(), "tensor archive: \"{}\" is undefined", name);
  REBALANCE_CHECK(dtype_name(t.scalar_type()), "tensor archive: \"{}\" has unsupported dtype {}", name,
                  std::string(c10::toString(t.scalar_type())));
  REBALANCE_CHECK(tensors_.emplace(name, t.detach().to(torch::kCPU).contiguous()).second,
                  "tensor archive: \"{}\" written twice", name);
}

void TensorWriter::add_module(const std::string& prefix, const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters(true)) add(prefix + "/" + p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) add(prefix + "/" + b.key(), b.value());
}

void TensorWriter::add_optimizer(const std::string& prefix, torch::optim::Optimizer& o) {
  auto* adam = dynamic_cast<torch::optim::Adam*>(&o);
  auto* sgd = dynamic_cast<torch::optim::SGD*>(&o);
  REBALANCE_CHECK(adam || sgd, "tensor archive: only Adam and SGD optimisers are saved");
  auto& state = o.state();
  for (size_t g = 0; g < o.param_groups().size(); ++g) {
    auto& group = o.param_groups()[g];
    const double lr = adam ? static_cast<torch::optim::AdamOptions&>(group.options()).lr()
                           : static_cast<torch::optim::SGDOptions&>(group.options()).lr();
    add(fmt::format("{}/{}/lr", prefix, g), torch::tensor(lr, torch::kFloat64));
    for (size_t i = 0; i < group.params().size(); ++i) {
      const auto it = state.find(state_key(state, group.params()[i]));
      if (it == state.end()) continue;
      if (adam) {
        const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
        add(param_name(prefix, g, i, "step"), torch::tensor(static_cast<int64_t>(s.step()), torch::kInt64));
        add(param_name(prefix, g, i, "exp_avg"), s.exp_avg());
        add(param_name(prefix, g, i, "exp_avg_sq"), s.exp_avg_sq());
        if (s.max_exp_avg_sq().defined()) add(param_name(prefix, g, i, "max_exp_avg_sq"), s.max_exp_avg_sq());
      } else {
        const auto& s = static_cast<const torch::optim::SGDParamState&>(*it->second);
        if (s.momentum_buffer().defined()) add(param_name(prefix, g, i, "momentum_buffer"), s.momentum_buffer());
      }
    }
  }
}

std::string TensorWriter::bytes() const {
  nlohmann::json index = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    index[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}, {"offset", offset},
                   {"bytes", n}};
    offset += n;
  }
  std::string out = frame_header(kMagic, index);
  const size_t data_at = out.size();
  out.resize(data_at + offset);
  for (const auto& [name, t] : tensors_) {
    const auto& e = index[name];
    if (e["bytes"].get<size_t>() > 0)
      std::memcpy(out.data() + data_at + e["offset"].get<size_t>(), t.data_ptr(), e["bytes"].get<size_t>());
  }
  return out;
}

bool is_tensor_payload(std::string_view payload) { return payload.substr(0, kMagic.size()) == kMagic; }

TensorReader::TensorReader(std::string_view payload, std::string where) : where_(std::move(where)) {
  const std::string bytes(payload);
  const auto u = unframe(bytes, kMagic, "weights section", where_);
  const size_t data_at = u.payload_offset, data_size = bytes.size() - data_at;
  for (const auto& item : u.header.items()) {
    const std::string name = item.key();  // a plain name: clang 14's lambdas cannot capture bindings
    const auto& e = item.value();
    const auto bad = [&](const std::string& why) { REBALANCE_THROW("{}: corrupt weights: tensor \"{}\": {}", where_, name, why); };
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("offset") || !e.contains("bytes"))
      bad("its entry needs dtype, shape, offset and bytes");
    if (!e["dtype"].is_string()) bad("dtype is not a string");
    const auto dtype = dtype_of(e["dtype"].get<std::string>());
    if (!dtype) bad(fmt::format("unsupported dtype {}", e["dtype"].dump()));
    if (!e["shape"].is_array() || e["shape"].size() > 8) bad("shape is not a list of at most 8 sizes");
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) bad(fmt::format("size {} in the shape is not a whole number >= 0", d.dump()));
      const auto v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(kMaxElements)) bad(fmt::format("size {} is implausible", v));
      shape.push_back(static_cast<int64_t>(v));
      if (__builtin_mul_overflow(numel, shape.back(), &numel) || numel > kMaxElements)
        bad("the shape holds more than 2^40 elements");
    }
    if (!e["offset"].is_number_unsigned() || !e["bytes"].is_number_unsigned()) bad("offset or bytes is not a whole number");
    const auto offset = e["offset"].get<uint64_t>(), n = e["bytes"].get<uint64_t>();
    const size_t elem = c10::elementSize(*dtype);
    if (n != static_cast<uint64_t>(numel) * elem)
      bad(fmt::format("{} bytes, but shape [{}] of {} needs {}", n, fmt::join(shape, ", "), e["dtype"].get<std::string>(),
                      static_cast<uint64_t>(numel) * elem));
    if (offset > data_size || n > data_size - offset)
      bad(fmt::format("bytes {}..{} lie outside the file's {} bytes of data", offset, offset + n, data_size));
    auto t = torch::empty(shape, torch::TensorOptions().dtype(*dtype));
    if (n > 0) std::memcpy(t.data_ptr(), bytes.data() + data_at + offset, n);
    tensors_.emplace(name, std::move(t));
  }
}

at::Tensor TensorReader::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  REBALANCE_CHECK(it != tensors_.end(), "{}: the weights lack tensor \"{}\" (a file of another kind or version?)",
                  where_, name);
  return it->second;
}

void TensorReader::load_module(const std::string& prefix, torch::nn::Module& m) const {
  torch::NoGradGuard guard;
  size_t used = 0;
  const auto fill = [&](const std::string& key, at::Tensor& dst) {
    const auto src = get(prefix + "/" + key);
    REBALANCE_CHECK(src.sizes() == dst.sizes() && src.scalar_type() == dst.scalar_type(),
                    "{}: tensor \"{}/{}\" is [{}] {}, the network built from the file's header needs [{}] {}", where_,
                    prefix, key, fmt::join(src.sizes(), ", "), dtype_name(src.scalar_type()) ? dtype_name(src.scalar_type()) : "?",
                    fmt::join(dst.sizes(), ", "), dtype_name(dst.scalar_type()) ? dtype_name(dst.scalar_type()) : "?");
    dst.copy_(src);
    ++used;
  };
  for (auto& p : m.named_parameters(true)) fill(p.key(), p.value());
  for (auto& b : m.named_buffers(true)) fill(b.key(), b.value());
  size_t held = 0;
  for (const auto& [name, t] : tensors_)
    if (name.rfind(prefix + "/", 0) == 0 && name.find('/', prefix.size() + 1) == std::string::npos) ++held;
  REBALANCE_CHECK(held == used, "{}: the weights hold {} tensors under \"{}\", the network built from the file's header "
                  "has {}: the header and the weights disagree", where_, held, prefix, used);
}

void TensorReader::load_optimizer(const std::string& prefix, torch::optim::Optimizer& o) const {
  auto* adam = dynamic_cast<torch::optim::Adam*>(&o);
  auto* sgd = dynamic_cast<torch::optim::SGD*>(&o);
  REBALANCE_CHECK(adam || sgd, "tensor archive: only Adam and SGD optimisers are restored");
  auto& state = o.state();
  const auto like = [&](const std::string& name, const at::Tensor& p) {
    const auto t = get(name);
    REBALANCE_CHECK(t.sizes() == p.sizes() && t.scalar_type() == p.scalar_type(), "{}: optimiser tensor \"{}\" is [{}], "
                    "its parameter [{}]", where_, name, fmt::join(t.sizes(), ", "), fmt::join(p.sizes(), ", "));
    return t.to(p.device());
  };
  for (size_t g = 0; g < o.param_groups().size(); ++g) {
    auto& group = o.param_groups()[g];
    const auto lr = get(fmt::format("{}/{}/lr", prefix, g));
    REBALANCE_CHECK(lr.numel() == 1 && lr.scalar_type() == at::kDouble, "{}: corrupt learning rate of group {}", where_, g);
    if (adam)
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr.item<double>());
    else
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr.item<double>());
    for (size_t i = 0; i < group.params().size(); ++i) {
      const auto& p = group.params()[i];
      const auto key = state_key(state, p);
      if (adam) {
        if (!has(param_name(prefix, g, i, "step"))) continue;
        const auto step = get(param_name(prefix, g, i, "step"));
        REBALANCE_CHECK(step.numel() == 1 && step.scalar_type() == at::kLong && step.item<int64_t>() >= 0,
                        "{}: corrupt optimiser step of parameter {}", where_, i);
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(step.item<int64_t>());
        s->exp_avg(like(param_name(prefix, g, i, "exp_avg"), p));
        s->exp_avg_sq(like(param_name(prefix, g, i, "exp_avg_sq"), p));
        if (has(param_name(prefix, g, i, "max_exp_avg_sq")))
          s->max_exp_avg_sq(like(param_name(prefix, g, i, "max_exp_avg_sq"), p));
        state[key] = std::move(s);
      } else if (has(param_name(prefix, g, i, "momentum_buffer"))) {
        auto s = std::make_unique<torch::optim::SGDParamState>();
        s->momentum_buffer(like(param_name(prefix, g, i, "momentum_buffer"), p));
        state[key] = std::move(s);
      }
    }
  }
}

void set_trust_legacy_archives(bool trust) { g_trust_legacy = trust; }

void require_trusted_legacy(const std::string& where) {
  REBALANCE_CHECK(g_trust_legacy.load(), "{} holds a torch archive (rebalance's format before 0.2), and loading one "
                  "runs the code it contains. If you made this file yourself, pass --trust-legacy-files to read it "
                  "once, and save it again (newer files hold data only)", where);
}

}  // namespace rebalance
