#include "rebalance/cluster/kmeans.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"

namespace rebalance::cluster {

namespace {

/// Squared distances [N, K] of rows to centres in the rows' dtype, clamped at 0 (GEMM rounding).
at::Tensor sq_dist(const at::Tensor& x, const at::Tensor& xn, const at::Tensor& c) {
  const auto cn = c.pow(2).sum(1);
  return torch::addmm(xn.unsqueeze(1) + cn.unsqueeze(0), x, c.t(), 1.0, -2.0).clamp_min_(0.0);
}

at::Tensor plus_plus(const at::Tensor& x, const at::Tensor& xn, int64_t k, Rng& rng) {
  const int64_t n = x.size(0);
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  std::vector<int64_t> chosen = {static_cast<int64_t>(rng.uniform_int(n))};
  auto closest = sq_dist(x, xn, x.index_select(0, torch::tensor(chosen))).squeeze(1).to(torch::kFloat64);
  double pot = closest.sum().item<double>();
  for (int64_t c = 1; c < k; ++c) {
    const auto cum = closest.cumsum(0);
    std::vector<int64_t> cand;
    for (int64_t t = 0; t < trials; ++t) {
      const double r = rng.uniform() * pot;
      auto id = torch::searchsorted(cum, torch::tensor({r}, torch::kFloat64)).item<int64_t>();
      cand.push_back(std::min(id, n - 1));
    }
    const auto d = sq_dist(x, xn, x.index_select(0, torch::tensor(cand))).to(torch::kFloat64);  // [N, T]
    const auto mins = torch::minimum(closest.unsqueeze(1), d);
    const auto pots = mins.sum(0);
    const int64_t best = pots.argmin().item<int64_t>();
    chosen.push_back(cand[best]);
    closest = mins.select(1, best).contiguous();
    pot = pots[best].item<double>();
  }
  return x.index_select(0, torch::tensor(chosen)).clone();
}

KMeansResult lloyd(const at::Tensor& x, const at::Tensor& xn, at::Tensor centers, const KMeansOptions& o,
                   double tol_abs) {
  const int64_t k = o.k;
  KMeansResult r;
  at::Tensor labels, d;
  for (int64_t it = 1; it <= o.max_iter; ++it) {
    d = sq_dist(x, xn, centers);
    const auto new_labels = d.argmin(1);
    // Centres as float64 means, stored in the rows' dtype; an empty cluster takes the row farthest
    // from its own centre.
    auto sums = torch::zeros({k, x.size(1)}, torch::kFloat64).index_add_(0, new_labels, x.to(torch::kFloat64));
    auto counts = torch::bincount(new_labels, {}, k).to(torch::kFloat64);
    auto new_centers = (sums / counts.clamp_min(1.0).unsqueeze(1)).to(x.scalar_type());
    const auto empty = (counts == 0).nonzero().flatten();
    if (empty.numel() > 0) {
      const auto own = d.gather(1, new_labels.unsqueeze(1)).squeeze(1);
      const auto far = std::get<1>(own.sort(/*stable=*/true, 0, /*descending=*/true));
      for (int64_t e = 0; e < empty.numel(); ++e) new_centers[empty[e]] = x[far[e]];
    }
    const double shift = (new_centers - centers).pow(2).sum().item<double>();
    const bool same_labels = labels.defined() && torch::equal(labels, new_labels);
    centers = new_centers;
    labels = new_labels;
    r.iterations = it;
    if (same_labels || shift <= tol_abs) break;
  }
  d = sq_dist(x, xn, centers);
  r.labels = d.argmin(1);
  r.inertia = d.gather(1, r.labels.unsqueeze(1)).sum().item<double>();
  r.centers = centers;
  return r;
}

}  // namespace

KMeansResult kmeans(const at::Tensor& x_in, const KMeansOptions& o) {
  REBALANCE_CHECK(x_in.dim() == 2, "kmeans: x must be [N, D], got {}-D", x_in.dim());
  const int64_t n = x_in.size(0);
  REBALANCE_CHECK(o.k >= 1 && o.k <= n, "kmeans: k must be in [1, {}] (the number of rows), got {}", n, o.k);
  REBALANCE_CHECK(o.max_iter >= 1 && o.n_init >= 1, "kmeans: max_iter and n_init must be >= 1");
  // float64 rows are clustered in float64 (as scikit-learn's KMeans on float64 arrays), others in
  // float32.
  const auto x = x_in.to(torch::kCPU, x_in.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32)
                     .contiguous();
  const auto xn = x.pow(2).sum(1);
  const double tol_abs = o.tol * x.to(torch::kFloat64).var(0, /*unbiased=*/false).mean().item<double>();
  Rng rng(o.seed);
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int64_t run = 0; run < o.n_init; ++run) {
    auto r = lloyd(x, xn, plus_plus(x, xn, o.k, rng), o, tol_abs);
    if (r.inertia < best.inertia) best = std::move(r);
  }
  return best;
}

}  // namespace rebalance::cluster
