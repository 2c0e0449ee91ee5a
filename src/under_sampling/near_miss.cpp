#include "rebalance/under_sampling/near_miss.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <type_traits>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

namespace {

at::Tensor gather(const at::Tensor& x, const std::vector<int64_t>& rows) {
  return x.index_select(0, torch::tensor(rows, torch::kInt64)).contiguous();
}

/// Sum of each query's k nearest base distances, added nearest first (numpy's order for k < 8).
std::vector<double> nearest_sums(const at::Tensor& base, const at::Tensor& query, int64_t k) {
  neighbors::KnnOptions o;
  o.backend = neighbors::Backend::Exact;
  const auto d = neighbors::knn(base, query, k, o).distances.contiguous();
  const double* p = d.data_ptr<double>();
  std::vector<double> out(query.size(0), 0.0);
  for (int64_t i = 0; i < query.size(0); ++i)
    for (int64_t j = 0; j < k; ++j) out[i] += p[i * k + j];
  return out;
}

/// Sum of each query's k farthest base distances, added in ascending order of distance.
std::vector<double> farthest_sums(const at::Tensor& base, const at::Tensor& query, int64_t k) {
  const int64_t nb = base.size(0), d = base.size(1), nq = query.size(0);
  k = std::min(k, nb);
  std::vector<double> out(nq, 0.0);
  neighbors::with_rows(base, [&](const auto* bp) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(bp)>>;
    const T* qp = query.data_ptr<T>();
    at::parallel_for(0, nq, 16, [&](int64_t i0, int64_t i1) {
      std::vector<double> dist(nb);
      for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = 0; j < nb; ++j) dist[j] = std::sqrt(neighbors::squared_distance(qp + i * d, bp + j * d, d));
        std::nth_element(dist.begin(), dist.begin() + (nb - k), dist.end());
        std::sort(dist.begin() + (nb - k), dist.end());
        double s = 0.0;
        for (int64_t j = nb - k; j < nb; ++j) s += dist[j];
        out[i] = s;
      }
    });
  });
  return out;
}

/// Positions 0..n-1 stably sorted by score, ascending or descending.
std::vector<int64_t> stable_order(const std::vector<double>& score, bool descending) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return descending ? score[a] > score[b] : score[a] < score[b];
  });
  return order;
}

}  // namespace

NearMiss::NearMiss(SamplingStrategy strategy, int64_t version, int64_t n_neighbors, int64_t n_neighbors_ver3)
    : Sampler("near_miss", SamplingType::Under, std::move(strategy), 0),
      version_(version),
      n_neighbors_(n_neighbors),
      n_neighbors_ver3_(n_neighbors_ver3) {
  REBALANCE_CHECK(version >= 1 && version <= 3, "NearMiss: version must be one of 1, 2, 3; got {}", version);
  REBALANCE_CHECK(n_neighbors >= 1, "NearMiss: n_neighbors must be at least 1, got {}", n_neighbors);
  REBALANCE_CHECK(n_neighbors_ver3 >= 1, "NearMiss: n_neighbors_ver3 must be at least 1, got {}", n_neighbors_ver3);
}

Dataset NearMiss::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t minority = first_minority_class(y, data.num_classes());
  const auto min_rows = class_rows(y, minority);
  const int64_t n_min = static_cast<int64_t>(min_rows.size());
  const auto x_min = gather(x, min_rows);
  // Version 2 sums over min(n_neighbors, n_min) farthest rows, as numpy's slice does; the others
  // need n_neighbors minority rows to exist.
  if (version_ != 2)
    REBALANCE_CHECK(n_neighbors_ <= n_min,
                    "NearMiss: n_neighbors={} but the minority class \"{}\" has only {} row{} (version {} averages "
                    "the distances to the {} nearest minority rows)",
                    n_neighbors_, data.class_names[minority], n_min, n_min == 1 ? "" : "s", version_, n_neighbors_);

  std::vector<int64_t> keep;
  const auto counts = data.class_counts();
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (counts[c] == 0) continue;
    const auto rows = class_rows(y, c);
    auto it = target.find(c);
    if (it == target.end()) {
      keep.insert(keep.end(), rows.begin(), rows.end());
      continue;
    }
    const int64_t n_keep = it->second;
    std::vector<int64_t> pool = rows;
    std::vector<int64_t> order;
    if (version_ == 1) {
      order = stable_order(nearest_sums(x_min, gather(x, rows), n_neighbors_), false);
    } else if (version_ == 2) {
      order = stable_order(farthest_sums(x_min, gather(x, rows), n_neighbors_), false);
    } else {
      const int64_t n_c = static_cast<int64_t>(rows.size());
      REBALANCE_CHECK(n_neighbors_ver3_ <= n_c,
                      "NearMiss: n_neighbors_ver3={} but class \"{}\" has only {} row{} (version 3 short-lists the {} "
                      "nearest rows of that class to each minority row)",
                      n_neighbors_ver3_, data.class_names[c], n_c, n_c == 1 ? "" : "s", n_neighbors_ver3_);
      neighbors::KnnOptions o;
      o.backend = neighbors::Backend::Exact;
      const auto near = neighbors::knn(gather(x, rows), x_min, n_neighbors_ver3_, o).indices.contiguous();
      std::vector<int64_t> picked(near.data_ptr<int64_t>(), near.data_ptr<int64_t>() + near.numel());
      std::sort(picked.begin(), picked.end());
      picked.erase(std::unique(picked.begin(), picked.end()), picked.end());
      pool.clear();
      for (auto p : picked) pool.push_back(rows[p]);
      order = stable_order(nearest_sums(x_min, gather(x, pool), n_neighbors_), true);
    }
    const int64_t take = std::min<int64_t>(n_keep, static_cast<int64_t>(order.size()));
    for (int64_t i = 0; i < take; ++i) keep.push_back(pool[order[i]]);
  }
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
