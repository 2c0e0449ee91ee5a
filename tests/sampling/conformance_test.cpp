// Level 2: every sampler the factory knows goes through the same checks.
#include <torch/torch.h>

#include <set>

#include "../test_util.hpp"
#include "sampler_cases.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/data/synthetic.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;
using rebalance::testing::case_for;
using rebalance::testing::categorical;
using rebalance::testing::mixed;

namespace {

void expect_same(const Dataset& a, const Dataset& b, const std::string& what) {
  EXPECT_TRUE(torch::equal(a.x, b.x)) << what;
  EXPECT_TRUE(torch::equal(a.y, b.y)) << what;
  EXPECT_TRUE(torch::equal(a.origin, b.origin)) << what;
}

}  // namespace

TEST(Conformance, EveryImblearnSamplerIsRegistered) {
  for (const char* name : {"RandomOverSampler", "SMOTE", "BorderlineSMOTE", "ADASYN", "KMeansSMOTE", "SMOTENC",
                           "SMOTEN", "ClusterOverSampler", "RandomUnderSampler", "NearMiss", "TomekLinks",
                           "EditedNearestNeighbours", "RepeatedEditedNearestNeighbours", "AllKNN",
                           "CondensedNearestNeighbour", "OneSidedSelection", "NeighbourhoodCleaningRule",
                           "ClusterCentroids", "SMOTETomek", "SMOTEENN", "VAEOverSampler", "MGVAEOverSampler", "CycleGANOverSampler",
                           "StarGANOverSampler"})
    EXPECT_NE(find_sampler(name), nullptr) << name;
}

TEST(Conformance, EverySamplerKeepsTheContract) {
  for (const auto& info : sampler_registry()) {
    SCOPED_TRACE(info.name);
    const auto [spec, data] = case_for(info);
    auto sampler = make_sampler(spec, 11);
    const Dataset out = sampler->fit_resample(data);
    const auto& target = sampler->resolved_strategy();
    const auto before = data.class_counts(), after = out.class_counts();

    // Counts follow the strategy; untouched classes keep their rows.
    for (int64_t c = 0; c < data.num_classes(); ++c) {
      const bool targeted = target.count(c) > 0;
      if (!targeted && info.type != SamplingType::Over) EXPECT_EQ(after[c], before[c]) << "class " << c;
      if (info.type == SamplingType::Under && targeted) EXPECT_EQ(after[c], target.at(c)) << "class " << c;
      if (info.type == SamplingType::Clean) EXPECT_LE(after[c], before[c]) << "class " << c;
    }
    if (info.type == SamplingType::Over && info.name != "smote_tomek" && info.name != "smote_enn" &&
        info.name != "adasyn" && info.name != "cluster_over")
      for (const auto& [c, add] : target) EXPECT_EQ(after[c], before[c] + add) << "class " << c;

    // No NaN; rows with an origin are the input rows unchanged; synthetic rows are marked.
    EXPECT_TRUE(torch::isfinite(out.x).all().item<bool>());
    const auto real = (out.origin >= 0).nonzero().flatten();
    const auto synth = (out.origin < 0).nonzero().flatten();
    const auto src = out.origin.index_select(0, real);
    EXPECT_TRUE(torch::equal(out.x.index_select(0, real), data.x.index_select(0, src)));
    EXPECT_TRUE(torch::equal(out.y.index_select(0, real), data.y.index_select(0, src)));
    // Only over-samplers make rows, except ClusterCentroids, whose soft-voting centroids are new
    // points standing for whole clusters (no single parent row).
    if (info.type != SamplingType::Over && info.name != "cluster_centroids") EXPECT_EQ(synth.numel(), 0);
    // VAE rows decoded from the prior have no source row; every other new row names one.
    if (synth.numel() > 0 && info.type == SamplingType::Over && info.name != "vae") {
      ASSERT_TRUE(out.parents.defined());
      const auto p = out.parents.index_select(0, synth);
      EXPECT_TRUE(torch::all(p.select(1, 0) >= 0).item<bool>()) << "every synthetic row names a source row";
      EXPECT_TRUE(torch::all(p < data.size()).item<bool>());
    }
    // Kept real rows are distinct unless the method samples with replacement.
    if (info.type != SamplingType::Over) {
      std::set<int64_t> seen;
      for (int64_t i = 0; i < src.numel(); ++i) EXPECT_TRUE(seen.insert(src[i].item<int64_t>()).second);
    }

    // Same seed, same bytes; the sampler can be refitted.
    expect_same(out, make_sampler(spec, 11)->fit_resample(data), "same seed");
    expect_same(out, sampler->fit_resample(data), "refit");

    // Images keep their shape (the image-only samplers' case is images already).
    if (rebalance::testing::images_only(info.name)) {
      EXPECT_EQ(out.feature_shape(), data.feature_shape());
      Dataset flat = data;
      flat.x = data.x.reshape({data.size(), -1});
      EXPECT_ERROR_MENTIONS(make_sampler(spec, 11)->fit_resample(flat), "tabular");
    } else if (info.name != "smotenc" && info.name != "smoten") {
      Dataset img = data;
      img.x = data.x.reshape({data.size(), 1, 2, 2});
      const auto out_img = make_sampler(spec, 11)->fit_resample(img);
      EXPECT_EQ(out_img.feature_shape(), (std::vector<int64_t>{1, 2, 2}));
      EXPECT_TRUE(torch::equal(out_img.x.reshape({out_img.size(), -1}), out.x));
    }

    // Bad input refused with a clear message.
    Dataset single = data.subset(data.indices_of(0));
    EXPECT_ERROR_MENTIONS(make_sampler(spec, 11)->fit_resample(single), "more than 1 class");
    Dataset nan = data;
    nan.x = data.x.clone();
    nan.x[3][0] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_ERROR_MENTIONS(make_sampler(spec, 11)->fit_resample(nan), "row 3", "finite");
  }
}

TEST(Factory, NamesParametersAndComposition) {
  EXPECT_ERROR_MENTIONS(make_sampler("smoote"), "unknown sampler \"smoote\"");
  EXPECT_ERROR_MENTIONS(make_sampler("smote_tomek:colour=red"), "unknown parameter \"colour\"", "smote, tomek");
  EXPECT_ERROR_MENTIONS(make_sampler("smote_tomek:sampling_strategy=sometimes"), "unknown sampling_strategy");
  EXPECT_EQ(find_sampler("SMOTETomek"), find_sampler("smote-tomek"));
  const auto text = describe_samplers();
  for (const auto& info : sampler_registry()) {
    EXPECT_NE(text.find(info.name), std::string::npos) << info.name;
    for (const auto& p : info.params) EXPECT_NE(text.find(p.name), std::string::npos) << info.name << "." << p.name;
  }
}
