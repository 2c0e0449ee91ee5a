#include <torch/torch.h>

#include <filesystem>
#include <fmt/ranges.h>

#include <iostream>

#include "commands.hpp"
#include "rebalance/augment/augment.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/task.hpp"
#include "rebalance/metrics/report.hpp"
#include "rebalance/joint/joint.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/train/distributed.hpp"
#include "rebalance/train/lr_find.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::cli {

namespace {

/// What train and lr-find take alike beyond TrainOptions: the sampler and the backbone flags.
struct NetworkExtras {
  std::string sampler, backbone;
  bool freeze = false;
};

/// The task: data, labels, image folder options, imbalance.
void add_task_options(CLI::App* cmd, TaskOptions& task) {
  cmd->add_option("--data", task.data, "built-in data set spec, file or image folder")->capture_default_str();
  cmd->add_option("--label", task.label, "CSV label column, or the labels file (.npy or IDX) of a .npy / IDX --data");
  add_image_options(cmd, task.images);
  cmd->add_option("--pair", task.pair, "binary task A:N_A,B:N_B, e.g. \"T-shirt/top:5000,Shirt:100\"");
  cmd->add_option("--keep", task.keep, "per-class training counts CLASS:N,...");
  cmd->add_option("--long-tail", task.long_tail, "long-tailed training profile with imbalance ratio rho");
}

/// The training options of `group` as flags, from their declarations (train/train_options.hpp):
/// names, help, defaults, ranges and accepted values.
void add_train_flags(CLI::App* cmd, train::TrainOptions& opt, train::CliGroup group) {
  for (const auto& p : train::train_params()) {
    if (p.cli != group) continue;
    const auto flag = train::train_option_flag(p);
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(opt.*member)>;
          if constexpr (std::is_same_v<T, bool>) {
            cmd->add_flag(flag, opt.*member, p.help);
          } else {
            auto* o = cmd->add_option(flag, opt.*member, p.help);
            if (!p.choices.empty()) o->check(CLI::IsMember(p.choices));
            if constexpr (!std::is_same_v<T, std::string>)
              if (p.lo < p.hi) o->check(CLI::Range(static_cast<T>(p.lo), static_cast<T>(p.hi)));
            const auto shown = train::train_option_value(train::TrainOptions{}, p);
            if (!(shown.is_string() && shown.get<std::string>().empty())) o->capture_default_str();
          }
        },
        p.field);
  }
}

/// The network and how it learns: sampler, model (or backbone), loss, batch policy, augmentation,
/// optimiser, batch size, seed, device.
void add_network_options(CLI::App* cmd, train::TrainOptions& opt, NetworkExtras& x) {
  cmd->add_option("--sampler", x.sampler, "resample the training set first (any `rebalance methods` spec)");
  cmd->add_option("--backbone", x.backbone, "transfer learning: a TorchScript feature extractor (torch.jit.save, "
                                            "`rebalance pretrain`) under a new linear head; replaces --model. TorchScript runs the "
                                            "code it holds: load only networks you trust");
  cmd->add_flag("--freeze", x.freeze, "with --backbone: keep its weights fixed, train only the head");
  add_train_flags(cmd, opt, train::CliGroup::Network);
}

/// The files a task reads (data, labels, test set, backbone), for check_outputs.
std::vector<NamedPath> task_inputs(const TaskOptions& task, const NetworkExtras& x) {
  return {{"--data", task.data}, {"--label", task.label}, {"--test", task.test}, {"--test-label", task.test_label},
          {"--backbone", x.backbone}};
}

/// --backbone F [--freeze] as the model spec; the augmentation checked before any data is read.
void apply_backbone(const NetworkExtras& x, train::TrainOptions& opt) {
  if (!opt.augment.empty()) (void)augment::make_augmentation(opt.augment);
  REBALANCE_CHECK(!x.freeze || !x.backbone.empty(), "--freeze needs --backbone FILE");
  if (!x.backbone.empty()) opt.model = fmt::format("backbone:path={},freeze={}", x.backbone, x.freeze ? "true" : "false");
}

}  // namespace

