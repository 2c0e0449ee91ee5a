// The over-sampling family as the factory sees it: one test per accepted name and parameter set.
#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;

TEST(OverSamplingFactory, EveryNameAndAliasBuildsTheRightSampler) {
  const std::vector<std::pair<std::string, std::string>> specs = {
      {"random_over", "random_over"},
      {"ros:shrinkage=0.5", "random_over"},
      {"RandomOverSampler:shrinkage={0: 1.0, 1: 0.2}", "random_over"},
      {"smote:k_neighbors=3", "smote"},
      {"borderline_smote:k_neighbors=3,m_neighbors=8,kind=borderline-2", "borderline_smote"},
      {"BorderlineSMOTE", "borderline_smote"},
      {"adasyn:n_neighbors=4", "adasyn"},
      {"kmeans_smote:k_neighbors=2,n_clusters=4,cluster_balance_threshold=0.2,density_exponent=1.5",
       "kmeans_smote"},
      {"smotenc:categorical_features=[0,2],k_neighbors=3", "smotenc"},
      {"smoten:k_neighbors=3", "smoten"},
      {"cbo:n_clusters=3", "cluster_over"},
      {"ClusterOverSampler", "cluster_over"},
  };
  for (const auto& [spec, name] : specs) {
    SCOPED_TRACE(spec);
    const auto s = make_sampler(spec, 0);
    EXPECT_EQ(s->name(), name);
    EXPECT_EQ(s->type(), SamplingType::Over);
  }
}

TEST(OverSamplingFactory, RefusesUnknownOrBadParameters) {
  EXPECT_ERROR_MENTIONS(make_sampler("smote:m_neighbors=3"), "unknown parameter \"m_neighbors\"", "k_neighbors");
  EXPECT_ERROR_MENTIONS(make_sampler("adasyn:k_neighbors=3"), "unknown parameter", "n_neighbors");
  EXPECT_ERROR_MENTIONS(make_sampler("smote:k_neighbors=many"), "k_neighbors");
  EXPECT_ERROR_MENTIONS(make_sampler("kmeans_smote:cluster_balance_threshold=high"), "cluster_balance_threshold");
  EXPECT_ERROR_MENTIONS(make_sampler("smotenc:categorical_features=[a]"), "not an integer");
}

TEST(OverSamplingFactory, MethodsListingShowsEveryParameter) {
  const auto text = describe_samplers();
  for (const char* s : {"random_over", "shrinkage", "borderline_smote", "m_neighbors", "kmeans_smote",
                        "cluster_balance_threshold", "density_exponent", "categorical_features", "cluster_over",
                        "ClusterOverSampler"})
    EXPECT_NE(text.find(s), std::string::npos) << s;
}
