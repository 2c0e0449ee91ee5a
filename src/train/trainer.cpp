#include "rebalance/train/trainer.hpp"

#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "rebalance/augment/augment.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/metrics/classification.hpp"
#include "rebalance/metrics/ranking.hpp"
#include "rebalance/mix/mix.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/train/decouple.hpp"
#include "rebalance/train/distributed.hpp"
#include "rebalance/core/rng_streams.hpp"
#include "rebalance/data/imbalance.hpp"

namespace rebalance::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kCheckpointFormat = 1;
constexpr std::string_view kModelMagic = "REBALANCE-MODEL 1\n";
constexpr int64_t kFewValidationRows = 5;  // fewer validation rows of a class than this: a monitor warns

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

double scheduled_lr(const TrainOptions& o, int64_t epoch) {
  const auto spec = parse_spec(o.schedule);
  if (spec.name == "none") {
    Params(spec, {}, "schedule");
    return o.lr;
  }
  if (spec.name == "cosine") {
    Params(spec, {}, "schedule");
    return o.lr * 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(o.epochs)));
  }
  if (spec.name == "step") {
    const Params p(spec, {{"every", "30", "epochs between drops"}, {"gamma", "0.1", "factor per drop"}}, "schedule");
    return o.lr * std::pow(p.get_double_in("gamma", 0.0, 1.0), static_cast<double>(epoch / p.get_int_in("every", 1, 1 << 30)));
  }
  if (spec.name == "exp") {
    // PyTorch's ExponentialLR stepped once per epoch: lr * gamma^epoch (seed 003: gamma 0.95).
    const Params p(spec, {{"gamma", "0.95", "factor per epoch"}}, "schedule");
    return o.lr * std::pow(p.get_double_in("gamma", 0.0, 1.0), static_cast<double>(epoch));
  }
  REBALANCE_THROW("unknown schedule \"{}\" (none, step:every=N,gamma=G, exp:gamma=G, cosine)", o.schedule);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, models::Classifier& model) {
  if (o.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(model.parameters(),
                                                torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        model.parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  REBALANCE_THROW("unknown optimizer \"{}\" (adam or sgd)", o.optimizer);
}

double monitored_metric(const std::string& name, const at::Tensor& confusion) {
  if (name == "none") return 0.0;
  if (name == "f1_macro") return metrics::f1_macro(confusion);
  if (name == "acsa") return metrics::acsa(confusion);
  if (name == "gmean") return metrics::geometric_mean(confusion);
  if (name == "mcc") return metrics::mcc(confusion);
  if (name == "accuracy") return metrics::accuracy(confusion);
  if (name == "map5" || name == "top5")
    REBALANCE_THROW("monitor metric \"{}\" ranks scores; it is computed from the logits, not a confusion matrix", name);
  REBALANCE_THROW("unknown monitor metric \"{}\" (f1_macro, acsa, gmean, mcc, accuracy, map5, top5, none)", name);
}

namespace {

/// The monitored value of an epoch: ranking metrics from the logits, the others from the confusion.
double validation_metric(const std::string& name, const at::Tensor& confusion, const at::Tensor& y,
                         const at::Tensor& logits) {
  if (name == "map5") return metrics::map_at_k(y, logits, 5);
  if (name == "top5") return metrics::top_k_accuracy(y, logits, 5);
  return monitored_metric(name, confusion);
}

}  // namespace

void resolve_monitor(TrainOptions& o, const std::vector<int64_t>& val_counts,
                     const std::vector<std::string>& class_names, std::ostream& log) {
  if (o.monitor != "auto") return;
  int64_t total = 0, least = -1;
  for (size_t k = 0; k < val_counts.size(); ++k) {
    total += val_counts[k];
    if (least < 0 || val_counts[k] < val_counts[static_cast<size_t>(least)]) least = static_cast<int64_t>(k);
  }
  if (total > 0 && least >= 0 && val_counts[static_cast<size_t>(least)] >= kFewValidationRows) {
    o.monitor = "f1_macro";
    return;
  }
  std::string why;
  if (total == 0) {
    why = "there is no validation set";
  } else {
    int64_t short_classes = 0;
    for (auto n : val_counts) short_classes += n < kFewValidationRows;
    const auto n = val_counts[static_cast<size_t>(least)];
    const auto more = short_classes - 1;
    why = fmt::format("the validation set holds {} row{} of class \"{}\"{} (f1_macro needs at least {} of each)", n,
                      n == 1 ? "" : "s", class_names[static_cast<size_t>(least)],
                      more > 0 ? fmt::format(" and fewer than {} of {} more class{}", kFewValidationRows, more,
                                             more == 1 ? "" : "es")
                               : "",
                      kFewValidationRows);
  }
  log << fmt::format("monitor auto: keeping the final weights, since {}{}; --monitor f1_macro (or another) picks an "
                     "epoch anyway\n", why, o.patience > 0 ? fmt::format(" (patience {} ignored)", o.patience) : "");
  o.monitor = "none";
  o.patience = 0;
}

namespace {

/// Progress on a terminal: one line redrawn per batch; plain lines per epoch otherwise.
class Progress {
 public:
  Progress(bool enabled, int64_t epochs) : tty_(enabled && ::isatty(::fileno(stderr))), epochs_(epochs) {}
  void batch(int64_t epoch, int64_t done, int64_t total, double loss, double eta) {
    if (!tty_ || (done % 5 != 0 && done != total)) return;
    const int width = 24;
    const int fill = static_cast<int>(width * done / std::max<int64_t>(total, 1));
    std::fprintf(stderr, "\r epoch %lld/%lld [%s%s] %3lld%% loss %.4f  ~%.0fs left   ", (long long)epoch + 1,
                 (long long)epochs_, std::string(fill, '=').c_str(), std::string(width - fill, ' ').c_str(),
                 (long long)(100 * done / std::max<int64_t>(total, 1)), loss, eta);
    std::fflush(stderr);
  }
  void end_epoch() {
    if (tty_) std::fprintf(stderr, "\r%80s\r", "");
  }

 private:
  bool tty_;
  int64_t epochs_;
};

}  // namespace

at::Tensor mixed_loss(losses::Loss& loss, const at::Tensor& logits, const at::Tensor& target,
                      const at::Tensor& synthetic, double synthetic_weight) {
  REBALANCE_CHECK(synthetic.dim() == 1 && synthetic.size(0) == target.size(0),
                  "mixed_loss: {} synthetic flags for a batch of {} rows", synthetic.numel(), target.size(0));
  const auto is_synth = synthetic.to(torch::kBool);
  const int64_t n = target.size(0), ns = is_synth.sum().item<int64_t>(), nr = n - ns;
  if (ns == 0 || synthetic_weight == 1.0) return loss.forward(logits, target);
  const auto part = [&](const at::Tensor& mask) {
    const auto idx = mask.nonzero().squeeze(1);
    return loss.forward(logits.index_select(0, idx), target.index_select(0, idx));
  };
  auto total = part(is_synth) * (synthetic_weight * static_cast<double>(ns));
  if (nr > 0) total = total + part(~is_synth) * static_cast<double>(nr);
  return total / static_cast<double>(n);
}

at::Tensor predict_logits(models::Classifier& model, const at::Tensor& x, int64_t batch_size) {
  torch::NoGradGuard guard;
  const bool was_training = model.is_training();
  model.eval();
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters()[0].device();
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < x.size(0); b += batch_size)
    // The networks are float32: float64 data is rounded at the model's door, batch by batch.
    out.push_back(model.forward(x.slice(0, b, std::min(x.size(0), b + batch_size)).to(device, torch::kFloat32))
                      .to(torch::kCPU, torch::kFloat32));
  model.train(was_training);
  return out.empty() ? torch::empty({0, 0}) : torch::cat(out);
}

namespace {

/// Logits of every real training row (origin >= 0) from a model trained without the row's fold,
/// and their labels: stratified folds (each class's rows in a seeded order, dealt round-robin),
/// each model trained as `o` says but with argmax, no monitor and no checkpoints.
std::pair<at::Tensor, at::Tensor> out_of_fold_logits(const Dataset& train, const TrainOptions& o, int64_t folds,
                                                     std::ostream& log) {
  const auto counts = train.class_counts();
  const auto smallest = std::min_element(counts.begin(), counts.end()) - counts.begin();
  const int64_t k = std::min(folds, counts[smallest]);
  REBALANCE_CHECK(k >= 2, "out-of-fold scores for decision rule \"{}\": class \"{}\" has {} training row(s); two folds "
                  "need at least 2", o.decision, train.class_names[smallest], counts[smallest]);
  REBALANCE_CHECK(parse_spec(o.batch_policy).name != "dynamic", "out-of-fold scores for decision rule \"{}\": batch "
                  "policy \"{}\" follows validation F1, which the fold models do not have", o.decision, o.batch_policy);
  Rng rng = Rng(o.seed).fork(streams::kFoldAssignment);
  const auto fold = stratified_fold_ids(train, k, rng);
  TrainOptions sub = o;
  sub.decision = "argmax", sub.monitor = "none", sub.patience = 0, sub.checkpoint_dir.clear(), sub.resume = false;
  sub.progress = false, sub.stop_after_epochs = -1;
  const auto empty = train.subset(torch::empty({0}, torch::kInt64));
  auto logits = torch::zeros({train.size(), train.num_classes()});
  for (int64_t f = 0; f < k; ++f) {
    std::vector<int64_t> in, out;
    for (int64_t i = 0; i < train.size(); ++i) (fold[i] == f ? out : in).push_back(i);
    sub.seed = Rng(o.seed).fork(streams::kFoldModel + static_cast<uint64_t>(f)).next_u64() >> 1;
    std::ostringstream quiet;
    const auto r = fit(train.subset(torch::tensor(in, torch::kInt64)), empty, sub, quiet);
    const auto rows = torch::tensor(out, torch::kInt64);
    logits.index_copy_(0, rows, predict_logits(*r.model, train.x.index_select(0, rows)));
  }
  const auto real = (train.origin.to(torch::kCPU) >= 0).nonzero().flatten();
  log << fmt::format("decision {}: tuned on out-of-fold scores of the {} real training rows ({} folds)\n", o.decision,
                     real.numel(), k);
  return {logits.index_select(0, real), train.y.to(torch::kCPU).index_select(0, real)};
}

}  // namespace

namespace {

TrainResult fit_impl(const Dataset& train, const Dataset& val, const TrainOptions& given, std::ostream& log,
                     Communicator* comm) {
  const bool lead = !comm || comm->rank() == 0;  // the rank that writes checkpoints
  train.validate();
  val.validate();
  REBALANCE_CHECK(train.class_names == val.class_names, "training and validation sets have different classes");
  TrainOptions o = given;
  resolve_monitor(o, val.size() > 0 ? val.class_counts() : std::vector<int64_t>{}, val.class_names, log);
  REBALANCE_CHECK(o.epochs >= 1 && o.batch_size >= 1, "epochs and batch size must be >= 1 (got {} and {})", o.epochs,
                  o.batch_size);
  REBALANCE_CHECK(o.lr > 0 && std::isfinite(o.lr), "learning rate must be > 0, got {}", o.lr);
  REBALANCE_CHECK(o.iterations >= 0, "iterations must be >= 0 (0: the budget is epochs), got {}", o.iterations);
  REBALANCE_CHECK(o.synthetic_weight >= 0 && o.synthetic_weight <= 100, "synthetic_weight must be in [0, 100] (a "
                  "synthetic row's loss weight against a real row's 1), got {}", o.synthetic_weight);
  const bool select = o.monitor != "none", has_val = val.size() > 0;
  REBALANCE_CHECK(select || o.patience == 0, "monitor = none keeps the final weights: early stopping (patience = {}) "
                  "needs a monitored metric", o.patience);
  if (!has_val) {
    REBALANCE_CHECK(!select, "the validation set is empty, so {} cannot pick an epoch: use monitor = none to keep "
                    "the final weights", o.monitor);
    const auto rule = parse_spec(o.decision).name, policy_name = parse_spec(o.batch_policy).name;
    REBALANCE_CHECK(rule == "argmax" || rule == "prior" ||
                        make_decision_rule(o.decision)->folds_wanted(std::vector<int64_t>(train.num_classes(), 0)) > 0,
                    "decision rule \"{}\" is fitted on the validation set, which is empty", o.decision);
    REBALANCE_CHECK(policy_name != "dynamic", "batch policy \"{}\" follows validation F1, and the validation set "
                    "is empty", o.batch_policy);
  }
  const int64_t c = train.num_classes();
  const auto train_counts = train.class_counts(), val_counts = val.class_counts();
  // Ranking metrics and accuracy are defined without every class in validation; per-class ones are not.
  const bool tail_ok = o.monitor == "accuracy" || o.monitor == "map5" || o.monitor == "top5" || !select;
  int64_t missing = 0;
  for (int64_t k = 0; k < c; ++k) {
    REBALANCE_CHECK(train_counts[k] > 0, "the training set has no rows of class {} (\"{}\")", k, train.class_names[k]);
    REBALANCE_CHECK(!has_val || val_counts[k] > 0 || tail_ok, "the validation set has no rows of class {} (\"{}\"): its "
                    "recall and F1 are undefined, so {} could not be monitored (scikit-learn would count them as 0 and "
                    "warn). Use a validation split that holds every class, or monitor map5, top5 or accuracy (a long "
                    "tail's single-image classes stay in training)", k, train.class_names[k], o.monitor);
    if (has_val && val_counts[k] == 0) ++missing;
  }
  if (missing > 0)
    log << fmt::format("the validation set lacks {} of {} classes (their rows all stay in training); {} is measured on "
                       "the classes it holds\n", missing, c, select ? o.monitor : "the per-epoch report");
  if (select) {
    // An epoch chosen on a handful of rows of a class is chosen by noise, and with one or two rows
    // of the minority mostly by the fewest false positives: say so (the choice stays the user's).
    std::vector<int64_t> few;
    for (int64_t k = 0; k < c; ++k)
      if (val_counts[k] > 0 && val_counts[k] < kFewValidationRows) few.push_back(k);
    if (few.size() > 5)
      log << fmt::format("warning: the validation set holds fewer than {} rows of each of {} classes: {} picks the "
                         "epoch on that; monitor = none keeps the final weights\n", kFewValidationRows, few.size(),
                         o.monitor);
    else
      for (auto k : few)
        log << fmt::format("warning: the validation set holds {} row{} of class \"{}\": {} picks the epoch on "
                           "that; monitor = none keeps the final weights\n",
                           val_counts[k], val_counts[k] == 1 ? "" : "s", train.class_names[k], o.monitor);
  }
  // Build everything (and so validate every string) before touching any checkpoint.
  const torch::Device device(o.device);
  auto model = models::make_model(o.model, train.feature_shape(), c, o.seed, device);
  auto best_model = models::make_model(o.model, train.feature_shape(), c, o.seed, device);
  REBALANCE_CHECK(o.loss_counts == "all" || o.loss_counts == "real", "loss_counts must be all or real, got \"{}\"",
                  o.loss_counts);
  auto loss_counts = train_counts;
  if (o.loss_counts == "real") {
    const auto real = train.origin.to(torch::kCPU) >= 0;
    const auto per_class = torch::bincount(train.y.to(torch::kCPU).index({real}), {}, c);
    for (int64_t k = 0; k < c; ++k) {
      loss_counts[static_cast<size_t>(k)] = per_class[k].item<int64_t>();
      REBALANCE_CHECK(loss_counts[static_cast<size_t>(k)] > 0, "loss_counts = real: class {} (\"{}\") has no real "
                      "training rows (all {} are synthetic), so the loss has no count for it", k, train.class_names[k],
                      train_counts[static_cast<size_t>(k)]);
    }
  }
  auto loss = losses::make_loss(o.loss, loss_counts);
  if (const auto name = parse_spec(o.loss).name;
      (name == "la" || name == "balanced_softmax") &&
      std::adjacent_find(loss_counts.begin(), loss_counts.end(), std::not_equal_to<>()) == loss_counts.end())
    log << fmt::format("note: loss \"{}\" adjusts the logits by the training counts, which are balanced here ({} "
                       "rows of every class, e.g. after a sampler), so it is plain cross-entropy; a sampler that grows "
                       "only the rare classes (sampling_strategy=at_least:N) or loss_counts = real leaves it "
                       "something to correct\n",
                       o.loss, loss_counts.front());
  auto policy = make_batch_policy(o.batch_policy);
  {
    const auto origin = train.origin.to(torch::kCPU).contiguous();
    std::vector<bool> synthetic(origin.size(0));
    const auto* po = origin.data_ptr<int64_t>();
    for (int64_t i = 0; i < origin.size(0); ++i) synthetic[i] = po[i] < 0;
    policy->set_synthetic(synthetic);
  }
  auto decision = make_decision_rule(o.decision);
  auto optimizer = make_optimizer(o, *model);
  auto* backbone = dynamic_cast<models::BackboneClassifierImpl*>(model.get());
  REBALANCE_CHECK(o.unfreeze_after >= 0, "unfreeze_after must be >= 0 (0: never), got {}", o.unfreeze_after);
  REBALANCE_CHECK(o.unfreeze_after == 0 || (backbone && backbone->frozen()), "unfreezing after {} epochs needs a "
                  "frozen backbone model (backbone:path=FILE,freeze=true), not \"{}\"", o.unfreeze_after, o.model);
  REBALANCE_CHECK(o.unfreeze_lr_factor > 0 && o.unfreeze_lr_factor <= 100, "unfreeze_lr_factor must be in (0, 100], "
                  "got {}", o.unfreeze_lr_factor);
  std::unique_ptr<augment::Augmentation> augmentation;
  if (!o.augment.empty()) {
    augmentation = augment::make_augmentation(o.augment);
    REBALANCE_CHECK(train.x.dim() == 4, "augment \"{}\" transforms images [C, H, W], but the training rows have {} "
                    "features (tabular or flattened); train on image data (an image folder, fashion-mnist) or drop "
                    "--augment", o.augment, train.num_features());
  }
  const auto head = head_rebalancing(o, *model, *loss, log);
  std::unique_ptr<mix::Mix> mixer;
  if (!o.mix.empty()) {
    mixer = mix::make_mix(o.mix);
    REBALANCE_CHECK(!mixer->needs_images() || train.x.dim() == 4, "mix \"{}\" cuts boxes out of images [C, H, W], but "
                    "the training rows have {} features (tabular or flattened); train on image data or mix with mixup "
                    "or remix", o.mix, train.num_features());
    REBALANCE_CHECK(o.synthetic_weight == 1.0, "mix \"{}\" with synthetic_weight {}: a mixed row is part real, part "
                    "synthetic; use one or the other", o.mix, o.synthetic_weight);
  }
  (void)scheduled_lr(o, 0);
  if (o.monitor != "map5" && o.monitor != "top5") (void)monitored_metric(o.monitor, torch::eye(2, torch::kInt64));

  nlohmann::json config = options_to_json(o);
  config["train"] = fingerprint(train);
  config["validation"] = fingerprint(val);
  if (comm) {
    comm->check_agreement("options and data", config.dump());
    REBALANCE_CHECK(o.synthetic_weight == 1.0, "synthetic_weight {} with {} processes: the weighted loss is normalised "
                    "per batch, which shards do not see whole; use 1 process", o.synthetic_weight, comm->world_size());
    log << fmt::format("rank {} of {}: each batch's rows {} of {} shares\n", comm->rank(), comm->world_size(),
                       comm->rank() + 1, comm->world_size());
  }
  TrainResult result;
  result.train_counts = train_counts;
  result.monitor = o.monitor;
  int64_t start = 0, steps = 0;
  EpochLog epochs(select);
  Checkpoint checkpoint(o.checkpoint_dir, "state.json", kCheckpointFormat, config);
  const bool resumed = checkpoint.open(
      o.resume,
      [&](const nlohmann::json& state) {
        load_module(*model, checkpoint.file(state, "model"));
        load_module(*best_model, checkpoint.file(state, "best"));
        load_optimizer(*optimizer, checkpoint.file(state, "optimizer"));
        start = state.at("epochs_done").get<int64_t>();
        steps = state.value("steps_done", int64_t(0));
        epochs.restore(state);
        policy->set_state(state.at("policy_state").get<std::vector<double>>());
      },
      log, lead);
  if (resumed) log << fmt::format("resuming {} after epoch {}\n", o.checkpoint_dir, start);

  const auto x = train.x.to(device, torch::kFloat32);  // the networks are float32
  const auto y = train.y.to(device);
  const auto synthetic_rows = (train.origin < 0).to(device);
  const bool weigh = o.synthetic_weight != 1.0 && synthetic_rows.any().item<bool>();
  const auto labels = to_index_vector(train.y);
  if (mixer) mixer->set_training_set(x, labels, c);
  // An iteration budget plans its epochs from the first epoch's length (for progress and logs).
  int64_t planned = o.epochs;
  if (o.iterations > 0) {
    Rng probe(o.seed);
    const auto rows = static_cast<int64_t>(policy->epoch_rows(labels, c, o.batch_size, probe).size());
    const int64_t per_epoch = std::max<int64_t>(1, (rows + o.batch_size - 1) / o.batch_size);
    planned = (o.iterations + per_epoch - 1) / per_epoch;
  }
  if (lead) losses::warn_if_deferred_past(*loss, planned, log);
  if (mixer) {
    bool mixes = false;
    for (int64_t e = 0; e < planned && !mixes; ++e) mixes = mixer->active(e, planned);
    if (!mixes && lead)
      log << fmt::format("warning: mix \"{}\": its start and end leave none of the {} epochs to mix, so no batch is "
                         "mixed; lower start or end\n", o.mix, planned);
  }
  const int64_t last_epoch = o.iterations > 0 ? std::numeric_limits<int64_t>::max() : o.epochs;
  Progress progress(o.progress, planned);
  int64_t ran = 0;
  bool stopped_early = false;
  for (int64_t epoch = start; epoch < last_epoch && (o.iterations == 0 || steps < o.iterations); ++epoch) {
    if (o.patience > 0 && epochs.since_best() >= o.patience) {
      stopped_early = true;
      break;
    }
    if (o.stop_after_epochs >= 0 && ran >= o.stop_after_epochs) {
      result.history = epochs.history();
      result.best_epoch = epochs.best_epoch();
      result.best_metric = epochs.best_metric();
      return result;
    }
    const auto t0 = Clock::now();
    // Each epoch draws from streams of its own, so a resumed run repeats the same draws.
    Rng rng = Rng(o.seed).fork(streams::kEpochOrder + static_cast<uint64_t>(epoch));
    torch::manual_seed(Rng(o.seed).fork(streams::kEpochTorch | static_cast<uint64_t>(epoch)).next_u64() >> 1);
    const bool fine_tune = o.unfreeze_after > 0 && epoch >= o.unfreeze_after;
    if (fine_tune && backbone->frozen()) {
      backbone->set_frozen(false);
      if (epoch == o.unfreeze_after)
        log << fmt::format("epoch {}: backbone unfrozen, fine-tuning everything at lr x {}\n", epoch + 1,
                           o.unfreeze_lr_factor);
    }
    const double lr = scheduled_lr(o, epoch) * (fine_tune ? o.unfreeze_lr_factor : 1.0);
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    loss->set_epoch(epoch);
    const auto rows = policy->epoch_rows(labels, c, o.batch_size, rng);
    const auto order = to_index_tensor(rows).to(device);
    model->train();
    double total = 0;
    int64_t batches = (order.size(0) + o.batch_size - 1) / o.batch_size;
    if (o.iterations > 0) batches = std::min(batches, o.iterations - steps);
    int64_t seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const auto idx = order.slice(0, b * o.batch_size, std::min(order.size(0), (b + 1) * o.batch_size));
      optimizer->zero_grad();
      auto xb = x.index_select(0, idx);
      if (augmentation) {
        Rng batch_rng = Rng(o.seed).fork(streams::kEpochAugment | static_cast<uint64_t>(epoch)).fork(static_cast<uint64_t>(b));
        xb = augmentation->apply(xb, batch_rng);
      }
      mix::MixedBatch mixed;
      if (mixer) {
        Rng mix_rng = Rng(o.seed).fork(streams::kEpochMix | static_cast<uint64_t>(epoch)).fork(static_cast<uint64_t>(b));
        mixed = mixer->apply(xb, y.index_select(0, idx), epoch, planned, mix_rng);
        xb = mixed.x;
      }
      // The loss of rows [lo, hi) of this batch, whose logits are given.
      const auto batch_loss = [&](const at::Tensor& logits, int64_t lo, int64_t hi) {
        if (!mixer) return loss->forward(logits, y.index_select(0, idx.slice(0, lo, hi)));
        mix::MixedBatch part = mixed;
        part.y_a = mixed.y_a.slice(0, lo, hi);
        part.y_b = mixed.y_b.slice(0, lo, hi);
        part.lam = mixed.lam.slice(0, lo, hi);
        return mix::mixed_loss(*loss, logits, part);
      };
      if (comm) {
        // This rank's contiguous shard of the global batch; its mean loss weighted by its share,
        // so the summed gradients are the whole batch's mean gradient.
        const int64_t n = idx.size(0), w = comm->world_size(), r = comm->rank();
        const int64_t lo = n * r / w, hi = n * (r + 1) / w;
        at::Tensor part = torch::zeros({1});
        if (hi > lo) {
          auto l = batch_loss(model->forward(xb.slice(0, lo, hi)), lo, hi) *
                   (static_cast<double>(hi - lo) / static_cast<double>(n));
          l.backward();
          part = l.detach().to(torch::kCPU, torch::kFloat32).reshape({1});
        }
        // One flat buffer (the loss, then every gradient): one collective per step.
        std::vector<at::Tensor> pieces{part}, grads;
        for (auto& p : model->parameters()) {
          if (!p.requires_grad()) continue;
          if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
          grads.push_back(p.grad());
          pieces.push_back(p.grad().reshape({-1}).to(torch::kCPU, torch::kFloat32));
        }
        std::vector<at::Tensor> flat{torch::cat(pieces)};
        comm->all_reduce_sum(flat);
        int64_t at = 1;
        for (auto& g : grads) {
          g.copy_(flat[0].slice(0, at, at + g.numel()).view_as(g));
          at += g.numel();
        }
        optimizer->step();
        head.after_step();
        total += flat[0][0].item<double>() * n;
        seen += n;
      } else {
        const auto logits = model->forward(xb);
        auto l = weigh ? mixed_loss(*loss, logits, y.index_select(0, idx), synthetic_rows.index_select(0, idx),
                                    o.synthetic_weight)
                       : batch_loss(logits, 0, idx.size(0));
        l.backward();
        optimizer->step();
        head.after_step();
        total += l.item<double>() * idx.size(0);
        seen += idx.size(0);
      }
      ++steps;
      const double per_batch = seconds_since(t0) / (b + 1);
      progress.batch(epoch, b + 1, batches, total / seen,
                     per_batch * (batches - b - 1 + std::max<int64_t>(0, planned - epoch - 1) * batches));
    }
    progress.end_epoch();
    EpochRecord rec{epoch, total / std::max<int64_t>(seen, 1), lr, 0.0, {}, 0};
    if (has_val) {
      const auto logits = predict_logits(*model, val.x);
      const auto confusion = metrics::confusion_matrix(val.y.cpu(), logits.argmax(1), c);
      rec.val_metric = validation_metric(o.monitor, confusion, val.y.cpu(), logits);
      if (c > 2) rec.val_map5 = metrics::map_at_k(val.y.cpu(), logits, 5);
      for (const auto& m : metrics::per_class_metrics(confusion)) rec.val_f1.push_back(m.f1);
      if (missing > 0) {
        // A class without validation rows has no F1: dynamic sampling sees the mean of the others'.
        double sum = 0;
        for (int64_t k = 0; k < c; ++k)
          if (val_counts[k] > 0) sum += rec.val_f1[k];
        for (int64_t k = 0; k < c; ++k)
          if (val_counts[k] == 0) rec.val_f1[k] = sum / double(c - missing);
      }
      policy->observe(rec.val_f1);
    }
    rec.seconds = seconds_since(t0);
    const bool best = epochs.add(rec);
    if (best) copy_parameters(*best_model, *model);
    if (select)
      log << fmt::format("epoch {}/{}  loss {:.4f}  lr {:.2e}  val {} {:.4f}{}  {:.1f}s\n", epoch + 1, planned,
                         rec.train_loss, lr, o.monitor, rec.val_metric, best ? " *" : "", rec.seconds);
    else
      log << fmt::format("epoch {}/{}  loss {:.4f}  lr {:.2e}  step {}  {:.1f}s\n", epoch + 1, planned, rec.train_loss,
                         lr, steps, rec.seconds);
    ++ran;

    if (lead) {
      const std::string m = fmt::format("model-{}.pt", epoch), op = fmt::format("optimizer-{}.pt", epoch),
                        kept = fmt::format("best-{}.pt", epochs.best_epoch());
      auto state = epochs.state();
      state.update({{"epochs_done", epoch + 1}, {"model", m}, {"optimizer", op}, {"best", kept},
                    {"policy_state", policy->state()}, {"steps_done", steps}});
      // The kept epoch's weights are written once, when it becomes the kept one.
      const bool have_kept = checkpoint.enabled() && std::filesystem::exists(checkpoint.path(kept));
      checkpoint.save({{m, [&](const std::string& p) { save_module(p, *model); }},
                       {op, [&](const std::string& p) { save_optimizer(p, *optimizer); }},
                       {kept, have_kept ? Checkpoint::Files::value_type::second_type()
                                        : [&](const std::string& p) { save_module(p, *best_model); }}},
                      std::move(state));
    }
  }
  if (stopped_early) log << fmt::format("early stop: no improvement for {} epochs\n", o.patience);
  result.history = epochs.history();
  result.best_epoch = epochs.best_epoch();
  result.best_metric = epochs.best_metric();
  result.model = best_model;
  if (head.decoupler) head.decoupler->apply(*best_model, train, val, o, log);
  if (const int64_t folds = decision->folds_wanted(has_val ? val_counts : std::vector<int64_t>(c, 0)); folds > 0) {
    const auto [oof, labels] = out_of_fold_logits(train, o, folds, log);
    decision->fit(oof, labels, train_counts);
  } else {
    decision->fit(has_val ? predict_logits(*best_model, val.x) : torch::empty({0, c}),
                  has_val ? val.y.cpu() : torch::empty({0}, torch::kInt64), train_counts);
  }
  result.decision = std::move(decision);
  result.finished = true;
  result.steps = steps;
  if (select)
    log << fmt::format("best epoch {} ({} {:.4f})\n", result.best_epoch + 1, o.monitor, result.best_metric);
  else
    log << fmt::format("kept the final weights: epoch {}, {} steps\n", result.best_epoch + 1, steps);
  return result;
}

}  // namespace

