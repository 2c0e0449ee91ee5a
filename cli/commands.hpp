// The CLI's subcommands. Each file under cli/ registers one family of commands; they only parse
// arguments and call the library.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace rebalance {
struct ImageFolderOptions;
struct Dataset;
}
namespace rebalance::train {
struct DistributedOptions;
}

namespace rebalance::cli {

/// Class counts "{a: 5, b: 3}", or for more than 30 classes the rows, the classes held and the
/// range of counts (a long tail's hundreds of classes on one readable line).
std::string counts_line(const Dataset& d);

/// --image-size, --image-channels, --on-bad-image, --image-storage: how an image folder is read.
void add_image_options(CLI::App* cmd, ImageFolderOptions& options);

/// --world-size, --rank, --master, --dist-timeout: data-parallel training (`what`, e.g. "train the
/// model") over processes on torch c10d.
void add_distributed_options(CLI::App* cmd, train::DistributedOptions& options, const std::string& what);

/// OUT.npy -> OUT_labels.npy: where the labels of a .npy output go (resample, predict, embed).
std::string labels_path(const std::string& out);

/// A registered command's action, run after parsing succeeded.
using Action = std::function<void()>;

void add_version_command(CLI::App& app, Action& action);
void add_datasets_command(CLI::App& app, Action& action);
void add_evaluate_command(CLI::App& app, Action& action);
void add_demo_command(CLI::App& app, Action& action);
void add_resample_command(CLI::App& app, Action& action);
void add_methods_command(CLI::App& app, Action& action);
void add_train_command(CLI::App& app, Action& action);
void add_lr_find_command(CLI::App& app, Action& action);
void add_pretrain_command(CLI::App& app, Action& action);
void add_embed_command(CLI::App& app, Action& action);
void add_predict_command(CLI::App& app, Action& action);
void add_run_command(CLI::App& app, Action& action);
void add_table_command(CLI::App& app, Action& action);
void add_report_command(CLI::App& app, Action& action);
void add_generate_command(CLI::App& app, Action& action);
void add_loss_command(CLI::App& app, Action& action);
void add_auto_command(CLI::App& app, Action& action);

}  // namespace rebalance::cli
