// The combine family's samplers, as the factory sees them: one declaration per method.
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

void add_combined_samplers(std::vector<SamplerInfo>& out) { (void)out; }

}  // namespace rebalance
