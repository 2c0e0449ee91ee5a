#include "rebalance/under_sampling/one_sided_selection.hpp"

#include <torch/torch.h>

#include <set>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"
#include "rebalance/under_sampling/condensed_nearest_neighbour.hpp"
#include "rebalance/under_sampling/tomek_links.hpp"

namespace rebalance::under_sampling {

OneSidedSelection::OneSidedSelection(SamplingStrategy strategy, int64_t n_neighbors, int64_t n_seeds_S, uint64_t seed)
    : Sampler("oss", SamplingType::Clean, std::move(strategy), seed), n_neighbors_(n_neighbors), n_seeds_S_(n_seeds_S) {
  REBALANCE_CHECK(n_neighbors >= 1, "OneSidedSelection: n_neighbors must be at least 1, got {}", n_neighbors);
  REBALANCE_CHECK(n_seeds_S >= 1, "OneSidedSelection: n_seeds_S must be at least 1, got {}", n_seeds_S);
}

Dataset OneSidedSelection::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t k = n_neighbors_;
  const int64_t minority = first_minority_class(y, data.num_classes());
  const auto min_rows = class_rows(y, minority);
  const auto counts = data.class_counts();

  std::vector<int64_t> kept;  // imbalanced-learn's idx_under
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (counts[c] == 0) continue;
    const auto members = class_rows(y, c);
    if (!target.count(c)) {
      kept.insert(kept.end(), members.begin(), members.end());
      continue;
    }
    const int64_t n_c = static_cast<int64_t>(members.size());
    const auto seeds = draw_seed_positions(seed(), c, n_c, n_seeds_S_);
    std::vector<int64_t> store = min_rows;
    for (auto p : seeds) store.push_back(members[p]);
    REBALANCE_CHECK(k <= static_cast<int64_t>(store.size()),
                    "OneSidedSelection: n_neighbors={} but the store has only {} rows (the {} rows of minority class "
                    "\"{}\" and {} seed{} of class \"{}\")",
                    k, store.size(), min_rows.size(), data.class_names[minority], n_seeds_S_, n_seeds_S_ == 1 ? "" : "s",
                    data.class_names[c]);
    for (auto p : seeds) kept.push_back(members[p]);
    const std::set<int64_t> seed_set(seeds.begin(), seeds.end());
    std::vector<int64_t> rest;
    for (int64_t i = 0; i < n_c; ++i)
      if (!seed_set.count(i)) rest.push_back(members[i]);
    if (rest.empty()) continue;
    neighbors::KnnOptions o;
    o.backend = neighbors::Backend::Exact;
    const auto r = neighbors::knn(x.index_select(0, torch::tensor(store, torch::kInt64)),
                                  x.index_select(0, torch::tensor(rest, torch::kInt64)), k, o)
                       .indices.contiguous();
    const int64_t* rp = r.data_ptr<int64_t>();
    std::vector<int64_t> labels(k);
    for (size_t i = 0; i < rest.size(); ++i) {
      for (int64_t j = 0; j < k; ++j) labels[j] = y[store[rp[i * k + j]]];
      if (mode_label(labels.data(), k) != c) kept.push_back(rest[i]);
    }
  }

  std::vector<int64_t> classes, y_kept(kept.size());
  for (const auto& [c, n] : target) classes.push_back(c);
  for (size_t i = 0; i < kept.size(); ++i) y_kept[i] = y[kept[i]];
  const auto mask = tomek_links_mask(x.index_select(0, torch::tensor(kept, torch::kInt64)), y_kept, classes);
  const bool* m = mask.data_ptr<bool>();
  std::vector<int64_t> keep;
  for (size_t i = 0; i < kept.size(); ++i)
    if (!m[i]) keep.push_back(kept[i]);
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
