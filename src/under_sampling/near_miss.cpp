#include "rebalance/under_sampling/near_miss.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <type_traits>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/neighbors/streaming.hpp"
#include "rebalance/under_sampling/streaming.hpp"
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

int64_t stream_near_miss(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t version,
                      int64_t k, int64_t k3, RowSink& sink, int64_t block_rows) {
  REBALANCE_CHECK(version >= 1 && version <= 3, "NearMiss: version must be one of 1, 2, 3; got {}", version);
  const int64_t block = block_rows_for(source.block_bytes_per_row(), block_rows);
  const auto& counts = source.class_counts();
  const auto& names = source.class_names();
  const auto num_classes = static_cast<int64_t>(counts.size());
  // The minority as imbalanced-learn picks it: the smallest count, ties to the class seen first.
  std::vector<int64_t> smallest;
  const int64_t n_min = *std::min_element(counts.begin(), counts.end());
  for (int64_t c = 0; c < num_classes; ++c)
    if (counts[c] == n_min) smallest.push_back(c);
  int64_t minority = smallest.front();
  if (smallest.size() > 1) {
    std::vector<int64_t> first_seen(num_classes, -1);
    source.for_each_block(block, [&](int64_t first, const at::Tensor&, const at::Tensor& y) {
      const int64_t* py = y.data_ptr<int64_t>();
      for (int64_t i = 0; i < y.size(0); ++i)
        if (first_seen[py[i]] < 0) first_seen[py[i]] = first + i;
    });
    for (auto c : smallest)
      if (first_seen[c] < first_seen[minority]) minority = c;
  }
  if (version != 2)
    REBALANCE_CHECK(k <= n_min,
                    "NearMiss: n_neighbors={} but the minority class \"{}\" has only {} row{} (version {} averages "
                    "the distances to the {} nearest minority rows)",
                    k, names[minority], n_min, n_min == 1 ? "" : "s", version, k);
  if (version == 3)
    for (const auto& [c, n] : target)
      REBALANCE_CHECK(k3 <= counts[c],
                      "NearMiss: n_neighbors_ver3={} but class \"{}\" has only {} row{} (version 3 short-lists the "
                      "{} nearest rows of that class to each minority row)",
                      k3, names[c], counts[c], counts[c] == 1 ? "" : "s", k3);
  const auto x_min = source.gather_classes({minority}, block)[0].x;
  // Per targeted class: the kept rows as (within-class rank -> output slot), sorted by rank.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> picks(num_classes);
  std::vector<int64_t> base(num_classes, 0);
  int64_t total = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    base[c] = total;
    const auto it = target.find(c);
    if (it == target.end()) {
      total += counts[c];
      continue;
    }
    const int64_t n_keep = it->second;
    // (score, within-class rank) of every row in the running, ordered as stable_order orders.
    std::vector<std::pair<double, int64_t>> best;
    const auto ahead = [&](const std::pair<double, int64_t>& a, const std::pair<double, int64_t>& b) {
      if (a.first != b.first) return version == 3 ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    };
    if (version == 3) {
      // The short list: each minority row's k3 nearest rows of class c (ties to the lower rank).
      neighbors::BlockKnn search(x_min, std::vector<int64_t>(static_cast<size_t>(n_min), -1), k3);
      int64_t seen = 0;
      source.for_each_block(block, [&](int64_t, const at::Tensor& x, const at::Tensor& y) {
        std::vector<int64_t> local, ranks;
        const int64_t* py = y.data_ptr<int64_t>();
        for (int64_t i = 0; i < y.size(0); ++i)
          if (py[i] == c) local.push_back(i), ranks.push_back(seen++);
        if (!local.empty()) search.add_rows(ranks, x.index_select(0, torch::tensor(local, torch::kInt64)));
      });
      const auto near = search.result().indices.contiguous();
      std::vector<int64_t> pool(near.data_ptr<int64_t>(), near.data_ptr<int64_t>() + near.numel());
      std::sort(pool.begin(), pool.end());
      pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
      // The short-listed rows, gathered by rank, scored against the minority.
      std::vector<at::Tensor> parts;
      int64_t rank = 0;
      size_t next = 0;
      source.for_each_block(block, [&](int64_t, const at::Tensor& x, const at::Tensor& y) {
        std::vector<int64_t> local;
        const int64_t* py = y.data_ptr<int64_t>();
        for (int64_t i = 0; i < y.size(0); ++i) {
          if (py[i] != c) continue;
          if (next < pool.size() && pool[next] == rank) local.push_back(i), ++next;
          ++rank;
        }
        if (!local.empty()) parts.push_back(x.index_select(0, torch::tensor(local, torch::kInt64)));
      });
      const auto scores = nearest_sums(x_min, torch::cat(parts).contiguous(), k);
      for (size_t i = 0; i < pool.size(); ++i) best.emplace_back(scores[i], pool[i]);
      std::stable_sort(best.begin(), best.end(), ahead);
      if (static_cast<int64_t>(best.size()) > n_keep) best.resize(static_cast<size_t>(n_keep));
    } else {
      // Versions 1 and 2: every row of the class scored block by block; the best n_keep kept.
      int64_t seen = 0;
      source.for_each_block(block, [&](int64_t, const at::Tensor& x, const at::Tensor& y) {
        std::vector<int64_t> local;
        const int64_t* py = y.data_ptr<int64_t>();
        for (int64_t i = 0; i < y.size(0); ++i)
          if (py[i] == c) local.push_back(i);
        if (local.empty()) return;
        const auto rows = x.index_select(0, torch::tensor(local, torch::kInt64)).contiguous();
        const auto scores = version == 1 ? nearest_sums(x_min, rows, k) : farthest_sums(x_min, rows, k);
        for (size_t i = 0; i < scores.size(); ++i) best.emplace_back(scores[i], seen++);
        if (static_cast<int64_t>(best.size()) > 2 * std::max<int64_t>(n_keep, 1 << 16)) {
          std::nth_element(best.begin(), best.begin() + n_keep, best.end(), ahead);
          best.resize(static_cast<size_t>(n_keep));
        }
      });
      std::sort(best.begin(), best.end(), ahead);
      if (static_cast<int64_t>(best.size()) > n_keep) best.resize(static_cast<size_t>(n_keep));
    }
    auto& p = picks[c];
    for (size_t i = 0; i < best.size(); ++i) p.emplace_back(best[i].second, total + static_cast<int64_t>(i));
    std::sort(p.begin(), p.end());
    total += static_cast<int64_t>(best.size());
  }
  std::vector<char> targeted(num_classes, 0);
  for (const auto& [c, n] : target) targeted[c] = 1;
  write_selection(source, targeted, base, picks, total, sink, block);
  return total;
}

}  // namespace rebalance::under_sampling
