// The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
// WACV 2017; fast.ai's lr_find, which seed 002 used to pick 0.01): train for a few hundred steps
// while the rate grows exponentially, record the smoothed loss, and suggest the rate where it
// falls fastest.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"
#include "rebalance/train/trainer.hpp"

namespace rebalance::train {

struct LrFindOptions {
  double start_lr = 1e-7;
  double end_lr = 10.0;
  int64_t steps = 100;      ///< optimiser steps; rate i is start * (end / start)^(i / (steps - 1))
  double smoothing = 0.98;  ///< exponential moving average of the loss, bias-corrected (fast.ai's beta)
  double diverge = 4.0;     ///< stop once the smoothed loss exceeds this many times its minimum
};

struct LrFindResult {
  std::vector<double> lr, loss, smoothed;  ///< one entry per step taken
  double suggested = 0;      ///< where the smoothed loss falls fastest against log(lr)
  double min_loss_lr = 0;    ///< where the smoothed loss is lowest (the rule of thumb: a tenth of it)
  bool diverged = false;     ///< stopped early because the loss blew up
};

/// Run the range test on `train` with the model, loss, batch policy, optimiser (its momentum and
/// weight decay), batch size, augmentation and seed of `o` (its lr, epochs and monitor are not
/// used). The model is built afresh and thrown away.
LrFindResult lr_find(const Dataset& train, const TrainOptions& o, const LrFindOptions& f, std::ostream& log);

/// The curve as an SVG line chart (log-scaled rate axis, the suggestion marked).
std::string lr_find_svg(const LrFindResult& r, const std::string& title);
/// The curve as a text chart for a terminal, `width` x `height` characters.
std::string lr_find_text_plot(const LrFindResult& r, int width = 60, int height = 12);

}  // namespace rebalance::train
