#include "rebalance/under_sampling/random_under_sampler.hpp"

#include "rebalance/core/rng.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

RandomUnderSampler::RandomUnderSampler(SamplingStrategy strategy, bool replacement, uint64_t seed)
    : Sampler("random_under", SamplingType::Under, std::move(strategy), seed), replacement_(replacement) {}

Dataset RandomUnderSampler::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto y = cpu_labels(data);
  std::vector<int64_t> keep;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto rows = class_rows(y, c);
    auto it = target.find(c);
    if (it == target.end()) {
      keep.insert(keep.end(), rows.begin(), rows.end());
      continue;
    }
    const int64_t n_c = static_cast<int64_t>(rows.size()), n_keep = it->second;
    Rng rng = Rng(seed()).fork(static_cast<uint64_t>(c));
    if (replacement_) {
      for (int64_t i = 0; i < n_keep; ++i) keep.push_back(rows[rng.uniform_int(static_cast<uint64_t>(n_c))]);
    } else {
      for (auto p : rng.choice_without_replacement(n_c, n_keep)) keep.push_back(rows[p]);
    }
  }
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
