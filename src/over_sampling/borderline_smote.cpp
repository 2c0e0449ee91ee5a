#include "rebalance/over_sampling/borderline_smote.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/sampling/util.hpp"

namespace rebalance::over_sampling {

namespace {


/// Danger mask of the rows `xc` ([n_c, D]) of class `cls` against all rows `x` ([N, D]).
at::Tensor danger_of(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xc, int64_t cls, int64_t m) {
  const auto nn = neighbors::knn(x, xc, m + 1).indices.slice(1, 1);
  const auto others = (y.index_select(0, nn.flatten()).view_as(nn) != cls).sum(1);
  // imbalanced-learn: m / 2 <= n_other < m, with m / 2 a float division.
  return (others * 2 >= m) & (others < m);
}

}  // namespace

BorderlineSMOTE::BorderlineSMOTE(BorderlineSMOTEOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("borderline_smote", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  REBALANCE_CHECK(options_.k_neighbors >= 1, "BorderlineSMOTE: k_neighbors must be >= 1, got {}",
                  options_.k_neighbors);
  REBALANCE_CHECK(options_.m_neighbors >= 1, "BorderlineSMOTE: m_neighbors must be >= 1, got {}",
                  options_.m_neighbors);
  REBALANCE_CHECK(options_.kind == "borderline-1" || options_.kind == "borderline-2",
                  "BorderlineSMOTE: kind must be \"borderline-1\" or \"borderline-2\", got \"{}\"", options_.kind);
}

at::Tensor BorderlineSMOTE::danger_mask(const Dataset& data, int64_t cls, int64_t m_neighbors) {
  detail::check_rows("BorderlineSMOTE", "m_neighbors", m_neighbors, m_neighbors + 1, data.size(), "the data set");
  const at::Tensor x = detail::features(data);
  const at::Tensor xc = x.index_select(0, detail::class_rows(data, cls)).contiguous();
  return danger_of(x, data.y.to(torch::kCPU), xc, cls, m_neighbors);
}

Dataset BorderlineSMOTE::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.k_neighbors, m = options_.m_neighbors;
  const bool kind2 = options_.kind == "borderline-2";
  const auto counts = data.class_counts();
  detail::check_rows("BorderlineSMOTE", "m_neighbors", m, m + 1, data.size(), "the data set");
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    detail::check_class_neighbors("BorderlineSMOTE", "k_neighbors", k, data, c, counts[c]);
    if (kind2)
      detail::check_rows("BorderlineSMOTE", "k_neighbors", k, k, data.size() - counts[c],
                         fmt::format("the rows of the other classes than \"{}\" (borderline-2)", data.class_names[c]));
  }

  const at::Tensor x = detail::features(data);
  const at::Tensor y = data.y.to(torch::kCPU);
  detail::NewRows out;
  std::vector<std::string> no_danger;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const at::Tensor xc = x.index_select(0, rows).contiguous();
    const at::Tensor danger = danger_of(x, y, xc, c, m).nonzero().flatten().contiguous();
    const int64_t n_danger = danger.size(0);
    // As imbalanced-learn, a class without border rows gets no new rows; a run where no class
    // gets any is refused below rather than returned unchanged.
    if (n_danger == 0) {
      no_danger.push_back(data.class_names[c]);
      continue;
    }
    const auto danger_v = to_index_vector(danger);
    const at::Tensor xd = xc.index_select(0, danger).contiguous();
    const at::Tensor nn = neighbors::knn(xc, xd, k + 1).indices.slice(1, 1).contiguous();
    const int64_t* pnn = nn.data_ptr<int64_t>();
    Rng rng = detail::class_rng(seed(), c);

    // Borderline-2 splits the rows between the two kinds of neighbour by a Beta(10, 10) share,
    // as imbalanced-learn, but always makes exactly n in total.
    const int64_t n1 = kind2 ? std::min<int64_t>(n, static_cast<int64_t>(detail::beta_10_10(rng) * (n + 1))) : n;
    auto draws = detail::draw_pairs(n_danger, k, n1, 1.0, rng);
    std::vector<int64_t> seed_rows(n1), nb(n1);
    for (int64_t i = 0; i < n1; ++i) {
      seed_rows[i] = danger_v[draws.row[i]];
      nb[i] = pnn[draws.row[i] * k + draws.col[i]];
    }
    auto p0 = detail::to_global(rows, seed_rows), p1 = detail::to_global(rows, nb);
    out.add_interpolated(c, xc, std::move(seed_rows), xc, std::move(nb), std::move(draws.step), std::move(p0),
                         std::move(p1));

    if (kind2 && n - n1 > 0) {
      // Neighbours among the other classes, kept as data-set positions so the copy of those
      // rows can go once the search is done.
      const at::Tensor other_rows = (y != c).nonzero().flatten();
      const at::Tensor nn_o =
          other_rows.index_select(0, neighbors::knn(x.index_select(0, other_rows), xd, k).indices.flatten())
              .contiguous();
      const int64_t* po = nn_o.data_ptr<int64_t>();
      auto d2 = detail::draw_pairs(n_danger, k, n - n1, 0.5, rng);
      std::vector<int64_t> s2(n - n1), o2(n - n1);
      for (int64_t i = 0; i < n - n1; ++i) {
        s2[i] = danger_v[d2.row[i]];
        o2[i] = po[d2.row[i] * k + d2.col[i]];
      }
      auto q0 = detail::to_global(rows, s2);
      out.add_interpolated(c, xc, std::move(s2), x, o2, std::move(d2.step), std::move(q0), o2);
    }
  }
  REBALANCE_CHECK(out.size() > 0 || no_danger.empty(),
                  "BorderlineSMOTE: no row of class {} is in danger (between m/2 and m-1 other-class rows among "
                  "its m_neighbors={} nearest rows), so there is no border row to over-sample and the data would "
                  "come back unchanged; try another m_neighbors, or SMOTE",
                  fmt::format("\"{}\"", fmt::join(no_danger, "\", \"")), m);
  return out.append_to(data);
}

namespace detail {

double beta_10_10(Rng& rng) {
  std::vector<double> u(19);
  for (auto& v : u) v = rng.uniform();
  std::nth_element(u.begin(), u.begin() + 9, u.end());
  return u[9];
}

}  // namespace detail

}  // namespace rebalance::over_sampling
