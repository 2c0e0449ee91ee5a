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

/// RandomUnderSampler's output: class by class, every row of an untargeted class in order, and of
/// a targeted class the rows its seeded draw picks, in draw order. Memory: the kept positions.
void stream_random_under(const RowSource& source, const std::map<int64_t, int64_t>& target, bool replacement,
                         uint64_t seed, RowSink& sink, int64_t block_rows = 0);

/// TomekLinks' output (`classes`: the targeted classes, whose rows in a link are removed): the
/// rows outside the largest class are held in memory with their nearest neighbours; the base is
/// scanned twice, then once more to write the kept rows. Returns the number of rows removed.
int64_t stream_tomek_links(const RowSource& source, const std::vector<int64_t>& classes, RowSink& sink,
                           int64_t block_rows = 0);

}  // namespace rebalance::under_sampling