void add_distributed_options(CLI::App* cmd, train::DistributedOptions& dist, const std::string& what) {
  cmd->add_option("--world-size", dist.world_size, what + " data-parallel over this many processes (torch c10d, "
                                                          "Gloo): start one per rank with the same options")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--rank", dist.rank, "this process's rank, 0 to world size - 1 (rank 0 writes the outputs)")
      ->capture_default_str();
  cmd->add_option("--master", dist.master, "HOST:PORT where rank 0 serves the rendezvous store")->capture_default_str();
  cmd->add_option("--dist-timeout", dist.timeout_s, "seconds to wait for the other ranks")->capture_default_str();
}

void add_train_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("train", "train a classifier on (imbalanced) data and report on the test set");
  static TaskOptions task;
  static train::TrainOptions opt;
  static std::string output, summary, joint_spec, save_generator;
  static NetworkExtras extras;
  add_task_options(cmd, task);
  cmd->add_option("--test", task.test, "separate test set (default: a stratified split of --data)");
  cmd->add_option("--test-label", task.test_label, "labels file (.npy or IDX) of a .npy / IDX --test");
  static std::string delimiter;
  cmd->add_option("--delimiter", delimiter, "CSV field separator (default: tab for .tsv, else ',')");
  cmd->add_option("--val-fraction", task.val_fraction, "validation share of the training data")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  cmd->add_option("--test-fraction", task.test_fraction, "test share when no --test is given")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  add_network_options(cmd, opt, extras);
  cmd->add_option("--joint", joint_spec,
                  "train the classifier jointly with a CycleGAN majority <-> minority (Sahoo et al.; generator=stargan: one StarGAN for every class): aug[:params] "
                  "(the CycleGAN once, then the classifier) or alt[:params] (alternating; see `rebalance methods "
                  "joint`)");
  cmd->add_option("--save-generator", save_generator, "with --joint: write the trained generator here (the StarGAN, or the first minority class's CycleGAN)");
  // The CLI's default monitor: f1_macro where validation allows it (trainer.hpp: resolve_monitor).
  opt.monitor = "auto";
  add_train_flags(cmd, opt, train::CliGroup::Train);
  cmd->add_option("-o,--output", output, "write the trained model here");
  cmd->add_option("--summary", summary, "write a JSON summary (options, counts, history, test report)");
  static train::DistributedOptions dist;
  add_distributed_options(cmd, dist, "train the model");
  cmd->callback([&action] {
    action = [] {
      task.delimiter = parse_delimiter(delimiter);
      apply_backbone(extras, opt);
      REBALANCE_CHECK(!opt.resume || !opt.checkpoint_dir.empty(), "--resume needs --checkpoint DIR");
      check_outputs(task_inputs(task, extras),
                    {{"--output", output}, {"--summary", summary}, {"--save-generator", save_generator},
                     {"--checkpoint", opt.checkpoint_dir, true}});
      task.seed = opt.seed;
      Task t = build_task(task);
      std::cout << fmt::format("train {}\nvalidation {}\ntest {}\n", counts_line(t.train), counts_line(t.validation),
                               counts_line(t.test));
      const auto& sampler = extras.sampler;
      if (!sampler.empty()) {
        t.train = make_sampler(sampler, opt.seed)->fit_resample(t.train);
        std::cout << fmt::format("after {}: {}\n", sampler, counts_line(t.train));
      }
      REBALANCE_CHECK(joint_spec.empty() || sampler.empty(),
                      "--joint trains its own generator; drop --sampler {} (or --joint)", sampler);
      REBALANCE_CHECK(save_generator.empty() || !joint_spec.empty(), "--save-generator needs --joint");
      REBALANCE_CHECK(dist.world_size == 1 || joint_spec.empty(), "--joint trains on one process; drop --world-size");
      REBALANCE_CHECK(dist.world_size > 1 || dist.rank == 0, "--rank {} needs --world-size > {}", dist.rank, dist.rank);
      train::TrainResult result;
      std::shared_ptr<generative::CycleGAN> gan;
      std::shared_ptr<generative::StarGAN> stargan;
      nlohmann::json phases = nlohmann::json::array();
      if (!joint_spec.empty()) {
        auto jr = joint::fit(t.train, t.validation, opt, joint::parse_joint(joint_spec), std::cout);
        result = std::move(jr.train);
        gan = jr.gan;
        stargan = jr.stargan;
        phases = joint::phases_json(jr.phases);
      } else if (dist.world_size > 1) {
        auto comm = train::connect(dist);
        result = train::fit_distributed(t.train, t.validation, opt, std::cout, *comm);
      } else {
        result = train::fit(t.train, t.validation, opt, std::cout);
      }
      const auto logits = train::predict_logits(*result.model, t.test.x);
      const auto report = metrics::evaluate(t.test.y, result.decision->predict(logits), torch::softmax(logits, 1),
                                            t.test.num_classes(), t.test.class_names);
      std::cout << "== test ==\n" << metrics::format_report(report, 4);
      if (dist.rank != 0) return;  // the ranks end with the same weights: rank 0 writes them
      AtomicFileGroup files;  // the model and the summary appear together, or (on an error) neither
      if (!output.empty()) {
        train::save_model(output, result, t.train);
        std::cout << "wrote " << output << "\n";
      }
      if ((gan || stargan) && !save_generator.empty()) {
        if (stargan)
          stargan->save(save_generator);
        else
          gan->save(save_generator);
        std::cout << "wrote " << save_generator << "\n";
      }
      if (!summary.empty()) {
        nlohmann::json s = {{"options", train::options_to_json(opt)},
                            {"sampler", sampler},
                            {"joint", joint_spec},
                            {"train_counts", t.train.class_counts()},
                            {"monitor", result.monitor},
                            {"best_epoch", result.best_epoch},
                            {"best_metric", result.best_metric},
                            {"decision_state", result.decision->state()},
                            {"test", metrics::report_to_json(report)}};
        s["history"] = train::history_json(result.history, /*with_lr=*/false, /*with_map5=*/true);
        if (!joint_spec.empty()) s["joint_phases"] = phases;
        write_atomic(summary, [&](std::ostream& out) { out << s.dump(2) << "\n"; }, false);
      }
      files.commit();
    };
  });
}

