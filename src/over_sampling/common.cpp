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
  check_class_neighbors(sampler, param, k, data.class_names[cls], rows);
}

void check_class_neighbors(std::string_view sampler, std::string_view param, int64_t k, const std::string& name,
                           int64_t rows) {
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

at::Tensor features(const Dataset& data) {
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

namespace {

template <class T>
void interpolate_rows(T* out, const T* pa, const std::vector<int64_t>& a_rows, const T* pb,
                      const std::vector<int64_t>& b_rows, const std::vector<double>& steps, int64_t d) {
  at::parallel_for(0, static_cast<int64_t>(a_rows.size()), 2048, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* ra = pa + a_rows[r] * d;
      const T* rb = pb + b_rows[r] * d;
      // float32: float32 arithmetic, as imbalanced-learn's float32 differences, so the loop
      // vectorises. float64: numpy's X[rows] + steps * diffs, each operation rounded once (this
      // file is built for plain x86-64, so no multiply-add fuses them).
      const T s = static_cast<T>(steps[r]);
      T* ro = out + r * d;
      for (int64_t j = 0; j < d; ++j) ro[j] = ra[j] + s * (rb[j] - ra[j]);
    }
  });
}

/// Rows `rows` of src to consecutive rows of dst, each plus its row of `jitter` (empty: none).
template <class T>
void copy_rows(T* dst, const T* src, const std::vector<int64_t>& rows, const std::vector<T>& jitter, int64_t d) {
  at::parallel_for(0, static_cast<int64_t>(rows.size()), 4096, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      std::memcpy(dst + r * d, src + rows[r] * d, sizeof(T) * d);
      if (!jitter.empty())
        for (int64_t j = 0; j < d; ++j) dst[r * d + j] += jitter[r * d + j];
    }
  });
}

}  // namespace

void interpolate_into(const at::Tensor& out, const at::Tensor& a, const std::vector<int64_t>& a_rows,
                      const at::Tensor& b, const std::vector<int64_t>& b_rows, const std::vector<double>& steps) {
  const int64_t d = a.size(1);
  REBALANCE_CHECK(b_rows.size() == a_rows.size() && steps.size() == a_rows.size(),
                  "interpolate_into: {} rows, {} neighbours, {} steps", a_rows.size(), b_rows.size(), steps.size());
  REBALANCE_CHECK(a.scalar_type() == b.scalar_type() && a.scalar_type() == out.scalar_type(),
                  "interpolate_into: rows of dtypes {}, {} into {}", std::string(c10::toString(a.scalar_type())),
                  std::string(c10::toString(b.scalar_type())), std::string(c10::toString(out.scalar_type())));
  if (a.scalar_type() == torch::kFloat64)
    interpolate_rows(out.data_ptr<double>(), a.data_ptr<double>(), a_rows, b.data_ptr<double>(), b_rows, steps, d);
  else
    interpolate_rows(out.data_ptr<float>(), a.data_ptr<float>(), a_rows, b.data_ptr<float>(), b_rows, steps, d);
}

void NewRows::add(int64_t cls, int64_t count, std::function<void(const at::Tensor&)> fill,
                  std::vector<int64_t> parent0, std::vector<int64_t> parent1) {
  REBALANCE_CHECK(static_cast<int64_t>(parent0.size()) == count && (parent1.empty() || parent1.size() == parent0.size()),
                  "NewRows: {} rows but {} / {} parents", count, parent0.size(), parent1.size());
  if (count == 0) return;
  blocks_.push_back({cls, count, std::move(fill), std::move(parent0), std::move(parent1)});
  total_ += count;
}

void NewRows::add_interpolated(int64_t cls, at::Tensor a, std::vector<int64_t> a_rows, at::Tensor b,
                               std::vector<int64_t> b_rows, std::vector<double> steps, std::vector<int64_t> a_parents,
                               std::vector<int64_t> b_parents) {
  const auto count = static_cast<int64_t>(a_rows.size());
  // The plan (row lists, steps) is small; the rows themselves are made in append_to.
  auto fill = [a = std::move(a), b = std::move(b), a_rows = std::move(a_rows), b_rows = std::move(b_rows),
               steps = std::move(steps)](const at::Tensor& dst) { interpolate_into(dst, a, a_rows, b, b_rows, steps); };
  add(cls, count, std::move(fill), std::move(a_parents), std::move(b_parents));
}

void NewRows::add_rows(int64_t cls, at::Tensor x, std::vector<int64_t> parent0, std::vector<int64_t> parent1) {
  const int64_t count = x.size(0);
  auto fill = [x = x.to(torch::kCPU).contiguous()](const at::Tensor& dst) {
    if (x.scalar_type() == dst.scalar_type())
      std::memcpy(dst.data_ptr(), x.data_ptr(), x.nbytes());
    else
      dst.copy_(x.view(dst.sizes()));
  };
  add(cls, count, std::move(fill), std::move(parent0), std::move(parent1));
}

void NewRows::add_copies(int64_t cls, at::Tensor x, std::vector<int64_t> rows, std::vector<double> noise_scale,
                         Rng* noise, std::vector<int64_t> parents) {
  const auto count = static_cast<int64_t>(rows.size());
  const int64_t d = x.size(1);
  const bool wide = x.scalar_type() == torch::kFloat64;
  // The jitter in the rows' dtype, drawn now, in row order, so the bytes do not depend on when or
  // how the rows are written.
  std::vector<float> jitter32;
  std::vector<double> jitter64;
  if (!noise_scale.empty()) {
    if (wide)
      jitter64.resize(count * d);
    else
      jitter32.resize(count * d);
    for (int64_t i = 0; i < count * d; ++i) {
      const double v = noise->normal() * noise_scale[i % d];
      if (wide)
        jitter64[i] = v;
      else
        jitter32[i] = static_cast<float>(v);
    }
  }
  if (parents.empty()) parents = rows;
  auto fill = [x = std::move(x), rows = std::move(rows), jitter32 = std::move(jitter32),
               jitter64 = std::move(jitter64), d](const at::Tensor& dst) {
    REBALANCE_CHECK(x.scalar_type() == dst.scalar_type(), "NewRows: copies of {} rows into a {} output",
                    std::string(c10::toString(x.scalar_type())), std::string(c10::toString(dst.scalar_type())));
    if (x.scalar_type() == torch::kFloat64)
      copy_rows(dst.data_ptr<double>(), x.data_ptr<double>(), rows, jitter64, d);
    else
      copy_rows(dst.data_ptr<float>(), x.data_ptr<float>(), rows, jitter32, d);
  };
  add(cls, count, std::move(fill), std::move(parents), {});
}

Dataset NewRows::append_to(const Dataset& data) const {
  if (blocks_.empty()) return data;
  const int64_t n = data.size(), d = data.num_features(), m = total_;
  // Output buffers on huge pages (empty_large): page faults would otherwise cost more than the
  // rows themselves at a million rows. The output keeps the input's dtype.
  const auto dtype = data.x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto x = empty_large({n + m, d}, dtype);
  x.slice(0, 0, n).copy_(data.x2d().to(torch::kCPU));
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
  int64_t* py = y.data_ptr<int64_t>();
  int64_t* pp = parents.data_ptr<int64_t>();
  int64_t row = n;
  for (const auto& b : blocks_) {
    b.fill(x.slice(0, row, row + b.count));
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
