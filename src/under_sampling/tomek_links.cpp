#include "rebalance/under_sampling/tomek_links.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "rebalance/neighbors/search.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/under_sampling/common.hpp"

namespace rebalance::under_sampling {

namespace {
/// Partners from which the cheap proof pays for partitioning the largest class: both costs grow
/// with the number of rows, the full search also with the partners, and they meet near 2000
/// partners (measured at 100k x 20 and 1M x 30).
constexpr int64_t kScreenFrom = 2048;
}  // namespace

at::Tensor tomek_links_mask(const at::Tensor& x, const std::vector<int64_t>& y, const std::vector<int64_t>& classes) {
  const int64_t n = static_cast<int64_t>(y.size());
  auto mask = torch::zeros({n}, torch::kBool);
  if (n < 2) return mask;
  const int64_t num_classes = *std::max_element(y.begin(), y.end()) + 1;
  std::vector<int64_t> count(num_classes, 0);
  for (auto v : y) ++count[v];
  const int64_t major = std::max_element(count.begin(), count.end()) - count.begin();
  std::vector<char> targeted(num_classes, 0);
  for (auto c : classes)
    if (c >= 0 && c < num_classes) targeted[c] = 1;

  std::vector<int64_t> nn(n, -1);
  std::vector<double> nn_dist(n, 0.0);
  auto search = [&](const std::vector<int64_t>& rows) {
    if (rows.empty()) return;
    const auto r = neighbors::knn_excluding_self(x, torch::tensor(rows, torch::kInt64), 1);
    const int64_t* p = r.indices.data_ptr<int64_t>();
    const double* dist = r.distances.data_ptr<double>();
    for (size_t i = 0; i < rows.size(); ++i) {
      nn[rows[i]] = p[i];
      nn_dist[rows[i]] = dist[i];
    }
  };
  std::vector<int64_t> outside;
  for (int64_t i = 0; i < n; ++i)
    if (y[i] != major) outside.push_back(i);
  search(outside);

  // Partners in the largest class: only the nearest row pointing at one can be its nearest
  // neighbour; most are shown to have a closer row by a cheap search of their own region of
  // the class, and only the rest are searched in full.
  std::vector<int64_t> claim(n, -1);
  for (auto q : outside) {
    const int64_t p = nn[q];
    if (y[p] == y[q] || nn[p] >= 0) continue;
    const int64_t c = claim[p];
    if (c < 0 || nn_dist[q] < nn_dist[c] || (nn_dist[q] == nn_dist[c] && q < c)) claim[p] = q;
  }
  std::vector<int64_t> partners;
  for (int64_t p = 0; p < n; ++p)
    if (claim[p] >= 0) partners.push_back(p);
  if (static_cast<int64_t>(partners.size()) >= kScreenFrom) {
    std::vector<int64_t> major_rows;
    for (int64_t i = 0; i < n; ++i)
      if (y[i] == major) major_rows.push_back(i);
    std::vector<double> limit(partners.size());
    const int64_t d = x.size(1);
    neighbors::with_rows(x, [&](const auto* xp) {
      for (size_t i = 0; i < partners.size(); ++i)
        limit[i] = neighbors::squared_distance(xp + partners[i] * d, xp + claim[partners[i]] * d, d);
    });
    const auto closer = neighbors::k_closer_than(x, torch::tensor(major_rows, torch::kInt64),
                                                 torch::tensor(partners, torch::kInt64),
                                                 torch::tensor(limit, torch::kFloat64), 1);
    const bool* cp = closer.data_ptr<bool>();
    std::vector<int64_t> open;
    for (size_t i = 0; i < partners.size(); ++i)
      if (!cp[i]) open.push_back(partners[i]);
    partners.swap(open);
  }
  search(partners);

  bool* m = mask.data_ptr<bool>();
  for (auto q : outside) {
    const int64_t p = nn[q];
    if (y[p] == y[q] || nn[p] != q) continue;  // a partner shown to have a closer row keeps nn -1
    if (targeted[y[q]]) m[q] = true;
    if (targeted[y[p]]) m[p] = true;
  }
  return mask;
}

TomekLinks::TomekLinks(SamplingStrategy strategy)
    : Sampler("tomek_links", SamplingType::Clean, std::move(strategy), 0) {}

Dataset TomekLinks::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) {
  std::vector<int64_t> classes;
  for (const auto& [c, n] : target) classes.push_back(c);
  const auto mask = tomek_links_mask(cpu_features(data), cpu_labels(data), classes);
  const bool* m = mask.data_ptr<bool>();
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < data.size(); ++i)
    if (!m[i]) keep.push_back(i);
  return keep_rows(data, keep);
}

}  // namespace rebalance::under_sampling
