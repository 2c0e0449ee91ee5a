// The Sampler: one small base class for every data-level method (over-, under-, cleaning and
// combined samplers, and later the generative ones), with a string factory shared by the CLI,
// experiment configs and tests.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/spec.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/sampling/strategy.hpp"

namespace rebalance {

/// Base of every sampler. The non-virtual front door validates the data, resolves the sampling
/// strategy once into class -> count (imbalanced-learn's `sampling_strategy_`) and calls the
/// private `resample_impl`. Output rows keep `origin` (their source row); synthetic rows have
/// origin -1 and `parents` naming the source rows they were made from.
///
///   auto s = make_sampler("smote:k_neighbors=5", /*seed=*/0);
///   Dataset balanced = s->fit_resample(train);
class Sampler {
 public:
  virtual ~Sampler() = default;

  Dataset fit_resample(const Dataset& data);

  const std::string& name() const { return name_; }
  SamplingType type() const { return type_; }
  const SamplingStrategy& strategy() const { return strategy_; }
  /// The class -> count map resolved by the last fit_resample.
  const std::map<int64_t, int64_t>& resolved_strategy() const { return resolved_; }
  /// The seed every random choice derives from (the spec's seed= if given, else the caller's).
  uint64_t seed() const { return seed_; }

 protected:
  Sampler(std::string name, SamplingType type, SamplingStrategy strategy, uint64_t seed)
      : name_(std::move(name)), type_(type), strategy_(std::move(strategy)), seed_(seed) {}

 private:
  virtual Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) = 0;

  std::string name_;
  SamplingType type_;
  SamplingStrategy strategy_;
  uint64_t seed_;
  std::map<int64_t, int64_t> resolved_;
};

class RowSource;
class RowSink;

/// One out-of-core run of a sampler (`resample --out-of-core`): rows read block by block from
/// `source`, written to `sink`, towards the resolved strategy `target`.
struct StreamJob {
  const RowSource& source;
  RowSink& sink;
  const std::map<int64_t, int64_t>& target;
  uint64_t seed;
  int64_t block_rows;
};

/// What an out-of-core run wrote.
struct StreamCounts {
  int64_t rows_out = 0;
  int64_t synthetic = 0;
  int64_t removed = 0;
};

/// How a sampler runs over data larger than memory, or why it cannot: part of its declaration.
struct Streaming {
  using Run = std::function<StreamCounts(const Params&, const StreamJob&)>;
  Streaming() = default;
  /// In memory only, for the reason `why`; or streaming as `how` says, by `run`.
  Streaming(std::string how_or_why, Run run_ = {}) : how(std::move(how_or_why)), run(std::move(run_)) {}

  /// What it holds in memory and how many passes it reads; or, without `run`, why it cannot stream.
  std::string how;
  /// The streaming run with the sampler's own parameters; empty: in memory only.
  Run run;
};

/// A sampler's declaration: the single source of its name, parameters, defaults and help.
struct SamplerInfo {
  std::string name;                  ///< factory name, e.g. "borderline_smote"
  std::string class_name;            ///< imbalanced-learn's class name, e.g. "BorderlineSMOTE"
  std::vector<std::string> aliases;  ///< further accepted names, e.g. "tomek"
  SamplingType type;
  std::string description;           ///< one line
  std::vector<ParamDecl> params;     ///< method parameters; sampling_strategy and seed are added
  std::function<std::unique_ptr<Sampler>(const Params&, const SamplingStrategy&, uint64_t seed)> create;
  /// Out of core: filled in by the family's register file (every sampler says how, or why not).
  Streaming streaming = {};
};

/// Every sampler, in family order. Names match case-insensitively, ignoring '_' and '-'. The
/// families (over-, under-sampling, combined, generative, augmentation) declare their samplers in
/// their own register files; the list of families is assembled above them, in the experiment
/// layer (src/experiment/registry.cpp), so this layer knows none of them.
const std::vector<SamplerInfo>& sampler_registry();

/// Build a sampler from "name:key=value,..." or a composition "a+b" (applied left to right).
/// Unknown names or parameters are refused with the accepted ones listed.
std::unique_ptr<Sampler> make_sampler(const std::string& spec, uint64_t seed = 0);

/// Find a sampler's declaration by any of its names; nullptr if none.
const SamplerInfo* find_sampler(const std::string& name);

/// Every parameter `make_sampler` accepts for this sampler: sampling_strategy, its own, seed.
std::vector<ParamDecl> sampler_params(const SamplerInfo& info);

/// Every sampler as `rebalance methods samplers` lists it, grouped by family, in registry order
/// (assembled with the registry).
std::vector<MethodDoc> sampler_docs();

/// `rebalance methods samplers`: every sampler with its parameters, defaults and description.
std::string describe_samplers();

}  // namespace rebalance
