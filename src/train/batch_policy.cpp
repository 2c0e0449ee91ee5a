#include "rebalance/train/batch_policy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rebalance/core/error.hpp"

namespace rebalance::train {

namespace {

std::vector<std::vector<int64_t>> rows_by_class(const std::vector<int64_t>& labels, int64_t num_classes) {
  std::vector<std::vector<int64_t>> rows(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) rows[labels[i]].push_back(static_cast<int64_t>(i));
  return rows;
}

/// Split `total` in proportion to `weights`, largest remainders first (ties: lower class).
std::vector<int64_t> apportion(const std::vector<double>& weights, int64_t total) {
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<int64_t> out(weights.size());
  std::vector<std::pair<double, size_t>> rest;
  int64_t used = 0;
  for (size_t c = 0; c < weights.size(); ++c) {
    const double exact = sum > 0 ? total * weights[c] / sum : 0.0;
    out[c] = static_cast<int64_t>(std::floor(exact));
    used += out[c];
    rest.emplace_back(-(exact - out[c]), c);
  }
  std::sort(rest.begin(), rest.end());
  for (size_t i = 0; used < total && i < rest.size(); ++i, ++used) ++out[rest[i].second];
  return out;
}

/// Draw `k` rows of a class: without replacement while they last, then with replacement.
void draw(const std::vector<int64_t>& rows, int64_t k, Rng& rng, std::vector<int64_t>& out) {
  if (rows.empty() || k <= 0) return;
  const int64_t n = static_cast<int64_t>(rows.size());
  if (k <= n) {
    for (auto i : rng.choice_without_replacement(n, k)) out.push_back(rows[i]);
  } else {
    for (int64_t i = 0; i < k; ++i) out.push_back(rows[rng.uniform_int(n)]);
  }
}

void shuffle(std::vector<int64_t>& v, Rng& rng) {
  const auto perm = rng.permutation(static_cast<int64_t>(v.size()));
  std::vector<int64_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[perm[i]];
  v.swap(out);
}

class Uniform : public BatchPolicy {
 public:
  std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t, int64_t, Rng& rng) override {
    return rng.permutation(static_cast<int64_t>(labels.size()));
  }
};

/// Every batch holds (nearly) equal numbers of each class, drawn with replacement (seed 000's
/// approach 1); an epoch has as many batches as a uniform pass would. With real_share = R in
/// [0, 1], a draw from a class that holds both real and synthetic rows takes a real row with
/// probability R (seed 000's approach 2 draws every row of the class alike: R < 0).
class Balanced : public BatchPolicy {
 public:
  explicit Balanced(double real_share = -1) : real_share_(real_share) {}
  void set_synthetic(const std::vector<bool>& synthetic) override { synthetic_ = synthetic; }
  std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t num_classes, int64_t batch_size,
                                  Rng& rng) override {
    const auto rows = rows_by_class(labels, num_classes);
    // Each class's real and synthetic rows apart, where a share is asked for and both exist.
    std::vector<std::vector<int64_t>> real(num_classes), synth(num_classes);
    if (real_share_ >= 0 && synthetic_.size() == labels.size())
      for (int64_t c = 0; c < num_classes; ++c)
        for (const auto i : rows[c]) (synthetic_[i] ? synth[c] : real[c]).push_back(i);
    auto draw = [&](int64_t c) {
      if (!real[c].empty() && !synth[c].empty()) {
        const auto& from = rng.uniform() < real_share_ ? real[c] : synth[c];
        return from[rng.uniform_int(from.size())];
      }
      return rows[c][rng.uniform_int(rows[c].size())];
    };
    std::vector<int64_t> present;
    for (int64_t c = 0; c < num_classes; ++c)
      if (!rows[c].empty()) present.push_back(c);
    const int64_t n = static_cast<int64_t>(labels.size());
    const int64_t batches = (n + batch_size - 1) / batch_size;
    std::vector<int64_t> out;
    out.reserve(batches * batch_size);
    const int64_t k = static_cast<int64_t>(present.size());
    for (int64_t b = 0; b < batches; ++b) {
      std::vector<int64_t> batch;
      for (int64_t j = 0; j < k; ++j) {
        // batch_size / k each; the remainder goes to classes in a rotating order.
        const int64_t extra = ((j - b) % k + k) % k < batch_size % k ? 1 : 0;
        for (int64_t i = 0; i < batch_size / k + extra; ++i) batch.push_back(draw(present[j]));
      }
      shuffle(batch, rng);
      out.insert(out.end(), batch.begin(), batch.end());
    }
    return out;
  }
 private:
  double real_share_;
  std::vector<bool> synthetic_;
};

/// Square-root sampling: class c is drawn with probability proportional to sqrt(n_c) (Mahajan et
/// al., ECCV 2018), rows within a class uniformly; N draws per epoch.
class Sqrt : public BatchPolicy {
 public:
  std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t num_classes, int64_t, Rng& rng) override {
    const auto rows = rows_by_class(labels, num_classes);
    std::vector<double> w;
    for (const auto& r : rows) w.push_back(std::sqrt(static_cast<double>(r.size())));
    std::vector<int64_t> out;
    const auto counts = apportion(w, static_cast<int64_t>(labels.size()));
    for (int64_t c = 0; c < num_classes; ++c) draw(rows[c], counts[c], rng, out);
    shuffle(out, rng);
    return out;
  }
};

