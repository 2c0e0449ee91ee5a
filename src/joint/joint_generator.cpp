// The joint trainer's generators: a CycleGAN per minority class, or one StarGAN for every class.
#include "rebalance/joint/joint_generator.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/generative/cyclegan.hpp"
#include "rebalance/generative/stargan.hpp"
#include "rebalance/joint/joint.hpp"

namespace rebalance::joint {

namespace {

/// One CycleGAN per minority class, each between the majority (A) and its class (B).
class CycleGANs final : public JointGenerator {
 public:
  CycleGANs(const generative::CycleGANOptions& options, const at::Tensor& x, const at::Tensor& y, int64_t majority,
            std::vector<int64_t> minorities, std::vector<std::string> class_names, uint64_t seed)
      : options_(options), majority_(majority), minorities_(std::move(minorities)),
        class_names_(std::move(class_names)) {
    std::vector<int64_t> shape(x.sizes().begin() + 1, x.sizes().end());
    xa_ = x.index_select(0, (y == majority).nonzero().flatten());
    for (const auto c : minorities_) {
      xb_[c] = x.index_select(0, (y == c).nonzero().flatten());
      gans_[c] = std::make_shared<generative::CycleGAN>(
          options_, shape, Rng(seed).fork(streams::kJointCycleGAN + static_cast<uint64_t>(c)).next_u64() >> 1);
    }
  }

  int64_t total_steps() const override { return gans_.begin()->second->total_steps(); }

  GeneratorPhase train(int64_t steps, const Teacher* teacher, const std::string& label, std::ostream& log) override {
    GeneratorPhase out;
    double cycle = 0;
    for (const auto c : minorities_) {
      generative::GeneratorHook hook;
      // The frozen classifier's loss on this class's pair (L_cls^B + L_cls^A / gamma) reaches only
      // the generators.
      if (teacher)
        hook = [teacher, c](const at::Tensor& ra, const at::Tensor& fb, const at::Tensor& rb, const at::Tensor& fa) {
          const auto lg = teacher->classify(torch::cat({rb, fb, ra, fa}));
          const int64_t n = rb.size(0);
          return teacher->weight * classifier_loss(lg.slice(0, 0, n), lg.slice(0, n, 2 * n), lg.slice(0, 2 * n, 3 * n),
                                                   lg.slice(0, 3 * n, 4 * n), c, teacher->majority, teacher->gamma)
                                       .total;
        };
      auto& gan = *gans_[c];
      const auto g = gan.fit(xa_, xb_[c], steps, hook);
      gan.set_generators_trainable(false);
      out.steps += g.steps;
      cycle += g.cycle;
      log << fmt::format("{}: generators {}{} steps, cycle {:.4f}, identity {:.4f}, adversarial {:.4f}{}  {:.1f}s\n",
                         label,
                         minorities_.size() > 1
                             ? fmt::format("{} <-> {}: ", class_names_[majority_], class_names_[c])
                             : std::string(),
                         g.steps, g.cycle, g.identity, g.generator_adv,
                         hook ? fmt::format(", teacher {:.4f}", g.extra) : std::string(), g.seconds);
    }
    out.loss = cycle / static_cast<double>(minorities_.size());
    return out;
  }

  void freeze() override {
    for (auto& [c, gan] : gans_) gan->set_generators_trainable(false);
  }
  at::Tensor to_class(const at::Tensor& a, int64_t c) override { return gans_.at(c)->translate_ab(a); }
  at::Tensor to_majority(const at::Tensor& b, int64_t c) override { return gans_.at(c)->translate_ba(b); }

  void add_files(train::Checkpoint::Files& files, size_t phase) override {
    for (const auto c : minorities_) {
      auto gan = gans_.at(c);
      files.push_back({file(phase, c), [gan](const std::string& path) { gan->save(path); }});
    }
  }
  void load(const train::Checkpoint& checkpoint, size_t phase) override {
    for (const auto c : minorities_) *gans_[c] = generative::CycleGAN::load(checkpoint.path(file(phase, c)));
  }
  void publish(JointResult& r) const override {
    r.gans = gans_;
    for (const auto c : minorities_) r.translators[c] = gans_.at(c);
    r.gan = gans_.at(minorities_.front());
  }
  nlohmann::json config() const override {
    return {{"gan", nlohmann::json::parse(generative::cyclegan_options_text(options_))}};
  }

 private:
  static std::string file(size_t phase, int64_t c) { return fmt::format("gan-{}-{}.gen", phase, c); }

