#include "rebalance/combine/combined.hpp"

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance {

namespace {

std::string unbracket(const std::string& s) {
  return s.size() >= 2 && s.front() == '[' && s.back() == ']' ? s.substr(1, s.size() - 2) : s;
}

/// Give the inner spec the outer sampling_strategy unless it names its own.
std::string with_strategy(const std::string& spec, const std::string& strategy) {
  for (const auto& [key, value] : parse_spec(spec).args)
    if (key == "sampling_strategy") return spec;
  const std::string arg = "sampling_strategy=" + strategy;  // dicts and lists carry their own brackets
  return spec.find(':') == std::string::npos ? spec + ":" + arg : spec + "," + arg;
}

}  // namespace

OverThenClean::OverThenClean(std::string name, SamplingStrategy strategy, uint64_t seed, std::string over_spec,
                             std::string clean_spec)
    : Sampler(std::move(name), SamplingType::Over, strategy, seed) {
  over_ = make_sampler(with_strategy(unbracket(over_spec), strategy.text()), Rng(seed).fork(streams::kPipelinePart + 0).next_u64());
  clean_ = make_sampler(unbracket(clean_spec), Rng(seed).fork(streams::kPipelinePart + 1).next_u64());
  REBALANCE_CHECK(over_->type() == SamplingType::Over, "{}: \"{}\" is not an over-sampler", this->name(), over_spec);
  REBALANCE_CHECK(clean_->type() != SamplingType::Over, "{}: \"{}\" is not a cleaning or under-sampler", this->name(),
                  clean_spec);
}

Dataset OverThenClean::resample_impl(const Dataset& data, const std::map<int64_t, int64_t>&) {
  return clean_->fit_resample(over_->fit_resample(data));
}

void add_combined_samplers(std::vector<SamplerInfo>& out) {
  auto make = [](const char* name, const char* cls, const char* cleaner_key, const char* cleaner_default,
                 const char* desc) {
    const std::string key = cleaner_key;
    return SamplerInfo{
        name,
        cls,
        {},
        SamplingType::Over,
        desc,
        {{"smote", "smote", "the over-sampler's spec (gets this sampling_strategy unless it sets its own)"},
         {key, cleaner_default, "the cleaner's spec"}},
        [name = std::string(name), key](const Params& p, const SamplingStrategy& s, uint64_t seed) {
          return std::unique_ptr<Sampler>(
              std::make_unique<OverThenClean>(name, s, seed, p.get_string("smote"), p.get_string(key)));
        },
        {"combines or wraps other samplers; run its parts one after another, each out of core"}};
  };
  out.push_back(make("smote_tomek", "SMOTETomek", "tomek", "[tomek_links:sampling_strategy=all]",
                     "SMOTE, then remove Tomek links from every class"));
  out.push_back(make("smote_enn", "SMOTEENN", "enn", "[enn:sampling_strategy=all]",
                     "SMOTE, then Edited Nearest Neighbours on every class"));
}

}  // namespace rebalance
