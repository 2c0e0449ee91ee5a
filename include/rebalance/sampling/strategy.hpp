// Sampling strategies with imbalanced-learn's meanings: which classes a sampler touches and how
// many rows each should end with, resolved once per fit into a map class -> count.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

/// over: adds rows; under: removes rows down to a count; clean: removes rows by a rule.
enum class SamplingType { Over, Under, Clean };

const char* to_string(SamplingType type);

/// One of: "auto", "minority", "majority", "not minority", "not majority", "all" (also with '_'
/// or '-' for the space); a float ratio (binary tasks only); "{class: count, ...}"; or
/// "[class, ...]" (cleaning samplers only); or "at_least:N" (over-samplers only: every class with
/// fewer than N rows grows to N, as seed 002 tops up each rare whale to 10 images). Classes are
/// given by name or number.
///
/// resolve() returns imbalanced-learn's sampling_strategy_ for the data:
///   over:  class -> number of rows to ADD;
///   under: class -> number of rows to KEEP;
///   clean: class -> (ignored count) for each class the rule may remove rows from.
/// Errors carry imbalanced-learn's wording, naming the classes and numbers.
class SamplingStrategy {
 public:
  SamplingStrategy() : SamplingStrategy(std::string("auto")) {}
  explicit SamplingStrategy(const std::string& text);

  std::map<int64_t, int64_t> resolve(const Dataset& data, SamplingType type) const;
  /// The same from class counts alone (indexed by class, names in class order): what the
  /// out-of-core samplers know after one pass over the labels.
  std::map<int64_t, int64_t> resolve(const std::vector<int64_t>& counts, const std::vector<std::string>& class_names,
                                     SamplingType type) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { Auto, Minority, Majority, NotMinority, NotMajority, All, Ratio, Counts, Classes, AtLeast };
  Kind kind_ = Kind::Auto;
  std::string text_;
  double ratio_ = 0.0;
  int64_t at_least_ = 0;
  std::vector<std::pair<std::string, int64_t>> counts_;  // class key (name or number) -> count
  std::vector<std::string> classes_;
};

}  // namespace rebalance
