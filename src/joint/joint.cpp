// Joint CycleGAN + classifier training (seed 004): AUG and ALT modes, paired batches, phase
// checkpoints that resume to the same weights.
#include "rebalance/joint/joint.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/framed_file.hpp"
#include "rebalance/core/tensor_archive.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/generative/samplers.hpp"
#include "rebalance/joint/joint_generator.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/metrics/classification.hpp"
#include "rebalance/train/decision.hpp"
#include "rebalance/train/decouple.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::joint {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kJointCheckpointFormat = 1;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void check_gamma(double gamma) {
  REBALANCE_CHECK(std::isfinite(gamma) && gamma > 0,
                  "joint: gamma must be > 0 (the majority terms of the classifier loss count 1/gamma), got {}", gamma);
}

/// The joint modes' own parameters; the CycleGAN's come from the cyclegan sampler's declaration.
std::vector<ParamDecl> own_params(bool alt) {
  std::vector<ParamDecl> p = {
      {"gamma", "1", "cost-sensitive weight: the majority terms of the classifier loss count 1/gamma"},
      {"majority", "auto", "domain A, the class translated from (name or number); auto: the largest"},
      {"minority", "auto", "domain B (binary data); auto: every class but the majority, each with a CycleGAN"},
      {"generator", "cyclegan", "cyclegan: a CycleGAN per minority class against the majority; stargan: one "
                                "class-conditional StarGAN for every class (its parameters as the stargan sampler's)"}};
  if (alt) {
    p.push_back({"rounds", "4", "generator / classifier phase pairs; the generator steps and the classifier "
                                "epochs are split evenly over them"});
    p.push_back({"teacher_weight", "1", "weight of the classifier's loss in the generators' objective"});
  }
  return p;
}

/// The generator's parameters, as its sampler declares them ("cyclegan" or "stargan").
std::vector<ParamDecl> gan_params(const std::string& generator) {
  std::vector<ParamDecl> p;
  for (const auto& d : generator == "stargan" ? generative::stargan_params() : generative::cyclegan_params())
    if (d.name != "majority") p.push_back(d);  // the joint modes name both domains themselves
  return p;
}

bool declares(const std::vector<ParamDecl>& decls, const std::string& name) {
  return std::any_of(decls.begin(), decls.end(), [&name](const ParamDecl& d) { return d.name == name; });
}

/// The modes' own parameters, the CycleGAN's (defaults as listed), then those only the StarGAN has.
std::vector<ParamDecl> all_params(bool alt) {
  auto p = own_params(alt);
  const auto star = gan_params("stargan");
  for (auto d : gan_params("cyclegan")) {
    for (const auto& s : star)
      if (s.name == d.name && s.default_value != d.default_value)
        d.help += " (generator=stargan: " + s.default_value + ")";
    p.push_back(d);
  }
  for (auto d : star)
    if (!declares(p, d.name)) {
      d.help = "generator=stargan: " + d.help;
      p.push_back(d);
    }
  return p;
}

const char* mode_help(bool alt) {
  return alt ? "alternate generator phases (the classifier's loss back-propagated into the generators: the "
               "classifier as teacher) and classifier phases (Sahoo et al.'s ALT)"
             : "train the CycleGAN once, then the classifier on real rows and translations with the generators "
               "frozen (Sahoo et al.'s AUG)";
}

/// Domain A: the named class, or the largest.
int64_t majority_class(const Dataset& d, const std::string& which) {
  if (which != "auto") return d.class_index(which);
  const auto counts = d.class_counts();
  return std::max_element(counts.begin(), counts.end()) - counts.begin();
}

at::Tensor index(const std::vector<int64_t>& v, size_t from, size_t to) {
  return torch::tensor(std::vector<int64_t>(v.begin() + from, v.begin() + to), torch::kInt64);
}

void set_trainable(models::Classifier& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

/// The modes' own options as the checkpoint's config holds them (the generator adds its own).
nlohmann::json joint_json(const JointOptions& j) {
  return {{"mode", j.mode},         {"gamma", j.gamma},       {"rounds", j.rounds},
          {"teacher_weight", j.teacher_weight}, {"majority", j.majority}, {"minority", j.minority}};
}

}  // namespace

