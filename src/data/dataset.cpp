#include "rebalance/data/dataset.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance {

Dataset Dataset::from_tensors(at::Tensor x, at::Tensor y, std::vector<std::string> class_names,
                              std::string name) {
  REBALANCE_CHECK(x.defined() && y.defined(), "{}: features and labels must be given", name);
  REBALANCE_CHECK(y.dim() == 1, "{}: labels must be a 1-D tensor, got {} dimensions", name, y.dim());
  Dataset d;
  d.name = std::move(name);
  // float32 and float64 features keep their dtype (samplers compute in it); others become float32.
  const auto t = x.scalar_type();
  d.x = t == torch::kFloat32 || t == torch::kFloat64 ? x : x.to(torch::kFloat32);
  d.y = y.scalar_type() == torch::kInt64 ? y : y.to(torch::kInt64);
  d.origin = torch::arange(y.size(0), torch::TensorOptions().dtype(torch::kInt64).device(y.device()));
  if (class_names.empty()) {
    const int64_t c = y.numel() ? d.y.max().item<int64_t>() + 1 : 0;
    for (int64_t i = 0; i < c; ++i) class_names.push_back(std::to_string(i));
  }
  d.class_names = std::move(class_names);
  d.validate();
  return d;
}

void Dataset::validate() const { validate_impl(-1); }

void Dataset::validate_new_rows() const { validate_impl(0); }

void Dataset::validate_impl(int64_t only_new) const {
  REBALANCE_CHECK(x.defined() && y.defined() && origin.defined(), "{}: dataset is incomplete", name);
  REBALANCE_CHECK(x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64,
                  "{}: features must be float32 or float64, got {}", name,
                  std::string(c10::toString(x.scalar_type())));
  REBALANCE_CHECK(y.scalar_type() == torch::kInt64, "{}: labels must be int64, got {}", name,
                  std::string(c10::toString(y.scalar_type())));
  REBALANCE_CHECK(x.dim() == 2 || x.dim() == 4,
                  "{}: features must be [N, D] or [N, C, H, W], got {} dimensions", name, x.dim());
  REBALANCE_CHECK(y.dim() == 1 && origin.dim() == 1, "{}: labels and origin must be 1-D", name);
  REBALANCE_CHECK(x.size(0) == y.size(0), "{}: {} feature rows but {} labels", name, x.size(0), y.size(0));
  REBALANCE_CHECK(origin.size(0) == y.size(0), "{}: {} origin entries but {} labels", name,
                  origin.size(0), y.size(0));
  if (parents.defined())
    REBALANCE_CHECK(parents.dim() == 2 && parents.size(0) == y.size(0) && parents.size(1) == 2,
                    "{}: parents must be [{}, 2], got [{}]", name, y.size(0), fmt::join(parents.sizes(), ", "));
  if (!feature_names.empty())
    REBALANCE_CHECK(static_cast<int64_t>(feature_names.size()) == num_features(),
                    "{}: {} feature names for {} features", name, feature_names.size(), num_features());
  if (y.numel() == 0) return;
  const auto yc = y.cpu();
  const int64_t lo = yc.min().item<int64_t>(), hi = yc.max().item<int64_t>();
  if (lo < 0 || hi >= num_classes()) {
    const auto bad = ((yc < 0) | (yc >= num_classes())).nonzero()[0][0].item<int64_t>();
    REBALANCE_THROW("{}: row {} has label {}, outside 0..{} ({} class names)", name, bad,
                    yc[bad].item<int64_t>(), num_classes() - 1, num_classes());
  }
  // Rows to check: all, or the new ones, which samplers append as one block at the end.
  at::Tensor rows;  // undefined: x2d() from row `first` on
  int64_t first = 0;
  if (only_new >= 0) {
    const auto is_new = (origin < 0).cpu();
    const int64_t n_new = is_new.sum().item<int64_t>();
    if (n_new == 0) return;
    first = y.size(0) - n_new;
    if (!is_new.slice(0, first).all().item<bool>()) {
      rows = is_new.nonzero().flatten().to(x.device());
      first = 0;
    }
  }
  const auto xs = rows.defined() ? x2d().index_select(0, rows) : x2d().slice(0, first);
  // One reduction, no temporaries: a finite sum means every value is finite (an overflowing sum
  // of finite values only costs the detailed search below, which then finds nothing).
  if (std::isfinite(xs.sum().item<double>())) return;
  const auto finite = torch::isfinite(xs);
  if (!finite.all().item<bool>()) {
    const auto pos = (~finite).nonzero()[0].cpu();
    const int64_t c = pos[1].item<int64_t>();
    const int64_t r = rows.defined() ? rows[pos[0].item<int64_t>()].item<int64_t>() : first + pos[0].item<int64_t>();
    REBALANCE_THROW("{}: row {}, feature {}{} is {}: features must be finite", name, r, c,
                    feature_names.empty() ? "" : " ('" + feature_names[c] + "')",
                    x2d()[r][c].item<double>());
  }
}

