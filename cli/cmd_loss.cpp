// `rebalance loss`: one loss evaluated on saved logits and targets, with its gradient: the value the
// trainer's loss (the same make_loss) gives, for checking a loss written elsewhere (a paper's code,
// rebalance.torch's modules) against it.
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/output_paths.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/losses/loss.hpp"

namespace rebalance::cli {

namespace {

std::vector<int64_t> parse_counts(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    REBALANCE_CHECK(used == part.size() && !part.empty(), "--counts: \"{}\" is not an integer count (in \"{}\")", part,
                    text);
    out.push_back(v);
  }
  return out;
}

}  // namespace

void add_loss_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("loss", "a loss (as `train --loss` takes it) on saved logits and targets: its value "
                                         "and gradient, as the trainer computes them");
  static std::string spec, counts, logits, targets, grad;
  static int64_t epoch = 0;
  cmd->add_option("spec", spec, "loss factory string, e.g. ldam:drw_epoch=10 (rebalance methods losses)")->required();
  cmd->add_option("--counts", counts, "training examples per class, comma-separated (the loss is built from them)")
      ->required();
  cmd->add_option("--logits", logits, "logits [B, C] as .npy (float32 or float64)")->required();
  cmd->add_option("--targets", targets, "targets [B] as .npy (integer class indices)")->required();
  cmd->add_option("--grad", grad, "write d loss / d logits [B, C] here (.npy)");
  cmd->add_option("--epoch", epoch, "the epoch set before evaluating (deferred re-weighting)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([&action] {
    action = [] {
      check_outputs({{"--logits", logits}, {"--targets", targets}}, {{"--grad", grad}});
      auto loss = losses::make_loss(spec, parse_counts(counts));
      loss->set_epoch(epoch);
      auto z = read_npy(logits);
      const auto y = read_npy(targets);
      REBALANCE_CHECK(z.is_floating_point(), "--logits {}: must hold floating-point logits", logits);
      REBALANCE_CHECK(!y.is_floating_point(), "--targets {}: must hold integer class indices", targets);
      z = z.detach().clone().requires_grad_(true);
      const auto value = loss->forward(z, y.to(torch::kInt64));
      value.backward();
      if (!grad.empty()) write_npy(grad, z.grad());
      nlohmann::json out = {{"loss", value.item<double>()}, {"spec", spec}, {"epoch", epoch}};
      std::cout << out.dump() << "\n";
    };
  });
}

}  // namespace rebalance::cli
