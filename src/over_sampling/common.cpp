#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/memory.hpp"
#include "rebalance/neighbors/knn.hpp"

namespace rebalance::over_sampling::detail {

void check_class_neighbors(std::string_view sampler, std::string_view param, int64_t k, const Dataset& data,
                           int64_t cls, int64_t rows) {
  const auto& name = data.class_names[cls];
  REBALANCE_CHECK(rows > 1,
                  "{}: class \"{}\" has a single row; {} makes new rows from a row and its same-class neighbours, "
                  "so it needs at least 2 rows of the class ({}={} needs {})",
                  sampler, name, sampler, param, k, k + 1);
  REBALANCE_CHECK(k + 1 <= rows,
                  "{}: {}={} is too large for class \"{}\", which has {} rows: each row needs {} same-class "
                  "neighbours, so the class needs at least {} rows (Expected n_neighbors <= n_samples, but "
                  "n_samples = {}, n_neighbors = {}); lower {} to at most {}",
                  sampler, param, k, name, rows, k, k + 1, rows, k + 1, param, rows - 1);
}

void check_rows(std::string_view sampler, std::string_view param, int64_t k, int64_t needed, int64_t rows,
                std::string_view what) {
  REBALANCE_CHECK(needed <= rows,
                  "{}: {}={} is too large for {}, which has {} rows (Expected n_neighbors <= n_samples, but "
                  "n_samples = {}, n_neighbors = {})",
                  sampler, param, k, what, rows, rows, needed);
}

at::Tensor self_neighbors(const at::Tensor& x, int64_t k) {
  return neighbors::knn(x, x, k + 1).indices.slice(1, 1).contiguous();
}

at::Tensor features(const Dataset& data) { return data.x2d().to(torch::kCPU, torch::kFloat32).contiguous(); }

at::Tensor exact_features(const Dataset& data) {
  const auto t = data.x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  return data.x2d().to(torch::kCPU, t).contiguous();
}

at::Tensor class_rows(const Dataset& data, int64_t cls) { return data.indices_of(cls).to(torch::kCPU); }

Draws draw_pairs(int64_t n_rows, int64_t k, int64_t count, double step_size, Rng& rng) {
  Draws d;
  d.row.resize(count);
  d.col.resize(count);
  d.step.resize(count);
  const auto nk = static_cast<uint64_t>(n_rows * k);
  for (int64_t i = 0; i < count; ++i) {
    const auto flat = static_cast<int64_t>(rng.uniform_int(nk));
    d.row[i] = flat / k;
    d.col[i] = flat % k;
    d.step[i] = step_size * rng.uniform();
  }
  return d;
}

void interpolate_into(float* out, const at::Tensor& a, const std::vector<int64_t>& a_rows, const at::Tensor& b,
                      const std::vector<int64_t>& b_rows, const std::vector<double>& steps) {
  const int64_t m = static_cast<int64_t>(a_rows.size()), d = a.size(1);
  REBALANCE_CHECK(b_rows.size() == a_rows.size() && steps.size() == a_rows.size(),
                  "interpolate_into: {} rows, {} neighbours, {} steps", a_rows.size(), b_rows.size(), steps.size());
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  at::parallel_for(0, m, 2048, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* ra = pa + a_rows[r] * d;
      const float* rb = pb + b_rows[r] * d;
      // float32 arithmetic, as imbalanced-learn's float32 differences, so the loop vectorises.
      const float s = static_cast<float>(steps[r]);
      float* ro = out + r * d;
      for (int64_t j = 0; j < d; ++j) ro[j] = ra[j] + s * (rb[j] - ra[j]);
    }
  });
}

void NewRows::add_block(Block block) {
  REBALANCE_CHECK(static_cast<int64_t>(block.parent0.size()) == block.count &&
                      (block.parent1.empty() || block.parent1.size() == block.parent0.size()),
                  "NewRows: {} rows but {} / {} parents", block.count, block.parent0.size(), block.parent1.size());
  if (block.count == 0) return;
  total_ += block.count;
  blocks_.push_back(std::move(block));
}

