#include "rebalance/mix/mix.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/losses/loss.hpp"

namespace rebalance::mix {

namespace {

at::Tensor index_tensor(const std::vector<int64_t>& v, const at::Device& device) {
  return torch::tensor(v, torch::kInt64).to(device);
}

MixedBatch unmixed(const at::Tensor& x, const at::Tensor& y) {
  MixedBatch b;
  b.x = x;
  b.y_a = y;
  b.y_b = y;
  b.lam = torch::ones({x.size(0)}, torch::TensorOptions().dtype(torch::kFloat32).device(x.device()));
  return b;
}

MixedBatch blended(const at::Tensor& x, const at::Tensor& y, at::Tensor mixed_x, const at::Tensor& y_b, double ratio) {
  MixedBatch b;
  b.x = std::move(mixed_x);
  b.y_a = y;
  b.y_b = y_b;
  b.ratio = ratio;
  b.lam = torch::full({x.size(0)}, ratio, torch::TensorOptions().dtype(torch::kFloat32).device(x.device()));
  b.mixed = true;
  return b;
}

/// x with the box cut out of `partner` pasted in (both [B, C, H, W]).
at::Tensor paste(const at::Tensor& x, const at::Tensor& partner, const Box& box) {
  auto out = x.clone();
  if (box.area() > 0)
    out.narrow(2, box.y0, box.y1 - box.y0)
        .narrow(3, box.x0, box.x1 - box.x0)
        .copy_(partner.narrow(2, box.y0, box.y1 - box.y0).narrow(3, box.x0, box.x1 - box.x0));
  return out;
}

class Mixup : public Mix {
 public:
  explicit Mixup(double alpha) : alpha_(alpha) {}

 protected:
  MixedBatch mix(const at::Tensor& x, const at::Tensor& y, Rng& rng) const override {
    const double lam = rng.beta(alpha_, alpha_);
    const auto perm = index_tensor(rng.permutation(x.size(0)), x.device());
    return blended(x, y, x * lam + x.index_select(0, perm) * (1.0 - lam), y.index_select(0, perm), lam);
  }

 private:
  double alpha_;
};

class Remix : public Mix {
 public:
  Remix(double alpha, double kappa, double tau) : alpha_(alpha), kappa_(kappa), tau_(tau) {}

 protected:
  MixedBatch mix(const at::Tensor& x, const at::Tensor& y, Rng& rng) const override {
    REBALANCE_CHECK(!counts_.empty(), "mix {}: Remix reads the class counts; give the training set first "
                    "(set_training_set)", spec());
    const double lam = rng.beta(alpha_, alpha_);
    const auto order = rng.permutation(x.size(0));
    const auto perm = index_tensor(order, x.device());
    const auto labels = y.to(torch::kCPU).contiguous();
    const auto* l = labels.data_ptr<int64_t>();
    const auto c = static_cast<int64_t>(counts_.size());
    std::vector<float> share(order.size());
    for (size_t i = 0; i < order.size(); ++i) {
      const int64_t a = l[i], b = l[order[i]];
      REBALANCE_CHECK(a >= 0 && a < c && b >= 0 && b < c, "mix {}: label {} outside the training set's {} classes",
                      spec(), (a < 0 || a >= c) ? a : b, c);
      share[i] = static_cast<float>(remix_label_share(lam, counts_[a], counts_[b], kappa_, tau_));
    }
    auto out = blended(x, y, x * lam + x.index_select(0, perm) * (1.0 - lam), y.index_select(0, perm), lam);
    out.lam = torch::tensor(share, torch::kFloat32).to(x.device());
    out.per_row = true;
    return out;
  }

 private:
  double alpha_, kappa_, tau_;
};

class CutMix : public Mix {
 public:
  explicit CutMix(double beta) : beta_(beta) {}
  bool needs_images() const override { return true; }

 protected:
  MixedBatch mix(const at::Tensor& x, const at::Tensor& y, Rng& rng) const override {
    const double lam = rng.beta(beta_, beta_);
    const auto perm = index_tensor(rng.permutation(x.size(0)), x.device());
    const auto box = cutmix_box(x.size(2), x.size(3), lam, rng);
    const double ratio = 1.0 - static_cast<double>(box.area()) / static_cast<double>(x.size(2) * x.size(3));
    return blended(x, y, paste(x, x.index_select(0, perm), box), y.index_select(0, perm), ratio);
  }

 private:
  double beta_;
};

/// CMO: foreground rows drawn with weight n_y^-power each (power 1: every class equally often),
/// their box pasted onto the batch's images, which come from the training order and so are
/// mostly the majority's: the minority object in a majority context.
class CMO : public Mix {
 public:
  CMO(double beta, double power) : beta_(beta), power_(power) {}
  bool needs_images() const override { return true; }