int64_t Dataset::size() const { return y.defined() ? y.size(0) : 0; }

int64_t Dataset::num_features() const {
  int64_t d = 1;
  for (int64_t i = 1; i < x.dim(); ++i) d *= x.size(i);
  return d;
}

std::vector<int64_t> Dataset::feature_shape() const {
  auto s = x.sizes().vec();
  s.erase(s.begin());
  return s;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(num_classes(), 0);
  if (size() == 0) return counts;
  const auto bc = torch::bincount(y.cpu(), {}, num_classes());
  const auto acc = bc.accessor<int64_t, 1>();
  for (int64_t c = 0; c < num_classes(); ++c) counts[c] = acc[c];
  return counts;
}

at::Tensor Dataset::indices_of(int64_t c) const {
  REBALANCE_CHECK(c >= 0 && c < num_classes(), "{}: class {} does not exist (classes 0..{})", name, c,
                  num_classes() - 1);
  return (y == c).nonzero().flatten();
}

int64_t Dataset::class_index(const std::string& key) const {
  for (int64_t c = 0; c < num_classes(); ++c)
    if (class_names[c] == key) return c;
  if (auto n = parse_int(key); n && *n >= 0 && *n < num_classes()) return *n;
  std::string known;
  for (int64_t c = 0; c < num_classes(); ++c)
    known += fmt::format("{}{}={}", c ? ", " : "", c, class_names[c]);
  REBALANCE_THROW("{}: no class named \"{}\" (classes: {})", name, key, known);
}

Dataset Dataset::subset(const at::Tensor& index) const {
  REBALANCE_CHECK(index.dim() == 1, "subset index must be 1-D");
  Dataset d = *this;
  const auto idx = index.to(x.device(), torch::kInt64);
  d.x = x.index_select(0, idx);
  d.y = y.index_select(0, idx);
  d.origin = origin.index_select(0, idx);
  if (parents.defined()) d.parents = parents.index_select(0, idx);
  return d;
}

Dataset Dataset::shuffled(uint64_t seed) const {
  Rng rng(seed);
  const auto perm = rng.permutation(size());
  return subset(torch::tensor(perm, torch::kInt64));
}

at::Tensor Dataset::x2d() const { return x.reshape({x.size(0), -1}); }

Dataset Dataset::concat(const Dataset& a, const Dataset& b) {
  REBALANCE_CHECK(a.class_names == b.class_names, "cannot concatenate {} and {}: class names differ",
                  a.name, b.name);
  REBALANCE_CHECK(a.feature_shape() == b.feature_shape(),
                  "cannot concatenate {} and {}: feature shapes differ", a.name, b.name);
  Dataset d = a;
  d.x = torch::cat({a.x, b.x.to(a.x.device())});
  d.y = torch::cat({a.y, b.y.to(a.y.device())});
  d.origin = torch::cat({a.origin, b.origin.to(a.origin.device())});
  if (a.parents.defined() || b.parents.defined())
    d.parents = torch::cat({a.parents_or_none(), b.parents_or_none().to(a.origin.device())});
  return d;
}

at::Tensor Dataset::parents_or_none() const {
  if (parents.defined()) return parents;
  return torch::full({size(), 2}, int64_t(-1), torch::TensorOptions().dtype(torch::kInt64).device(y.device()));
}

std::string format_counts(const std::vector<int64_t>& counts, const std::vector<std::string>& names) {
  std::string s = "{";
  for (size_t c = 0; c < counts.size(); ++c)
    s += fmt::format("{}{}: {}", c ? ", " : "", c < names.size() ? names[c] : std::to_string(c), counts[c]);
  return s + "}";
}

std::string Dataset::summary() const {
  return fmt::format("{}: {} rows, features [{}], {} classes {}", name, size(),
                     fmt::join(feature_shape(), ", "), num_classes(), format_counts(class_counts(), class_names));
}

}  // namespace rebalance
