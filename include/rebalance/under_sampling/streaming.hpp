// Under-sampling and cleaning data larger than memory. RandomUnderSampler needs only the class
// counts and the positions it keeps; TomekLinks needs the nearest neighbour of the rows outside
// the largest class (and of the largest-class rows they point at), found by minority-anchored
// scans of the rows block by block. Outputs equal the in-memory samplers', row for row.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "rebalance/data/chunked.hpp"

namespace rebalance::under_sampling {

/// Writes a class-by-class selection in one pass: every row of a class outside `targeted` at
/// base[c] + its rank in the class, and of a targeted class the rows `picks[c]` names as (rank in
/// the class, output slot) pairs sorted by rank (a rank may repeat: drawn with replacement). Opens
/// the sink for `total` rows and commits it.
void write_selection(const RowSource& source, const std::vector<char>& targeted, const std::vector<int64_t>& base,
                     const std::vector<std::vector<std::pair<int64_t, int64_t>>>& picks, int64_t total,
                     RowSink& sink, int64_t block_rows);

/// RandomUnderSampler's output: class by class, every row of an untargeted class in order, and of
/// a targeted class the rows its seeded draw picks, in draw order. Memory: the kept positions.
void stream_random_under(const RowSource& source, const std::map<int64_t, int64_t>& target, bool replacement,
                         uint64_t seed, RowSink& sink, int64_t block_rows = 0);

/// NearMiss's output (`version` 1, 2 or 3): the minority held; each targeted class's scores
/// computed block by block against it, only the best n_keep kept (version 3: the short list from a
/// minority-anchored scan of the class's rows, then gathered). Rows in score order, class by class.
/// Returns the rows written.
int64_t stream_near_miss(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t version,
                      int64_t n_neighbors, int64_t n_neighbors_ver3, RowSink& sink, int64_t block_rows = 0);

/// TomekLinks' output (`classes`: the targeted classes, whose rows in a link are removed): the
/// rows outside the largest class are held in memory with their nearest neighbours; the base is
/// scanned twice, then once more to write the kept rows. Returns the number of rows removed.
int64_t stream_tomek_links(const RowSource& source, const std::vector<int64_t>& classes, RowSink& sink,
                           int64_t block_rows = 0);

}  // namespace rebalance::under_sampling
