#include "rebalance/under_sampling/one_sided_selection.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/under_sampling/common.hpp"
#include "rebalance/under_sampling/condensed_nearest_neighbour.hpp"
#include "rebalance/under_sampling/tomek_links.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// Seeds, then the rows the brute-force k-NN rule on (minority + seeds) misclassifies, then
/// Tomek links removed from what is kept.
std::vector<int64_t> reference(const Dataset& data, const std::vector<int64_t>& targeted, int64_t k, int64_t seeds,
                               uint64_t seed) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t d = x.size(1);
  const float* p = x.data_ptr<float>();
  const auto min_rows = class_rows(y, first_minority_class(y, data.num_classes()));
  std::vector<int64_t> kept;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto members = class_rows(y, c);
    if (std::find(targeted.begin(), targeted.end(), c) == targeted.end()) {
      kept.insert(kept.end(), members.begin(), members.end());
      continue;
    }
    const auto pos = draw_seed_positions(seed, c, members.size(), seeds);
    std::vector<int64_t> store = min_rows;
    for (auto s : pos) {
      store.push_back(members[s]);
      kept.push_back(members[s]);
    }
    const std::set<int64_t> seed_pos(pos.begin(), pos.end());
    for (int64_t i = 0; i < static_cast<int64_t>(members.size()); ++i) {
      if (seed_pos.count(i)) continue;
      std::vector<std::tuple<double, int64_t, int64_t>> all;
      for (size_t s = 0; s < store.size(); ++s)
        all.emplace_back(neighbors::squared_distance(p + members[i] * d, p + store[s] * d, d), s, y[store[s]]);
      std::sort(all.begin(), all.end());
      std::vector<int64_t> labels;
      for (int64_t j = 0; j < k; ++j) labels.push_back(std::get<2>(all[j]));
      if (mode_label(labels.data(), k) != c) kept.push_back(members[i]);
    }
  }
  std::vector<int64_t> yk;
  for (auto r : kept) yk.push_back(y[r]);
  const auto mask = tomek_links_mask(x.index_select(0, torch::tensor(kept, torch::kInt64)), yk, targeted);
  std::vector<int64_t> out;
  for (size_t i = 0; i < kept.size(); ++i)
    if (!mask[i].item<bool>()) out.push_back(kept[i]);
  return out;
}

Dataset overlapping(int64_t n, double minority, uint64_t seed) {
  torch::manual_seed(seed);
  const auto y = (torch::rand({n}) < minority).to(torch::kInt64);
  const auto x = torch::randn({n, 2}) + y.unsqueeze(1).to(torch::kFloat32) * 1.5f;
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(OneSidedSelection, SeedsMisclassifiedRowsLessTomekLinks) {
  const auto data = overlapping(500, 0.2, 0);
  for (auto [k, seeds] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 2}, {1, 5}}) {
    OneSidedSelection s(SamplingStrategy(), k, seeds, 4);
    EXPECT_EQ(origins(s.fit_resample(data)), reference(data, {0}, k, seeds, 4)) << k << " " << seeds;
  }
  EXPECT_EQ(origins(OneSidedSelection(SamplingStrategy("all"), 1, 1, 9).fit_resample(data)),
            reference(data, {0, 1}, 1, 1, 9));
}

TEST(OneSidedSelection, SharesItsSeedsWithCondensedNearestNeighbour) {
  // Same seed, same seed rows: both outputs open the targeted class with them.
  const auto data = overlapping(300, 0.3, 1);
  const auto cnn = origins(make_sampler("cnn:n_seeds_S=3", 21)->fit_resample(data));
  const auto oss = origins(make_sampler("oss:n_seeds_S=3", 21)->fit_resample(data));
  const auto pos = draw_seed_positions(21, 0, data.class_counts()[0], 3);
  const auto members = class_rows(cpu_labels(data), 0);
  std::vector<int64_t> surviving;
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(cnn[i], members[pos[i]]);
    if (std::count(oss.begin(), oss.end(), members[pos[i]])) surviving.push_back(members[pos[i]]);
  }
  EXPECT_EQ(std::vector<int64_t>(oss.begin(), oss.begin() + surviving.size()), surviving);
}

TEST(OneSidedSelection, Errors) {
  const auto data = Dataset::from_tensors(torch::randn({8, 2}), torch::tensor({0, 0, 0, 0, 0, 0, 1, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("oss:n_neighbors=5")->fit_resample(data), "n_neighbors=5", "only 3 rows");
  EXPECT_ERROR_MENTIONS(make_sampler("oss:n_seeds_S=-1"), "n_seeds_S");
  const auto one = Dataset::from_tensors(torch::randn({4, 2}), torch::zeros({4}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("OneSidedSelection")->fit_resample(one), "more than 1 class");
}