void NewRows::add(int64_t cls, int64_t count, std::function<void(float*)> fill, std::vector<int64_t> parent0,
                  std::vector<int64_t> parent1) {
  Block b{cls, count, std::move(fill), std::move(parent0), std::move(parent1)};
  add_block(std::move(b));
}

void NewRows::add_interpolated(int64_t cls, at::Tensor a, std::vector<int64_t> a_rows, at::Tensor b,
                               std::vector<int64_t> b_rows, std::vector<double> steps, std::vector<int64_t> a_parents,
                               std::vector<int64_t> b_parents) {
  const auto count = static_cast<int64_t>(a_rows.size());
  // The plan (row lists, steps) is small; the rows themselves are made in append_to.
  Block block{cls, count, {}, std::move(a_parents), std::move(b_parents)};
  block.kind = Block::Kind::Interpolated;
  block.steps = steps;
  block.fill = [a = std::move(a), b = std::move(b), a_rows = std::move(a_rows), b_rows = std::move(b_rows),
                steps = std::move(steps)](float* dst) { interpolate_into(dst, a, a_rows, b, b_rows, steps); };
  add_block(std::move(block));
}

void NewRows::add_rows(int64_t cls, at::Tensor x, std::vector<int64_t> parent0, std::vector<int64_t> parent1) {
  const int64_t count = x.size(0);
  Block block{cls, count, {}, std::move(parent0), std::move(parent1)};
  block.rows = x.to(torch::kCPU).contiguous();
  block.fill = [x = block.rows](float* dst) {
    const auto f = x.to(torch::kFloat32).contiguous();
    std::memcpy(dst, f.data_ptr<float>(), sizeof(float) * f.numel());
  };
  add_block(std::move(block));
}

void NewRows::add_copies(int64_t cls, at::Tensor x, std::vector<int64_t> rows, std::vector<double> noise_scale,
                         Rng* noise, std::vector<int64_t> parents) {
  const auto count = static_cast<int64_t>(rows.size());
  const int64_t d = x.size(1);
  std::vector<double> jitter;
  if (!noise_scale.empty()) {
    // Drawn now, in row order, so the bytes do not depend on when or how the rows are written.
    jitter.resize(count * d);
    for (int64_t i = 0; i < count * d; ++i) jitter[i] = noise->normal() * noise_scale[i % d];
  }
  if (parents.empty()) parents = rows;
  Block block{cls, count, {}, std::move(parents), {}};
  block.kind = Block::Kind::Copies;
  block.jitter = jitter;
  block.fill = [x = std::move(x), rows = std::move(rows), jitter = std::move(jitter), d](float* dst) {
    const float* px = x.data_ptr<float>();
    at::parallel_for(0, static_cast<int64_t>(rows.size()), 4096, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        std::memcpy(dst + r * d, px + rows[r] * d, sizeof(float) * d);
        if (!jitter.empty())
          for (int64_t j = 0; j < d; ++j) dst[r * d + j] += static_cast<float>(jitter[r * d + j]);
      }
    });
  };
  add_block(std::move(block));
}

namespace {

/// A block's rows in float64, made from the float64 input rows `xd` ([N, D]) by its recipe.
void fill_float64(double* dst, const NewRows::Block& b, const double* xd, int64_t d) {
  using Kind = NewRows::Block::Kind;
  if (b.kind == Kind::Rows) {
    const auto r = b.rows.to(torch::kFloat64).contiguous();
    std::memcpy(dst, r.data_ptr<double>(), sizeof(double) * b.count * d);
    return;
  }
  at::parallel_for(0, b.count, 2048, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const double* ra = xd + b.parent0[r] * d;
      double* ro = dst + r * d;
      if (b.kind == Kind::Interpolated) {
        const double* rb = xd + b.parent1[r] * d;
        const double s = b.steps[r];
        for (int64_t j = 0; j < d; ++j) ro[j] = ra[j] + s * (rb[j] - ra[j]);
      } else {
        for (int64_t j = 0; j < d; ++j) ro[j] = ra[j] + (b.jitter.empty() ? 0.0 : b.jitter[r * d + j]);
      }
    }
  });
}

}  // namespace

