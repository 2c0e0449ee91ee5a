#include "rebalance/stream/out_of_core.hpp"

#include <fmt/format.h>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/sampling/sampler_call.hpp"

namespace rebalance {

std::vector<OutOfCoreSupport> out_of_core_support() {
  std::vector<OutOfCoreSupport> out;
  for (const auto& info : sampler_registry())
    out.push_back({info.name, static_cast<bool>(info.streaming.run), info.streaming.how});
  return out;
}

std::vector<MethodDoc> out_of_core_docs() {
  std::vector<MethodDoc> docs;
  for (bool streams : {true, false})
    for (const auto& info : sampler_registry())
      if (static_cast<bool>(info.streaming.run) == streams)
        docs.push_back({info.name, {}, streams ? "streams (bounded memory)" : "in memory only", "",
                        info.streaming.how, sampler_params(info)});
  return docs;
}

OutOfCoreReport resample_out_of_core(const std::string& spec, uint64_t seed, const RowSource& source, RowSink& sink,
                                     const OutOfCoreOptions& options) {
  REBALANCE_CHECK(split_top_level(spec, '+').size() == 1,
                  "--out-of-core runs one sampler at a time, got the composition \"{}\"; run each part out of core "
                  "on the previous part's output", spec);
  // Parsed once, as make_sampler parses it; the in-memory sampler's constructor checks the
  // parameters, so out of core refuses what in memory refuses.
  const Spec parsed = parse_spec(spec);
  const SamplerInfo* info = find_sampler(parsed.name);
  if (!info) (void)make_sampler(spec, seed);  // the factory's error, listing the known samplers
  const auto call = read_sampler_call(parsed, *info, seed);
  const Params& params = call.params;
  const SamplingStrategy& strategy = call.strategy;
  const uint64_t s = call.seed;
  (void)info->create(params, strategy, s);
  if (!info->streaming.run)
    REBALANCE_THROW("{} ({}) cannot run out of core: it {}. Run it in memory (without --out-of-core) on data "
                    "that fits, or see `rebalance methods out-of-core`", info->class_name, info->name,
                    info->streaming.how);
  OutOfCoreReport report;
  report.target = strategy.resolve(source.class_counts(), source.class_names(), info->type);
  const auto counts = info->streaming.run(params, StreamJob{source, sink, report.target, s, options.block_rows});
  report.rows_out = counts.rows_out;
  report.synthetic = counts.synthetic;
  report.removed = counts.removed;
  return report;
}

}  // namespace rebalance
