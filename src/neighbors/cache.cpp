#include "rebalance/neighbors/cache.hpp"

#include <torch/torch.h>

#include <cstring>

#include <fmt/format.h>

namespace rebalance::neighbors {

namespace {
thread_local KnnCache* current = nullptr;

/// FNV-1a over 8-byte words (then the tail): the inputs' content, at memory speed.
uint64_t content_hash(const at::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
  uint64_t h = 1469598103934665603ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ULL;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
}  // namespace

KnnCache::KnnCache(int64_t max_bytes) : max_bytes_(max_bytes), outer_(current) { current = this; }

KnnCache::~KnnCache() { current = outer_; }

KnnCache* KnnCache::active() { return current; }

std::string KnnCache::key(const char* tag, const std::vector<at::Tensor>& inputs) {
  std::string k = tag;
  for (const auto& t : inputs) {
    if (!t.defined()) {
      k += "|-";
      continue;
    }
    k += fmt::format("|{}:", static_cast<int>(t.scalar_type()));
    for (auto s : t.sizes()) k += fmt::format("{}x", s);
    k += fmt::format(":{:016x}", content_hash(t));
  }
  return k;
}

std::optional<KnnResult> KnnCache::find(const std::string& key, int64_t k) {
  for (const auto& e : entries_)
    if (e.key == key && e.result.indices.size(1) >= k) {
      ++hits_;
      return KnnResult{e.result.indices.slice(1, 0, k).contiguous(), e.result.distances.slice(1, 0, k).contiguous()};
    }
  ++misses_;
  return std::nullopt;
}

void KnnCache::store(const std::string& key, const KnnResult& result) {
  // A larger k replaces a smaller one's entry for the same inputs.
  for (auto it = entries_.begin(); it != entries_.end();)
    if (it->key == key) {
      bytes_ -= it->bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  const int64_t bytes = result.indices.numel() * 8 + result.distances.numel() * 8;
  if (bytes > max_bytes_) return;
  while (bytes_ + bytes > max_bytes_ && !entries_.empty()) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
  }
  entries_.push_back({key, {result.indices.clone(), result.distances.clone()}, bytes});
  bytes_ += bytes;
}

}  // namespace rebalance::neighbors
