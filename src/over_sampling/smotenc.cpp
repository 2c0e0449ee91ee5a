#include "rebalance/over_sampling/smotenc.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "detail.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/sampling/util.hpp"

namespace rebalance::over_sampling {

SMOTENC::SMOTENC(SMOTENCOptions options, SamplingStrategy strategy, uint64_t seed)
    : Sampler("smotenc", SamplingType::Over, std::move(strategy), seed), options_(std::move(options)) {
  REBALANCE_CHECK(options_.k_neighbors >= 1, "SMOTENC: k_neighbors must be >= 1, got {}", options_.k_neighbors);
  REBALANCE_CHECK(!options_.categorical_features.empty(),
                  "SMOTENC: SMOTE-NC is not designed to work only with numerical features. It requires some "
                  "categorical features: give their column indices, e.g. smotenc:categorical_features=[0,3] "
                  "(use SMOTE when no column is categorical)");
  auto sorted = options_.categorical_features;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  REBALANCE_CHECK(dup == sorted.end(), "SMOTENC: categorical feature {} is listed twice", *dup);
}

Dataset SMOTENC::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  const int64_t k = options_.k_neighbors;
  const at::Tensor x = detail::features(data);
  const int64_t d = x.size(1);
  std::vector<bool> is_cat(d, false);
  for (auto j : options_.categorical_features) {
    REBALANCE_CHECK(j >= 0 && j < d,
                    "SMOTENC: Some of the categorical indices are out of range. Indices should be between 0 and {} "
                    "(got {}; the data has {} features)",
                    d - 1, j, d);
    is_cat[j] = true;
  }
  std::vector<int64_t> cat, cont;
  for (int64_t j = 0; j < d; ++j) (is_cat[j] ? cat : cont).push_back(j);
  REBALANCE_CHECK(!cont.empty(),
                  "SMOTENC: SMOTE-NC is not designed to work only with categorical features. It requires some "
                  "numerical features; use SMOTEN (smoten) when every column is categorical");
  const auto counts = data.class_counts();
  for (const auto& [c, n] : target)
    if (n > 0) detail::check_class_neighbors("SMOTENC", "k_neighbors", k, data, c, counts[c]);

  // The minority class: fewest rows, ties to the class seen first in y (Counter order).
  const at::Tensor y = data.y.to(torch::kCPU);
  int64_t minority = -1, first_seen = 0;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (counts[c] == 0) continue;
    const int64_t first = (y == c).nonzero()[0][0].item<int64_t>();
    if (minority < 0 || counts[c] < counts[minority] || (counts[c] == counts[minority] && first < first_seen)) {
      minority = c;
      first_seen = first;
    }
  }
  const at::Tensor cont_idx = to_index_tensor(cont), cat_idx = to_index_tensor(cat);
  const at::Tensor std_min = x.index_select(0, detail::class_rows(data, minority))
                                 .index_select(1, cont_idx)
                                 .to(torch::kFloat64)
                                 .std(0, /*unbiased=*/false);
  // np.median: the mean of the two middle values for an even count.
  std::vector<double> s(std_min.data_ptr<double>(), std_min.data_ptr<double>() + std_min.numel());
  std::sort(s.begin(), s.end());
  const size_t h = s.size() / 2;
  const double median_std = s.size() % 2 ? s[h] : (s[h - 1] + s[h]) / 2.0;
  const bool wide = x.scalar_type() == torch::kFloat64;

  detail::NewRows out;
  for (const auto& [c, n_target] : target) {
    // A copy, not the binding: clang before 16 cannot capture a structured binding in a lambda.
    const int64_t n = n_target;
    if (n == 0) continue;
    const at::Tensor rows = detail::class_rows(data, c);
    const at::Tensor xc = x.index_select(0, rows).contiguous();
    const int64_t n_c = xc.size(0);
    // Category codes per categorical column. Only the categories present in the class get a
    // one-hot column: the others are 0 for every class row and add nothing to any distance.
    const at::Tensor xcat = xc.index_select(1, cat_idx).contiguous();
    std::vector<at::Tensor> blocks{xc.index_select(1, cont_idx)};
    for (size_t f = 0; f < cat.size(); ++f) {
      const auto col = xcat.select(1, static_cast<int64_t>(f)).contiguous();
      const auto [values, inverse, unused] = torch::_unique2(col, /*sorted=*/true, /*return_inverse=*/true);
      (void)unused;
      // median_std / 2 as a scalar of the rows' dtype (imbalanced-learn's encoder takes the
      // continuous columns' dtype), so float32 products stay float32.
      const auto onehot = torch::one_hot(inverse, values.size(0)).to(x.scalar_type());
      blocks.push_back(wide ? onehot * (median_std / 2.0) : onehot * static_cast<float>(median_std / 2.0));
    }
    const at::Tensor encoded = torch::cat(blocks, 1).contiguous();
    const at::Tensor nn = detail::self_neighbors(encoded, k);
    const int64_t* pnn = nn.data_ptr<int64_t>();

    Rng rng = detail::class_rng(seed(), c);
    auto draws = detail::draw_pairs(n_c, k, n, 1.0, rng);
    std::vector<int64_t> nb(n);
    for (int64_t i = 0; i < n; ++i) nb[i] = pnn[draws.row[i] * k + draws.col[i]];
    at::Tensor x_new = torch::empty({n, d}, x.options());
    detail::interpolate_into(x_new, xc, draws.row, xc, nb, draws.step);

    // Each categorical column: the value most frequent among the seed row's k neighbours, ties
    // drawn uniformly among the tied values (copied, so in the rows' own dtype).
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "SMOTENC", [&] {
      scalar_t* px = x_new.data_ptr<scalar_t>();
      const scalar_t* pcat = xcat.data_ptr<scalar_t>();
      const int64_t n_cat = static_cast<int64_t>(cat.size());
      std::vector<scalar_t> seen(k), tied;
      std::vector<int64_t> seen_count(k);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t* row_nn = pnn + draws.row[i] * k;
        for (int64_t f = 0; f < n_cat; ++f) {
          int64_t distinct = 0, best = 0;
          for (int64_t a = 0; a < k; ++a) {
            const scalar_t v = pcat[row_nn[a] * n_cat + f];
            int64_t b = 0;
            while (b < distinct && seen[b] != v) ++b;
            if (b == distinct) {
              seen[distinct] = v;
              seen_count[distinct++] = 0;
            }
            best = std::max(best, ++seen_count[b]);
          }
          tied.clear();
          for (int64_t b = 0; b < distinct; ++b)
            if (seen_count[b] == best) tied.push_back(seen[b]);
          std::sort(tied.begin(), tied.end());
          px[i * d + cat[f]] = tied.size() == 1 ? tied[0] : tied[rng.uniform_int(tied.size())];
        }
      }
    });
    out.add_rows(c, std::move(x_new), detail::to_global(rows, draws.row), detail::to_global(rows, nb));
  }
  return out.append_to(data);
}

}  // namespace rebalance::over_sampling
