#include "rebalance/under_sampling/condensed_nearest_neighbour.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/under_sampling/common.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// imbalanced-learn's loop, refitting a brute-force k-NN classifier on the store after every
/// addition (neighbour ties to the earlier store entry, vote ties to the lower class).
std::vector<int64_t> reference(const Dataset& data, const std::vector<int64_t>& targeted, int64_t k, int64_t seeds,
                               uint64_t seed) {
  const auto x = cpu_features(data);
  const auto y = cpu_labels(data);
  const int64_t d = x.size(1);
  const float* p = x.data_ptr<float>();
  const auto min_rows = class_rows(y, first_minority_class(y, data.num_classes()));
  auto predict = [&](const std::vector<int64_t>& store, int64_t row) {
    std::vector<std::tuple<double, int64_t, int64_t>> all;
    for (size_t s = 0; s < store.size(); ++s)
      all.emplace_back(neighbors::squared_distance(p + row * d, p + store[s] * d, d), s, y[store[s]]);
    std::sort(all.begin(), all.end());
    std::vector<int64_t> labels;
    for (int64_t j = 0; j < k; ++j) labels.push_back(std::get<2>(all[j]));
    return mode_label(labels.data(), k);
  };
  std::vector<int64_t> out;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const auto members = class_rows(y, c);
    if (std::find(targeted.begin(), targeted.end(), c) == targeted.end()) {
      out.insert(out.end(), members.begin(), members.end());
      continue;
    }
    std::vector<int64_t> sample;
    for (auto s : draw_seed_positions(seed, c, members.size(), seeds)) sample.push_back(members[s]);
    std::vector<int64_t> store = min_rows;
    store.insert(store.end(), sample.begin(), sample.end());
    std::set<int64_t> good(sample.begin(), sample.end());  // row numbers and positions, mixed
    for (int64_t i = 0; i < static_cast<int64_t>(members.size()); ++i) {
      if (good.count(i)) continue;
      if (predict(store, members[i]) == c) continue;
      sample.push_back(members[i]);
      store.push_back(members[i]);
      good = std::set<int64_t>(sample.begin(), sample.end());
      for (int64_t j = 0; j < static_cast<int64_t>(members.size()); ++j)
        if (predict(store, members[j]) == c) good.insert(j);
    }
    out.insert(out.end(), sample.begin(), sample.end());
  }
  return out;
}

Dataset overlapping(int64_t n, double minority, uint64_t seed) {
  torch::manual_seed(seed);
  const auto y = (torch::rand({n}) < minority).to(torch::kInt64);
  const auto x = torch::randn({n, 2}) + y.unsqueeze(1).to(torch::kFloat32) * 2.0f;
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(CondensedNearestNeighbour, MatchesTheRefittingLoop) {
  const auto data = overlapping(400, 0.2, 0);
  for (auto [k, seeds] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 1}, {1, 4}}) {
    CondensedNearestNeighbour s(SamplingStrategy(), k, seeds, 11);
    EXPECT_EQ(origins(s.fit_resample(data)), reference(data, {0}, k, seeds, 11)) << k << " " << seeds;
  }
  EXPECT_EQ(origins(CondensedNearestNeighbour(SamplingStrategy("all"), 1, 1, 5).fit_resample(data)),
            reference(data, {0, 1}, 1, 1, 5));
}

TEST(CondensedNearestNeighbour, CondensesAndReproduces) {
  const auto data = overlapping(1000, 0.1, 1);
  const auto a = make_sampler("cnn", 3)->fit_resample(data);
  EXPECT_LT(a.class_counts()[0], data.class_counts()[0] / 2);
  EXPECT_EQ(a.class_counts()[1], data.class_counts()[1]);
  EXPECT_TRUE(torch::equal(a.x, data.x.index_select(0, a.origin)));
  EXPECT_EQ(origins(make_sampler("cnn", 3)->fit_resample(data)), origins(a));
  EXPECT_EQ(make_sampler("CondensedNearestNeighbour")->type(), SamplingType::Clean);
}

TEST(CondensedNearestNeighbour, Errors) {
  const auto data = Dataset::from_tensors(torch::randn({8, 2}), torch::tensor({0, 0, 0, 0, 0, 0, 1, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("cnn:n_neighbors=4")->fit_resample(data), "n_neighbors=4", "only 3 rows",
                        "minority class \"1\"");
  EXPECT_ERROR_MENTIONS(make_sampler("cnn:n_seeds_S=0"), "n_seeds_S");
  EXPECT_ERROR_MENTIONS(make_sampler("cnn:sampling_strategy={0:3}")->fit_resample(data), "dict");
}