 protected:
  MixedBatch mix(const at::Tensor& x, const at::Tensor& y, Rng& rng) const override {
    REBALANCE_CHECK(train_x_.defined(), "mix {}: CMO draws minority images from the training set; give it first "
                    "(set_training_set)", spec());
    REBALANCE_CHECK(train_x_.dim() == 4 && train_x_.size(1) == x.size(1) && train_x_.size(2) == x.size(2) &&
                        train_x_.size(3) == x.size(3),
                    "mix {}: the training images are [{}], the batch [{}]", spec(), fmt::join(train_x_.sizes(), ","),
                    fmt::join(x.sizes(), ","));
    // Class k is drawn with probability proportional to n_k * n_k^-power.
    std::vector<double> cumulative;
    double total = 0;
    for (const auto n : counts_) {
      total += n > 0 ? std::pow(static_cast<double>(n), 1.0 - power_) : 0.0;
      cumulative.push_back(total);
    }
    const double lam = rng.beta(beta_, beta_);
    std::vector<int64_t> rows(static_cast<size_t>(x.size(0))), classes(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const double u = rng.uniform() * total;
      auto k = static_cast<int64_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
      k = std::min<int64_t>(k, static_cast<int64_t>(counts_.size()) - 1);
      while (counts_[k] == 0) --k;  // u == total exactly: the last class with rows
      const auto& members = rows_of_class_[k];
      rows[i] = members[rng.uniform_int(members.size())];
      classes[i] = k;
    }
    const auto foreground = train_x_.index_select(0, index_tensor(rows, train_x_.device())).to(x.device(), x.scalar_type());
    const auto box = cutmix_box(x.size(2), x.size(3), lam, rng);
    const double ratio = 1.0 - static_cast<double>(box.area()) / static_cast<double>(x.size(2) * x.size(3));
    return blended(x, y, paste(x, foreground, box), index_tensor(classes, y.device()), ratio);
  }

 private:
  double beta_, power_;
};

std::vector<ParamDecl> with_schedule(std::vector<ParamDecl> own, const std::string& p) {
  own.push_back({"p", p, "probability that a batch is mixed (one draw per batch)"});
  own.push_back({"start", "0", "first epoch (0-based) that mixes"});
  own.push_back({"end", "0", "the last this many epochs train on unmixed batches"});
  return own;
}

}  // namespace

void Mix::set_training_set(const at::Tensor& x, const std::vector<int64_t>& labels, int64_t num_classes) {
  REBALANCE_CHECK(num_classes >= 1, "mix {}: the training set has no classes", spec());
  REBALANCE_CHECK(!x.defined() || x.size(0) == static_cast<int64_t>(labels.size()),
                  "mix {}: {} training rows but {} labels", spec(), x.defined() ? x.size(0) : 0, labels.size());
  counts_.assign(static_cast<size_t>(num_classes), 0);
  rows_of_class_.assign(static_cast<size_t>(num_classes), {});
  for (size_t i = 0; i < labels.size(); ++i) {
    REBALANCE_CHECK(labels[i] >= 0 && labels[i] < num_classes, "mix {}: training row {} has label {}, outside 0..{}",
                    spec(), i, labels[i], num_classes - 1);
    ++counts_[labels[i]];
    rows_of_class_[labels[i]].push_back(static_cast<int64_t>(i));
  }
  train_x_ = x;
}

bool Mix::active(int64_t epoch, int64_t epochs) const { return epoch >= start_ && epoch < epochs - end_; }

MixedBatch Mix::apply(const at::Tensor& x, const at::Tensor& y, int64_t epoch, int64_t epochs, Rng& rng) const {
  REBALANCE_CHECK(x.defined() && x.dim() >= 2, "mix {}: a batch is [B, ...] rows, got {} dimension(s)", spec(),
                  x.defined() ? x.dim() : 0);
  REBALANCE_CHECK(at::isFloatingType(x.scalar_type()), "mix {}: inputs must be floating point, got {}", spec(),
                  c10::toString(x.scalar_type()));
  REBALANCE_CHECK(y.defined() && y.dim() == 1 && y.size(0) == x.size(0) && y.scalar_type() == torch::kInt64,
                  "mix {}: labels must be [{}] int64, one per row", spec(), x.size(0));
  REBALANCE_CHECK(!needs_images() || x.dim() == 4,
                  "mix {}: cuts boxes out of images [B, C, H, W], and these rows are [{}]: train on image data (or "
                  "mix with mixup / remix)",
                  spec(), fmt::join(x.sizes(), ","));
  if (!active(epoch, epochs) || x.size(0) == 0) return unmixed(x, y);
  if (p_ < 1.0 && !(rng.uniform() < p_)) return unmixed(x, y);
  return mix(x, y, rng);
}

double remix_label_share(double lam, int64_t n_a, int64_t n_b, double kappa, double tau) {
  const double ratio = static_cast<double>(n_a) / static_cast<double>(std::max<int64_t>(n_b, 1));
  if (ratio >= kappa && lam < tau) return 0.0;
  if (ratio <= 1.0 / kappa && 1.0 - lam < tau) return 1.0;
  return lam;
}

Box cutmix_box(int64_t height, int64_t width, double lam, Rng& rng) {
  const double cut = std::sqrt(std::clamp(1.0 - lam, 0.0, 1.0));
  const auto cut_h = static_cast<int64_t>(static_cast<double>(height) * cut);
  const auto cut_w = static_cast<int64_t>(static_cast<double>(width) * cut);
  const auto cy = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(height)));
  const auto cx = static_cast<int64_t>(rng.uniform_int(static_cast<uint64_t>(width)));
  Box b;
  b.y0 = std::clamp<int64_t>(cy - cut_h / 2, 0, height);
  b.y1 = std::clamp<int64_t>(cy + cut_h / 2, 0, height);
  b.x0 = std::clamp<int64_t>(cx - cut_w / 2, 0, width);
  b.x1 = std::clamp<int64_t>(cx + cut_w / 2, 0, width);
  return b;
}