void add_predict_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("predict", "apply a trained model: class scores and labels, and a report if labels exist");
  static std::string model_path, data, label, output;
  cmd->add_option("--model", model_path, "a model written by `rebalance train -o`")->required();
  cmd->add_option("--data", data, "built-in data set spec or file")->required();
  cmd->add_option("--label", label, "CSV label column / labels .npy");
  static ImageFolderOptions images;
  add_image_options(cmd, images);
  cmd->add_option("-o,--output", output, "scores [N, C] as .npy (labels to NAME_labels.npy) or .csv")->required();
  cmd->callback([&action] {
    action = [] {
      const auto ext = std::filesystem::path(output).extension().string();
      const std::string labels_out = labels_path(output);
      check_outputs({{"--model", model_path}, {"--data", data}, {"--label", label}},
                    {{"--output", output}, {"--output's labels", ext == ".npy" ? labels_out : ""}});
      auto m = train::load_model(model_path);
      CsvOptions csv;
      csv.label = label;
      const Dataset d = load_dataset(data, csv, images);
      REBALANCE_CHECK(d.feature_shape() == m.input_shape, "{} has features [{}], the model expects [{}]", data,
                      fmt::join(d.feature_shape(), ", "), fmt::join(m.input_shape, ", "));
      const auto logits = train::predict_logits(*m.model, d.x);
      const auto scores = torch::softmax(logits, 1);
      const auto pred = m.decision->predict(logits);
      if (ext == ".npy") {
        AtomicFileGroup files;  // scores and labels appear together, or (on an error) neither changes
        write_npy(output, scores);
        write_npy(labels_out, pred);
        files.commit();
      } else {
        REBALANCE_CHECK(ext == ".csv", "--output {}: expected .npy or .csv", output);
        write_atomic(output, [&](std::ostream& out) {
          out << "prediction";
          for (const auto& n : m.class_names) out << ",score_" << n;
          out << "\n";
          auto s = scores.accessor<float, 2>();
          auto p = pred.accessor<int64_t, 1>();
          for (int64_t i = 0; i < scores.size(0); ++i) {
            out << m.class_names[p[i]];
            for (int64_t j = 0; j < scores.size(1); ++j) out << fmt::format(",{}", s[i][j]);
            out << "\n";
          }
        }, false);
      }
      if (d.class_names == m.class_names)
        std::cout << metrics::format_report(metrics::evaluate(d.y, pred, scores, d.num_classes(), d.class_names), 4);
      std::cout << "wrote " << output << "\n";
    };
  });
}