ClassifierLoss classifier_loss(const at::Tensor& logits_b, const at::Tensor& logits_ab, const at::Tensor& logits_a,
                               const at::Tensor& logits_ba, int64_t minority, int64_t majority, double gamma) {
  check_gamma(gamma);
  auto ce = [](const at::Tensor& logits, int64_t cls) {
    REBALANCE_CHECK(logits.dim() == 2 && logits.size(0) >= 1, "joint: logits must be [B, C] with B >= 1");
    REBALANCE_CHECK(cls >= 0 && cls < logits.size(1), "joint: class {} is not among the {} logits", cls, logits.size(1));
    return torch::nn::functional::cross_entropy(
        logits, torch::full({logits.size(0)}, cls, torch::TensorOptions().dtype(torch::kInt64).device(logits.device())));
  };
  ClassifierLoss l;
  l.minority_term = ce(logits_b, minority) + ce(logits_ab, minority);
  l.majority_term = ce(logits_a, majority) + ce(logits_ba, majority);
  l.total = l.minority_term + l.majority_term / gamma;
  return l;
}

JointOptions parse_joint(const std::string& text) {
  const auto spec = parse_spec(text);
  REBALANCE_CHECK(spec.name == "aug" || spec.name == "alt",
                  "unknown joint mode \"{}\" (aug: {}; alt: {})", spec.name, mode_help(false), mode_help(true));
  const bool alt = spec.name == "alt";
  const Params p(spec, all_params(alt), "joint " + spec.name);
  JointOptions o;
  o.mode = spec.name;
  o.gamma = p.get_double("gamma");
  check_gamma(o.gamma);
  o.majority = p.get_string("majority");
  o.minority = p.get_string("minority");
  if (alt) {
    o.rounds = p.get_int_in("rounds", 1, 10000);
    o.teacher_weight = p.get_double_in("teacher_weight", 0.0, 1e6);
  }
  o.generator = p.get_string("generator");
  REBALANCE_CHECK(o.generator == "cyclegan" || o.generator == "stargan",
                  "joint {}: generator must be cyclegan (one CycleGAN per minority class) or stargan (one "
                  "class-conditional StarGAN), got \"{}\"", spec.name, o.generator);
  // The generator's parameters, read by its own parser from its own declarations.
  const auto decls = gan_params(o.generator), own = own_params(alt);
  const std::string other = o.generator == "stargan" ? "cyclegan" : "stargan";
  Spec gan{o.generator, {}, spec.text};
  for (const auto& arg : spec.args) {
    if (declares(decls, arg.first)) {
      gan.args.push_back(arg);
    } else if (!declares(own, arg.first)) {
      // The other generator's parameter: harmless at its listed default, an error otherwise.
      const auto all = all_params(alt);
      const auto d = std::find_if(all.begin(), all.end(), [&arg](const ParamDecl& x) { return x.name == arg.first; });
      REBALANCE_CHECK(d != all.end() && d->default_value == arg.second, "joint {}: parameter \"{}\" belongs to the {} "
                      "generator, but this mode uses generator={}", spec.name, arg.first, other, o.generator);
    }
  }
  const std::string what = "joint " + spec.name;
  if (o.generator == "stargan") {
    o.star = generative::stargan_options(Params(gan, generative::stargan_params(), what)).gan;
    generative::check_stargan_options(o.star);
  } else {
    o.gan = generative::cyclegan_options(Params(gan, generative::cyclegan_params(), what)).gan;
    generative::check_cyclegan_options(o.gan);
  }
  return o;
}

nlohmann::json phases_json(const std::vector<JointPhase>& phases) {
  auto out = nlohmann::json::array();
  for (const auto& p : phases)
    out.push_back({{"kind", p.kind}, {"round", p.round}, {"steps", p.steps}, {"loss", p.loss}, {"seconds", p.seconds}});
  return out;
}

std::vector<JointPhase> phases_from_json(const nlohmann::json& phases) {
  std::vector<JointPhase> out;
  for (const auto& p : phases)
    out.push_back({p.at("kind").get<std::string>(), p.at("round").get<int64_t>(), p.at("steps").get<int64_t>(),
                   p.at("loss").get<double>(), p.at("seconds").get<double>()});
  return out;
}

