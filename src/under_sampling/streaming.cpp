#include "rebalance/under_sampling/streaming.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/neighbors/streaming.hpp"

namespace rebalance::under_sampling {

void stream_random_under(const RowSource& source, const std::map<int64_t, int64_t>& target, bool replacement,
                         uint64_t seed, RowSink& sink, int64_t block_rows) {
  const auto& counts = source.class_counts();
  const auto num_classes = static_cast<int64_t>(counts.size());
  // Output layout: class by class (as the in-memory sampler's keep list), so each class's rows
  // start at `base`; a targeted class's picks are (within-class rank, output slot) pairs sorted
  // by rank, met in rank order as the rows stream past.
  std::vector<int64_t> base(num_classes, 0);
  std::vector<std::vector<std::pair<int64_t, int64_t>>> picks(num_classes);
  int64_t total = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    base[c] = total;
    auto it = target.find(c);
    if (it == target.end()) {
      total += counts[c];
      continue;
    }
    const int64_t n_c = counts[c], n_keep = it->second;
    Rng rng = Rng(seed).fork(static_cast<uint64_t>(c));
    auto& p = picks[c];
    p.reserve(static_cast<size_t>(n_keep));
    if (replacement) {
      for (int64_t i = 0; i < n_keep; ++i)
        p.emplace_back(static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(n_c))), total + i);
    } else {
      const auto chosen = rng.choice_without_replacement(n_c, n_keep);
      for (int64_t i = 0; i < n_keep; ++i) p.emplace_back(chosen[i], total + i);
    }
    std::sort(p.begin(), p.end());
    total += n_keep;
  }
  std::vector<char> targeted(num_classes, 0);
  for (const auto& [c, n] : target) targeted[c] = 1;
  write_selection(source, targeted, base, picks, total, sink, block_rows);
}

void write_selection(const RowSource& source, const std::vector<char>& targeted, const std::vector<int64_t>& base,
                     const std::vector<std::vector<std::pair<int64_t, int64_t>>>& picks, int64_t total,
                     RowSink& sink, int64_t block_rows) {
  const auto num_classes = static_cast<int64_t>(base.size());
  sink.begin(total);
  std::vector<int64_t> rank(num_classes, 0), next(num_classes, 0), local, slots;
  source.for_each_block(block_rows_for(source.block_bytes_per_row(), block_rows),
                        [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
                          local.clear();
                          slots.clear();
                          const int64_t* py = y.data_ptr<int64_t>();
                          for (int64_t i = 0; i < y.size(0); ++i) {
                            const int64_t c = py[i], r = rank[c]++;
                            if (!targeted[c]) {
                              local.push_back(i);
                              slots.push_back(base[c] + r);
                              continue;
                            }
                            const auto& p = picks[c];
                            for (auto& k = next[c]; k < static_cast<int64_t>(p.size()) && p[k].first == r; ++k) {
                              local.push_back(i);
                              slots.push_back(p[k].second);
                            }
                          }
                          if (!local.empty()) sink.put_original(first, x, y, local, slots);
                        });
  sink.commit();
}

