#include "rebalance/data/synthetic.hpp"

#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/data/registry.hpp"

using namespace rebalance;

TEST(Synthetic, CountsFollowTheWeights) {
  SyntheticOptions o;
  o.n = 1001;
  o.weights = {0.99};
  EXPECT_EQ(synthetic_class_counts(o), (std::vector<int64_t>{991, 10}));  // floor + remainder to class 0
  o.classes = 3;
  o.informative = 3;
  o.weights = {};
  EXPECT_EQ(synthetic_class_counts(o), (std::vector<int64_t>{334, 334, 333}));
  const auto d = make_synthetic(o);
  EXPECT_EQ(d.class_counts(), (std::vector<int64_t>{334, 334, 333}));
  EXPECT_EQ(d.x.sizes(), (std::vector<int64_t>{1001, 20}));
  EXPECT_TRUE(torch::isfinite(d.x).all().item<bool>());
}

TEST(Synthetic, SameSeedSameBytes) {
  SyntheticOptions o;
  o.seed = 11;
  const auto a = make_synthetic(o), b = make_synthetic(o);
  EXPECT_TRUE(torch::equal(a.x, b.x));
  EXPECT_TRUE(torch::equal(a.y, b.y));
  o.seed = 12;
  EXPECT_FALSE(torch::equal(a.x, make_synthetic(o).x));
}

TEST(Synthetic, InformativeFeaturesSeparateClassesAndRedundantAreCombinations) {
  SyntheticOptions o;
  o.n = 4000;
  o.features = 6;
  o.informative = 3;
  o.redundant = 2;
  o.clusters_per_class = 1;
  o.class_sep = 3.0;
  const auto d = make_synthetic(o);
  // Class means differ clearly in the informative block.
  const auto m0 = d.x.index_select(0, d.indices_of(0)).slice(1, 0, 3).mean(0);
  const auto m1 = d.x.index_select(0, d.indices_of(1)).slice(1, 0, 3).mean(0);
  EXPECT_GT((m0 - m1).norm().item<float>(), 3.0f);
  // Redundant columns are exactly linear in the informative ones: least squares leaves no residual.
  const auto inf = d.x.slice(1, 0, 3).to(torch::kFloat64), red = d.x.slice(1, 3, 5).to(torch::kFloat64);
  const auto coef = std::get<0>(torch::linalg_lstsq(inf, red));
  EXPECT_LT((inf.matmul(coef) - red).abs().max().item<double>(), 1e-4);
}

TEST(SyntheticErrors, BadOptions) {
  SyntheticOptions o;
  o.weights = {0.5, 0.6};
  EXPECT_ERROR_MENTIONS(make_synthetic(o), "weights sum to 1.1");
  o.weights = {0.2, 0.3, 0.5};
  EXPECT_ERROR_MENTIONS(make_synthetic(o), "3 weights given for 2 classes");
  o = {};
  o.classes = 5;
  o.informative = 2;  // 5 classes x 2 clusters > 2^2 vertices
  EXPECT_ERROR_MENTIONS(make_synthetic(o), "classes (5)", "2^informative (4)");
  EXPECT_ERROR_MENTIONS(load_builtin("synthetic:n=10,colour=red"), "unknown parameter \"colour\"");
  EXPECT_ERROR_MENTIONS(load_builtin("synthetic:n=ten"), "\"n\"", "integer", "ten");
}

TEST(Registry, BuiltinsByName) {
  const auto s = load_builtin("synthetic:n=500,features=5,weights=[0.9,0.1],seed=3");
  EXPECT_EQ(s.class_counts(), (std::vector<int64_t>{450, 50}));
  EXPECT_EQ(s.name, "synthetic:n=500,features=5,weights=[0.9,0.1],seed=3");
  const auto digits = load_builtin("mnist-digits");
  EXPECT_EQ(digits.size(), 10000);
  EXPECT_EQ(digits.x.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(digits.class_counts()[0], 1001);
  EXPECT_EQ(digits.class_counts()[6], 1014);
  EXPECT_ERROR_MENTIONS(load_builtin("cifar-10"), "unknown data set \"cifar-10\"", "fashion-mnist");
  EXPECT_ERROR_MENTIONS(load_builtin("fashion-mnist:split=dev"), "split must be", "dev");
  EXPECT_ERROR_MENTIONS(load_dataset("/no/such/file.csv"), "no such file");
}
