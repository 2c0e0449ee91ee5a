// Neighbour searches shared by the samplers that run one after another on the same rows: while a
// KnnCache lives on a thread, the exact CPU searches there (knn, knn_excluding_self) are memoised
// by the content of their inputs. `rebalance auto` opens one for its search, so SMOTE, its k=3
// variant, Borderline-SMOTE, ADASYN and the cleaning rules on one fold's rows search once.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "rebalance/neighbors/knn.hpp"

namespace rebalance::neighbors {

/// Neighbours come nearest first, ties by the lower row index, so the first k' columns of a k
/// search are the k' search: a smaller k is served from a larger one's result. Results are kept
/// up to `max_bytes`, the oldest dropped first. Caches nest: the innermost one on a thread serves.
///
///   neighbors::KnnCache cache;                   // this thread's searches are shared from here
///   smote->fit_resample(fold);  adasyn->fit_resample(fold);
///   cache.hits();                                // searches served without computing
class KnnCache {
 public:
  explicit KnnCache(int64_t max_bytes = int64_t(512) << 20);
  ~KnnCache();
  KnnCache(const KnnCache&) = delete;
  KnnCache& operator=(const KnnCache&) = delete;

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

  /// The cache serving this thread (nullptr when none is alive).
  static KnnCache* active();
  /// The key of a search over these inputs: a tag and each tensor's dtype, shape and bytes.
  static std::string key(const char* tag, const std::vector<at::Tensor>& inputs);
  /// The first k columns of a stored result with at least k, or nothing (counted as a miss).
  std::optional<KnnResult> find(const std::string& key, int64_t k);
  void store(const std::string& key, const KnnResult& result);

 private:
  struct Entry {
    std::string key;
    KnnResult result;
    int64_t bytes = 0;
  };
  std::list<Entry> entries_;  ///< oldest first
  int64_t max_bytes_, bytes_ = 0, hits_ = 0, misses_ = 0;
  KnnCache* outer_;
};

}  // namespace rebalance::neighbors
