#include "rebalance/data/imbalance.hpp"

#include <torch/torch.h>

#include <cmath>
#include <optional>
#include <string>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance {

namespace {

/// k random rows of class c (ascending row order), drawn from a stream of its own.
std::vector<int64_t> draw_class(const Dataset& data, int64_t c, int64_t k, const Rng& rng) {
  const auto idx = data.indices_of(c);
  const int64_t n = idx.size(0);
  if (k < 0) k = n;
  REBALANCE_CHECK(k <= n, "{}: class {} (\"{}\") has {} rows, cannot keep {}", data.name, c, data.class_names[c], n,
                  k);
  auto r = rng.fork(static_cast<uint64_t>(c));
  auto pick = r.choice_without_replacement(n, k);
  std::sort(pick.begin(), pick.end());
  auto acc = idx.accessor<int64_t, 1>();
  for (auto& p : pick) p = acc[p];
  return pick;
}

Dataset take(const Dataset& data, const std::vector<int64_t>& rows) {
  return data.subset(torch::tensor(rows, torch::kInt64));
}

}  // namespace

Dataset make_imbalance(const Dataset& data, const std::map<int64_t, int64_t>& counts, uint64_t seed) {
  for (const auto& [c, k] : counts) {
    REBALANCE_CHECK(c >= 0 && c < data.num_classes(), "{}: class {} does not exist (classes 0..{})", data.name, c,
                    data.num_classes() - 1);
    REBALANCE_CHECK(k >= 0, "{}: class {} (\"{}\"): count must be >= 0, got {}", data.name, c, data.class_names[c], k);
  }
  Rng rng(seed);
  std::vector<int64_t> rows;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto it = counts.find(c);
    const auto part = draw_class(data, c, it == counts.end() ? -1 : it->second, rng);
    rows.insert(rows.end(), part.begin(), part.end());
  }
  std::sort(rows.begin(), rows.end());
  return take(data, rows);
}

Dataset binary_groups(const Dataset& data, const std::vector<int64_t>& majority,
                      const std::vector<int64_t>& minority, const std::map<int64_t, int64_t>& per_class,
                      uint64_t seed) {
  REBALANCE_CHECK(!majority.empty() && !minority.empty(), "{}: both groups of a binary task need a class",
                  data.name);
  std::vector<int> group(data.num_classes(), -1);
  for (int g = 0; g < 2; ++g)
    for (auto c : g == 0 ? majority : minority) {
      REBALANCE_CHECK(c >= 0 && c < data.num_classes(), "{}: class {} does not exist (classes 0..{})", data.name, c,
                      data.num_classes() - 1);
      REBALANCE_CHECK(group[c] < 0, "{}: class {} (\"{}\") is named twice", data.name, c, data.class_names[c]);
      group[c] = g;
    }
  Rng rng(seed);
  std::vector<int64_t> rows;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (group[c] < 0) continue;
    const auto it = per_class.find(c);
    const auto part = draw_class(data, c, it == per_class.end() ? -1 : it->second, rng);
    rows.insert(rows.end(), part.begin(), part.end());
  }
  std::sort(rows.begin(), rows.end());
  Dataset d = take(data, rows);
  auto ya = d.y.accessor<int64_t, 1>();
  for (int64_t i = 0; i < d.size(); ++i) ya[i] = group[ya[i]];
  auto names = [&](const std::vector<int64_t>& cs) {
    std::string s;
    for (auto c : cs) s += (s.empty() ? "" : "+") + data.class_names[c];
    return s;
  };
  d.class_names = {names(majority), names(minority)};
  return d;
}

Dataset binary_pair(const Dataset& data, int64_t a, int64_t n_a, int64_t b, int64_t n_b, uint64_t seed) {
  REBALANCE_CHECK(a != b, "{}: a binary pair needs two different classes, got {} twice", data.name, a);
  return binary_groups(data, {a}, {b}, {{a, n_a}, {b, n_b}}, seed);
}

std::vector<int64_t> long_tail_counts(int64_t n_max, int64_t num_classes, double rho) {
  REBALANCE_CHECK(num_classes >= 2, "long-tail profile needs at least 2 classes, got {}", num_classes);
  REBALANCE_CHECK(rho >= 1.0 && std::isfinite(rho), "imbalance ratio rho must be >= 1, got {}", rho);
  REBALANCE_CHECK(n_max >= 1, "n_max must be >= 1, got {}", n_max);
  std::vector<int64_t> counts(num_classes);
  for (int64_t i = 0; i < num_classes; ++i)
    counts[i] = std::max<int64_t>(
        1, static_cast<int64_t>(n_max * std::pow(rho, -static_cast<double>(i) / (num_classes - 1)) + 1e-9));
  return counts;
}