std::vector<MethodDoc> joint_docs() {
  std::vector<MethodDoc> docs;
  for (const bool alt : {false, true})
    docs.push_back({alt ? "alt" : "aug", {}, "", "joint", mode_help(alt), all_params(alt)});
  return docs;
}

JointResult fit(const Dataset& train, const Dataset& val, const train::TrainOptions& given, const JointOptions& j,
                std::ostream& log) {
  train.validate();
  val.validate();
  REBALANCE_CHECK(train.class_names == val.class_names, "training and validation sets have different classes");
  train::TrainOptions o = given;
  train::resolve_monitor(o, val.size() > 0 ? val.class_counts() : std::vector<int64_t>{}, val.class_names, log);
  REBALANCE_CHECK(j.mode == "aug" || j.mode == "alt", "unknown joint mode \"{}\" (aug or alt)", j.mode);
  check_gamma(j.gamma);
  check_joint_generator(j);
  const bool alt = j.mode == "alt";
  REBALANCE_CHECK(j.rounds >= 1, "joint alt: rounds must be >= 1, got {}", j.rounds);
  REBALANCE_CHECK(train.class_names == val.class_names, "training and validation sets have different classes");
  const int64_t num_classes = train.num_classes();
  REBALANCE_CHECK(num_classes >= 2, "joint {}: needs a majority and at least one minority class; \"{}\" has {}",
                  j.mode, train.name, num_classes);
  const auto shape = train.feature_shape();
  REBALANCE_CHECK(shape.size() == 3,
                  "joint {}: translates images [C, H, W], but the rows of \"{}\" are tabular ({} features)", j.mode,
                  train.name, train.num_features());
  REBALANCE_CHECK(o.mix.empty(), "joint {}: each classifier batch pairs majority rows with every minority class's "
                  "rows and their translations, one loss term per part (gamma weighs the majority's); a mixed row "
                  "belongs to no one part: drop mix \"{}\" (or mix a generator's rows: sampler = \"stargan\" with "
                  "mix)", j.mode, o.mix);
  REBALANCE_CHECK(o.augment.empty(), "joint {}: the translations are made once per classifier phase from the training "
                  "images as they are; drop augment \"{}\"", j.mode, o.augment);
  REBALANCE_CHECK(o.unfreeze_after == 0, "joint {}: the classifier phases keep the model as it is built; drop "
                  "unfreeze_after ({})", j.mode, o.unfreeze_after);
  REBALANCE_CHECK(o.batch_policy == "uniform", "joint {}: every batch pairs majority rows with each minority "
                  "class's rows and their translations; drop batch_policy \"{}\"", j.mode, o.batch_policy);
  REBALANCE_CHECK(o.iterations == 0, "joint {}: the classifier's budget is epochs; drop iterations", j.mode);
  REBALANCE_CHECK(o.synthetic_weight == 1.0, "joint {}: translations are weighed by gamma; drop synthetic_weight",
                  j.mode);
  REBALANCE_CHECK(o.epochs >= 1 && o.batch_size >= 2, "joint {}: epochs must be >= 1 and batch_size >= 2 (got {} and "
                  "{})", j.mode, o.epochs, o.batch_size);
  REBALANCE_CHECK(!alt || o.epochs >= j.rounds, "joint alt: {} epochs cannot be split over {} rounds; give at least "
                  "as many epochs as rounds", o.epochs, j.rounds);
  REBALANCE_CHECK(o.lr > 0 && std::isfinite(o.lr), "learning rate must be > 0, got {}", o.lr);
  const bool select = o.monitor != "none", has_val = val.size() > 0;
  REBALANCE_CHECK(!select || has_val, "the validation set is empty, so {} cannot pick an epoch: use monitor = none "
                  "to keep the final weights", o.monitor);
  REBALANCE_CHECK(o.patience == 0, "joint {}: early stopping is not supported (patience = {}); the phases run their "
                  "budgets", j.mode, o.patience);

  // Domain A is the majority; every other class is a domain B of its own CycleGAN (binary data:
  // the one minority class, as in the seed).
  const int64_t major = majority_class(train, j.majority);
  std::vector<int64_t> minors;
  if (j.minority != "auto") {
    const int64_t m = train.class_index(j.minority);
    REBALANCE_CHECK(m != major, "joint {}: the majority and the minority are the same class \"{}\"", j.mode,
                    train.class_names[major]);
    REBALANCE_CHECK(num_classes == 2, "joint {}: minority = \"{}\" names one class, but \"{}\" has {} classes: every "
                    "class but the majority gets a CycleGAN (leave minority = auto)", j.mode, j.minority, train.name,
                    num_classes);
    minors.push_back(m);
  } else {
    for (int64_t c = 0; c < num_classes; ++c)
      if (c != major) minors.push_back(c);
  }
  const auto counts = train.class_counts();
  const int64_t least = min_class_images(j);
  for (const auto c : minors)
    REBALANCE_CHECK(counts[c] >= least,
                    "joint {}: the minority class \"{}\" has {} image{}, fewer than the CycleGAN's batch_size={}; lower "
                    "batch_size to at most {}",
                    j.mode, train.class_names[c], counts[c], counts[c] == 1 ? "" : "s", least, counts[c]);
  if (has_val && select) {
    const auto vc = val.class_counts();
    for (int64_t k = 0; k < num_classes; ++k)
      REBALANCE_CHECK(vc[k] > 0, "the validation set has no rows of class \"{}\", so {} could not be monitored",
                      train.class_names[k], o.monitor);
  }

  const torch::Device device(o.device);
  auto model = models::make_model(o.model, shape, num_classes, o.seed, device);
  auto best_model = models::make_model(o.model, shape, num_classes, o.seed, device);
  auto optimizer = train::make_optimizer(o, *model);
  auto decision = train::make_decision_rule(o.decision);
  // The classifier's loss: each part of a batch contributes the mean of its rows' terms (a class
  // weight times the row's loss, LDAM's margins inside), so class weights and deferred
  // re-weighting weigh the parts against each other; with "ce" these are the seed's cross-entropies.
  const auto loss = losses::make_loss(o.loss, counts);
  const auto head = train::head_rebalancing(o, *model, *loss, log);
  losses::warn_if_deferred_past(*loss, o.epochs, log);
  (void)train::scheduled_lr(o, 0);
  (void)train::monitored_metric(o.monitor, torch::eye(num_classes, torch::kInt64));
  const auto x = train.x.to(torch::kCPU, torch::kFloat32);
  const auto generator = make_joint_generator(j, x, train.y.to(torch::kCPU), num_classes, major, minors,
                                              train.class_names, o.seed);
  const auto xa = x.index_select(0, train.indices_of(major));
  std::map<int64_t, at::Tensor> xb;
  for (const auto c : minors) xb[c] = x.index_select(0, train.indices_of(c));
  const int64_t na = xa.size(0), half = o.batch_size / 2;

  // The phases: AUG = generators, classifier; ALT = rounds x (generators, classifier).
  struct Plan {
    bool generators;
    int64_t round, amount;  // steps or epochs
  };
  std::vector<Plan> plan;
  const int64_t rounds = alt ? j.rounds : 1, total_steps = generator->total_steps();
  for (int64_t r = 0; r < rounds; ++r) {
    plan.push_back({true, r, total_steps * (r + 1) / rounds - total_steps * r / rounds});
    plan.push_back({false, r, o.epochs * (r + 1) / rounds - o.epochs * r / rounds});
  }

  nlohmann::json config = train::options_to_json(o);
  config["joint"] = joint_json(j);
  config["joint"].update(generator->config());
  config["train"] = train::fingerprint(train);
  config["validation"] = train::fingerprint(val);
  JointResult result;
  result.majority = major, result.minority = minors.front(), result.minorities = minors;
  result.train.train_counts = counts;
  result.train.monitor = o.monitor;
  size_t start = 0;
  int64_t epochs_done = 0, steps = 0;
  train::EpochLog epochs(select);
  train::Checkpoint checkpoint(o.checkpoint_dir, "joint.json", kJointCheckpointFormat, config);
  const bool resumed = checkpoint.open(o.resume, [&](const nlohmann::json& state) {
    REBALANCE_CHECK(state.contains("phases_done") && state.at("phases_done").is_number_unsigned() &&
                        state.at("phases_done").get<size_t>() >= 1 && state.at("phases_done").get<size_t>() <= plan.size(),
                    "{}: corrupt checkpoint state: phases_done must be 1 to {}", checkpoint.state_path(), plan.size());
    start = state.at("phases_done").get<size_t>();
    generator->load(checkpoint, start - 1);
    train::load_module(*model, checkpoint.file(state, "model"));
    train::load_module(*best_model, checkpoint.file(state, "best"));
    train::load_optimizer(*optimizer, checkpoint.file(state, "optimizer"));
    epochs_done = state.at("epochs_done").get<int64_t>();
    steps = state.at("steps_done").get<int64_t>();
    epochs.restore(state);
    result.phases = phases_from_json(state.at("phases"));
  }, log);
  if (resumed) log << fmt::format("resuming {} after phase {} of {}\n", o.checkpoint_dir, start, plan.size());
  const auto finish = [&] {
    result.train.history = epochs.history();
    result.train.best_epoch = epochs.best_epoch();
    result.train.best_metric = epochs.best_metric();
    generator->publish(result);
  };

  int64_t ran = 0;
  for (size_t k = start; k < plan.size(); ++k) {
    if (j.stop_after_phases >= 0 && ran >= j.stop_after_phases) {
      finish();
      return result;
    }
    const auto& ph = plan[k];
    const auto t0 = Clock::now();
    JointPhase rec{ph.generators ? "generators" : "classifier", ph.round, 0, 0.0, 0.0};
    if (ph.generators) {
      model->eval();
      set_trainable(*model, false);
      // From round 2 the frozen classifier teaches (in round 1 it is untrained).
      const Teacher teacher{[&](const at::Tensor& images) { return model->forward(images.to(device)).to(torch::kCPU); },
                            major, j.gamma, j.teacher_weight};
      const bool teach = alt && ph.round > 0 && j.teacher_weight > 0;
      const auto g = generator->train(ph.amount, teach ? &teacher : nullptr,
                                      fmt::format("{} round {}", j.mode, ph.round + 1), log);
      set_trainable(*model, true);
      rec.steps = g.steps;
      rec.loss = g.loss;
    } else {
      // The generators are frozen: their translations of every training row, once per phase.
      generator->freeze();
      const auto dev_a = xa.to(device);
      std::map<int64_t, at::Tensor> dev_b, fake_b, fake_a;  // by minority class
      for (const auto c : minors) {
        dev_b[c] = xb[c].to(device);
        // majority rows as class c; class c rows as majority
        fake_b[c] = generator->to_class(xa, c).to(device);
        fake_a[c] = generator->to_majority(xb[c], c).to(device);
      }
      auto term = [&](const at::Tensor& logits, int64_t cls) {
        return loss
            ->per_sample(logits, torch::full({logits.size(0)}, cls, torch::TensorOptions().dtype(torch::kInt64).device(device)))
            .mean();
      };
      double phase_loss = 0;
      int64_t phase_steps = 0;
      for (int64_t e = 0; e < ph.amount; ++e, ++epochs_done) {
        const auto te = Clock::now();
        Rng rng = Rng(o.seed).fork(streams::kJointEpoch + static_cast<uint64_t>(epochs_done));
        torch::manual_seed(Rng(o.seed).fork(streams::kEpochTorch | static_cast<uint64_t>(epochs_done)).next_u64() >> 1);
        const double lr = train::scheduled_lr(o, epochs_done);
        for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
        loss->set_epoch(epochs_done);
        // One epoch is one pass over the majority, half a batch at a time, each half paired with
        // as many rows of every minority class (cycled).
        const auto pa = rng.permutation(na);
        std::map<int64_t, std::vector<int64_t>> pb;
        for (const auto c : minors) pb[c] = rng.cycled_permutations(xb[c].size(0), na);
        const int64_t batches = (na + half - 1) / half;
        model->train();
        double total = 0;
        for (int64_t s = 0; s < batches; ++s) {
          const size_t from = static_cast<size_t>(s * half), to = static_cast<size_t>(std::min(na, (s + 1) * half));
          const auto ia = index(pa, from, to).to(device);
          const int64_t n = ia.size(0);
          std::vector<at::Tensor> parts = {dev_a.index_select(0, ia)};
          for (const auto c : minors) {
            const auto ib = index(pb[c], from, to).to(device);
            parts.push_back(dev_b[c].index_select(0, ib));
            parts.push_back(fake_b[c].index_select(0, ia));
            parts.push_back(fake_a[c].index_select(0, ib));
          }
          optimizer->zero_grad();
          const auto lg = model->forward(torch::cat(parts));
          // L_cls = sum_c [CE(b_c, c) + CE(G_A->c(a), c)] + (1/gamma) [CE(a, A) + mean_c CE(G_c->A(b_c), A)]:
          // with one minority class, the slides' L_cls^B + L_cls^A / gamma.
          at::Tensor minority_terms = torch::zeros({}, lg.options()), back = torch::zeros({}, lg.options());
          for (size_t q = 0; q < minors.size(); ++q) {
            const int64_t off = n * (1 + 3 * static_cast<int64_t>(q));
            minority_terms = minority_terms + term(lg.slice(0, off, off + n), minors[q]) +
                             term(lg.slice(0, off + n, off + 2 * n), minors[q]);
            back = back + term(lg.slice(0, off + 2 * n, off + 3 * n), major);
          }
          const auto l = minority_terms +
                         (term(lg.slice(0, 0, n), major) + back / static_cast<double>(minors.size())) / j.gamma;
          REBALANCE_CHECK(std::isfinite(l.item<double>()), "joint {}: the classifier loss became {} in epoch {}; "
                          "lower lr (now {})", j.mode, l.item<double>(), epochs_done + 1, lr);
          l.backward();
          optimizer->step();
          head.after_step();
          total += l.item<double>();
          ++steps, ++phase_steps;
        }
        train::EpochRecord er{epochs_done, total / std::max<int64_t>(1, batches), lr, 0.0, {}, 0};
        if (has_val) {
          const auto logits = train::predict_logits(*model, val.x);
          const auto confusion = metrics::confusion_matrix(val.y.cpu(), logits.argmax(1), num_classes);
          er.val_metric = train::monitored_metric(o.monitor, confusion);
          for (const auto& m : metrics::per_class_metrics(confusion)) er.val_f1.push_back(m.f1);
        }
        er.seconds = seconds_since(te);
        const bool best = epochs.add(er);
        if (best) train::copy_parameters(*best_model, *model);
        phase_loss += total;
        log << fmt::format("{} round {}: classifier epoch {}/{}  loss {:.4f}  lr {:.2e}{}  {:.1f}s\n", j.mode,
                           ph.round + 1, epochs_done + 1, o.epochs, er.train_loss, lr,
                           select ? fmt::format("  val {} {:.4f}{}", o.monitor, er.val_metric, best ? " *" : "")
                                  : std::string(),
                           er.seconds);
      }
      rec.steps = phase_steps;
      rec.loss = phase_loss / std::max<int64_t>(1, phase_steps);
    }
    rec.seconds = seconds_since(t0);
    result.phases.push_back(rec);
    ++ran;

    const std::string m = fmt::format("model-{}.pt", k), op = fmt::format("optimizer-{}.pt", k),
                      kept = fmt::format("best-{}.pt", k);
    train::Checkpoint::Files files = {
        {m, [&](const std::string& p) { train::save_module(p, *model); }},
        {op, [&](const std::string& p) { train::save_optimizer(p, *optimizer); }},
        {kept, [&](const std::string& p) { train::save_module(p, *best_model); }}};
    generator->add_files(files, k);
    auto state = epochs.state();
    state.update({{"phases_done", k + 1}, {"epochs_done", epochs_done}, {"steps_done", steps}, {"model", m},
                  {"optimizer", op}, {"best", kept}, {"phases", phases_json(result.phases)}});
    checkpoint.save(files, std::move(state));
  }
  finish();
  result.train.model = best_model;
  if (head.decoupler) head.decoupler->apply(*best_model, train, val, o, log);
  decision->fit(has_val ? train::predict_logits(*best_model, val.x) : torch::empty({0, num_classes}),
                has_val ? val.y.cpu() : torch::empty({0}, torch::kInt64), counts);
  result.train.decision = std::move(decision);
  result.train.finished = true;
  result.train.steps = steps;
  result.finished = true;
  if (select)
    log << fmt::format("best epoch {} ({} {:.4f})\n", result.train.best_epoch + 1, o.monitor, result.train.best_metric);
  else
    log << fmt::format("kept the final weights: epoch {}, {} classifier steps\n", result.train.best_epoch + 1, steps);
  return result;
}

}  // namespace rebalance::joint
