// A single sampler's factory string read against its declaration: what make_sampler, the
// out-of-core runner and the generators' own readers all need before they build anything.
#pragma once

#include <cstdint>

#include "rebalance/core/spec.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

struct SamplerCall {
  Params params;               ///< the spec's arguments against sampler_params(info)
  uint64_t seed;               ///< the spec's seed=, else the caller's
  SamplingStrategy strategy;   ///< sampling_strategy, parsed
};

/// Read `spec` (already matched to `info`) as the sampler factory does: unknown parameters,
/// the seed and the strategy text refused with the same errors.
SamplerCall read_sampler_call(const Spec& spec, const SamplerInfo& info, uint64_t seed);

}  // namespace rebalance
