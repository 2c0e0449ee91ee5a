#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "../test_util.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// Reference ENN: brute-force neighbours (itself excluded, ties to the lower index), imbalanced-
/// learn's keep rules and its class-by-class output order.
std::vector<int64_t> brute_enn(const at::Tensor& x, const at::Tensor& y, const std::vector<int64_t>& targeted,
                               int64_t k, KindSel kind) {
  const int64_t n = x.size(0), d = x.size(1);
  const float* p = x.data_ptr<float>();
  const auto ya = y.accessor<int64_t, 1>();
  const int64_t classes = y.max().item<int64_t>() + 1;
  std::vector<std::vector<int64_t>> by_class(classes);
  for (int64_t i = 0; i < n; ++i) {
    bool keep = true;
    if (std::count(targeted.begin(), targeted.end(), ya[i])) {
      std::vector<std::pair<double, int64_t>> all;
      for (int64_t j = 0; j < n; ++j)
        if (j != i) all.emplace_back(neighbors::squared_distance(p + i * d, p + j * d, d), j);
      std::partial_sort(all.begin(), all.begin() + k, all.end());
      std::vector<int64_t> labels;
      for (int64_t j = 0; j < k; ++j) labels.push_back(ya[all[j].second]);
      keep = kind == KindSel::All ? std::all_of(labels.begin(), labels.end(), [&](int64_t l) { return l == ya[i]; })
                                  : mode_label(labels.data(), k) == ya[i];
    }
    if (keep) by_class[ya[i]].push_back(i);
  }
  std::vector<int64_t> out;
  for (auto& rows : by_class) out.insert(out.end(), rows.begin(), rows.end());
  return out;
}

}  // namespace

TEST(EditedNearestNeighbours, HandMadeAllAndMode) {
  // Rows 0 and 1 (class 0) each have one class-1 row among their three nearest: "all" removes
  // them, "mode" keeps them. Row 2's nearest are 3, then 1 and 4 tied at distance 1, the lower
  // index first: [3, 1, 4], mostly class 1, so both rules remove it.
  const auto x = torch::tensor({0.f, 1.f, 2.f, 2.5f, 3.f, 10.f, 11.f, 12.f, 13.f}).unsqueeze(1);
  const auto y = torch::tensor({0, 0, 0, 1, 1, 0, 0, 0, 0}, torch::kInt64);
  const auto data = Dataset::from_tensors(x, y);
  EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy(), 3, KindSel::All).fit_resample(data)),
            (std::vector<int64_t>{5, 6, 7, 8, 3, 4}));
  EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy(), 3, KindSel::Mode).fit_resample(data)),
            (std::vector<int64_t>{0, 1, 5, 6, 7, 8, 3, 4}));
}

TEST(EditedNearestNeighbours, MatchesBruteForce) {
  torch::manual_seed(0);
  // Imbalanced data (the screened search) and balanced data (the plain one), several k.
  for (auto [n, minority, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {2500, 50, 3}, {2500, 120, 1}, {1200, 30, 5}, {500, 200, 3}}) {
    const auto x = torch::randn({n, 3});
    auto y = torch::zeros({n}, torch::kInt64);
    y.slice(0, 0, minority).fill_(1);
    y = y.index_select(0, torch::randperm(n));
    const auto data = Dataset::from_tensors(x, y);
    for (auto kind : {KindSel::All, KindSel::Mode}) {
      EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy(), k, kind).fit_resample(data)),
                brute_enn(x, y, {0}, k, kind))
          << n << " " << k << " " << to_string(kind);
      EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy("all"), k, kind).fit_resample(data)),
                brute_enn(x, y, {0, 1}, k, kind));
    }
  }
}

TEST(EditedNearestNeighbours, TiesAndDuplicatesFollowTheLowerIndex) {
  // Integer-valued rows, many duplicated across classes.
  torch::manual_seed(1);
  const int64_t n = 2000;
  const auto x = torch::randint(0, 5, {n, 2}).to(torch::kFloat32);
  const auto y = (torch::rand({n}) < 0.1).to(torch::kInt64);
  const auto data = Dataset::from_tensors(x, y);
  EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy(), 3, KindSel::All).fit_resample(data)),
            brute_enn(x, y, {0}, 3, KindSel::All));
  EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy("all"), 4, KindSel::Mode).fit_resample(data)),
            brute_enn(x, y, {0, 1}, 4, KindSel::Mode));
}

TEST(EditedNearestNeighbours, ClassWithOneRowIsRemovedWhenTargeted) {
  // Its three neighbours are all of the other class: removed with "all", not touched by "auto".
  const auto x = torch::tensor({0.f, 1.f, 2.f, 3.f, 100.f}).unsqueeze(1);
  const auto y = torch::tensor({0, 0, 0, 0, 1}, torch::kInt64);
  const auto data = Dataset::from_tensors(x, y);
  EXPECT_EQ(origins(EditedNearestNeighbours(SamplingStrategy("all")).fit_resample(data)),
            (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(origins(EditedNearestNeighbours().fit_resample(data)).size(), 5u);
}

TEST(EditedNearestNeighbours, Errors) {
  const auto data = Dataset::from_tensors(torch::randn({8, 2}), torch::tensor({0, 0, 0, 0, 0, 1, 1, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("enn:n_neighbors=8")->fit_resample(data), "n_neighbors=8", "at least 9 rows",
                        "has 8");
  EXPECT_ERROR_MENTIONS(make_sampler("enn:kind_sel=most"), "kind_sel", "\"most\"", "all, mode");
  EXPECT_ERROR_MENTIONS(make_sampler("enn:n_neighbors=0"), "n_neighbors");
  EXPECT_ERROR_MENTIONS(make_sampler("enn:sampling_strategy={0:3}")->fit_resample(data), "dict");
  const auto one = Dataset::from_tensors(torch::randn({4, 2}), torch::zeros({4}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("enn")->fit_resample(one), "more than 1 class");
}

TEST(EditedNearestNeighbours, FactoryAndImages) {
  auto s = make_sampler("EditedNearestNeighbours:n_neighbors=1,kind_sel=mode");
  EXPECT_EQ(s->name(), "enn");
  EXPECT_EQ(s->type(), SamplingType::Clean);
  // [N, C, H, W] features are compared as flat vectors; the output keeps the image shape.
  const auto x = torch::randn({40, 1, 2, 2});
  const auto y = (torch::arange(40) % 4 == 0).to(torch::kInt64);
  const auto out = s->fit_resample(Dataset::from_tensors(x, y));
  EXPECT_EQ(out.x.dim(), 4);
  EXPECT_EQ(origins(out), brute_enn(x.reshape({40, 4}).contiguous(), y, {0}, 1, KindSel::Mode));
}