int64_t stream_tomek_links(const RowSource& source, const std::vector<int64_t>& classes, RowSink& sink,
                           int64_t block_rows) {
  const int64_t block = block_rows_for(source.block_bytes_per_row(), block_rows);
  const auto& counts = source.class_counts();
  const auto num_classes = static_cast<int64_t>(counts.size());
  const int64_t n = source.rows();
  std::vector<char> targeted(num_classes, 0);
  for (auto c : classes)
    if (c >= 0 && c < num_classes) targeted[c] = 1;
  std::vector<int64_t> removed;
  if (n >= 2) {
    const int64_t major = std::max_element(counts.begin(), counts.end()) - counts.begin();
    // A link joins two classes, so one end lies outside the largest class: those rows (the
    // anchors) are held, in source order, with their classes.
    std::vector<int64_t> outside_classes;
    for (int64_t c = 0; c < num_classes; ++c)
      if (c != major) outside_classes.push_back(c);
    const auto gathered = source.gather_classes(outside_classes, block);
    std::vector<std::tuple<int64_t, int64_t, int64_t>> order;  // (row, class, position in its gather)
    for (size_t g = 0; g < gathered.size(); ++g)
      for (size_t i = 0; i < gathered[g].rows.size(); ++i)
        order.emplace_back(gathered[g].rows[i], outside_classes[g], static_cast<int64_t>(i));
    std::sort(order.begin(), order.end());
    std::vector<int64_t> anchors, anchor_class;
    for (const auto& [row, cls, pos] : order) {
      anchors.push_back(row);
      anchor_class.push_back(cls);
    }
    at::Tensor xa;
    {
      std::vector<int64_t> sel;
      std::vector<at::Tensor> all;
      for (size_t g = 0; g < gathered.size(); ++g) all.push_back(gathered[g].x);
      // Positions of each anchor in the concatenation of the gathers.
      std::vector<int64_t> offset(gathered.size(), 0);
      for (size_t g = 1; g < gathered.size(); ++g) offset[g] = offset[g - 1] + gathered[g - 1].x.size(0);
      std::vector<int64_t> class_gather(num_classes, -1);
      for (size_t g = 0; g < outside_classes.size(); ++g) class_gather[outside_classes[g]] = static_cast<int64_t>(g);
      for (const auto& [row, cls, pos] : order) sel.push_back(offset[class_gather[cls]] + pos);
      xa = all.empty() ? torch::empty({0, source.cols()}, torch::TensorOptions().dtype(source.dtype()))
                       : torch::cat(all).index_select(0, torch::tensor(sel, torch::kInt64)).contiguous();
    }
    const auto anchor_of = [&](int64_t row) {  // index in anchors, or -1 (a largest-class row)
      const auto it = std::lower_bound(anchors.begin(), anchors.end(), row);
      return it != anchors.end() && *it == row ? it - anchors.begin() : int64_t(-1);
    };
    // Pass 1: each anchor's nearest row among all rows.
    neighbors::BlockKnn first_pass(xa, anchors, 1);
    source.for_each_block(block, [&](int64_t first, const at::Tensor& x, const at::Tensor&) {
      first_pass.add_block(first, x);
    });
    const auto nn_anchor = first_pass.result().indices.contiguous();
    const int64_t* pa = nn_anchor.data_ptr<int64_t>();
    // Pass 2: the nearest row of each largest-class row an anchor points at.
    std::vector<int64_t> partners;
    for (size_t i = 0; i < anchors.size(); ++i)
      if (pa[i] >= 0 && anchor_of(pa[i]) < 0) partners.push_back(pa[i]);
    std::sort(partners.begin(), partners.end());
    partners.erase(std::unique(partners.begin(), partners.end()), partners.end());
    std::vector<int64_t> nn_partner(partners.size(), -1);
    if (!partners.empty()) {
      neighbors::BlockKnn second_pass(source.gather_rows(partners, block), partners, 1);
      source.for_each_block(block, [&](int64_t first, const at::Tensor& x, const at::Tensor&) {
        second_pass.add_block(first, x);
      });
      const auto r = second_pass.result().indices.contiguous();
      std::copy(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + partners.size(), nn_partner.begin());
    }
    // Links: mutual nearest neighbours of different classes.
    for (size_t i = 0; i < anchors.size(); ++i) {
      const int64_t q = anchors[i], p = pa[i];
      if (p < 0) continue;
      const int64_t pi = anchor_of(p);
      const int64_t yq = anchor_class[i], yp = pi >= 0 ? anchor_class[pi] : major;
      if (yp == yq) continue;
      int64_t back;
      if (pi >= 0) {
        back = pa[pi];
      } else {
        const auto it = std::lower_bound(partners.begin(), partners.end(), p);
        back = nn_partner[it - partners.begin()];
      }
      if (back != q) continue;
      if (targeted[yq]) removed.push_back(q);
      if (targeted[yp]) removed.push_back(p);
    }
    std::sort(removed.begin(), removed.end());
    removed.erase(std::unique(removed.begin(), removed.end()), removed.end());
  }
  // Pass 3: every row not removed, in order.
  sink.begin(n - static_cast<int64_t>(removed.size()));
  int64_t slot = 0;
  auto next_removed = removed.begin();
  std::vector<int64_t> local, slots;
  source.for_each_block(block, [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
    local.clear();
    slots.clear();
    for (int64_t i = 0; i < x.size(0); ++i) {
      if (next_removed != removed.end() && *next_removed == first + i) {
        ++next_removed;
        continue;
      }
      local.push_back(i);
      slots.push_back(slot++);
    }
    if (!local.empty()) sink.put_original(first, x, y, local, slots);
  });
  sink.commit();
  return static_cast<int64_t>(removed.size());
}

}  // namespace rebalance::under_sampling