void add_lr_find_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("lr-find", "learning-rate range test (Smith 2017): loss against an exponentially "
                                            "growing rate, and a suggested rate");
  static TaskOptions task;
  static train::TrainOptions opt;
  static train::LrFindOptions find;
  static std::string plot, output;
  static NetworkExtras extras;
  add_task_options(cmd, task);
  cmd->add_option("--test-fraction", task.test_fraction, "share of the data held out as a test split, which the range test never trains on")
      ->check(CLI::Range(0.01, 0.9))->capture_default_str();
  add_network_options(cmd, opt, extras);
  cmd->add_option("--start-lr", find.start_lr, "first rate")->capture_default_str();
  cmd->add_option("--end-lr", find.end_lr, "last rate")->capture_default_str();
  cmd->add_option("--steps", find.steps, "optimiser steps")->check(CLI::Range(5, 100000))->capture_default_str();
  cmd->add_option("--smoothing", find.smoothing, "loss moving-average factor")->capture_default_str();
  cmd->add_option("--plot", plot, "write the curve as an SVG chart");
  cmd->add_option("-o,--output", output, "write lr, loss, smoothed loss as CSV");
  cmd->callback([&action] {
    action = [] {
      apply_backbone(extras, opt);
      check_outputs(task_inputs(task, extras), {{"--plot", plot}, {"--output", output}});
      task.seed = opt.seed;
      task.val_fraction = 0.01;
      Task t = build_task(task);
      // The range test trains on the training rows only; the validation split joins them back.
      Dataset train = Dataset::concat(t.train, t.validation);
      if (!extras.sampler.empty()) train = make_sampler(extras.sampler, opt.seed)->fit_resample(train);
      std::cout << fmt::format("train {}\n", counts_line(train));
      const auto r = train::lr_find(train, opt, find, std::cout);
      std::cout << train::lr_find_text_plot(r);
      std::cout << fmt::format("suggested learning rate: {:.2e} (steepest fall; the lowest loss was at {:.2e}, a tenth "
                               "of it: {:.2e})\n", r.suggested, r.min_loss_lr, r.min_loss_lr / 10);
      AtomicFileGroup files;
      if (!plot.empty())
        write_atomic(plot, [&](std::ostream& out) {
          out << train::lr_find_svg(r, fmt::format("lr-find: {} on {}", opt.model, task.data));
        }, false);
      if (!output.empty())
        write_atomic(output, [&](std::ostream& out) {
          out << "lr,loss,smoothed\n";
          for (size_t i = 0; i < r.lr.size(); ++i) out << fmt::format("{},{},{}\n", r.lr[i], r.loss[i], r.smoothed[i]);
        }, false);
      files.commit();
      if (!plot.empty()) std::cout << "wrote " << plot << "\n";
      if (!output.empty()) std::cout << "wrote " << output << "\n";
    };
  });
}

}  // namespace rebalance::cli