at::Tensor mixed_loss(losses::Loss& loss, const at::Tensor& logits, const MixedBatch& b) {
  if (!b.mixed) return loss.forward(logits, b.y_a);
  if (!b.per_row) return loss.forward(logits, b.y_a) * b.ratio + loss.forward(logits, b.y_b) * (1.0 - b.ratio);
  const auto lam = b.lam.to(logits.device(), logits.scalar_type());
  return (lam * loss.per_sample(logits, b.y_a) + (1.0 - lam) * loss.per_sample(logits, b.y_b)).mean();
}

const std::vector<MixInfo>& mix_registry() {
  static const std::vector<MixInfo> list = {
      {"mixup", "blend each row with a shuffled partner, x = lam x_i + (1-lam) x_j, labels in the same shares "
                "(Zhang et al. 2018); lam ~ Beta(alpha, alpha) per batch",
       with_schedule({{"alpha", "1", "Beta(alpha, alpha) of the mix ratio, > 0"}}, "1")},
      {"remix", "mixup whose label goes wholly to the minority partner when the counts differ by kappa and its "
                "share of the image is at least tau (Chou et al. 2020)",
       with_schedule({{"alpha", "1", "Beta(alpha, alpha) of the mix ratio, > 0"},
                      {"kappa", "3", "count ratio from which a pair counts as majority and minority, >= 1"},
                      {"tau", "0.5", "the minority partner takes the whole label when the majority row's share of the image is below tau, in [0, 1]"}},
                     "1")},
      {"cutmix", "paste a box of a shuffled partner's image, labels in proportion to the areas (Yun et al. 2019); "
                 "images only",
       with_schedule({{"beta", "1", "Beta(beta, beta) of the kept area, > 0"}}, "1")},
      {"cmo", "context-rich minority oversampling: a box of a minority-weighted draw's image pasted onto the "
              "batch's (mostly majority) images, labels by area (Park et al. 2022); images only",
       with_schedule({{"beta", "1", "Beta(beta, beta) of the kept area, > 0"},
                      {"power", "1", "foreground rows drawn with weight n_y^-power (1: classes equally often)"}},
                     "0.5")},
  };
  return list;
}

std::vector<MethodDoc> mix_docs() {
  return registry_docs(mix_registry());
}

std::unique_ptr<Mix> make_mix(const std::string& text) {
  const auto spec = parse_spec(text);
  const auto* info = &registry_entry(mix_registry(), spec, "mixing rule");
  const Params p(spec, info->params, "mixing rule");
  const auto positive = [&](const std::string& key) {
    const double v = p.get_double_in(key, 0.0, 1e6);
    REBALANCE_CHECK(v > 0, "mixing rule \"{}\": {}={} must be > 0", spec.text, key, v);
    return v;
  };
  std::unique_ptr<Mix> out;
  if (spec.name == "mixup") out = std::make_unique<Mixup>(positive("alpha"));
  else if (spec.name == "remix")
    out = std::make_unique<Remix>(positive("alpha"), p.get_double_in("kappa", 1.0, 1e12), p.get_double_in("tau", 0.0, 1.0));
  else if (spec.name == "cutmix") out = std::make_unique<CutMix>(positive("beta"));
  else out = std::make_unique<CMO>(positive("beta"), p.get_double_in("power", 0.0, 10.0));
  out->set_schedule(p.get_double_in("p", 0.0, 1.0), p.get_int_in("start", 0, 1000000), p.get_int_in("end", 0, 1000000));
  out->set_spec(spec.text);
  return out;
}

}  // namespace rebalance::mix
