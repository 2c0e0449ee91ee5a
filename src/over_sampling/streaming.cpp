#include "rebalance/over_sampling/streaming.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/neighbors/streaming.hpp"

#include <cstring>

namespace rebalance::over_sampling {

namespace {

/// Every input row, in order, at the same position of the output.
void copy_through(const RowSource& source, RowSink& sink, int64_t block_rows) {
  std::vector<int64_t> local, slots;
  source.for_each_block(block_rows, [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
    const int64_t n = x.size(0);
    local.resize(static_cast<size_t>(n));
    slots.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) local[i] = i, slots[i] = first + i;
    sink.put_original(first, x, y, local, slots);
  });
}

int64_t added(const std::map<int64_t, int64_t>& target) {
  int64_t total = 0;
  for (const auto& [c, n] : target) total += n;
  return total;
}

std::vector<int64_t> grown_classes(const std::map<int64_t, int64_t>& target) {
  std::vector<int64_t> classes;
  for (const auto& [c, n] : target)
    if (n > 0) classes.push_back(c);
  return classes;
}

template <class T>
void copies_with_jitter(T* dst, const T* src, const std::vector<int64_t>& rows, const std::vector<double>& scale,
                        Rng* noise, int64_t d) {
  // Jitter drawn in row order first (as the in-memory sampler draws it), then added in T.
  std::vector<T> jitter;
  if (!scale.empty()) {
    jitter.resize(rows.size() * d);
    for (size_t i = 0; i < jitter.size(); ++i) jitter[i] = static_cast<T>(noise->normal() * scale[i % d]);
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    std::memcpy(dst + r * d, src + rows[r] * d, sizeof(T) * d);
    if (!jitter.empty())
      for (int64_t j = 0; j < d; ++j) dst[r * d + j] += jitter[r * d + j];
  }
}

/// New rows a[a_rows_i] + step_i * (b[b_rows_i] - a[a_rows_i]) made in the first rows of `buffer`
/// and put at output row `slot` onwards, which then moves past them.
void put_interpolated(RowSink& sink, int64_t& slot, const at::Tensor& buffer, int64_t cls, const at::Tensor& a,
                      const std::vector<int64_t>& a_rows, const at::Tensor& b, const std::vector<int64_t>& b_rows,
                      const std::vector<double>& steps, const std::vector<int64_t>& p0,
                      const std::vector<int64_t>& p1) {
  const auto m = static_cast<int64_t>(a_rows.size());
  const auto out = buffer.narrow(0, 0, m);
  detail::interpolate_into(out, a, a_rows, b, b_rows, steps);
  sink.put_new(slot, out, cls, p0, p1);
  slot += m;
}

/// For each row of `xc` (a class's rows, source positions `rows` ascending): how many of its m
/// nearest rows among all rows are of another class, the nearest m + 1 with the first dropped
/// whatever it is (imbalanced-learn's kneighbors(X_class, m + 1)[:, 1:], as the in-memory
/// samplers ask): one minority-anchored scan of the input.
std::vector<int64_t> other_class_neighbours(const RowSource& source, const at::Tensor& xc,
                                            const std::vector<int64_t>& rows, int64_t m, int64_t block) {
  neighbors::BlockKnn search(xc, std::vector<int64_t>(rows.size(), -1), m + 1);
  source.for_each_block(block, [&](int64_t first, const at::Tensor& x, const at::Tensor&) { search.add_block(first, x); });
  const auto nn = search.result().indices.contiguous();
  const int64_t* p = nn.data_ptr<int64_t>();
  std::vector<int64_t> others(rows.size(), 0);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 1; j <= m; ++j)
      others[i] += !std::binary_search(rows.begin(), rows.end(), p[i * (m + 1) + j]);
  return others;
}

}  // namespace

