#include "rebalance/under_sampling/condensed_nearest_neighbour.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <unordered_set>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

std::vector<int64_t> draw_seed_positions(uint64_t seed, int64_t c, int64_t n_c, int64_t n_seeds_S) {
  Rng rng = Rng(seed).fork(static_cast<uint64_t>(c));
  std::vector<int64_t> out(n_seeds_S);
  for (auto& p : out) p = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n_c)));
  return out;
}

CondensedNearestNeighbour::CondensedNearestNeighbour(SamplingStrategy strategy, int64_t n_neighbors, int64_t n_seeds_S,
                                                     uint64_t seed)
    : Sampler("cnn", SamplingType::Clean, std::move(strategy), seed), n_neighbors_(n_neighbors), n_seeds_S_(n_seeds_S) {
  REBALANCE_CHECK(n_neighbors >= 1, "CondensedNearestNeighbour: n_neighbors must be at least 1, got {}", n_neighbors);
  REBALANCE_CHECK(n_seeds_S >= 1, "CondensedNearestNeighbour: n_seeds_S must be at least 1, got {}", n_seeds_S);
}

Dataset CondensedNearestNeighbour::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t d = x.size(1), k = n_neighbors_;
  // Exact squared distance of rows a and b, in the rows' own dtype (float32 or float64).
  auto sq = [&](int64_t a, int64_t b) {
    return neighbors::with_rows(x, [&](const auto* p) { return neighbors::squared_distance(p + a * d, p + b * d, d); });
  };
  const int64_t minority = first_minority_class(y, data.num_classes());
  const auto min_rows = class_rows(y, minority);
  const auto counts = data.class_counts();

  std::vector<int64_t> keep;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (counts[c] == 0) continue;
    const auto members = class_rows(y, c);
    if (!target.count(c)) {
      keep.insert(keep.end(), members.begin(), members.end());
      continue;
    }
    const int64_t n_c = static_cast<int64_t>(members.size());
    std::vector<int64_t> sample;  // imbalanced-learn's idx_maj_sample: seeds, then additions
    for (auto p : draw_seed_positions(seed(), c, n_c, n_seeds_S_)) sample.push_back(members[p]);
    std::vector<int64_t> store = min_rows;  // C, in the order rows entered it
    store.insert(store.end(), sample.begin(), sample.end());
    REBALANCE_CHECK(k <= static_cast<int64_t>(store.size()),
                    "CondensedNearestNeighbour: n_neighbors={} but the starting store has only {} rows (the {} rows of "
                    "minority class \"{}\" and {} seed{} of class \"{}\")",
                    k, store.size(), min_rows.size(), data.class_names[minority], n_seeds_S_, n_seeds_S_ == 1 ? "" : "s",
                    data.class_names[c]);

    // Each class row's k nearest store rows as (squared distance, store position), kept current
    // as the store grows, so re-classifying the class costs one distance per row per addition.
    std::vector<double> best_d(n_c * k);
    std::vector<int64_t> best_p(n_c * k);
    {
      neighbors::KnnOptions o;
      o.backend = neighbors::Backend::Exact;
      const auto r = neighbors::knn(x.index_select(0, torch::tensor(store, torch::kInt64)),
                                    x.index_select(0, torch::tensor(members, torch::kInt64)), k, o)
                         .indices.contiguous();
      const int64_t* rp = r.data_ptr<int64_t>();
      for (int64_t i = 0; i < n_c; ++i)
        for (int64_t j = 0; j < k; ++j) {
          best_p[i * k + j] = rp[i * k + j];
          best_d[i * k + j] = sq(members[i], store[rp[i * k + j]]);
        }
    }
    std::vector<int64_t> labels(k);
    auto predict = [&](int64_t i) {
      for (int64_t j = 0; j < k; ++j) labels[j] = y[store[best_p[i * k + j]]];
      return mode_label(labels.data(), k);
    };

    // imbalanced-learn tests `position in good_classif_label`, a list holding the row numbers of
    // the sample and the positions the last re-classification got right.
    std::unordered_set<int64_t> skip_rows(sample.begin(), sample.end());
    std::vector<char> skip_pos(n_c, 0);
    for (int64_t i = 0; i < n_c; ++i) {
      if (skip_pos[i] || skip_rows.count(i)) continue;
      if (predict(i) == c) continue;
      const int64_t added = members[i];
      sample.push_back(added);
      skip_rows.insert(added);
      store.push_back(added);
      const int64_t pos = static_cast<int64_t>(store.size()) - 1;
      at::parallel_for(0, n_c, 256, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const double dist = sq(members[r], added);
          double* bd = best_d.data() + r * k;
          int64_t* bp = best_p.data() + r * k;
          // The newcomer has the highest store position, so it loses every tie.
          if (!(dist < bd[k - 1])) continue;
          int64_t j = k - 1;
          while (j > 0 && bd[j - 1] > dist) {
            bd[j] = bd[j - 1];
            bp[j] = bp[j - 1];
            --j;
          }
          bd[j] = dist;
          bp[j] = pos;
        }
      });
      for (int64_t r = 0; r < n_c; ++r) skip_pos[r] = predict(r) == c;
    }
    keep.insert(keep.end(), sample.begin(), sample.end());
  }
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
