// Tomek links: pairs of rows of different classes that are each other's nearest neighbour, and
// the cleaning sampler that removes the targeted ends of them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Which rows lie in a Tomek link and belong to one of `classes`. Nearest neighbours exclude the
/// row itself and break distance ties by the lower row index (neighbors::knn_excluding_self).
///
/// Every link has an end outside the largest class, so only those rows are searched against all
/// rows, and then only the few partners they point at are searched back: a (N - N_major) x N search
/// instead of N x N, exact all the same.
///
/// @param x       [N, D] float32 CPU features
/// @param y       [N] labels
/// @param classes the classes whose rows may be marked
/// @return [N] bool, true for a marked row
at::Tensor tomek_links_mask(const at::Tensor& x, const std::vector<int64_t>& y, const std::vector<int64_t>& classes);

/// Removes the rows of the targeted classes that form a Tomek link: a pair (a, b) of different
/// classes with no row closer to a than b nor closer to b than a. Such pairs sit on the class
/// border or are noise, so removing them sharpens the border (Tomek, "Two modifications of CNN",
/// IEEE Trans. Systems, Man and Cybernetics, 1976). A cleaning method: sampling_strategy names the
/// classes that lose rows (default: all but the minority). Output rows keep their input order, as
/// imbalanced-learn's TomekLinks.
///
///   auto s = make_sampler("tomek_links");
///   Dataset cleaned = s->fit_resample(train);
///   auto removed = train.size() - cleaned.size();
class TomekLinks final : public Sampler {
 public:
  explicit TomekLinks(SamplingStrategy strategy = SamplingStrategy());

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
};

}  // namespace rebalance::under_sampling
