// Out-of-core resampling: a sampler spec run over a RowSource into a RowSink, for data larger than
// memory. The methods that can stream do (their outputs equal the in-memory samplers' on data that
// fits, same seed, same rows); the others are refused with the reason.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"
#include "rebalance/data/chunked.hpp"

namespace rebalance {

struct OutOfCoreOptions {
  int64_t block_rows = 0;  ///< rows read per block (0: 64 MiB worth)
};

/// Whether a sampler runs out of core, what it holds in memory, or why it cannot.
struct OutOfCoreSupport {
  std::string name;    ///< registry name
  bool streams = false;
  std::string how;     ///< what it holds and how many passes, or why it cannot stream
};
/// Every registered sampler, in registry order.
std::vector<OutOfCoreSupport> out_of_core_support();
/// `rebalance methods out-of-core`: one entry per sampler, grouped "streams" / "in memory only".
std::vector<MethodDoc> out_of_core_docs();

struct OutOfCoreReport {
  std::map<int64_t, int64_t> target;  ///< the resolved sampling strategy
  int64_t rows_out = 0;
  int64_t synthetic = 0;
  int64_t removed = 0;
};

/// Run sampler `spec` (one sampler, not a composition) over `source` into `sink` with `seed`
/// (the spec's seed= wins, as make_sampler). Parameters and strategies are checked as in memory;
/// a sampler that cannot stream is refused, naming it and the reason.
OutOfCoreReport resample_out_of_core(const std::string& spec, uint64_t seed, const RowSource& source, RowSink& sink,
                                     const OutOfCoreOptions& options = {});

}  // namespace rebalance
