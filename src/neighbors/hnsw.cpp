// Approximate k-NN through hnswlib (Debian's libhnswlib-dev, header-only), behind knn().
#include <ATen/Parallel.h>
#include <hnswlib/hnswlib.h>
#include <torch/torch.h>

#include <atomic>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/knn.hpp"

namespace rebalance::neighbors {

namespace {
std::atomic<Backend> g_backend{Backend::Exact};
}  // namespace

Backend default_backend() { return g_backend.load(); }
void set_default_backend(Backend backend) { g_backend.store(backend); }

Backend parse_backend(const std::string& name) {
  if (name == "exact") return Backend::Exact;
  if (name == "hnsw") return Backend::Hnsw;
  REBALANCE_THROW("unknown neighbours backend \"{}\" (exact or hnsw)", name);
}

KnnResult knn_hnsw(const at::Tensor& base_in, const at::Tensor& query_in, int64_t k, const KnnOptions& o) {
  const auto base = base_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto query = query_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = base.size(0), q = query.size(0), d = base.size(1);
  hnswlib::L2Space space(static_cast<size_t>(d));
  hnswlib::HierarchicalNSW<float> index(&space, static_cast<size_t>(n), static_cast<size_t>(o.hnsw_m),
                                        static_cast<size_t>(o.hnsw_ef_construction), o.hnsw_seed);
  const float* bp = base.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) index.addPoint(bp + i * d, static_cast<hnswlib::labeltype>(i));
  index.setEf(static_cast<size_t>(std::max<int64_t>(o.hnsw_ef_search, k)));
  auto out_idx = torch::empty({q, k}, torch::kInt64);
  auto out_dist = torch::empty({q, k}, torch::kFloat64);
  int64_t* oi = out_idx.data_ptr<int64_t>();
  double* od = out_dist.data_ptr<double>();
  const float* qp = query.data_ptr<float>();
  // The graph is built on float32 copies; float64 rows get their candidates' distances (and so
  // their order) from the float64 rows themselves.
  const bool wide = base_in.scalar_type() == torch::kFloat64 || query_in.scalar_type() == torch::kFloat64;
  const auto base64 = wide ? base_in.to(torch::kCPU, torch::kFloat64).contiguous() : at::Tensor();
  const auto query64 = wide ? query_in.to(torch::kCPU, torch::kFloat64).contiguous() : at::Tensor();
  at::parallel_for(0, q, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      auto heap = index.searchKnn(qp + r * d, static_cast<size_t>(k));
      std::vector<std::pair<double, int64_t>> found;
      while (!heap.empty()) {
        found.emplace_back(static_cast<double>(heap.top().first), static_cast<int64_t>(heap.top().second));
        heap.pop();
      }
      if (wide) {
        const double* qr = query64.data_ptr<double>() + r * d;
        for (auto& [dist, id] : found) {
          const double* br = base64.data_ptr<double>() + id * d;
          dist = 0.0;
          for (int64_t j = 0; j < d; ++j) dist += (qr[j] - br[j]) * (qr[j] - br[j]);
        }
      }
      std::sort(found.begin(), found.end());
      REBALANCE_CHECK(static_cast<int64_t>(found.size()) == k, "hnsw: found {} neighbours of row {}, wanted {}",
                      found.size(), r, k);
      for (int64_t j = 0; j < k; ++j) {
        oi[r * k + j] = found[j].second;
        od[r * k + j] = std::sqrt(found[j].first);
      }
    }
  });
  return {out_idx, out_dist};
}

}  // namespace rebalance::neighbors