Dataset NewRows::append_to(const Dataset& data) const {
  if (blocks_.empty()) return data;
  const int64_t n = data.size(), d = data.num_features(), m = total_;
  // Output buffers on huge pages (empty_large): page faults would otherwise cost more than the
  // rows themselves at a million rows.
  const bool f64 = data.x.scalar_type() == torch::kFloat64;
  auto x = empty_large({n + m, d}, f64 ? torch::kFloat64 : torch::kFloat32);
  x.slice(0, 0, n).copy_(data.x2d().to(torch::kCPU));
  const auto xd = f64 ? x.slice(0, 0, n) : at::Tensor();  // the input rows, float64, contiguous
  auto y = empty_large({n + m}, torch::kInt64);
  y.slice(0, 0, n).copy_(data.y.to(torch::kCPU));
  auto parents = empty_large({n + m, 2}, torch::kInt64);
  if (data.parents.defined())
    parents.slice(0, 0, n).copy_(data.parents.to(torch::kCPU));
  else
    parents.slice(0, 0, n).fill_(-1);
  parents.slice(0, n).fill_(-1);
  // Parents are stored as the parents' origin ids, so provenance survives chains of samplers.
  const auto origin_in = data.origin.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* po = origin_in.data_ptr<int64_t>();
  float* px = f64 ? nullptr : x.data_ptr<float>();
  double* pxd = f64 ? x.data_ptr<double>() : nullptr;
  int64_t* py = y.data_ptr<int64_t>();
  int64_t* pp = parents.data_ptr<int64_t>();
  int64_t row = n;
  for (const auto& b : blocks_) {
    if (f64)
      fill_float64(pxd + row * d, b, xd.data_ptr<double>(), d);
    else
      b.fill(px + row * d);
    std::fill(py + row, py + row + b.count, b.cls);
    for (int64_t i = 0; i < b.count; ++i) {
      pp[(row + i) * 2] = b.parent0[i] >= 0 ? po[b.parent0[i]] : -1;
      if (!b.parent1.empty()) pp[(row + i) * 2 + 1] = b.parent1[i] >= 0 ? po[b.parent1[i]] : -1;
    }
    row += b.count;
  }
  Dataset out = data;
  auto shape = data.feature_shape();
  shape.insert(shape.begin(), n + m);
  const auto device = data.x.device();
  out.x = x.view(shape).to(device);
  out.y = y.to(device);
  auto origin = empty_large({n + m}, torch::kInt64);
  origin.slice(0, 0, n).copy_(origin_in);
  origin.slice(0, n).fill_(-1);
  out.origin = origin.to(device);
  out.parents = parents.to(device);
  return out;
}

std::vector<int64_t> to_global(const at::Tensor& rows, const std::vector<int64_t>& local) {
  const auto r = rows.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* p = r.data_ptr<int64_t>();
  std::vector<int64_t> out(local.size());
  for (size_t i = 0; i < local.size(); ++i) out[i] = p[local[i]];
  return out;
}

namespace {

// numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h): below 8 items a plain loop, up to
// 128 items eight running sums combined pairwise, above that split in halves (multiple of 8).
double pairwise(const double* a, int64_t n) {
  if (n < 8) {
    double res = 0.0;
    for (int64_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

}  // namespace

double numpy_sum(const std::vector<double>& v) { return pairwise(v.data(), static_cast<int64_t>(v.size())); }

}  // namespace rebalance::over_sampling::detail
