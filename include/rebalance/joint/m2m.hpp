// M2m, major-to-minor translation (Kim, Jeong & Shin, "M2m: Imbalanced Classification via
// Major-to-minor Translation", CVPR 2020), as a sampler: a classifier g is trained on the
// imbalanced rows, then each new row of a class k starts from a row x0 of a larger class k0 and
// takes gradient steps against g,
//   x <- x - step_size * grad / ||grad||,  grad of  CE(g(x), k) + lam * g_k0(x),
// until g calls it k. A translation g does not accept (argmax k with probability >= gamma) is
// replaced by a copy of a real row of k, as the paper falls back to over-sampling.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/models/classifier.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance::joint {

struct M2mOptions {
  std::string model = "auto";  ///< g: a model factory string; auto: lenet for 28x28 images, else mlp:hidden=[256]
  int64_t epochs = 10;         ///< g's training epochs
  int64_t batch_size = 128;
  double lr = 1e-3;            ///< g's Adam learning rate
  int64_t steps = 10;          ///< translation steps T
  double step_size = 0.1;      ///< L2 length of each step
  double lam = 0.1;            ///< weight of the seed class's logit in the objective
  double beta = 0.999;         ///< seed class k0 drawn with probability proportional to 1 - beta^(N_k0 - N_k)
  double gamma = 0.9;          ///< g's probability of class k a translation needs to be accepted
  double noise = 0.5;          ///< L2 length of the random start around x0
};

class M2mOverSampler final : public Sampler {
 public:
  explicit M2mOverSampler(M2mOptions options = {}, SamplingStrategy strategy = {}, uint64_t seed = 0);
  ~M2mOverSampler() override;
  const M2mOptions& options() const { return options_; }
  /// The classifier g the last fit_resample trained and translated against (nullptr before).
  std::shared_ptr<models::Classifier> classifier() const { return g_; }
  /// Per class grown by the last fit_resample: how many of its new rows are accepted translations.
  const std::map<int64_t, int64_t>& accepted() const { return accepted_; }

 private:
  Dataset resample_impl(const Dataset& data, const std::map<int64_t, int64_t>& target) override;
  M2mOptions options_;
  std::shared_ptr<models::Classifier> g_;
  std::map<int64_t, int64_t> accepted_;
};

/// M2m's translation of rows x0 ([n, ...] float32, g's input shape) towards classes `to` ([n])
/// from classes `from` ([n]): T normalised-gradient steps from x0 plus `noise` (drawn from `rng`),
/// clamped to [0, 1] when `unit`. Returns the translated rows; g is left in evaluation mode.
at::Tensor m2m_translate(models::Classifier& g, const at::Tensor& x0, const at::Tensor& to, const at::Tensor& from,
                         const M2mOptions& o, bool unit, Rng& rng);

void add_m2m_samplers(std::vector<SamplerInfo>& out);

}  // namespace rebalance::joint
