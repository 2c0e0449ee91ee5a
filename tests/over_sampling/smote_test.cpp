#include "rebalance/over_sampling/smote.hpp"

#include <torch/torch.h>

#include <limits>

#include "../test_util.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/neighbors/knn.hpp"

using namespace rebalance;
using namespace rebalance::over_sampling;

namespace {

/// Two blobs in 3-D: 30 rows of class 0 around the origin, 8 rows of class 1 around (3, 3, 3).
Dataset blobs(int64_t n0 = 30, int64_t n1 = 8, uint64_t seed = 1) {
  Rng rng(seed);
  auto x = torch::empty({n0 + n1, 3});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n0 + n1; ++i) {
    const int64_t c = i < n0 ? 0 : 1;
    y.push_back(c);
    for (int64_t j = 0; j < 3; ++j) x[i][j] = static_cast<float>(rng.normal() + 3.0 * c);
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"neg", "pos"}, "blobs");
}

/// t with row = a + t (b - a), or NaN when the row is off the segment.
double segment_position(const at::Tensor& row, const at::Tensor& a, const at::Tensor& b) {
  const auto diff = (b - a).to(torch::kFloat64), off = (row - a).to(torch::kFloat64);
  const auto j = diff.abs().argmax().item<int64_t>();
  const double t = diff[j].item<double>() == 0 ? 0.0 : off[j].item<double>() / diff[j].item<double>();
  const bool on = torch::allclose(off, t * diff, 0, 1e-5);
  return on ? t : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

TEST(SMOTE, CountsFollowTheStrategy) {
  const auto data = blobs();
  EXPECT_EQ(SMOTE({}, SamplingStrategy("auto"), 0).fit_resample(data).class_counts(), (std::vector<int64_t>{30, 30}));
  EXPECT_EQ(SMOTE({}, SamplingStrategy("{pos: 20}"), 0).fit_resample(data).class_counts(),
            (std::vector<int64_t>{30, 20}));
  EXPECT_EQ(SMOTE({}, SamplingStrategy("0.5"), 0).fit_resample(data).class_counts(), (std::vector<int64_t>{30, 15}));
  // "all" grows the majority by zero rows: nothing to do for it.
  EXPECT_EQ(SMOTE({.k_neighbors = 3}, SamplingStrategy("all"), 0).fit_resample(data).class_counts(),
            (std::vector<int64_t>{30, 30}));
}

TEST(SMOTE, OutputIsInputThenNewRowsByClass) {
  // Three classes: new rows of class 1 come before those of class 2, input rows untouched.
  Rng rng(4);
  auto x = torch::empty({40, 2});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 40; ++i) {
    y.push_back(i < 6 ? 2 : i < 30 ? 0 : 1);
    x[i][0] = static_cast<float>(rng.normal() + y.back());
    x[i][1] = static_cast<float>(rng.normal());
  }
  const auto data = Dataset::from_tensors(x, torch::tensor(y));
  const auto out = SMOTE({.k_neighbors = 3}, SamplingStrategy("auto"), 7).fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{24, 24, 24}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 40), data.x));
  EXPECT_TRUE(torch::equal(out.origin.slice(0, 0, 40), torch::arange(40)));
  const auto new_y = out.y.slice(0, 40);
  EXPECT_TRUE(torch::equal(new_y.slice(0, 0, 14), torch::full({14}, int64_t(1))));
  EXPECT_TRUE(torch::equal(new_y.slice(0, 14), torch::full({18}, int64_t(2))));
  EXPECT_TRUE(torch::all(out.origin.slice(0, 40) == -1).item<bool>());
}

TEST(SMOTE, SameSeedSameBytesOtherSeedOtherRows) {
  const auto data = blobs();
  const auto a = SMOTE({}, SamplingStrategy("auto"), 3).fit_resample(data);
  const auto b = SMOTE({}, SamplingStrategy("auto"), 3).fit_resample(data);
  const auto c = SMOTE({}, SamplingStrategy("auto"), 4).fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.parents, b.parents));
  EXPECT_FALSE(torch::equal(a.x, c.x));
}

TEST(SMOTE, EveryNewRowLiesBetweenItsSampleAndOneOfItsKNeighbours) {
  const auto data = blobs(40, 12, 9);
  const int64_t k = 4;
  const auto out = SMOTE({.k_neighbors = k}, SamplingStrategy("auto"), 5).fit_resample(data);
  const auto rows = data.indices_of(1);
  // Brute-force same-class neighbours (position in `rows` -> k nearest others).
  const auto xc = data.x.index_select(0, rows);
  const auto d = neighbors::exact_sq_distances(xc, xc);
  const auto order = std::get<1>(d.sort(true, 1, false)).slice(1, 1, k + 1);
  for (int64_t r = data.size(); r < out.size(); ++r) {
    const int64_t a = out.parents[r][0].item<int64_t>(), b = out.parents[r][1].item<int64_t>();
    ASSERT_EQ(out.y[r].item<int64_t>(), 1);
    ASSERT_EQ(data.y[a].item<int64_t>(), 1);
    ASSERT_EQ(data.y[b].item<int64_t>(), 1);
    const int64_t pa = (rows == a).nonzero()[0][0].item<int64_t>(), pb = (rows == b).nonzero()[0][0].item<int64_t>();
    EXPECT_TRUE((order[pa] == pb).any().item<bool>()) << "row " << r << ": " << b << " is not a " << k << "-NN of " << a;
    const double t = segment_position(out.x[r], data.x[a], data.x[b]);
    EXPECT_TRUE(t >= -1e-6 && t <= 1.0 + 1e-6) << "row " << r << " t=" << t;
  }
}

TEST(SMOTE, ImagesComeBackInTheirShape) {
  const auto flat = blobs(12, 5, 2);
  Dataset img = flat;
  img.x = torch::cat({flat.x, flat.x.slice(1, 0, 1)}, 1).reshape({flat.size(), 1, 2, 2});
  const auto out = SMOTE({.k_neighbors = 3}, SamplingStrategy("auto"), 0).fit_resample(img);
  EXPECT_EQ(out.x.sizes().vec(), (std::vector<int64_t>{24, 1, 2, 2}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, 17), img.x));
}

TEST(SMOTE, RefusesKLargerThanTheClassNamingIt) {
  const auto data = blobs(10, 3);
  EXPECT_ERROR_MENTIONS(SMOTE({.k_neighbors = 5}, SamplingStrategy("auto"), 0).fit_resample(data), "class \"pos\"",
                        "3 rows", "k_neighbors=5", "n_samples = 3, n_neighbors = 6");
  // k = 2 fits exactly (each row and its two neighbours).
  EXPECT_EQ(SMOTE({.k_neighbors = 2}, SamplingStrategy("auto"), 0).fit_resample(data).size(), 20);
}

TEST(SMOTE, RefusesASingleRowClass) {
  EXPECT_ERROR_MENTIONS(SMOTE({}, SamplingStrategy("auto"), 0).fit_resample(blobs(10, 1)), "class \"pos\"",
                        "single row");
}

TEST(SMOTE, RefusesSingleClassNaNAndRatiosThatRemoveRows) {
  const auto data = blobs();
  EXPECT_ERROR_MENTIONS(SMOTE().fit_resample(data.subset(data.indices_of(0))), "more than 1 class");
  Dataset nan = data;
  nan.x = data.x.clone();
  nan.x[5][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_ERROR_MENTIONS(SMOTE().fit_resample(nan), "row 5", "finite");
  // 8 minority rows already exceed 0.2 * 30 = 6: an over-sampler cannot get there.
  EXPECT_ERROR_MENTIONS(SMOTE({}, SamplingStrategy("0.2"), 0).fit_resample(data), "remove samples");
  EXPECT_ERROR_MENTIONS(SMOTE({}, SamplingStrategy("{pos: 5}"), 0).fit_resample(data), "greater or equal");
  EXPECT_ERROR_MENTIONS(SMOTE({.k_neighbors = 0}), "k_neighbors must be >= 1");
}

TEST(SMOTE, FactoryBuildsIt) {
  const auto data = blobs();
  const auto a = make_sampler("smote:k_neighbors=3", 2)->fit_resample(data);
  const auto b = SMOTE({.k_neighbors = 3}, SamplingStrategy("auto"), 2).fit_resample(data);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_ERROR_MENTIONS(make_sampler("smote:k_neighbors=0"), "k_neighbors", "[1,");
}
