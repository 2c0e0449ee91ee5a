#include "rebalance/over_sampling/streaming.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"

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

}  // namespace

void stream_random_over(const RowSource& source, const std::map<int64_t, int64_t>& target,
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
}

void stream_smote(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k, uint64_t seed,
                  RowSink& sink, const StreamOptions& stream) {
  const auto& counts = source.class_counts();
  // Check every class before any work, as the in-memory sampler does.
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const auto& name = source.class_names()[c];
    const int64_t rows = counts[c];
    REBALANCE_CHECK(rows > 1,
                    "SMOTE: class \"{}\" has a single row; SMOTE makes new rows from a row and its same-class "
                    "neighbours, so it needs at least 2 rows of the class (k_neighbors={} needs {})",
                    name, k, k + 1);
    REBALANCE_CHECK(k + 1 <= rows,
                    "SMOTE: k_neighbors={} is too large for class \"{}\", which has {} rows: each row needs {} "
                    "same-class neighbours, so the class needs at least {} rows (Expected n_neighbors <= n_samples, "
                    "but n_samples = {}, n_neighbors = {}); lower k_neighbors to at most {}",
                    k, name, rows, k, k + 1, rows, k + 1, rows - 1);
  }
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
      const auto out = buffer.narrow(0, 0, m);
      detail::interpolate_into(out, xc, draws.row, xc, nb, draws.step);
      sink.put_new(slot, out, c, p0, p1);
      slot += m;
    }
  }
  sink.commit();
}

}  // namespace rebalance::over_sampling
