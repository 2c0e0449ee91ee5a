// Over-sampling followed by cleaning, as imbalanced-learn's combine module: SMOTETomek and
// SMOTEENN.
#pragma once

#include <memory>
#include <string>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

/// Over-sample, then clean the union (Batista et al., SIGKDD Explorations 2004). The over-sampler
/// takes this sampler's sampling_strategy; the cleaner runs on every class ("all"), so links or
/// noisy rows are removed from real and synthetic rows of both classes alike.
///
///   auto s = make_sampler("smote_tomek", 0);                       // SMOTE, then TomekLinks
///   auto e = make_sampler("smote_enn:enn=[enn:n_neighbors=5]", 0);  // SMOTE, then ENN(k=5)
class OverThenClean final : public Sampler {
 public:
  OverThenClean(std::string name, SamplingStrategy strategy, uint64_t seed, std::string over_spec,
                std::string clean_spec);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  std::unique_ptr<Sampler> over_, clean_;
};

/// The combined (over-sampling, then cleaning) samplers' declarations, appended to `out`
/// (src/experiment/registry.cpp assembles every family).
void add_combined_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance
