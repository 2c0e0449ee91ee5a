#include <iostream>

#include "commands.hpp"
#include "rebalance/experiment/demo.hpp"

namespace rebalance::cli {

void add_demo_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("demo", "MNIST 0 vs 6 at 2% minority, scored by trivial baselines");
  static DemoOptions opts;
  cmd->add_option("--seed", opts.seed, "random seed")->capture_default_str();
  cmd->add_option("--minority-share", opts.minority_share, "minority share of the training set")
      ->check(CLI::Range(0.0001, 0.5))
      ->capture_default_str();
  cmd->callback([&action] { action = [] { run_demo(std::cout, opts); }; });
}

}  // namespace rebalance::cli
