// `rebalance methods` lists exactly what the factories build: every listed method, with every
// parameter at its listed default, constructs through its own factory.
#include <algorithm>
#include <map>
#include <set>

#include "../test_util.hpp"
#include "rebalance/augment/augment.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/train/decouple.hpp"
#include "rebalance/experiment/methods.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decision.hpp"

using namespace rebalance;

namespace {

/// Build `spec` with the factory of `family`; throws what the factory throws.
void build(const std::string& family, const std::string& spec) {
  if (family == "samplers" || family == "generators" || family == "out-of-core") (void)make_sampler(spec, 0);
  else if (family == "models") (void)models::make_model(spec, {1, 28, 28}, 2, 0);
  else if (family == "losses") (void)losses::make_loss(spec, {100, 10});
  else if (family == "batch-policies") (void)train::make_batch_policy(spec);
  else if (family == "decisions") (void)train::make_decision_rule(spec);
  else if (family == "joint") (void)joint::parse_joint(spec);
  else if (family == "augmentations") (void)augment::make_augmentation(spec);
  else if (family == "mixing") (void)mix::make_mix(spec);
  else if (family == "decoupling") (void)train::make_decoupler(spec);
  else FAIL() << "no factory for family " << family;
}

/// A TorchScript backbone for 28x28 grey images, written once per process (the backbone model's
/// required path).
std::string backbone_file() {
  static const rebalance::testing::TempDir dir;
  static const std::string path = [] {
    const auto p = dir.file("backbone.pt");
    models::make_cnn_backbone({1, 28, 28}, {2}, 4, 0).save(p);
    return p;
  }();
  return path;
}

/// A value for each required parameter (one without a default), for the specs below.
const std::map<std::string, std::string> kRequiredExamples = {{"categorical_features", "[0]"},
                                                              {"path", backbone_file()}};

bool required(const ParamDecl& p) { return p.default_value.empty(); }

/// "name:k=default,..." with every parameter that has a literal default, and the required ones
/// from kRequiredExamples (or only those, with `defaults` false).
std::string spelled(const MethodDoc& m, bool defaults) {
  std::string args;
  for (const auto& p : m.params) {
    std::string v = required(p) ? kRequiredExamples.at(p.name) : defaults ? p.default_value : "";
    if (v.empty() || v == "from --seed") continue;
    args += (args.empty() ? "" : ",") + p.name + "=" + v;
  }
  return args.empty() ? m.name : m.name + ":" + args;
}

bool has_required(const MethodDoc& m) { return std::any_of(m.params.begin(), m.params.end(), required); }

size_t registry_size(const std::string& family) {
  if (family == "samplers" || family == "out-of-core") return sampler_registry().size();
  if (family == "generators") return 3;
  if (family == "joint") return 2;
  if (family == "models") return models::model_registry().size();
  if (family == "losses") return losses::loss_registry().size();
  if (family == "batch-policies") return train::batch_policy_registry().size();
  if (family == "decisions") return train::decision_registry().size();
  if (family == "augmentations") return augment::op_registry().size();
  if (family == "mixing") return mix::mix_registry().size();
  if (family == "decoupling") return train::decouple_registry().size();
  return 0;
}

}  // namespace

TEST(Methods, EveryFamilyIsListedInFull) {
  std::set<std::string> names;
  for (const auto& f : method_families()) {
    names.insert(f.name);
    EXPECT_EQ(f.methods.size(), registry_size(f.name)) << f.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"samplers", "generators", "models", "losses", "batch-policies", "decisions", "joint",
                                          "augmentations", "mixing", "decoupling", "out-of-core"}));
}

