// Over-sampling data larger than memory: only the classes being grown are held (gathered in one
// pass); every input row streams through to the output unchanged, and the new rows are made in
// bounded chunks from the same seeded draws as the in-memory samplers, so the output equals
// theirs row for row.
#pragma once

#include <cstdint>
#include <map>

#include "rebalance/data/chunked.hpp"
#include "rebalance/over_sampling/random_over_sampler.hpp"

namespace rebalance::over_sampling {

struct StreamOptions {
  int64_t block_rows = 0;     ///< rows per input block (0: 64 MiB worth)
  int64_t chunk_rows = 0;     ///< new rows made and written at a time (0: 64 MiB worth)
};

/// RandomOverSampler's output (input rows in order, then for each class in `target` order its
/// copies, with shrinkage noise if asked) written to `sink`. `target`: class -> rows to add.
void stream_random_over(const RowSource& source, const std::map<int64_t, int64_t>& target,
                        const RandomOverSamplerOptions& options, uint64_t seed, RowSink& sink,
                        const StreamOptions& stream = {});

/// SMOTE's output with `k_neighbors`: the grown classes' own neighbour search runs in memory on
/// those classes alone (SMOTE interpolates within a class), the rest of the data streams through.
void stream_smote(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k_neighbors,
                  uint64_t seed, RowSink& sink, const StreamOptions& stream = {});

}  // namespace rebalance::over_sampling