/// Class-aware sampling (Shen, Lin & Huang, ECCV 2016, "Relay Backpropagation"): each draw
/// first takes a class from a list of the classes present, walked in shuffled passes, then the
/// next row of that class from its own list, walked in shuffled passes; N draws per epoch. Every
/// class is visited equally often and, within a class, every row before any row twice.
class ClassAware : public BatchPolicy {
 public:
  std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t num_classes, int64_t, Rng& rng) override {
    const auto rows = rows_by_class(labels, num_classes);
    std::vector<int64_t> present;
    for (int64_t c = 0; c < num_classes; ++c)
      if (!rows[c].empty()) present.push_back(c);
    const int64_t n = static_cast<int64_t>(labels.size());
    if (present.empty()) return {};
    const auto classes = rng.cycled_permutations(static_cast<int64_t>(present.size()), n);
    std::vector<int64_t> per(present.size(), 0);
    for (const auto k : classes) ++per[k];
    // Each class's rows in shuffled passes, as many as its draws need.
    std::vector<std::vector<int64_t>> order(present.size());
    for (size_t k = 0; k < present.size(); ++k)
      order[k] = rng.cycled_permutations(static_cast<int64_t>(rows[present[k]].size()), per[k]);
    std::vector<int64_t> next(present.size(), 0), out;
    out.reserve(n);
    for (const auto k : classes) out.push_back(rows[present[k]][order[k][next[k]++]]);
    return out;
  }
};

class Dynamic : public BatchPolicy {
 public:
  explicit Dynamic(double floor) : floor_(floor) {}
  std::vector<int64_t> epoch_rows(const std::vector<int64_t>& labels, int64_t num_classes, int64_t, Rng& rng) override {
    if (f1_.empty()) return rng.permutation(static_cast<int64_t>(labels.size()));  // first epoch: every row once
    REBALANCE_CHECK(static_cast<int64_t>(f1_.size()) == num_classes, "dynamic sampling: {} F1 values for {} classes",
                    f1_.size(), num_classes);
    const auto rows = rows_by_class(labels, num_classes);
    const auto counts = dynamic_sample_counts(f1_, static_cast<int64_t>(labels.size()), floor_);
    std::vector<int64_t> out;
    for (int64_t c = 0; c < num_classes; ++c) draw(rows[c], counts[c], rng, out);
    shuffle(out, rng);
    return out;
  }
  void observe(const std::vector<double>& f1) override { f1_ = f1; }
  std::vector<double> state() const override { return f1_; }
  void set_state(const std::vector<double>& s) override { f1_ = s; }

 private:
  double floor_;
  std::vector<double> f1_;
};

}  // namespace

std::vector<int64_t> dynamic_sample_counts(const std::vector<double>& f1, int64_t total, double floor) {
  REBALANCE_CHECK(!f1.empty(), "dynamic sampling needs at least one class");
  std::vector<double> w;
  for (size_t c = 0; c < f1.size(); ++c) {
    REBALANCE_CHECK(f1[c] >= 0.0 && f1[c] <= 1.0, "dynamic sampling: F1 of class {} is {}, outside [0, 1]", c, f1[c]);
    w.push_back(1.0 - f1[c]);
  }
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  if (sum <= 0) std::fill(w.begin(), w.end(), 1.0);
  // Each class first gets floor / C; the rest is shared in proportion to 1 - F1.
  const double s = std::accumulate(w.begin(), w.end(), 0.0);
  const double equal = 1.0 / static_cast<double>(w.size());
  for (auto& v : w) v = floor * equal + (1.0 - floor) * v / s;
  return apportion(w, total);
}

const std::vector<BatchPolicyInfo>& batch_policy_registry() {
  static const std::vector<BatchPolicyInfo> list = {
      {"uniform", "every row once per epoch, shuffled", {}},
      {"balanced", "class-balanced batches drawn with replacement (approach 1 of Mishra's VAE post)",
       {{"real_share", "auto", "within a class holding real and synthetic rows, the share of draws from its real "
                               "rows; auto: every row of the class alike (approach 2 of Mishra's VAE post)"}}},
      {"sqrt", "square-root sampling: classes drawn in proportion to sqrt(n_c)", {}},
      {"class_aware", "class-aware sampling (Shen et al., ECCV 2016): a class from shuffled passes over the classes, "
                      "then the next row of its own shuffled passes",
       {}},
      {"dynamic", "F1-driven dynamic sampling (Pouyanfar et al. 2018): low-F1 classes oversampled",
       {{"floor", "0.0", "each class gets at least this fraction of an equal share"}}},
  };
  return list;
}

std::vector<MethodDoc> batch_policy_docs() {
  return registry_docs(batch_policy_registry());
}

std::unique_ptr<BatchPolicy> make_batch_policy(const std::string& text) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(batch_policy_registry(), spec, "batch policy");
  const Params p(spec, info->params, "batch policy");
  std::unique_ptr<BatchPolicy> policy;
  if (spec.name == "uniform") policy = std::make_unique<Uniform>();
  else if (spec.name == "balanced")
    policy = std::make_unique<Balanced>(p.get_string("real_share") == "auto" ? -1.0 : p.get_double_in("real_share", 0.0, 1.0));
  else if (spec.name == "sqrt") policy = std::make_unique<Sqrt>();
  else if (spec.name == "class_aware") policy = std::make_unique<ClassAware>();
  else policy = std::make_unique<Dynamic>(p.get_double_in("floor", 0.0, 1.0));
  policy->set_spec(text);
  return policy;
}

}  // namespace rebalance::train