  generative::CycleGANOptions options_;
  int64_t majority_;
  std::vector<int64_t> minorities_;
  std::vector<std::string> class_names_;
  at::Tensor xa_;
  std::map<int64_t, at::Tensor> xb_;
  std::map<int64_t, std::shared_ptr<generative::CycleGAN>> gans_;
};

/// One class-conditional StarGAN shared by every class.
class SharedStarGAN final : public JointGenerator {
 public:
  SharedStarGAN(const generative::StarGANOptions& options, const at::Tensor& x, const at::Tensor& y,
                int64_t num_classes, int64_t majority, std::vector<int64_t> minorities, uint64_t seed)
      : options_(options), x_(x), y_(y), majority_(majority), minorities_(std::move(minorities)) {
    std::vector<int64_t> shape(x.sizes().begin() + 1, x.sizes().end());
    gan_ = std::make_shared<generative::StarGAN>(options_, shape, num_classes,
                                                 Rng(seed).fork(streams::kJointStarGAN).next_u64() >> 1);
  }

  int64_t total_steps() const override { return gan_->total_steps(); }

  GeneratorPhase train(int64_t steps, const Teacher* teacher, const std::string& label, std::ostream& log) override {
    generative::StarGANHook hook;
    // The frozen classifier's cross-entropy of the real rows (their class) and of their
    // translations (the target class), rows of the majority counting 1/gamma.
    if (teacher)
      hook = [teacher](const at::Tensor& real, const at::Tensor& rc, const at::Tensor& fake, const at::Tensor& fc) {
        const auto lg = teacher->classify(torch::cat({real, fake}));
        const auto labels = torch::cat({rc, fc});
        const auto w = torch::where(labels == teacher->majority, torch::full({}, 1.0 / teacher->gamma),
                                    torch::full({}, 1.0));
        const auto ce = torch::nn::functional::cross_entropy(
            lg, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
        return teacher->weight * 2.0 * (w * ce).mean();
      };
    const auto g = gan_->fit(x_, y_, steps, hook);
    gan_->set_generator_trainable(false);
    log << fmt::format("{}: StarGAN {} steps, reconstruction {:.4f}, class {:.4f}, adversarial {:.4f}{}  {:.1f}s\n",
                       label, g.steps, g.reconstruction, g.classification, g.generator_adv,
                       hook ? fmt::format(", teacher {:.4f}", g.extra) : std::string(), g.seconds);
    return {g.steps, g.reconstruction};
  }

  void freeze() override {}  // fit() leaves the generator frozen; translations need no gradients
  at::Tensor to_class(const at::Tensor& a, int64_t c) override { return gan_->translate(a, c); }
  at::Tensor to_majority(const at::Tensor& b, int64_t) override { return gan_->translate(b, majority_); }

  void add_files(train::Checkpoint::Files& files, size_t phase) override {
    auto gan = gan_;
    files.push_back({file(phase), [gan](const std::string& path) { gan->save(path); }});
  }
  void load(const train::Checkpoint& checkpoint, size_t phase) override {
    *gan_ = generative::StarGAN::load(checkpoint.path(file(phase)));
  }
  void publish(JointResult& r) const override {
    r.stargan = gan_;
    for (const auto c : minorities_) r.translators[c] = generative::StarGAN::pair(gan_, majority_, c);
  }
  nlohmann::json config() const override {
    return {{"generator", "stargan"}, {"star", nlohmann::json::parse(generative::stargan_options_text(options_))}};
  }

 private:
  static std::string file(size_t phase) { return fmt::format("stargan-{}.gen", phase); }

  generative::StarGANOptions options_;
  at::Tensor x_, y_;
  int64_t majority_;
  std::vector<int64_t> minorities_;
  std::shared_ptr<generative::StarGAN> gan_;
};

}  // namespace

std::unique_ptr<JointGenerator> make_joint_generator(const JointOptions& j, const at::Tensor& x, const at::Tensor& y,
                                                     int64_t num_classes, int64_t majority,
                                                     const std::vector<int64_t>& minorities,
                                                     const std::vector<std::string>& class_names, uint64_t seed) {
  REBALANCE_CHECK(!minorities.empty(), "joint {}: no minority class to translate into", j.mode);
  if (j.generator == "stargan")
    return std::make_unique<SharedStarGAN>(j.star, x, y, num_classes, majority, minorities, seed);
  check_joint_generator(j);
  return std::make_unique<CycleGANs>(j.gan, x, y, majority, minorities, class_names, seed);
}

void check_joint_generator(const JointOptions& j) {
  REBALANCE_CHECK(j.generator == "cyclegan" || j.generator == "stargan",
                  "joint {}: generator must be cyclegan or stargan, got \"{}\"", j.mode, j.generator);
  if (j.generator == "stargan")
    generative::check_stargan_options(j.star);
  else
    generative::check_cyclegan_options(j.gan);
}

int64_t min_class_images(const JointOptions& j) { return j.generator == "stargan" ? 1 : j.gan.batch_size; }

}  // namespace rebalance::joint
