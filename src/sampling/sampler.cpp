#include "rebalance/sampling/sampler.hpp"
#include "rebalance/sampling/sampler_call.hpp"

#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance {

namespace {

/// An over-sampler's output must fit in memory: a sampling_strategy asking for 10^12 rows is
/// refused naming the class and count, before any allocation fails with a bare std::bad_alloc.
void check_output_fits(const Dataset& data, const std::map<int64_t, int64_t>& new_rows) {
  const double row_bytes = static_cast<double>(data.num_features()) * static_cast<double>(data.x.element_size()) + 24.0;
  double rows = static_cast<double>(data.size());
  int64_t largest = -1;
  for (const auto& [c, n] : new_rows) {
    rows += static_cast<double>(n);
    if (largest < 0 || n > new_rows.at(largest)) largest = c;
  }
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (largest < 0 || memory <= 0 || rows * row_bytes <= memory) return;
  REBALANCE_THROW("sampling_strategy asks for {} new rows of class \"{}\": the output would hold {:.0f} rows ({:.1f} "
                  "GiB), more than this machine's {:.1f} GiB of memory", new_rows.at(largest),
                  data.class_names.at(static_cast<size_t>(largest)), rows, rows * row_bytes / (1 << 30),
                  memory / (1 << 30));
}

}  // namespace

Dataset Sampler::fit_resample(const Dataset& data) {
  data.validate();
  REBALANCE_CHECK(data.size() > 0, "{}: the data set is empty", name_);
  resolved_ = strategy_.resolve(data, type_);
  if (type_ == SamplingType::Over) check_output_fits(data, resolved_);
  Dataset out = resample_impl(data, resolved_);
  out.validate_new_rows();
  return out;
}

namespace {

std::string normalise(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != '-' && c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Sequential composition "a+b+c": each part sees the previous part's output.
class Pipeline final : public Sampler {
 public:
  Pipeline(std::string name, std::vector<std::unique_ptr<Sampler>> parts)
      : Sampler(std::move(name), parts.front()->type(), SamplingStrategy("auto"), 0), parts_(std::move(parts)) {}

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>&) override {
    Dataset d = data;
    for (auto& p : parts_) d = p->fit_resample(d);
    return d;
  }
  std::vector<std::unique_ptr<Sampler>> parts_;
};

}  // namespace

std::vector<ParamDecl> sampler_params(const SamplerInfo& info) {
  auto params = info.params;
  params.insert(params.begin(), {"sampling_strategy", "auto",
                                 "auto, minority, majority, not_minority, not_majority, all, a float (binary), "
                                 "{class:count}, [class,...] (cleaning) or at_least:N (over-sampling: grow classes below N to N)"});
  params.push_back({"seed", "from --seed", "random seed of this sampler"});
  return params;
}

const SamplerInfo* find_sampler(const std::string& name) {
  const auto n = normalise(name);
  for (const auto& info : sampler_registry()) {
    if (normalise(info.name) == n || normalise(info.class_name) == n) return &info;
    for (const auto& a : info.aliases)
      if (normalise(a) == n) return &info;
  }
  return nullptr;
}

std::unique_ptr<Sampler> make_sampler(const std::string& text, uint64_t seed) {
  const auto parts = split_top_level(text, '+');
  if (parts.size() > 1) {
    std::vector<std::unique_ptr<Sampler>> made;
    for (size_t i = 0; i < parts.size(); ++i) made.push_back(make_sampler(parts[i], Rng(seed).fork(streams::kPipelinePart + i).next_u64()));
    return std::make_unique<Pipeline>(text, std::move(made));
  }
  const auto spec = parse_spec(text);
  const SamplerInfo* info = find_sampler(spec.name);
  if (!info) {
    std::string names;
    for (const auto& i : sampler_registry()) names += (names.empty() ? "" : ", ") + i.name;
    REBALANCE_THROW("unknown sampler \"{}\" (known: {}; `rebalance methods` lists them with their parameters)",
                    spec.name, names);
  }
  const auto call = read_sampler_call(spec, *info, seed);
  return info->create(call.params, call.strategy, call.seed);
}

SamplerCall read_sampler_call(const Spec& spec, const SamplerInfo& info, uint64_t seed) {
  Params params(spec, sampler_params(info), "sampler");
  const uint64_t s = params.has("seed") ? static_cast<uint64_t>(params.get_int_in("seed", 0, INT64_MAX)) : seed;
  SamplingStrategy strategy(params.get_string("sampling_strategy"));
  return {std::move(params), s, std::move(strategy)};
}

std::string describe_samplers() { return describe_method_docs(sampler_docs()); }

}  // namespace rebalance