int64_t stream_random_over(const RowSource& source, const std::map<int64_t, int64_t>& target,
                        const RandomOverSamplerOptions& options, uint64_t seed, RowSink& sink,
                        const StreamOptions& stream) {
  const auto factor = options.factors(target, source.class_names(), source.describe());
  const int64_t block = block_rows_for(source.block_bytes_per_row(), stream.block_rows);
  const int64_t chunk = block_rows_for(source.row_bytes(), stream.chunk_rows);
  const int64_t n_rows = source.rows(), d = source.cols();
  const double smoothing = std::pow(4.0 / ((d + 2.0) * n_rows), 1.0 / (d + 4.0));
  const auto classes = grown_classes(target);
  const auto gathered = source.gather_classes(classes, block);
  sink.begin(n_rows + added(target));
  copy_through(source, sink, block);
  int64_t slot = n_rows;
  for (size_t k = 0; k < classes.size(); ++k) {
    const int64_t c = classes[k], n = target.at(c);
    const auto& xc = gathered[k].x;
    const auto& rows = gathered[k].rows;
    const auto n_c = static_cast<uint64_t>(rows.size());
    Rng rng = detail::class_rng(seed, c);
    std::vector<double> scale;
    Rng noise = rng;
    if (factor.count(c) && factor.at(c) > 0.0) {
      const auto sigma = xc.to(torch::kFloat64).std(0, /*unbiased=*/false).contiguous();
      const double* ps = sigma.data_ptr<double>();
      for (int64_t j = 0; j < d; ++j) scale.push_back(factor.at(c) * smoothing * ps[j]);
      // The in-memory sampler draws every row index, then the noise: the noise stream starts
      // where the n index draws end.
      for (int64_t i = 0; i < n; ++i) noise.uniform_int(n_c);
    }
    // One buffer for every chunk of the class.
    const auto buffer = torch::empty({std::min(chunk, n), d}, torch::TensorOptions().dtype(source.dtype()));
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t m = std::min(chunk, n - start);
      std::vector<int64_t> local(static_cast<size_t>(m)), parents(static_cast<size_t>(m));
      for (auto& i : local) i = static_cast<int64_t>(rng.uniform_int(n_c));
      for (int64_t i = 0; i < m; ++i) parents[i] = rows[local[i]];
      const auto out = buffer.narrow(0, 0, m);
      if (source.dtype() == torch::kFloat64)
        copies_with_jitter(out.data_ptr<double>(), xc.data_ptr<double>(), local, scale, &noise, d);
      else
        copies_with_jitter(out.data_ptr<float>(), xc.data_ptr<float>(), local, scale, &noise, d);
      sink.put_new(slot, out, c, parents, {});
      slot += m;
    }
  }
  sink.commit();
  return added(target);
}

int64_t stream_smote(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k, uint64_t seed,
                  RowSink& sink, const StreamOptions& stream) {
  const auto& counts = source.class_counts();
  // Check every class before any work, as the in-memory sampler does.
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("SMOTE", "k_neighbors", k, source.class_names()[c], counts[c]);
  const int64_t block = block_rows_for(source.block_bytes_per_row(), stream.block_rows);
  const int64_t chunk = block_rows_for(source.row_bytes(), stream.chunk_rows);
  const auto classes = grown_classes(target);
  const auto gathered = source.gather_classes(classes, block);
  sink.begin(source.rows() + added(target));
  copy_through(source, sink, block);
  int64_t slot = source.rows();
  const int64_t d = source.cols();
  for (size_t g = 0; g < classes.size(); ++g) {
    const int64_t c = classes[g], n = target.at(c);
    const auto& xc = gathered[g].x;
    const auto& rows = gathered[g].rows;
    const at::Tensor nn = detail::self_neighbors(xc, k);
    const int64_t* pnn = nn.data_ptr<int64_t>();
    Rng rng = detail::class_rng(seed, c);
    // One buffer for every chunk of the class.
    const auto buffer = torch::empty({std::min(chunk, n), d}, torch::TensorOptions().dtype(source.dtype()));
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t m = std::min(chunk, n - start);
      // Drawn in sample order from one generator: chunks of any size give the same rows.
      auto draws = detail::draw_pairs(xc.size(0), k, m, 1.0, rng);
      std::vector<int64_t> nb(static_cast<size_t>(m)), p0(static_cast<size_t>(m)), p1(static_cast<size_t>(m));
      for (int64_t i = 0; i < m; ++i) {
        nb[i] = pnn[draws.row[i] * k + draws.col[i]];
        p0[i] = rows[draws.row[i]];
        p1[i] = rows[nb[i]];
      }
      put_interpolated(sink, slot, buffer, c, xc, draws.row, xc, nb, draws.step, p0, p1);
    }
  }
  sink.commit();
  return added(target);
}

