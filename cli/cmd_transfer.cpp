// Transfer learning's commands: `pretrain` (a backbone trained on a balanced source task, saved
// as TorchScript) and `embed` (any backbone's features, so every sampler can work in that space).
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/models/backbone.hpp"
#include "rebalance/train/pretrain.hpp"

namespace rebalance::cli {

void add_pretrain_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("pretrain", "pre-train a CNN backbone on a balanced source task and export it as "
                                             "TorchScript (for train --backbone and embed)");
  static std::string data = "fashion-mnist", test, label, output;
  static ImageFolderOptions images;
  static train::PretrainOptions o;
  cmd->add_option("--data", data, "source task: built-in data set, file or image folder (images)")->capture_default_str();
  cmd->add_option("--test", test, "report the source task's accuracy on this set");
  cmd->add_option("--label", label, "labels file of a .npy / IDX --data");
  add_image_options(cmd, images);
  cmd->add_option("--channels", o.channels, "conv blocks' channels")->delimiter(',')->capture_default_str();
  cmd->add_option("--features", o.features, "feature width the backbone returns")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "epochs")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", o.batch_size, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", o.seed, "random seed")->capture_default_str();
  cmd->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("-o,--output", output, "the TorchScript file to write")->required();
  cmd->callback([&action] {
    action = [] {
      check_outputs({{"--data", data}, {"--test", test}, {"--label", label}}, {{"--output", output}});
      CsvOptions csv;
      csv.label = label;
      const auto source = load_dataset(data, csv, images);
      const auto held = test.empty() ? Dataset{} : load_dataset(test, csv, images);
      if (!test.empty())
        REBALANCE_CHECK(held.class_names == source.class_names, "--test {} has other classes than --data {}", test, data);
      std::cout << source.summary() << "\n";
      train::pretrain_backbone(source, held, o, output, std::cout);
    };
  });
}

void add_embed_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("embed", "a backbone's features of every row, with the labels, so any sampler "
                                          "(SMOTE, cluster-based, ...) can run in embedding space");
  static std::string backbone, data, label, output, device = "cpu";
  static ImageFolderOptions images;
  static int64_t batch = 256;
  cmd->add_option("--backbone", backbone, "TorchScript feature extractor (torch.jit.save, `rebalance pretrain`); it runs the code it "
                                             "holds: load only networks you trust")
      ->required();
  cmd->add_option("--data", data, "built-in data set spec, file or image folder")->required();
  cmd->add_option("--label", label, "CSV label column, or the labels file of a .npy / IDX --data");
  add_image_options(cmd, images);
  cmd->add_option("--batch-size", batch, "rows per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--device", device, "cpu or cuda")->capture_default_str();
  cmd->add_option("-o,--output", output, ".csv (features f0.. and a label column) or .npy (labels to NAME_labels.npy)")
      ->required();
  cmd->callback([&action] {
    action = [] {
      const auto ext = std::filesystem::path(output).extension().string();
      REBALANCE_CHECK(ext == ".csv" || ext == ".npy", "--output {}: expected .csv or .npy", output);
      check_outputs({{"--backbone", backbone}, {"--data", data}, {"--label", label}},
                    {{"--output", output}, {"--output's labels", ext == ".npy" ? labels_path(output) : ""}});
      CsvOptions csv;
      csv.label = label;
      const auto d = load_dataset(data, csv, images);
      Dataset e = d;
      e.x = models::embed(backbone, d.x, batch, torch::Device(device));
      for (int64_t j = 0; j < e.x.size(1); ++j) e.feature_names.push_back(fmt::format("f{}", j));
      AtomicFileGroup files;
      if (ext == ".csv") {
        write_csv(output, e, "label");
      } else {
        write_npy(output, e.x);
        write_npy_labels(labels_path(output), e.y, e.class_names, "");
      }
      files.commit();
      std::cout << fmt::format("{}: {} rows -> {} features each; wrote {}\n", data, e.size(), e.x.size(1), output);
    };
  });
}

}  // namespace rebalance::cli
