// Mixing: each training batch is blended with partner rows, and each row's loss is split between
// its own label and its partner's. mixup (Zhang et al. 2018), Remix (Chou et al. 2020: the label
// leans to the minority), CutMix (Yun et al. 2019) and CMO (Park et al. 2022: minority images
// pasted onto majority backgrounds), by factory string: make_mix("remix:alpha=1,kappa=3,tau=0.5").
//
//   auto mix = mix::make_mix("cmo");
//   mix->set_training_set(x_all, labels, num_classes);      // once
//   auto batch = mix->apply(xb, yb, epoch, epochs, rng);   // every batch
//   auto loss = mix::mixed_loss(*criterion, model(batch.x), batch);
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance::losses {
class Loss;
}

namespace rebalance::mix {

/// A batch after mixing. Row i is trained on x[i] with the loss
///   lam[i] * L(logits_i, y_a[i]) + (1 - lam[i]) * L(logits_i, y_b[i]).
struct MixedBatch {
  at::Tensor x;    ///< the inputs, of the batch's shape, dtype and device
  at::Tensor y_a;  ///< [B] int64: the batch's own labels
  at::Tensor y_b;  ///< [B] int64: the partners' labels (y_a where the batch was not mixed)
  at::Tensor lam;  ///< [B] float32 on the batch's device: the share of the loss that goes to y_a
  /// The share of row i's input that is its own (the Beta draw; for CutMix and CMO the area of
  /// the image outside the pasted box); 1 where the batch was not mixed.
  double ratio = 1.0;
  bool mixed = false;    ///< false: x and y_a are the batch as given, lam is 1
  bool per_row = false;  ///< the label shares differ row by row (Remix): see mixed_loss
};

/// One mixing rule. Its common parameters: p, the probability that a batch is mixed (one draw
/// per batch); start, the first epoch (0-based) that mixes; end, how many final epochs do not.
class Mix {
 public:
  virtual ~Mix() = default;
  /// Every training row (x: [N, ...] on the device the batches come on; labels: [N] classes in
  /// 0..num_classes-1), given once before training. Remix reads the class counts, CMO draws its
  /// foreground rows from x.
  void set_training_set(const at::Tensor& x, const std::vector<int64_t>& labels, int64_t num_classes);
  /// Mix one batch (x: [B, ...] float; y: [B] int64, on x's device) at `epoch` of `epochs`. All
  /// draws come from `rng`; `x` and `y` are never changed.
  MixedBatch apply(const at::Tensor& x, const at::Tensor& y, int64_t epoch, int64_t epochs, Rng& rng) const;
  /// Whether batches of `epoch` (0-based, of `epochs`) are mixed at all.
  bool active(int64_t epoch, int64_t epochs) const;
  /// Rows per class of the training set (after set_training_set).
  const std::vector<int64_t>& class_counts() const { return counts_; }

  const std::string& spec() const { return spec_; }
  void set_spec(std::string s) { spec_ = std::move(s); }
  void set_schedule(double p, int64_t start, int64_t end) {
    p_ = p;
    start_ = start;
    end_ = end;
  }
  double probability() const { return p_; }
  int64_t start_epoch() const { return start_; }
  int64_t end_epochs() const { return end_; }
  /// Whether the rule cuts boxes out of images ([B, C, H, W] only).
  virtual bool needs_images() const { return false; }

 protected:
  /// The rule itself, on a batch chosen for mixing.
  virtual MixedBatch mix(const at::Tensor& x, const at::Tensor& y, Rng& rng) const = 0;
  at::Tensor train_x_;
  std::vector<int64_t> counts_;
  std::vector<std::vector<int64_t>> rows_of_class_;

 private:
  std::string spec_;
  double p_ = 1.0;
  int64_t start_ = 0, end_ = 0;
};

/// Remix's label share for one pair (Chou et al. 2020, eq. 4): the mix ratio `lam` of the row
/// of class count n_a with a partner of count n_b gives label share
///   0    if n_a / n_b >= kappa and lam < tau   (the label goes to the minority partner)
///   1    if n_a / n_b <= 1 / kappa and 1 - lam < tau
///   lam  otherwise.
double remix_label_share(double lam, int64_t n_a, int64_t n_b, double kappa, double tau);

/// CutMix's box for a mix ratio `lam` on an H x W image (Yun et al. 2019): a box of side
/// (H, W) * sqrt(1 - lam), truncated to whole pixels, centred on a uniformly drawn pixel and
/// clipped at the borders. Rows [y0, y1), columns [x0, x1).
struct Box {
  int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  int64_t area() const { return (y1 - y0) * (x1 - x0); }
};
Box cutmix_box(int64_t height, int64_t width, double lam, Rng& rng);

/// The loss of a mixed batch. Not mixed: loss.forward(logits, y_a). One ratio for the whole batch
/// (mixup, CutMix, CMO): lam * forward(y_a) + (1 - lam) * forward(y_b), the published criterion,
/// each half with the loss's own reduction. Per-row shares (Remix): the mean over rows of
/// lam_i * t_i(y_a) + (1 - lam_i) * t_i(y_b), t the loss's per-sample terms (class weights
/// included): PyTorch's cross_entropy with probability targets and `weight`.
at::Tensor mixed_loss(losses::Loss& loss, const at::Tensor& logits, const MixedBatch& batch);

struct MixInfo {
  std::string name;
  std::string description;
  std::vector<ParamDecl> params;  ///< the rule's own, then p, start and end
};
/// Every mixing rule with its parameters (the one declaration list behind parsing and docs).
const std::vector<MixInfo>& mix_registry();
/// Every rule as `rebalance methods mixing` lists it.
std::vector<MethodDoc> mix_docs();

/// "mixup:alpha=1", "remix:alpha=1,kappa=3,tau=0.5", "cutmix:beta=1", "cmo:beta=1,p=0.5,power=1";
/// each also takes p, start and end. Unknown names and parameters are refused, listing the known.
std::unique_ptr<Mix> make_mix(const std::string& spec);

}  // namespace rebalance::mix
