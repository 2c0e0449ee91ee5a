#include "rebalance/sampling/strategy.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance {

const char* to_string(SamplingType type) {
  switch (type) {
    case SamplingType::Over: return "over-sampling";
    case SamplingType::Under: return "under-sampling";
    case SamplingType::Clean: return "clean-sampling";
  }
  return "?";
}

namespace {

std::string normalise(std::string s) {
  for (auto& c : s)
    if (c == '_' || c == '-') c = ' ';
  return s;
}

std::string strip(const std::string& s, char open, char close) {
  return s.size() >= 2 && s.front() == open && s.back() == close ? s.substr(1, s.size() - 2) : s;
}

}  // namespace

SamplingStrategy::SamplingStrategy(const std::string& raw) : text_(raw) {
  std::string t = raw;
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  const std::string n = normalise(t);
  if (n == "auto") kind_ = Kind::Auto;
  else if (n == "minority") kind_ = Kind::Minority;
  else if (n == "majority") kind_ = Kind::Majority;
  else if (n == "not minority") kind_ = Kind::NotMinority;
  else if (n == "not majority") kind_ = Kind::NotMajority;
  else if (n == "all") kind_ = Kind::All;
  else if (n.rfind("at least:", 0) == 0) {
    const auto v = parse_int(t.substr(9));  // the number as written: normalise turned '-' into ' '
    REBALANCE_CHECK(v && *v >= 1, "sampling_strategy \"{}\": at_least:N needs a whole number N >= 1", raw);
    kind_ = Kind::AtLeast;
    at_least_ = *v;
  } else if (auto v = parse_double(t)) {
    REBALANCE_CHECK(std::isfinite(*v) && *v > 0.0 && *v <= 1.0,
                    "sampling_strategy as a float must be in (0, 1], got {}", t);
    kind_ = Kind::Ratio;
    ratio_ = *v;
  } else if (!t.empty() && t.front() == '{') {
    kind_ = Kind::Counts;
    for (const auto& item : split_top_level(strip(t, '{', '}'), ',')) {
      if (item.empty()) continue;
      const auto colon = item.rfind(':');
      REBALANCE_CHECK(colon != std::string::npos, "sampling_strategy \"{}\": entry \"{}\" is not class:count", raw, item);
      std::string key = item.substr(0, colon);
      key.erase(0, key.find_first_not_of(" \t'\""));
      key.erase(key.find_last_not_of(" \t'\"") + 1);
      const auto count = parse_int(item.substr(colon + 1));
      REBALANCE_CHECK(count.has_value(), "sampling_strategy \"{}\": count of class \"{}\" is not an integer", raw, key);
      counts_.emplace_back(key, *count);
    }
    REBALANCE_CHECK(!counts_.empty(), "sampling_strategy \"{}\" names no class", raw);
  } else if (!t.empty() && t.front() == '[') {
    kind_ = Kind::Classes;
    for (auto item : split_top_level(strip(t, '[', ']'), ',')) {
      item.erase(0, item.find_first_not_of(" \t'\""));
      item.erase(item.find_last_not_of(" \t'\"") + 1);
      if (!item.empty()) classes_.push_back(item);
    }
    REBALANCE_CHECK(!classes_.empty(), "sampling_strategy \"{}\" names no class", raw);
  } else {
    REBALANCE_THROW("unknown sampling_strategy \"{}\" (expected auto, minority, majority, not minority, not majority, "
                    "all, a float in (0, 1], {{class: count}}, [class, ...] or at_least:N)", raw);
  }
}

std::map<int64_t, int64_t> SamplingStrategy::resolve(const Dataset& data, SamplingType type) const {
  return resolve(data.class_counts(), data.class_names, type);
}