int64_t stream_adasyn(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k, uint64_t seed,
                      RowSink& sink, const StreamOptions& stream) {
  const auto& counts = source.class_counts();
  const auto& names = source.class_names();
  detail::check_rows("ADASYN", "n_neighbors", k, k + 1, source.rows(), "the data set");
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("ADASYN", "n_neighbors", k, names[c], counts[c]);
  const int64_t block = block_rows_for(source.block_bytes_per_row(), stream.block_rows);
  const int64_t chunk = block_rows_for(source.row_bytes(), stream.chunk_rows);
  const auto classes = grown_classes(target);
  const auto gathered = source.gather_classes(classes, block);
  // Every class's counts before any output: their errors leave nothing written.
  std::vector<std::vector<int64_t>> g(classes.size());
  int64_t total = 0;
  for (size_t k_ = 0; k_ < classes.size(); ++k_) {
    const int64_t c = classes[k_];
    g[k_] = detail::adasyn_counts(other_class_neighbours(source, gathered[k_].x, gathered[k_].rows, k, block), k,
                                  target.at(c), names[c]);
    for (auto v : g[k_]) total += v;
  }
  sink.begin(source.rows() + total);
  copy_through(source, sink, block);
  int64_t slot = source.rows();
  const int64_t d = source.cols();
  for (size_t k_ = 0; k_ < classes.size(); ++k_) {
    const int64_t c = classes[k_];
    const auto& xc = gathered[k_].x;
    const auto& rows = gathered[k_].rows;
    const at::Tensor nn = detail::self_neighbors(xc, k);
    const int64_t* pnn = nn.data_ptr<int64_t>();
    Rng rng = detail::class_rng(seed, c);
    int64_t made = 0;
    for (auto v : g[k_]) made += v;
    const auto buffer = torch::empty({std::max<int64_t>(1, std::min(chunk, made)), d},
                                     torch::TensorOptions().dtype(source.dtype()));
    std::vector<int64_t> seeds, nb, p0, p1;
    std::vector<double> steps;
    const auto flush = [&] {
      if (seeds.empty()) return;
      put_interpolated(sink, slot, buffer, c, xc, seeds, xc, nb, steps, p0, p1);
      seeds.clear(), nb.clear(), p0.clear(), p1.clear(), steps.clear();
    };
    // Row i's g_i new rows in row order, each drawing its neighbour then its step (the in-memory
    // sampler's order), in chunks.
    for (int64_t i = 0; i < static_cast<int64_t>(g[k_].size()); ++i)
      for (int64_t r = 0; r < g[k_][i]; ++r) {
        const int64_t j = pnn[i * k + static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(k)))];
        seeds.push_back(i);
        nb.push_back(j);
        steps.push_back(rng.uniform());
        p0.push_back(rows[i]);
        p1.push_back(rows[j]);
        if (static_cast<int64_t>(seeds.size()) == chunk) flush();
      }
    flush();
  }
  sink.commit();
  return total;
}

