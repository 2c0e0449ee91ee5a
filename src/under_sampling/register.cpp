// The under_sampling family's samplers, as the factory sees them: one declaration per method.
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

void add_under_samplers(std::vector<SamplerInfo>& out) { (void)out; }

}  // namespace rebalance