std::map<int64_t, int64_t> SamplingStrategy::resolve(const std::vector<int64_t>& counts,
                                                     const std::vector<std::string>& class_names,
                                                     SamplingType type) const {
  REBALANCE_CHECK(counts.size() == class_names.size(), "SamplingStrategy::resolve: {} counts for {} class names",
                  counts.size(), class_names.size());
  const auto num_classes = static_cast<int64_t>(counts.size());
  std::vector<int64_t> present;
  for (int64_t c = 0; c < num_classes; ++c)
    if (counts[c] > 0) present.push_back(c);
  REBALANCE_CHECK(present.size() > 1, "The target 'y' needs to have more than 1 class. Got {} class instead{}",
                  present.size(),
                  present.size() == 1 ? fmt::format(" (only \"{}\", {} rows)", class_names[present[0]], counts[present[0]])
                                      : std::string());
  // First class with the largest / smallest count (lowest index on ties, as imbalanced-learn).
  int64_t majority = present[0], minority = present[0];
  for (auto c : present) {
    if (counts[c] > counts[majority]) majority = c;
    if (counts[c] < counts[minority]) minority = c;
  }
  const int64_t n_max = counts[majority], n_min = counts[minority];
  auto lookup = [&](const std::string& key) {
    for (int64_t c = 0; c < num_classes; ++c)
      if (class_names[c] == key) return c;
    if (auto v = parse_int(key); v && *v >= 0 && *v < num_classes) return *v;
    return int64_t(-1);
  };
  auto check_present = [&](const std::vector<std::string>& keys) {
    std::vector<std::string> missing;
    for (const auto& k : keys) {
      const auto c = lookup(k);
      if (c < 0 || counts[c] == 0) missing.push_back(k);
    }
    REBALANCE_CHECK(missing.empty(), "The {{{}}} target class is/are not present in the data (classes: {}).",
                    fmt::join(missing, ", "), fmt::join(class_names, ", "));
  };

  std::map<int64_t, int64_t> out;
  auto select = [&](auto keep) {
    for (auto c : present)
      if (keep(c)) out[c] = type == SamplingType::Over ? n_max - counts[c] : n_min;
  };
  switch (kind_) {
    case Kind::Auto:
      if (type == SamplingType::Over) select([&](int64_t c) { return c != majority; });
      else select([&](int64_t c) { return c != minority; });
      break;
    case Kind::Minority:
      REBALANCE_CHECK(type == SamplingType::Over,
                      "'sampling_strategy'='minority' cannot be used with under-sampler and clean-sampler.");
      select([&](int64_t c) { return c == minority; });
      break;
    case Kind::Majority:
      REBALANCE_CHECK(type != SamplingType::Over, "'sampling_strategy'='majority' cannot be used with over-sampler.");
      select([&](int64_t c) { return c == majority; });
      break;
    case Kind::NotMinority: select([&](int64_t c) { return c != minority; }); break;
    case Kind::NotMajority: select([&](int64_t c) { return c != majority; }); break;
    case Kind::All: select([](int64_t) { return true; }); break;
    case Kind::Ratio: {
      REBALANCE_CHECK(present.size() == 2,
                      "\"sampling_strategy\" can be a float only when the type of target is binary. For multi-class, "
                      "use a dict. (The data has {} classes.)", present.size());
      REBALANCE_CHECK(type != SamplingType::Clean, "'clean-sampling' methods do let the user specify the sampling ratio.");
      if (type == SamplingType::Over) {
        const auto add = static_cast<int64_t>(n_max * ratio_ - n_min);
        REBALANCE_CHECK(add > 0, "The specified ratio required to remove samples from the minority class while trying "
                        "to generate new samples. Please increase the ratio. (ratio {} of {} majority rows = {} < {} "
                        "minority rows)", ratio_, n_max, static_cast<int64_t>(n_max * ratio_), n_min);
        out[minority] = add;
      } else {
        const auto keep = static_cast<int64_t>(n_min / ratio_);
        REBALANCE_CHECK(keep <= n_max, "The specified ratio required to generate new sample in the majority class "
                        "while trying to remove samples. Please increase the ratio. ({} / {} = {} > {} majority rows)",
                        n_min, ratio_, keep, n_max);
        out[majority] = keep;
      }
      break;
    }
    case Kind::Counts: {
      REBALANCE_CHECK(type != SamplingType::Clean, "'sampling_strategy' as a dict for cleaning methods is not "
                      "supported. Please give a list of the classes to be targeted by the sampling.");
      std::vector<std::string> keys;
      for (const auto& [k, v] : counts_) keys.push_back(k);
      check_present(keys);
      for (const auto& [k, n] : counts_) {
        const auto c = lookup(k);
        REBALANCE_CHECK(n >= 0, "The number of samples in a class cannot be negative. 'sampling_strategy' contains "
                        "some negative value: {} for class \"{}\"", n, k);
        if (type == SamplingType::Over) {
          REBALANCE_CHECK(n >= counts[c], "With over-sampling methods, the number of samples in a class should be "
                          "greater or equal to the original number of samples. Originally, there is {} samples and {} "
                          "samples are asked (class \"{}\").", counts[c], n, class_names[c]);
          out[c] = n - counts[c];
        } else {
          REBALANCE_CHECK(n <= counts[c], "With under-sampling methods, the number of samples in a class should be "
                          "less or equal to the original number of samples. Originally, there is {} samples and {} "
                          "samples are asked (class \"{}\").", counts[c], n, class_names[c]);
          out[c] = n;
        }
      }
      break;
    }
    case Kind::AtLeast:
      REBALANCE_CHECK(type == SamplingType::Over, "'sampling_strategy'='{}' grows classes: it cannot be used with "
                      "under-sampler and clean-sampler.", text_);
      for (auto c : present)
        if (counts[c] < at_least_) out[c] = at_least_ - counts[c];
      break;
    case Kind::Classes: {
      REBALANCE_CHECK(type == SamplingType::Clean,
                      "'sampling_strategy' cannot be a list for samplers which are not cleaning methods.");
      check_present(classes_);
      for (const auto& k : classes_) out[lookup(k)] = n_min;
      break;
    }
  }
  return out;
}

}  // namespace rebalance