std::vector<int64_t> step_counts(int64_t n_max, int64_t num_classes, double rho, double mu) {
  REBALANCE_CHECK(num_classes >= 2, "step profile needs at least 2 classes, got {}", num_classes);
  REBALANCE_CHECK(rho >= 1.0 && std::isfinite(rho), "imbalance ratio rho must be >= 1, got {}", rho);
  REBALANCE_CHECK(mu > 0.0 && mu < 1.0, "step profile: minority fraction mu must be in (0, 1), got {}", mu);
  const int64_t minority = std::clamp<int64_t>(std::llround(mu * num_classes), 1, num_classes - 1);
  std::vector<int64_t> counts(num_classes, n_max);
  for (int64_t i = num_classes - minority; i < num_classes; ++i)
    counts[i] = std::max<int64_t>(1, static_cast<int64_t>(n_max / rho + 1e-9));
  return counts;
}

Dataset apply_profile(const Dataset& data, const std::vector<int64_t>& counts, uint64_t seed) {
  REBALANCE_CHECK(static_cast<int64_t>(counts.size()) == data.num_classes(), "{}: profile has {} counts for {} classes",
                  data.name, counts.size(), data.num_classes());
  std::map<int64_t, int64_t> m;
  for (int64_t c = 0; c < data.num_classes(); ++c) m[c] = counts[c];
  return make_imbalance(data, m, seed);
}

Split stratified_split(const Dataset& data, double val_fraction, double test_fraction, uint64_t seed) {
  REBALANCE_CHECK(val_fraction >= 0.0 && test_fraction >= 0.0 && val_fraction + test_fraction < 1.0,
                  "split fractions must be >= 0 and sum below 1, got validation {} + test {}", val_fraction,
                  test_fraction);
  Rng rng(seed);
  std::vector<int64_t> parts[3];
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto idx = data.indices_of(c);
    const int64_t n = idx.size(0);
    if (n == 0) continue;
    int64_t n_test = std::llround(n * test_fraction);
    int64_t n_val = std::llround(n * val_fraction);
    while (n - n_test - n_val < 1) (n_test > 0 ? n_test : n_val)--;
    auto r = rng.fork(static_cast<uint64_t>(c));
    const auto perm = r.permutation(n);
    auto acc = idx.accessor<int64_t, 1>();
    for (int64_t i = 0; i < n; ++i) {
      const int part = i < n - n_test - n_val ? 0 : (i < n - n_test ? 1 : 2);
      parts[part].push_back(acc[perm[i]]);
    }
  }
  Split s;
  Dataset* out[3] = {&s.train, &s.validation, &s.test};
  for (int p = 0; p < 3; ++p) {
    auto order = rng.fork(streams::kSplitOrder + p).permutation(static_cast<int64_t>(parts[p].size()));
    std::vector<int64_t> rows;
    rows.reserve(order.size());
    for (auto o : order) rows.push_back(parts[p][o]);
    *out[p] = take(data, rows);
  }
  return s;
}

/// "A:N,B:M" -> [(A, N), (B, M)] with classes by name or number; N = "all" or -1 keeps every row.
std::vector<std::pair<int64_t, int64_t>> parse_class_counts(const std::string& text, const Dataset& d, const char* what) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& item : split_top_level(text, ',')) {
    const auto colon = item.rfind(':');
    REBALANCE_CHECK(colon != std::string::npos, "{} \"{}\": entry \"{}\" is not CLASS:COUNT", what, text, item);
    const auto cls = d.class_index(item.substr(0, colon));
    const auto count_text = item.substr(colon + 1);
    const auto n = count_text == "all" ? std::optional<int64_t>(-1) : parse_int(count_text);
    REBALANCE_CHECK(n && *n >= -1, "{} \"{}\": count \"{}\" is not a row count", what, text, count_text);
    out.emplace_back(cls, *n);
  }
  return out;
}


std::vector<int64_t> stratified_fold_ids(const Dataset& data, int64_t k, Rng& rng) {
  REBALANCE_CHECK(k >= 1, "stratified folds: k must be >= 1, got {}", k);
  std::vector<int64_t> fold(static_cast<size_t>(data.size()));
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto idx = data.indices_of(c).to(torch::kCPU).contiguous();
    const auto perm = rng.permutation(idx.size(0));
    for (size_t i = 0; i < perm.size(); ++i) fold[idx.data_ptr<int64_t>()[perm[i]]] = static_cast<int64_t>(i) % k;
  }
  return fold;
}

}  // namespace rebalance
