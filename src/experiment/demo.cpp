#include "rebalance/experiment/demo.hpp"

#include <torch/torch.h>

#include <cmath>

#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/metrics/report.hpp"
#include "rebalance/models/nearest_centroid.hpp"

namespace rebalance {

void run_demo(std::ostream& out, const DemoOptions& o) {
  const Dataset digits = load_builtin("mnist-digits");
  out << fmt::format("loaded {}\n", digits.summary());
  const Dataset pair = binary_pair(digits, digits.class_index("0"), -1, digits.class_index("6"), -1, o.seed);
  const Split split = stratified_split(pair, 0.0, 0.2, o.seed);
  const auto train_counts = split.train.class_counts();
  // Keep the seed's minority share: n_min / (n_maj + n_min) = share.
  const auto n_min = std::max<int64_t>(
      1, std::llround(train_counts[0] * o.minority_share / (1.0 - o.minority_share)));
  const Dataset train = make_imbalance(split.train, {{1, n_min}}, o.seed);
  out << fmt::format("train (imbalanced): {}\ntest  (balanced):   {}\n\n",
                     format_counts(train.class_counts(), train.class_names),
                     format_counts(split.test.class_counts(), split.test.class_names));

  const auto& test = split.test;
  // Baseline 1: always the majority class, the accuracy trap of imbalanced data.
  const auto majority = torch::zeros({test.size()}, torch::kInt64);
  auto report = metrics::evaluate(test.y, majority, std::nullopt, 2, test.class_names);
  out << "== majority-class predictor ==\n" << metrics::format_report(report, o.digits) << "\n";

  // Baseline 2: nearest class centroid, which ignores the priors and so survives imbalance.
  NearestCentroid nc;
  nc.fit(train);
  const auto scores = torch::softmax(nc.scores(test.x), 1);
  report = metrics::evaluate(test.y, scores.argmax(1), scores, 2, test.class_names);
  out << "== nearest-centroid ==\n" << metrics::format_report(report, o.digits);
}

}  // namespace rebalance
