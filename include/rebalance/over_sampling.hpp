// The over-sampling family in one include: random, SMOTE and its variants, ADASYN and the
// cluster-based over-samplers.
#pragma once

#include "rebalance/over_sampling/adasyn.hpp"
#include "rebalance/over_sampling/borderline_smote.hpp"
#include "rebalance/over_sampling/cluster_over_sampler.hpp"
#include "rebalance/over_sampling/kmeans_smote.hpp"
#include "rebalance/over_sampling/random_over_sampler.hpp"
#include "rebalance/over_sampling/smote.hpp"
#include "rebalance/over_sampling/smoten.hpp"
#include "rebalance/over_sampling/smotenc.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

/// The over-sampling samplers' declarations, appended to `out`
/// (src/experiment/registry.cpp assembles every family).
void add_over_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance
