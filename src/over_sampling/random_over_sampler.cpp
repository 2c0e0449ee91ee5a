#include "rebalance/over_sampling/random_over_sampler.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance::over_sampling {

namespace {

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

double parse_factor(const std::string& text, const std::string& where) {
  const auto v = parse_double(trim(text));
  REBALANCE_CHECK(v.has_value(), "RandomOverSampler: shrinkage{} \"{}\" is not a number", where, trim(text));
  REBALANCE_CHECK(std::isfinite(*v) && *v >= 0.0, "RandomOverSampler: The shrinkage factor needs to be >= 0. Got {}{}.",
                  *v, where);
  return *v;
}

}  // namespace

RandomOverSamplerOptions RandomOverSamplerOptions::parse_shrinkage(const std::string& raw) {
  RandomOverSamplerOptions o;
  const std::string t = trim(raw);
  std::string lower;
  for (char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty() || lower == "none") return o;
  if (t.front() == '{') {
    REBALANCE_CHECK(t.back() == '}', "RandomOverSampler: shrinkage \"{}\" lacks its closing '}}'", t);
    for (const auto& item : split_top_level(t.substr(1, t.size() - 2), ',')) {
      if (trim(item).empty()) continue;
      const auto colon = item.rfind(':');
      REBALANCE_CHECK(colon != std::string::npos, "RandomOverSampler: shrinkage entry \"{}\" is not class:factor",
                      trim(item));
      std::string key = trim(item.substr(0, colon));
      key.erase(0, key.find_first_not_of("'\""));
      key.erase(key.find_last_not_of("'\"") + 1);
      o.class_shrinkage.emplace_back(key, parse_factor(item.substr(colon + 1), " for class " + key));
    }
    REBALANCE_CHECK(!o.class_shrinkage.empty(), "RandomOverSampler: shrinkage \"{}\" names no class", t);
    return o;
  }
  o.shrinkage = parse_factor(t, "");
  return o;
}

std::map<int64_t, double> RandomOverSamplerOptions::factors(const std::map<int64_t, int64_t>& target,
                                                           const std::vector<std::string>& class_names,
                                                           const std::string& data_name) const {
  std::map<int64_t, double> factor;
  if (!class_shrinkage.empty()) {
    const auto num_classes = static_cast<int64_t>(class_names.size());
    for (const auto& [key, f] : class_shrinkage) {
      int64_t c = -1;
      for (int64_t k = 0; k < num_classes && c < 0; ++k)
        if (class_names[k] == key) c = k;
      if (auto n = parse_int(key); c < 0 && n && *n >= 0 && *n < num_classes) c = *n;
      if (c < 0) {
        std::string known;
        for (int64_t k = 0; k < num_classes; ++k) known += fmt::format("{}{}={}", k ? ", " : "", k, class_names[k]);
        REBALANCE_THROW("{}: no class named \"{}\" (classes: {})", data_name, key, known);
      }
      factor[c] = f;
    }
    std::vector<std::string> missing;
    for (const auto& [c, n] : target)
      if (!factor.count(c)) missing.push_back(class_names[c]);
    REBALANCE_CHECK(missing.empty(),
                    "RandomOverSampler: `shrinkage` should contain a shrinkage factor for each class that will be "
                    "resampled. The missing classes are: {{{}}}",
                    fmt::join(missing, ", "));
  } else if (shrinkage) {
    for (const auto& [c, n] : target) factor[c] = *shrinkage;
  }
  return factor;
}

RandomOverSampler::RandomOverSampler(RandomOverSamplerOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("random_over", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  if (options_.shrinkage)
    REBALANCE_CHECK(std::isfinite(*options_.shrinkage) && *options_.shrinkage >= 0.0,
                    "RandomOverSampler: The shrinkage factor needs to be >= 0. Got {}.", *options_.shrinkage);
}

Dataset RandomOverSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  // Resolve the per-class factors first so a missing class is refused before any work.
  const auto factor = options_.factors(target, data.class_names, data.name);
  const at::Tensor x = detail::features(data);
  const int64_t n_rows = x.size(0), d = x.size(1);
  // imbalanced-learn's smoothing constant: Silverman-like rule over all N rows and D features.
  const double smoothing = std::pow(4.0 / ((d + 2.0) * n_rows), 1.0 / (d + 4.0));
  detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const int64_t n_c = rows.size(0);
    Rng rng = detail::class_rng(seed(), c);
    std::vector<int64_t> local(n);
    for (auto& i : local) i = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n_c)));
    auto drawn = detail::to_global(rows, local);
    std::vector<double> scale;
    if (factor.count(c) && factor.at(c) > 0.0) {
      const auto sigma = x.index_select(0, rows).to(torch::kFloat64).std(0, /*unbiased=*/false).contiguous();
      const double* ps = sigma.data_ptr<double>();
      for (int64_t j = 0; j < d; ++j) scale.push_back(factor.at(c) * smoothing * ps[j]);
    }
    out.add_copies(c, x.index_select(0, rows).contiguous(), std::move(local), std::move(scale), &rng, std::move(drawn));
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