TrainResult fit(const Dataset& train, const Dataset& val, const TrainOptions& o, std::ostream& log) {
  return fit_impl(train, val, o, log, nullptr);
}

TrainResult fit_distributed(const Dataset& train, const Dataset& val, const TrainOptions& o, std::ostream& log,
                            Communicator& comm) {
  return fit_impl(train, val, o, log, &comm);
}

void save_model(const std::string& path, const TrainResult& r, const Dataset& train) {
  REBALANCE_CHECK(r.model && r.decision, "save_model: the training run did not finish");
  nlohmann::json meta = {{"format", kCheckpointFormat},        {"spec", r.model->spec()},
                         {"input_shape", train.feature_shape()}, {"class_names", train.class_names},
                         {"decision", r.decision->spec()},      {"decision_state", r.decision->state()}};
  TensorWriter archive;
  archive.add_module("model", *r.model);
  const std::string blob = archive.bytes();
  const std::string header = frame_header(kModelMagic, meta);
  write_atomic(path, [&](std::ostream& out) { out << header << blob; });
}

namespace {

LoadedModel load_model_file(const std::string& path) {
  const std::string bytes = read_file(path);
  const auto framed = unframe(bytes, kModelMagic, "model file", path);
  const auto& meta = framed.header;  // named: clang 14's lambdas cannot capture structured bindings
  const auto weights_at = framed.payload_offset;
  // The header decides which network is built and how its outputs are read: every field is checked
  // before use, and the weights must then fit that network exactly.
  const auto field = [&](const char* key, bool (nlohmann::json::*is)() const noexcept, const char* what) {
    REBALANCE_CHECK(meta.contains(key) && (meta[key].*is)(), "{}: corrupt model file header: \"{}\" must be {}", path,
                    key, what);
    return meta[key];
  };
  LoadedModel m;
  const auto names = field("class_names", &nlohmann::json::is_array, "a list of class names");
  REBALANCE_CHECK(names.size() >= 2 && names.size() <= (size_t(1) << 20), "{}: corrupt model file header: {} classes",
                  path, names.size());
  for (const auto& n : names) {
    REBALANCE_CHECK(n.is_string(), "{}: corrupt model file header: class name {} is not a string", path, n.dump());
    m.class_names.push_back(n.get<std::string>());
  }
  int64_t features = 1;
  for (const auto& d : field("input_shape", &nlohmann::json::is_array, "a list of sizes")) {
    REBALANCE_CHECK(d.is_number_unsigned() && d.get<uint64_t>() >= 1 && d.get<uint64_t>() <= (uint64_t(1) << 31),
                    "{}: corrupt model file header: input size {} is not a whole number >= 1", path, d.dump());
    m.input_shape.push_back(d.get<int64_t>());
    REBALANCE_CHECK(!__builtin_mul_overflow(features, m.input_shape.back(), &features) && features <= (int64_t(1) << 31),
                    "{}: corrupt model file header: input shape too large", path);
  }
  REBALANCE_CHECK(!m.input_shape.empty() && m.input_shape.size() <= 3, "{}: corrupt model file header: input shape of "
                  "{} dimensions", path, m.input_shape.size());
  const auto spec = field("spec", &nlohmann::json::is_string, "a model spec").get<std::string>();
  const auto decision = field("decision", &nlohmann::json::is_string, "a decision rule spec").get<std::string>();
  std::vector<double> decision_state;
  for (const auto& v : field("decision_state", &nlohmann::json::is_array, "a list of numbers")) {
    REBALANCE_CHECK(v.is_number() && std::isfinite(v.get<double>()), "{}: corrupt model file header: decision state "
                    "value {} is not a finite number", path, v.dump());
    decision_state.push_back(v.get<double>());
  }
  m.model = models::make_model(spec, m.input_shape, static_cast<int64_t>(m.class_names.size()), 0);
  const std::string_view weights = std::string_view(bytes).substr(weights_at);
  if (is_tensor_payload(weights)) {
    TensorReader(weights, path).load_module("model", *m.model);
  } else {
    require_trusted_legacy(path);
    std::istringstream in{std::string(weights)};
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    m.model->load(archive);
  }
  m.decision = make_decision_rule(decision);
  m.decision->set_state(decision_state);
  const int64_t want = decision.rfind("prior", 0) == 0 ? static_cast<int64_t>(m.class_names.size())
                       : decision.rfind("threshold", 0) == 0 ? 1 : 0;
  REBALANCE_CHECK(static_cast<int64_t>(decision_state.size()) == want, "{}: corrupt model file header: decision rule "
                  "\"{}\" over {} classes needs {} state values, the file has {}", path, decision,
                  m.class_names.size(), want, decision_state.size());
  return m;
}

}  // namespace

LoadedModel load_model(const std::string& path) {
  return read_framed(path, "model file", [&] { return load_model_file(path); });
}

}  // namespace rebalance::train
