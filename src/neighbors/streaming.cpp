#include "rebalance/neighbors/streaming.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "rebalance/core/error.hpp"
#include "rebalance/neighbors/search.hpp"

namespace rebalance::neighbors {

BlockKnn::BlockKnn(at::Tensor queries, std::vector<int64_t> query_rows, int64_t k)
    : queries_(queries.contiguous()), query_rows_(std::move(query_rows)), k_(k) {
  REBALANCE_CHECK(queries_.dim() == 2, "BlockKnn: queries must be [Q, D]");
  REBALANCE_CHECK(static_cast<int64_t>(query_rows_.size()) == queries_.size(0), "BlockKnn: {} query rows for {} queries",
                  query_rows_.size(), queries_.size(0));
  REBALANCE_CHECK(k_ >= 1, "BlockKnn: k must be at least 1, got {}", k_);
  const auto q = static_cast<size_t>(queries_.size(0) * k_);
  best_index_.assign(q, -1);
  best_sq_.assign(q, std::numeric_limits<double>::infinity());
}

void BlockKnn::add_block(int64_t first, const at::Tensor& block) { add(first, nullptr, block); }

void BlockKnn::add_rows(const std::vector<int64_t>& positions, const at::Tensor& rows) {
  REBALANCE_CHECK(static_cast<int64_t>(positions.size()) == rows.size(0), "BlockKnn: {} positions for {} rows",
                  positions.size(), rows.size(0));
  add(0, positions.data(), rows);
}

void BlockKnn::add(int64_t first, const int64_t* positions, const at::Tensor& block_in) {
  const int64_t nq = queries_.size(0);
  if (nq == 0 || block_in.size(0) == 0) return;
  const auto block = block_in.contiguous();
  REBALANCE_CHECK(block.scalar_type() == queries_.scalar_type() && block.size(1) == queries_.size(1),
                  "BlockKnn: a block of {} x {} {} rows for {} x {} {} queries", block.size(0), block.size(1),
                  std::string(c10::toString(block.scalar_type())), nq, queries_.size(1),
                  std::string(c10::toString(queries_.scalar_type())));
  // The block's own k + 1 nearest (one more, in case the query's own row is among them), then
  // merged on exact squared distances with the source position breaking ties.
  const int64_t kb = std::min<int64_t>(k_ + 1, block.size(0));
  KnnOptions options;
  options.backend = Backend::Exact;
  const auto cand = knn(block, queries_, kb, options).indices.contiguous();
  const int64_t* pc = cand.data_ptr<int64_t>();
  const int64_t d = queries_.size(1);
  with_rows(queries_, [&](const auto* pq) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(pq)>>;
    const T* pb = block.data_ptr<T>();
    at::parallel_for(0, nq, 256, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        int64_t* bi = best_index_.data() + q * k_;
        double* bs = best_sq_.data() + q * k_;
        for (int64_t j = 0; j < kb; ++j) {
          const int64_t local = pc[q * kb + j];
          const int64_t row = positions ? positions[local] : first + local;
          if (row == query_rows_[q]) continue;
          const double s = squared_distance(pq + q * d, pb + local * d, d);
          // Insert into the sorted best list if it beats the last entry.
          const auto beats = [&](int64_t slot) {
            return bi[slot] < 0 || s < bs[slot] || (s == bs[slot] && row < bi[slot]);
          };
          if (!beats(k_ - 1)) continue;
          int64_t at = k_ - 1;
          while (at > 0 && beats(at - 1)) {
            bi[at] = bi[at - 1];
            bs[at] = bs[at - 1];
            --at;
          }
          bi[at] = row;
          bs[at] = s;
        }
      }
    });
  });
}

KnnResult BlockKnn::result() const {
  const int64_t nq = queries_.size(0);
  KnnResult r;
  r.indices = torch::tensor(best_index_, torch::kInt64).reshape({nq, k_});
  auto dist = torch::tensor(best_sq_, torch::kFloat64).reshape({nq, k_});
  r.distances = dist.sqrt();
  return r;
}

}  // namespace rebalance::neighbors