int64_t stream_borderline_smote(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k,
                                int64_t m, const std::string& kind, uint64_t seed, RowSink& sink,
                                const StreamOptions& stream) {
  const bool kind2 = kind == "borderline-2";
  const auto& counts = source.class_counts();
  const auto& names = source.class_names();
  const int64_t n_rows = source.rows(), d = source.cols();
  detail::check_rows("BorderlineSMOTE", "m_neighbors", m, m + 1, n_rows, "the data set");
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    detail::check_class_neighbors("BorderlineSMOTE", "k_neighbors", k, names[c], counts[c]);
    if (kind2)
      detail::check_rows("BorderlineSMOTE", "k_neighbors", k, k, n_rows - counts[c],
                         fmt::format("the rows of the other classes than \"{}\" (borderline-2)", names[c]));
  }
  const int64_t block = block_rows_for(source.block_bytes_per_row(), stream.block_rows);
  const int64_t chunk = block_rows_for(source.row_bytes(), stream.chunk_rows);
  const auto classes = grown_classes(target);
  const auto gathered = source.gather_classes(classes, block);
  struct Plan {
    std::vector<int64_t> danger;  ///< positions in the class's rows
    at::Tensor xd;
    std::vector<int64_t> other_nn;  ///< [n_danger * k] source positions (borderline-2)
  };
  std::vector<Plan> plans(classes.size());
  std::vector<std::string> no_danger;
  int64_t total = 0;
  for (size_t g = 0; g < classes.size(); ++g) {
    const auto others = other_class_neighbours(source, gathered[g].x, gathered[g].rows, m, block);
    for (int64_t i = 0; i < static_cast<int64_t>(others.size()); ++i)
      if (others[i] * 2 >= m && others[i] < m) plans[g].danger.push_back(i);  // m / 2 <= n_other < m
    if (plans[g].danger.empty()) {
      no_danger.push_back(names[classes[g]]);
      continue;
    }
    total += target.at(classes[g]);
    plans[g].xd = gathered[g].x.index_select(0, torch::tensor(plans[g].danger, torch::kInt64)).contiguous();
  }
  REBALANCE_CHECK(total > 0 || no_danger.empty(),
                  "BorderlineSMOTE: no row of class {} is in danger (between m/2 and m-1 other-class rows among "
                  "its m_neighbors={} nearest rows), so there is no border row to over-sample and the data would "
                  "come back unchanged; try another m_neighbors, or SMOTE",
                  fmt::format("\"{}\"", fmt::join(no_danger, "\", \"")), m);
  // Borderline-2: each danger row's k nearest rows of the other classes, and those rows.
  std::vector<int64_t> other_rows;
  at::Tensor x_other;
  if (kind2) {
    for (size_t g = 0; g < classes.size(); ++g) {
      if (plans[g].danger.empty() || target.at(classes[g]) == 0) continue;
      neighbors::BlockKnn search(plans[g].xd, std::vector<int64_t>(plans[g].danger.size(), -1), k);
      const int64_t c = classes[g];
      source.for_each_block(block, [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
        std::vector<int64_t> local, positions;
        const int64_t* py = y.data_ptr<int64_t>();
        for (int64_t i = 0; i < y.size(0); ++i)
          if (py[i] != c) local.push_back(i), positions.push_back(first + i);
        if (!local.empty()) search.add_rows(positions, x.index_select(0, torch::tensor(local, torch::kInt64)));
      });
      const auto r = search.result().indices.contiguous();
      plans[g].other_nn.assign(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
      other_rows.insert(other_rows.end(), plans[g].other_nn.begin(), plans[g].other_nn.end());
    }
    std::sort(other_rows.begin(), other_rows.end());
    other_rows.erase(std::unique(other_rows.begin(), other_rows.end()), other_rows.end());
    if (!other_rows.empty()) x_other = source.gather_rows(other_rows, block);
  }
  sink.begin(n_rows + total);
  copy_through(source, sink, block);
  int64_t slot = n_rows;
  for (size_t g = 0; g < classes.size(); ++g) {
    const auto& plan = plans[g];
    if (plan.danger.empty()) continue;
    const int64_t c = classes[g], n = target.at(c), n_danger = static_cast<int64_t>(plan.danger.size());
    const auto& xc = gathered[g].x;
    const auto& rows = gathered[g].rows;
    const at::Tensor nn = neighbors::knn(xc, plan.xd, k + 1).indices.slice(1, 1).contiguous();
    const int64_t* pnn = nn.data_ptr<int64_t>();
    Rng rng = detail::class_rng(seed, c);
    const int64_t n1 = kind2 ? std::min<int64_t>(n, static_cast<int64_t>(detail::beta_10_10(rng) * (n + 1))) : n;
    const auto buffer = torch::empty({std::max<int64_t>(1, std::min(chunk, n)), d},
                                     torch::TensorOptions().dtype(source.dtype()));
    for (int64_t start = 0; start < n1; start += chunk) {
      const int64_t cnt = std::min(chunk, n1 - start);
      auto draws = detail::draw_pairs(n_danger, k, cnt, 1.0, rng);
      std::vector<int64_t> seeds(cnt), nb(cnt), p0(cnt), p1(cnt);
      for (int64_t i = 0; i < cnt; ++i) {
        seeds[i] = plan.danger[draws.row[i]];
        nb[i] = pnn[draws.row[i] * k + draws.col[i]];
        p0[i] = rows[seeds[i]];
        p1[i] = rows[nb[i]];
      }
      put_interpolated(sink, slot, buffer, c, xc, seeds, xc, nb, draws.step, p0, p1);
    }
    for (int64_t start = 0; kind2 && start < n - n1; start += chunk) {
      const int64_t cnt = std::min(chunk, n - n1 - start);
      auto draws = detail::draw_pairs(n_danger, k, cnt, 0.5, rng);
      std::vector<int64_t> seeds(cnt), other(cnt), p0(cnt), p1(cnt);
      for (int64_t i = 0; i < cnt; ++i) {
        seeds[i] = plan.danger[draws.row[i]];
        p1[i] = plan.other_nn[draws.row[i] * k + draws.col[i]];
        other[i] = std::lower_bound(other_rows.begin(), other_rows.end(), p1[i]) - other_rows.begin();
        p0[i] = rows[seeds[i]];
      }
      put_interpolated(sink, slot, buffer, c, xc, seeds, x_other, other, draws.step, p0, p1);
    }
  }
  sink.commit();
  return total;
}

}  // namespace rebalance::over_sampling
