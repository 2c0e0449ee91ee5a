// The registry of every sampler family, assembled here, above the families: sampling/ (the Sampler
// base and its factory) knows none of them, and each family declares its samplers in its own
// register file.
#include <utility>

#include "rebalance/augment/augmentation_over_sampler.hpp"
#include "rebalance/combine/combined.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/m2m.hpp"
#include "rebalance/over_sampling.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling.hpp"

namespace rebalance {

namespace {

using AddFamily = void (*)(std::vector<SamplerInfo>&);

/// The families in listing order, with their headings in `rebalance methods samplers`.
const std::pair<const char*, AddFamily> kFamilies[] = {
    {"over-sampling", add_over_samplers},
    {"under-sampling and cleaning", add_under_samplers},
    {"combined", add_combined_samplers},
    {"generative", add_generative_samplers},
    {"generative", joint::add_m2m_samplers},
    {"augmentation", add_augment_samplers},
};

}  // namespace

const std::vector<SamplerInfo>& sampler_registry() {
  static const std::vector<SamplerInfo> all = [] {
    std::vector<SamplerInfo> v;
    for (const auto& [title, add] : kFamilies) add(v);
    for (const auto& info : v)
      REBALANCE_CHECK(!info.streaming.how.empty(), "internal: sampler \"{}\" says neither how it streams out of core "
                      "nor why it cannot (SamplerInfo::streaming)", info.name);
    return v;
  }();
  return all;
}

std::vector<MethodDoc> sampler_docs() {
  std::vector<MethodDoc> docs;
  for (const auto& [title, add] : kFamilies) {
    std::vector<SamplerInfo> infos;
    add(infos);
    for (const auto& info : infos) {
      std::vector<std::string> aliases{info.class_name};
      aliases.insert(aliases.end(), info.aliases.begin(), info.aliases.end());
      docs.push_back({info.name, aliases, title, to_string(info.type), info.description, sampler_params(info)});
    }
  }
  return docs;
}

}  // namespace rebalance
