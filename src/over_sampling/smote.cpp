#include "rebalance/over_sampling/smote.hpp"

#include <torch/torch.h>

#include "detail.hpp"
#include "rebalance/core/error.hpp"

namespace rebalance::over_sampling {

SMOTE::SMOTE(SMOTEOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("smote", SamplingType::Over, std::move(strategy), seed), options_(options) {
  REBALANCE_CHECK(options_.k_neighbors >= 1, "SMOTE: k_neighbors must be >= 1, got {}", options_.k_neighbors);
}

Dataset SMOTE::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.k_neighbors;
  const auto counts = data.class_counts();
  // Check every class before any work, so a bad k fails fast whatever the class order.
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("SMOTE", "k_neighbors", k, data, c, counts[c]);

  const at::Tensor x = detail::features(data);
  detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const at::Tensor xc = x.index_select(0, rows).contiguous();
    const at::Tensor nn = detail::self_neighbors(xc, k);
    const int64_t* pnn = nn.data_ptr<int64_t>();
    Rng rng = detail::class_rng(seed(), c);
    auto draws = detail::draw_pairs(xc.size(0), k, n, 1.0, rng);
    std::vector<int64_t> nb(n);
    for (int64_t i = 0; i < n; ++i) nb[i] = pnn[draws.row[i] * k + draws.col[i]];
    auto p0 = detail::to_global(rows, draws.row), p1 = detail::to_global(rows, nb);
    out.add_interpolated(c, xc, std::move(draws.row), xc, std::move(nb), std::move(draws.step), std::move(p0),
                         std::move(p1));
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
