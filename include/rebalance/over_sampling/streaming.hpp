// Over-sampling data larger than memory: only the classes being grown are held (gathered in one
// pass); every input row streams through to the output unchanged, and the new rows are made in
// bounded chunks from the same seeded draws as the in-memory samplers, so the output equals
// theirs row for row.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "rebalance/data/chunked.hpp"
#include "rebalance/over_sampling/random_over_sampler.hpp"

namespace rebalance::over_sampling {

struct StreamOptions {
  int64_t block_rows = 0;     ///< rows per input block (0: 64 MiB worth)
  int64_t chunk_rows = 0;     ///< new rows made and written at a time (0: 64 MiB worth)
};

/// Each returns the number of rows it added.

/// RandomOverSampler's output (input rows in order, then for each class in `target` order its
/// copies, with shrinkage noise if asked) written to `sink`. `target`: class -> rows to add.
int64_t stream_random_over(const RowSource& source, const std::map<int64_t, int64_t>& target,
                        const RandomOverSamplerOptions& options, uint64_t seed, RowSink& sink,
                        const StreamOptions& stream = {});

/// SMOTE's output with `k_neighbors`: the grown classes' own neighbour search runs in memory on
/// those classes alone (SMOTE interpolates within a class), the rest of the data streams through.
int64_t stream_smote(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t k_neighbors,
                  uint64_t seed, RowSink& sink, const StreamOptions& stream = {});

/// ADASYN's output with `n_neighbors`: each grown class's rows held, their nearest rows among all
/// rows found by one minority-anchored scan (the ratios need only whether each is of another
/// class), new rows made in chunks.
int64_t stream_adasyn(const RowSource& source, const std::map<int64_t, int64_t>& target, int64_t n_neighbors,
                      uint64_t seed, RowSink& sink, const StreamOptions& stream = {});

/// BorderlineSMOTE's output (`kind` borderline-1 or borderline-2): the danger rows from one
/// minority-anchored scan of m nearest rows; borderline-2's other-class neighbours of the danger
/// rows from a second scan over the other classes' rows, and those rows gathered.
int64_t stream_borderline_smote(const RowSource& source, const std::map<int64_t, int64_t>& target,
                                int64_t k_neighbors, int64_t m_neighbors, const std::string& kind, uint64_t seed,
                                RowSink& sink, const StreamOptions& stream = {});

}  // namespace rebalance::over_sampling
