// Condensed Nearest Neighbour: keep a subset of each targeted class that still classifies the
// class correctly with a nearest-neighbour rule.
#pragma once

#include "rebalance/sampling/sampler.hpp"

namespace rebalance::under_sampling {

/// Hart's condensing: start a store C with the minority class and n_seeds_S random rows of the
/// targeted class, then pass once over the class, adding every row the k-NN rule on C gets wrong
/// (Hart, "The condensed nearest neighbor rule", IEEE Trans. Information Theory, 1968). As
/// imbalanced-learn 0.10: after each addition the whole class is re-classified and the rows then
/// right are skipped for the rest of the pass; its skip list mixes row numbers with positions in
/// the class, and that quirk is kept so results match. The seeds are random (Rng, one stream per
/// class, shared with OneSidedSelection) and drawn with replacement; neighbour ties go to the row
/// that entered C first. A cleaning method; kept rows: the seeds, then the additions, class by class.
///
///   auto s = make_sampler("cnn:n_neighbors=1,n_seeds_S=1", /*seed=*/0);
///   Dataset condensed = s->fit_resample(train);
///   auto kept = condensed.origin;
class CondensedNearestNeighbour final : public Sampler {
 public:
  explicit CondensedNearestNeighbour(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 1,
                                     int64_t n_seeds_S = 1, uint64_t seed = 0);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  int64_t n_seeds_S_;
};

/// The n_seeds_S seed positions (0..n_c-1, with replacement) CNN and OSS draw for class c.
std::vector<int64_t> draw_seed_positions(uint64_t seed, int64_t c, int64_t n_c, int64_t n_seeds_S);

}  // namespace rebalance::under_sampling
