#include "rebalance/under_sampling/repeated_edited_nearest_neighbours.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/edited_nearest_neighbours.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// imbalanced-learn's loop, one EditedNearestNeighbours pass at a time.
std::vector<int64_t> reference(const Dataset& data, int64_t k, int64_t max_iter, KindSel kind) {
  const auto counts0 = data.class_counts();
  const int64_t minority = first_minority_class(cpu_labels(data), data.num_classes());
  Dataset cur = data;
  for (int64_t it = 0; it < max_iter; ++it) {
    const int64_t before = cur.size();
    cur = EditedNearestNeighbours(SamplingStrategy(), k, kind).fit_resample(cur);
    const auto counts = cur.class_counts();
    bool stop = cur.size() == before;
    for (int64_t c = 0; c < data.num_classes(); ++c) {
      if (c != minority && counts[c] > 0 && counts[c] < counts0[minority]) stop = true;
      if (counts[c] == 0 && counts0[c] > 0) stop = true;
    }
    if (stop) break;
  }
  return origins(cur);
}

Dataset noisy_data(int64_t n, double minority, uint64_t seed) {
  torch::manual_seed(seed);
  const auto y = (torch::rand({n}) < minority).to(torch::kInt64);
  const auto x = torch::randn({n, 2}) + y.unsqueeze(1).to(torch::kFloat32) * 1.5f;
  return Dataset::from_tensors(x, y);
}

}  // namespace

TEST(RepeatedEditedNearestNeighbours, EqualsEnnRepeatedUntilNothingChanges) {
  const auto data = noisy_data(1500, 0.2, 0);
  for (auto kind : {KindSel::All, KindSel::Mode}) {
    RepeatedEditedNearestNeighbours s(SamplingStrategy(), 3, 100, kind);
    const auto out = s.fit_resample(data);
    EXPECT_EQ(origins(out), reference(data, 3, 100, kind)) << to_string(kind);
    EXPECT_GT(s.n_iter(), 1);
    // A further pass removes nothing.
    EXPECT_EQ(EditedNearestNeighbours(SamplingStrategy(), 3, kind).fit_resample(out).size(), out.size());
  }
}

TEST(RepeatedEditedNearestNeighbours, MaxIterOneIsOneEnnPass) {
  const auto data = noisy_data(800, 0.3, 1);
  RepeatedEditedNearestNeighbours s(SamplingStrategy(), 3, 1);
  EXPECT_EQ(origins(s.fit_resample(data)), origins(EditedNearestNeighbours().fit_resample(data)));
  EXPECT_EQ(s.n_iter(), 1);
}

TEST(RepeatedEditedNearestNeighbours, StopsWhenAClassFallsBelowTheMinority) {
  // A small class 0 scattered among class 2 falls below the minority's count (class 1, 40 rows)
  // in the first pass, and RENN stops there (imbalanced-learn's second criterion).
  torch::manual_seed(2);
  const auto x = torch::randn({300, 2});
  auto y = torch::full({300}, int64_t(2));
  y.slice(0, 0, 40).fill_(1);
  y.slice(0, 40, 85).fill_(0);
  const auto data = Dataset::from_tensors(x, y);
  const auto first = EditedNearestNeighbours(SamplingStrategy("all")).fit_resample(data);
  ASSERT_LT(first.class_counts()[0], 40);
  RepeatedEditedNearestNeighbours s(SamplingStrategy("all"));
  EXPECT_EQ(origins(s.fit_resample(data)), origins(first));
  EXPECT_EQ(s.n_iter(), 1);
}

TEST(RepeatedEditedNearestNeighbours, Errors) {
  const auto data = Dataset::from_tensors(torch::randn({6, 2}), torch::tensor({0, 0, 0, 0, 1, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("renn:n_neighbors=6")->fit_resample(data), "n_neighbors=6", "has 6");
  EXPECT_ERROR_MENTIONS(make_sampler("renn:kind_sel=any"), "\"any\"", "all, mode");
  EXPECT_ERROR_MENTIONS(make_sampler("renn:max_iter=0"), "max_iter");
  EXPECT_EQ(make_sampler("RepeatedEditedNearestNeighbours")->name(), "renn");
}
