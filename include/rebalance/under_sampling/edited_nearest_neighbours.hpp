// Edited Nearest Neighbours: remove the rows their own neighbourhood disagrees with. The one
// editing pass here also drives RepeatedEditedNearestNeighbours, AllKNN and the cleaning rule.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <vector>

#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

/// One editing pass: the rows kept, in imbalanced-learn's order (class by class in class order,
/// each class's kept rows ascending; untargeted classes whole). A row of a targeted class is
/// kept when its k nearest neighbours (itself excluded, ties to the lower index) pass `kind`.
/// Only rows whose neighbourhood may be mixed get a full neighbour search
/// (neighbors::screen_neighbourhoods); the answer is the brute-force one.
///
/// @param x       [N, D] float32 CPU features
/// @param y       [N] labels
/// @param targets the classes that may lose rows (keys; counts ignored)
/// @param k       neighbours per row, 1 <= k <= N - 1 (refused otherwise, naming `sampler`)
std::vector<int64_t> edited_nearest_neighbours_keep(const at::Tensor& x, const std::vector<int64_t>& y,
                                                    const std::map<int64_t, int64_t>& targets, int64_t k,
                                                    KindSel kind, std::string_view sampler = "EditedNearestNeighbours");

/// Wilson's editing: a row of a targeted class is removed when its k nearest neighbours do not
/// agree with its class — any of them of another class (kind_sel=all) or their most common class
/// another one (kind_sel=mode). Removes noise and border rows (Wilson, "Asymptotic properties of
/// nearest neighbor rules using edited data", IEEE Trans. Systems, Man and Cybernetics, 1972).
/// A cleaning method; output order as imbalanced-learn: class by class.
///
///   auto s = make_sampler("enn:n_neighbors=3,kind_sel=all");
///   Dataset cleaned = s->fit_resample(train);
///   auto kept_rows = cleaned.origin;   // positions in train
class EditedNearestNeighbours final : public Sampler {
 public:
  explicit EditedNearestNeighbours(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 3,
                                   KindSel kind_sel = KindSel::All);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  KindSel kind_sel_;
};

}  // namespace rebalance::under_sampling
