// The under-sampling and cleaning family in one include: samplers that remove rows (or, for
// ClusterCentroids, replace a class by its cluster centres), as imbalanced-learn's under_sampling.
#pragma once

#include "rebalance/under_sampling/all_knn.hpp"
#include "rebalance/under_sampling/cluster_centroids.hpp"
#include "rebalance/under_sampling/common.hpp"
#include "rebalance/under_sampling/condensed_nearest_neighbour.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"
#include "rebalance/under_sampling/near_miss.hpp"
#include "rebalance/under_sampling/neighbourhood_cleaning_rule.hpp"
#include "rebalance/under_sampling/one_sided_selection.hpp"
#include "rebalance/under_sampling/random_under_sampler.hpp"
#include "rebalance/under_sampling/repeated_edited_nearest_neighbours.hpp"
#include "rebalance/under_sampling/tomek_links.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

/// The under-sampling and cleaning samplers' declarations, appended to `out`
/// (src/experiment/registry.cpp assembles every family).
void add_under_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance
