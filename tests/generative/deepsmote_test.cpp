#include <torch/torch.h>

#include "../test_util.hpp"
#include "digits.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;
using namespace rebalance::generative;

namespace {

using rebalance::testing::zeros_and_sixes;

}  // namespace

TEST(DeepSMOTE, LatentSmoteInterpolatesTowardsNearNeighbours) {
  torch::manual_seed(0);
  const auto codes = torch::randn({12, 3});
  Rng rng(4);
  std::vector<int64_t> base, nbr;
  std::vector<double> gap;
  const auto z = latent_smote(codes, 200, 3, rng, &base, &nbr, &gap);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{200, 3}));
  const auto d = torch::cdist(codes.to(torch::kFloat64), codes.to(torch::kFloat64));
  for (int64_t t = 0; t < 200; ++t) {
    const int64_t i = base[t], j = nbr[t];
    ASSERT_NE(i, j);
    EXPECT_GE(gap[t], 0.0);
    EXPECT_LT(gap[t], 1.0);
    EXPECT_TRUE(torch::allclose(z[t], codes[i] + gap[t] * (codes[j] - codes[i]), 1e-5, 1e-6));
    // j is one of the 3 nearest other codes of i.
    const double dij = d[i][j].item<double>();
    int64_t closer = 0;
    for (int64_t k = 0; k < 12; ++k) closer += k != i && d[i][k].item<double>() < dij;
    EXPECT_LT(closer, 3);
  }
  Rng small(1);
  EXPECT_ERROR_MENTIONS(latent_smote(codes.slice(0, 0, 1), 3, 5, small), "at least 2 codes");
}

TEST(DeepSMOTE, NewRowsDecodeFromSegmentsBetweenMinorityNeighbours) {
  const auto data = zeros_and_sixes();
  auto s = make_sampler("deepsmote:epochs=3,min_steps=0,batch_size=32,latent=8,k_neighbors=4", 7);
  const auto out = s->fit_resample(data);
  EXPECT_EQ(out.class_counts(), (std::vector<int64_t>{200, 200}));
  EXPECT_TRUE(torch::equal(out.x.slice(0, 0, data.size()), data.x));  // the input rows, unchanged
  auto& ds = dynamic_cast<DeepSMOTEOverSampler&>(*s);
  auto ae = ds.autoencoder();
  ASSERT_TRUE(ae);
  // Replay the class's draws: the rows are the decoded interpolations, parents the two real rows.
  const auto rows = data.indices_of(1);
  const auto codes = ae->encode(data.x.index_select(0, rows));
  Rng rng = Rng(7).fork(streams::kDeepSmoteDraws + 1);
  std::vector<int64_t> base, nbr;
  const auto z = latent_smote(codes, 180, 4, rng, &base, &nbr);
  torch::NoGradGuard ng;
  const auto expected = ae->decode(z);
  const auto made = out.x.slice(0, data.size());
  EXPECT_TRUE(torch::allclose(made.to(torch::kFloat32), expected.reshape(made.sizes()), 1e-5, 1e-6));
  for (int64_t t = 0; t < 180; ++t) {
    EXPECT_EQ(out.origin[data.size() + t].item<int64_t>(), -1);
    EXPECT_EQ(out.parents[data.size() + t][0].item<int64_t>(), rows[base[t]].item<int64_t>());
    EXPECT_EQ(out.parents[data.size() + t][1].item<int64_t>(), rows[nbr[t]].item<int64_t>());
  }
  EXPECT_TRUE((made >= 0).all().item<bool>() && (made <= 1).all().item<bool>());
  // Training lowered the loss (reconstruction plus the class penalty).
  const auto& losses = ae->history().back().epoch_loss;
  EXPECT_LT(losses.back(), losses.front());
}

TEST(DeepSMOTEErrors, ClassesAndParameters) {
  auto data = zeros_and_sixes();
  data = data.subset(torch::cat({torch::arange(0, 200), torch::tensor({200})}));
  EXPECT_ERROR_MENTIONS(make_sampler("deepsmote:epochs=1,min_steps=0", 0)->fit_resample(data), "class \"6\" has 1 row",
                        "at least 2");
  EXPECT_ERROR_MENTIONS(make_sampler("deepsmote:k_neighbors=0", 0), "k_neighbors");
  EXPECT_ERROR_MENTIONS(make_sampler("deepsmote:penalty=-1", 0), "penalty");
  EXPECT_ERROR_MENTIONS(make_sampler("deepsmote:kl_weight=1", 0), "kl_weight");
}
