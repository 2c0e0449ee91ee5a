#include "rebalance/experiment/task.hpp"

#include <filesystem>

#include <fmt/ranges.h>

#include <map>

#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/registry.hpp"

namespace rebalance {


std::pair<Dataset, Dataset> draw_train_validation(const Dataset& pool, const std::map<int64_t, int64_t>& counts,
                                                  double val_fraction, uint64_t seed, bool first, bool tail) {
  const auto available = pool.class_counts();
  std::map<int64_t, int64_t> total, val;
  for (const auto& [c, n_asked] : counts) {
    REBALANCE_CHECK(c >= 0 && c < pool.num_classes(), "{}: class {} does not exist", pool.name, c);
    const int64_t n = n_asked < 0 ? available[c] : n_asked;
    const int64_t v = val_fraction <= 0 ? 0 : tail ? std::llround(n * val_fraction)
                                                   : std::max<int64_t>(1, std::llround(n * val_fraction));
    // Spare rows beyond the asked count hold the validation rows; otherwise they come out of it.
    total[c] = std::min(available[c], n + v);
    const int64_t need = v > 0 && !tail ? 2 : 1;
    REBALANCE_CHECK(total[c] >= need, "{}: class {} (\"{}\") has {} row(s): need at least {}{}", pool.name, c,
                    pool.class_names[c], available[c], need, v > 0 ? " (training and validation)" : "");
    val[c] = std::max<int64_t>(0, std::min(v, total[c] - 1));
  }
  std::vector<int64_t> train_rows, val_rows;
  if (first) {
    // Each class's first rows in the data's own order: training first, then validation.
    for (const auto& [c, t] : total) {
      const auto idx = pool.indices_of(c).to(torch::kCPU);
      const auto acc = idx.accessor<int64_t, 1>();
      for (int64_t i = 0; i < t; ++i) (i < t - val[c] ? train_rows : val_rows).push_back(acc[i]);
    }
    std::sort(train_rows.begin(), train_rows.end());
    std::sort(val_rows.begin(), val_rows.end());
    return {pool.subset(torch::tensor(train_rows, torch::kInt64)), pool.subset(torch::tensor(val_rows, torch::kInt64))};
  }
  std::map<int64_t, int64_t> drop;
  for (int64_t c = 0; c < pool.num_classes(); ++c)
    if (!counts.count(c)) drop[c] = 0;
  auto chosen = make_imbalance(pool, total, seed);
  chosen = make_imbalance(chosen, drop, seed);
  // Exact per-class validation counts: the first val[c] rows of a seeded shuffle of each class.
  Rng rng(seed ^ 0x5eedULL);
  for (const auto& [c, v] : val) {
    const auto idx = chosen.indices_of(c);
    auto r = rng.fork(static_cast<uint64_t>(c));
    const auto perm = r.permutation(idx.size(0));
    auto acc = idx.accessor<int64_t, 1>();
    for (int64_t i = 0; i < idx.size(0); ++i) (i < v ? val_rows : train_rows).push_back(acc[perm[i]]);
  }
  std::sort(train_rows.begin(), train_rows.end());
  std::sort(val_rows.begin(), val_rows.end());
  return {chosen.subset(torch::tensor(train_rows, torch::kInt64)), chosen.subset(torch::tensor(val_rows, torch::kInt64))};
}

std::pair<Dataset, Dataset> load_data_and_test(const std::string& data, const std::string& test,
                                               const std::string& label, const std::string& test_label,
                                               char delimiter, const std::string& test_label_name,
                                               const ImageFolderOptions& images) {
  CsvOptions csv;
  csv.label = label;
  csv.delimiter = delimiter;
  std::pair<Dataset, Dataset> out{load_dataset(data, csv, images), Dataset{}};
  if (test.empty()) return out;
  CsvOptions test_csv = csv;
  if (!test_label.empty()) {
    test_csv.label = test_label;
  } else if (std::filesystem::is_regular_file(test) && !is_image_source(test)) {
    // A labels file belongs to the data; a .npy / IDX test set needs its own.
    const auto ext = std::filesystem::path(test).extension().string();
    REBALANCE_CHECK(ext == ".csv" || ext == ".tsv" || ext == ".tab" || ext == ".txt",
                    "test set {}: a .npy / IDX test set needs its own labels: give them with {}", test,
                    test_label_name);
  }
  out.second = load_dataset(test, test_csv, images);
  REBALANCE_CHECK(out.second.class_names == out.first.class_names,
                  "test set {} has classes [{}], training data [{}]", test, fmt::join(out.second.class_names, ", "),
                  fmt::join(out.first.class_names, ", "));
  REBALANCE_CHECK(out.second.feature_shape() == out.first.feature_shape(),
                  "test set {} has rows of shape [{}], training data {} [{}]{}", test,
                  fmt::join(out.second.feature_shape(), ", "), data, fmt::join(out.first.feature_shape(), ", "),
                  is_image_source(data) ? " (pass --image-size HxW to resize both)" : "");
  return out;
}

Task build_task(const TaskOptions& o) {
  auto [pool, test] = load_data_and_test(o.data, o.test, o.label, o.test_label, o.delimiter, "--test-label", o.images);
  if (o.test.empty()) {
    const auto split = stratified_split(pool, 0.0, o.test_fraction, o.seed);
    pool = split.train;
    test = split.test;
  }
  if (!o.pair.empty()) {
    const auto pc = parse_class_counts(o.pair, pool, "--pair");
    REBALANCE_CHECK(pc.size() == 2, "--pair \"{}\" must name two classes, A:N_A,B:N_B", o.pair);
    // Split before cutting counts so validation keeps the pool's class mix of the pair.
    const auto [a, n_a] = pc[0];
    const auto [b, n_b] = pc[1];
    pool = binary_pair(pool, a, n_a, b, n_b, o.seed);
    test = binary_pair(test, a, -1, b, -1, o.seed);
  }
  if (!o.keep.empty()) {
    std::map<int64_t, int64_t> counts;
    for (const auto& [c, n] : parse_class_counts(o.keep, pool, "--keep")) counts[c] = n < 0 ? pool.class_counts()[c] : n;
    pool = make_imbalance(pool, counts, o.seed);
  }
  if (o.long_tail > 0) {
    const auto counts = pool.class_counts();
    const auto n_max = *std::min_element(counts.begin(), counts.end());
    pool = apply_profile(pool, long_tail_counts(n_max, pool.num_classes(), o.long_tail), o.seed);
  }
  const auto split = stratified_split(pool, o.val_fraction, 0.0, o.seed + 1);
  return {split.train, split.validation, test};
}

}  // namespace rebalance
