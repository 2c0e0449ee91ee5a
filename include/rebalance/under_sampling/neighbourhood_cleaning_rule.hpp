// Neighbourhood Cleaning Rule: edit the targeted classes, and also clean the neighbourhoods of
// the minority rows their neighbours outvote.
#pragma once

#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

/// Removes the union of two sets (Laurikkala, "Improving identification of difficult small classes
/// by balancing class distribution", AIME 2001):
///   A1: rows EditedNearestNeighbours(kind_sel=mode) removes from the targeted classes;
///   A2: the k nearest neighbours of each minority row whose neighbourhood fails kind_sel, where
///       those neighbours belong to a targeted class holding more than threshold_cleaning * N rows.
/// kind_sel=all calls a minority row's neighbourhood good when every neighbour is of the minority
/// class. (imbalanced-learn 0.10 tests the neighbours' raw labels for truth there, which agrees
/// when the labels are {0: others, 1: minority} and not otherwise.) Output rows keep their order.
///
///   auto s = make_sampler("ncr:n_neighbors=3,threshold_cleaning=0.5");
///   Dataset cleaned = s->fit_resample(train);
///   auto kept = cleaned.origin;
class NeighbourhoodCleaningRule final : public Sampler {
 public:
  explicit NeighbourhoodCleaningRule(SamplingStrategy strategy = SamplingStrategy(), int64_t n_neighbors = 3,
                                     KindSel kind_sel = KindSel::All, double threshold_cleaning = 0.5);

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  int64_t n_neighbors_;
  KindSel kind_sel_;
  double threshold_cleaning_;
};

}  // namespace rebalance::under_sampling
