#include "rebalance/under_sampling/near_miss.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"

using namespace rebalance;
using namespace rebalance::under_sampling;

namespace {

std::vector<int64_t> origins(const Dataset& d) {
  const auto o = d.origin.contiguous();
  return std::vector<int64_t>(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
}

/// 1-D: minority (class 1) at 0 and 10; class 0 at 1, 2, 5, 9, 20, 30 (rows 1, 2, 3, 4, 6, 7).
Dataset line() {
  return Dataset::from_tensors(torch::tensor({0.f, 1.f, 2.f, 5.f, 9.f, 10.f, 20.f, 30.f}).unsqueeze(1),
                               torch::tensor({1, 0, 0, 0, 0, 1, 0, 0}, torch::kInt64));
}

}  // namespace

TEST(NearMiss, Version1KeepsTheRowsNearestTheMinority) {
  // Distances to the nearest minority row: 1, 2, 5, 1, 10, 20; rows 1 and 4 tie, the lower first.
  EXPECT_EQ(origins(NearMiss(SamplingStrategy(), 1, 1).fit_resample(line())), (std::vector<int64_t>{1, 4, 0, 5}));
  // Summed over both minority rows rows 1..4 all score 10: a stable sort keeps their order.
  EXPECT_EQ(origins(NearMiss(SamplingStrategy(), 1, 2).fit_resample(line())), (std::vector<int64_t>{1, 2, 0, 5}));
  EXPECT_EQ(origins(NearMiss(SamplingStrategy("{0: 3}"), 1, 1).fit_resample(line())),
            (std::vector<int64_t>{1, 4, 2, 0, 5}));
}

TEST(NearMiss, Version2UsesTheFarthestMinorityRows) {
  // Distances to the farthest minority row: 9, 8, 5, 9, 20, 30.
  EXPECT_EQ(origins(NearMiss(SamplingStrategy(), 2, 1).fit_resample(line())), (std::vector<int64_t>{3, 2, 0, 5}));
  // n_neighbors beyond the minority's size sums over every minority row, as numpy's slice does.
  EXPECT_EQ(origins(NearMiss(SamplingStrategy(), 2, 5).fit_resample(line())), (std::vector<int64_t>{1, 2, 0, 5}));
}

TEST(NearMiss, Version3ShortListsThenKeepsTheFarthest) {
  // Short list: the 2 nearest class-0 rows of each minority row, {1, 2} and {4, 3}; of those the
  // largest distance to the nearest minority row: row 3 (5), row 2 (2), then rows 1 and 4 (1).
  EXPECT_EQ(origins(NearMiss(SamplingStrategy(), 3, 1, 2).fit_resample(line())), (std::vector<int64_t>{3, 2, 0, 5}));
  // A short list shorter than the count asked keeps the short list only.
  EXPECT_EQ(origins(NearMiss(SamplingStrategy("{0: 5}"), 3, 1, 1).fit_resample(line())),
            (std::vector<int64_t>{1, 4, 0, 5}));
}

TEST(NearMiss, CountsFollowTheStrategyOnLargerData) {
  torch::manual_seed(0);
  auto y = torch::zeros({600}, torch::kInt64);
  y.slice(0, 0, 50).fill_(1);
  y.slice(0, 50, 150).fill_(2);
  const auto data = Dataset::from_tensors(torch::randn({600, 4}), y.index_select(0, torch::randperm(600)));
  for (int64_t v : {1, 2, 3}) {
    const auto out = make_sampler("near_miss:version=" + std::to_string(v))->fit_resample(data);
    const auto counts = out.class_counts();
    EXPECT_EQ(counts[1], 50);
    if (v != 3) EXPECT_EQ(counts[0], 50);
    if (v != 3) EXPECT_EQ(counts[2], 50);
    EXPECT_TRUE(torch::equal(out.x, data.x.index_select(0, out.origin)));
  }
}

TEST(NearMiss, Errors) {
  EXPECT_ERROR_MENTIONS(make_sampler("near_miss:version=4"), "version", "1, 2, 3", "got 4");
  EXPECT_ERROR_MENTIONS(make_sampler("near_miss:n_neighbors=3")->fit_resample(line()), "n_neighbors=3",
                        "minority class \"1\"", "only 2 rows");
  EXPECT_ERROR_MENTIONS(make_sampler("near_miss:version=3,n_neighbors=1,n_neighbors_ver3=7")->fit_resample(line()),
                        "n_neighbors_ver3=7", "class \"0\"", "only 6 rows");
  // A minority of one row cannot give three neighbours.
  const auto single = Dataset::from_tensors(torch::randn({5, 2}), torch::tensor({0, 0, 0, 0, 1}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(make_sampler("near_miss")->fit_resample(single), "only 1 row", "\"1\"");
  // Under-sampling may not ask for more rows than a class has (checked before NearMiss runs).
  EXPECT_ERROR_MENTIONS(make_sampler("near_miss:n_neighbors=1,sampling_strategy={0:9}")->fit_resample(line()),
                        "less or equal", "6 samples", "9 samples");
  EXPECT_EQ(make_sampler("NearMiss")->type(), SamplingType::Under);
}
