#include "rebalance/over_sampling/smoten.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "detail.hpp"
#include "rebalance/core/error.hpp"

namespace rebalance::over_sampling {

SMOTEN::SMOTEN(SMOTENOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("smoten", SamplingType::Over, std::move(strategy), seed), options_(options) {
  REBALANCE_CHECK(options_.k_neighbors >= 1, "SMOTEN: k_neighbors must be >= 1, got {}", options_.k_neighbors);
}

Dataset SMOTEN::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.k_neighbors;
  const auto counts = data.class_counts();
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("SMOTEN", "k_neighbors", k, data, c, counts[c]);

  // Values are categories here: kept in the input's dtype so that new rows repeat them exactly.
  const at::Tensor x = detail::features(data);
  const int64_t d = x.size(1);
  const at::Tensor y = data.y.to(torch::kCPU);
  // Classes present, in ascending order, as the columns of the conditional probabilities.
  std::vector<int64_t> class_pos(data.num_classes(), -1);
  int64_t n_classes = 0;
  for (int64_t c = 0; c < data.num_classes(); ++c)
    if (counts[c] > 0) class_pos[c] = n_classes++;
  const at::Tensor ypos = torch::tensor(class_pos, torch::kInt64).index_select(0, y);

  // Ordinal codes of every column over the whole data set, and p_f(class | value) per column.
  std::vector<at::Tensor> values(d), codes(d), proba(d);
  for (int64_t f = 0; f < d; ++f) {
    const auto [v, inverse, unused] =
        torch::_unique2(x.select(1, f).contiguous(), /*sorted=*/true, /*return_inverse=*/true);
    (void)unused;
    values[f] = v.contiguous();
    codes[f] = inverse.contiguous();
    const int64_t n_cat = v.size(0);
    const auto hist = torch::bincount(codes[f] * n_classes + ypos, {}, n_cat * n_classes)
                          .to(torch::kFloat64)
                          .view({n_cat, n_classes});
    proba[f] = hist / hist.sum(1, /*keepdim=*/true);
  }

  detail::NewRows out;
  for (const auto& [c, n] : target) {
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const int64_t n_c = rows.size(0);
    std::vector<at::Tensor> p_rows(d), c_codes(d);
    for (int64_t f = 0; f < d; ++f) {
      c_codes[f] = codes[f].index_select(0, rows).contiguous();
      p_rows[f] = proba[f].index_select(0, c_codes[f]).contiguous();  // [n_c, classes]
    }
    // k + 1 nearest class rows in the VDM (the row itself included, as imbalanced-learn's
    // precomputed search), block by block; a stable sort puts the lower index first on ties.
    const int64_t block = std::max<int64_t>(1, (int64_t(4) << 20) / n_c);
    std::vector<at::Tensor> parts;
    for (int64_t r0 = 0; r0 < n_c; r0 += block) {
      const int64_t r1 = std::min(n_c, r0 + block);
      auto dist = torch::zeros({r1 - r0, n_c}, torch::kFloat64);
      for (int64_t f = 0; f < d; ++f)
        dist += torch::cdist(p_rows[f].slice(0, r0, r1), p_rows[f], 1.0).pow(2);
      parts.push_back(std::get<1>(dist.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false)).slice(1, 0, k + 1));
    }
    const at::Tensor nn = torch::cat(parts).contiguous();
    const int64_t* pnn = nn.data_ptr<int64_t>();

    // The new row made from class row i depends on i only: its neighbours' per-column mode.
    auto mode_rows = torch::empty({n_c, d}, torch::kFloat64);  // exact for float32 and float64 values
    double* pm = mode_rows.data_ptr<double>();
    std::vector<int64_t> votes(k + 1);
    for (int64_t f = 0; f < d; ++f) {
      const int64_t* code = c_codes[f].data_ptr<int64_t>();
      const auto value_t = values[f].to(torch::kFloat64).contiguous();
      const double* value = value_t.data_ptr<double>();
      for (int64_t i = 0; i < n_c; ++i) {
        for (int64_t a = 0; a <= k; ++a) votes[a] = code[pnn[i * (k + 1) + a]];
        std::sort(votes.begin(), votes.end());
        // Longest run of equal codes; the first (smallest) wins ties, as scipy.stats.mode.
        int64_t best = votes[0], best_len = 0;
        for (int64_t a = 0; a <= k;) {
          int64_t b = a;
          while (b <= k && votes[b] == votes[a]) ++b;
          if (b - a > best_len) {
            best_len = b - a;
            best = votes[a];
          }
          a = b;
        }
        pm[i * d + f] = value[best];
      }
    }
    Rng rng = detail::class_rng(seed(), c);
    std::vector<int64_t> drawn(n);
    for (auto& i : drawn) i = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n_c)));
    const auto idx = torch::from_blob(drawn.data(), {n}, torch::kInt64);
    out.add_rows(c, mode_rows.index_select(0, idx).to(x.scalar_type()), detail::to_global(rows, drawn), {});
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
