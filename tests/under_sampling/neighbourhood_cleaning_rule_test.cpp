#include "rebalance/under_sampling/neighbourhood_cleaning_rule.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// A1 from ENN(mode); A2 from brute-force neighbourhoods of the minority rows.
std::vector<int64_t> reference(const Dataset& data, const std::vector<int64_t>& targeted, int64_t k, KindSel kind,
                               double threshold) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t n = data.size(), d = x.size(1);
  const float* p = x.data_ptr<float>();
  std::map<int64_t, int64_t> target;
  for (auto c : targeted) target[c] = 0;
  std::vector<char> removed(n, 1);
  for (auto i : edited_nearest_neighbours_keep(x, y, target, k, KindSel::Mode)) removed[i] = 0;
  const auto counts = data.class_counts();
  const int64_t minority = first_minority_class(y, data.num_classes());
  for (auto i : class_rows(y, minority)) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) all.emplace_back(neighbors::squared_distance(p + i * d, p + j * d, d), j);
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    std::vector<int64_t> labels;
    for (int64_t j = 0; j < k; ++j) labels.push_back(y[all[j].second]);
    const bool good = kind == KindSel::Mode
                          ? mode_label(labels.data(), k) == minority
                          : std::all_of(labels.begin(), labels.end(), [&](int64_t l) { return l == minority; });
    if (good) continue;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t r = all[j].second;
      if (target.count(y[r]) && counts[y[r]] > threshold * n) removed[r] = 1;
    }
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (!removed[i]) out.push_back(i);
  return out;
}

Dataset three_classes(uint64_t seed) {
  torch::manual_seed(seed);
  auto y = torch::zeros({900}, torch::kInt64);
  y.slice(0, 0, 60).fill_(1);
  y.slice(0, 60, 250).fill_(2);
  y = y.index_select(0, torch::randperm(900));
  const auto x = torch::randn({900, 2}) + y.unsqueeze(1).to(torch::kFloat32);
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(NeighbourhoodCleaningRule, MatchesTheTwoSetsByBruteForce) {
  const auto data = three_classes(0);
  for (auto kind : {KindSel::All, KindSel::Mode})
    for (double threshold : {0.5, 0.1}) {
      NeighbourhoodCleaningRule s(SamplingStrategy(), 3, kind, threshold);
      EXPECT_EQ(origins(s.fit_resample(data)), reference(data, {0, 2}, 3, kind, threshold))
          << to_string(kind) << " " << threshold;
    }
  EXPECT_EQ(origins(NeighbourhoodCleaningRule(SamplingStrategy("[0]"), 5).fit_resample(data)),
            reference(data, {0}, 5, KindSel::All, 0.5));
}

TEST(NeighbourhoodCleaningRule, OutputKeepsInputOrder) {
  const auto out = origins(make_sampler("ncr")->fit_resample(three_classes(1)));
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_LT(out.size(), 900u);
}

TEST(NeighbourhoodCleaningRule, Errors) {
  const auto data = three_classes(2);
  EXPECT_ERROR_MENTIONS(make_sampler("ncr:threshold_cleaning=1.5"), "threshold_cleaning", "(0, 1)", "1.5");
  EXPECT_ERROR_MENTIONS(make_sampler("ncr:kind_sel=some"), "\"some\"", "all, mode");
  EXPECT_ERROR_MENTIONS(make_sampler("ncr:n_neighbors=900")->fit_resample(data), "n_neighbors=900", "has 900");
  EXPECT_EQ(make_sampler("NeighbourhoodCleaningRule")->name(), "ncr");
}