TEST(Methods, EveryListedMethodConstructsWithItsBareNameAndWithItsDefaults) {
  int built = 0;
  for (const auto& f : method_families()) {
    for (const auto& m : f.methods) {
      SCOPED_TRACE(f.name + " " + m.name);
      for (const auto& p : m.params)
        if (required(p)) {
          ASSERT_TRUE(kRequiredExamples.count(p.name)) << "no example value for required parameter " << p.name;
          EXPECT_ERROR_MENTIONS(build(f.name, m.name), p.name);  // a missing one is named
        }
      if (!has_required(m)) EXPECT_NO_THROW(build(f.name, m.name));
      const auto minimal = spelled(m, false), full = spelled(m, true);
      EXPECT_NO_THROW(build(f.name, minimal)) << minimal;
      EXPECT_NO_THROW(build(f.name, full)) << full;
      for (const auto& a : m.aliases) {
        const auto alias = minimal == m.name ? a : a + minimal.substr(m.name.size());
        EXPECT_NO_THROW(build(f.name, alias)) << "alias " << alias;
      }
      ++built;
    }
  }
  EXPECT_GE(built, 30);
}

TEST(Methods, ListedParametersAreExactlyTheAcceptedOnes) {
  for (const auto& f : method_families()) {
    for (const auto& m : f.methods) {
      SCOPED_TRACE(f.name + " " + m.name);
      // An undeclared key is refused, and the refusal lists exactly the declared ones.
      std::string accepted;
      for (const auto& p : m.params) accepted += (accepted.empty() ? "" : ", ") + p.name;
      if (f.name == "generators") continue;  // the sampler factory also takes sampling_strategy and seed
      const std::string listed = "(accepted: " + (accepted.empty() ? std::string("none") : accepted) + ")";
      EXPECT_ERROR_MENTIONS(build(f.name, m.name + ":no_such_parameter=1"), std::string("no_such_parameter"), listed);
    }
  }
}

TEST(Methods, GeneratorsAreTheGenerativeSamplersLessWhatGenerateSetsItself) {
  const auto docs = generative::generator_docs();
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].name, "vae");
  EXPECT_EQ(docs[1].name, "mgvae");
  EXPECT_EQ(docs[2].name, "cyclegan");
  for (const auto& d : docs)
    for (const auto& p : d.params) {
      EXPECT_NE(p.name, "sampling_strategy");
      EXPECT_NE(p.name, "seed");
      EXPECT_NE(p.name, "conditional");
    }
}

TEST(Methods, TextOfOneFamilyHoldsOnlyThatFamily) {
  const auto text = describe_methods("loss");
  for (const auto& l : losses::loss_registry()) EXPECT_NE(text.find(l.name), std::string::npos) << l.name;
  EXPECT_NE(text.find("drw_epoch"), std::string::npos);
  EXPECT_EQ(text.find("smote"), std::string::npos);
  EXPECT_EQ(text.find("lenet"), std::string::npos);
  const auto all = describe_methods();
  for (const char* s : {"smote", "mgvae", "ewc_lambda", "lenet", "ldam", "dynamic", "threshold", "k_neighbors"})
    EXPECT_NE(all.find(s), std::string::npos) << s;
}

TEST(Methods, FamilyNamesAcceptSingularsAndAliases) {
  EXPECT_EQ(canonical_method_family("Loss"), "losses");
  EXPECT_EQ(canonical_method_family("batch_policy"), "batch-policies");
  EXPECT_EQ(canonical_method_family("decision-rules"), "decisions");
  EXPECT_EQ(canonical_method_family("generator"), "generators");
  EXPECT_EQ(canonical_method_family("sampler"), "samplers");
  EXPECT_EQ(canonical_method_family("model"), "models");
  EXPECT_EQ(canonical_method_family("colours"), "");
  EXPECT_ERROR_MENTIONS(describe_methods("colours"), "unknown method family \"colours\"", "samplers", "generators");
}

TEST(Methods, JsonMirrorsTheDeclarations) {
  const auto j = methods_json("decisions");
  ASSERT_EQ(j["families"].size(), 1u);
  const auto& f = j["families"][0];
  EXPECT_EQ(f["name"], "decisions");
  ASSERT_EQ(f["methods"].size(), train::decision_registry().size());
  const auto& threshold = f["methods"][1];
  EXPECT_EQ(threshold["name"], "threshold");
  EXPECT_EQ(threshold["params"][0]["name"], "metric");
  EXPECT_EQ(threshold["params"][0]["default"], "f1");
  EXPECT_EQ(threshold["params"][0]["required"], false);
  EXPECT_EQ(methods_json()["families"].size(), method_families().size());
}
