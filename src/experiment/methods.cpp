#include "rebalance/experiment/methods.hpp"

#include <cctype>

#include "rebalance/augment/augment.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/train/decouple.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/stream/out_of_core.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"

namespace rebalance {

namespace {

std::string normalise(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '_' || c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<MethodFamily> selected(const std::string& family) {
  auto all = method_families();
  if (family.empty()) return all;
  const auto name = canonical_method_family(family);
  REBALANCE_CHECK(!name.empty(), "unknown method family \"{}\" (families: {})", family, method_family_names());
  for (auto& f : all)
    if (f.name == name) return {std::move(f)};
  REBALANCE_THROW("internal: family \"{}\" has no listing", name);
}

}  // namespace

std::vector<MethodFamily> method_families() {
  return {
      {"samplers", {"sampler", "sampling", "resamplers"}, "Samplers",
       "resample --method, train --sampler; configs: [[method]] sampler =; compose with a+b", sampler_docs()},
      {"generators", {"generator", "generative"}, "Generators", "generate --method", generative::generator_docs()},
      {"models", {"model", "classifiers", "classifier"}, "Models", "train --model; configs: [train] model =",
       models::model_docs()},
      {"losses", {"loss"}, "Losses", "train --loss; configs: [[method]] loss =", losses::loss_docs()},
      {"batch-policies", {"batch-policy", "policies", "policy"}, "Batch policies",
       "train --batch-policy; configs: [[method]] batch_policy =", train::batch_policy_docs()},
      {"decisions", {"decision", "decision-rules", "decision-rule", "rules", "rule"}, "Decision rules",
       "train --decision; configs: [[method]] decision =", train::decision_docs()},
      {"joint", {"joint-training", "joint-modes"}, "Joint training (a CycleGAN with the classifier)",
       "train --joint; configs: [[method]] joint =", joint::joint_docs()},
      {"augmentations", {"augmentation", "augment", "transforms"}, "Image augmentations",
       "train --augment, the augment sampler's transforms=; compose with a+b, alternatives a|b", augment::op_docs()},
      {"mixing", {"mix", "mixes"}, "Mixing rules", "train --mix; configs: mix = (in [train] or [[method]])",
       mix::mix_docs()},
      {"decoupling", {"decouple", "decoupled", "classifier-retraining"}, "Decoupled training (the final layer re-balanced)",
       "train --decouple; configs: decouple = (in [train] or [[method]])", train::decouple_docs()},
      {"out-of-core", {"out-of-core-samplers", "streaming", "larger-than-memory"}, "Samplers over data larger than memory",
       "resample --out-of-core", out_of_core_docs()},
  };
}

std::string canonical_method_family(const std::string& name) {
  const auto n = normalise(name);
  for (const auto& f : method_families()) {
    if (n == f.name) return f.name;
    for (const auto& a : f.aliases)
      if (n == a) return f.name;
  }
  return "";
}

std::string method_family_names() {
  std::string out;
  for (const auto& f : method_families()) out += (out.empty() ? "" : ", ") + f.name;
  return out;
}

std::string describe_methods(const std::string& family) {
  std::string out;
  for (const auto& f : selected(family)) {
    if (!out.empty()) out += "\n";
    out += fmt::format("#### {} ({}; used by {})\n\n", f.title, f.name, f.used_by);
    out += describe_method_docs(f.methods);
  }
  return out;
}

nlohmann::json methods_json(const std::string& family) {
  nlohmann::json families = nlohmann::json::array();
  for (const auto& f : selected(family)) {
    nlohmann::json methods = nlohmann::json::array();
    for (const auto& m : f.methods) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : m.params)
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"required", p.default_value.empty()},
                          {"help", p.help}});
      methods.push_back({{"name", m.name}, {"aliases", m.aliases}, {"group", m.group}, {"kind", m.kind},
                         {"description", m.description}, {"params", params}});
    }
    families.push_back({{"name", f.name}, {"title", f.title}, {"used_by", f.used_by}, {"methods", methods}});
  }
  return {{"families", families}};
}

}  // namespace rebalance
