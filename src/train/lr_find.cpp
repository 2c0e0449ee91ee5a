#include "rebalance/train/lr_find.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "rebalance/augment/augment.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/losses/loss.hpp"
#include "rebalance/sampling/util.hpp"
#include "rebalance/train/batch_policy.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::train {

LrFindResult lr_find(const Dataset& train, const TrainOptions& o, const LrFindOptions& f, std::ostream& log) {
  train.validate();
  REBALANCE_CHECK(f.start_lr > 0 && f.end_lr > f.start_lr && std::isfinite(f.end_lr),
                  "lr-find: the rates must satisfy 0 < start ({}) < end ({})", f.start_lr, f.end_lr);
  REBALANCE_CHECK(f.steps >= 5, "lr-find: at least 5 steps, got {}", f.steps);
  REBALANCE_CHECK(f.smoothing >= 0 && f.smoothing < 1, "lr-find: smoothing must be in [0, 1), got {}", f.smoothing);
  REBALANCE_CHECK(f.diverge > 1, "lr-find: the divergence factor must be > 1, got {}", f.diverge);
  const int64_t c = train.num_classes();
  const auto counts = train.class_counts();
  for (int64_t k = 0; k < c; ++k)
    REBALANCE_CHECK(counts[k] > 0, "lr-find: the training set has no rows of class {} (\"{}\")", k, train.class_names[k]);
  const torch::Device device(o.device);
  auto model = models::make_model(o.model, train.feature_shape(), c, o.seed, device);
  auto loss = losses::make_loss(o.loss, counts);
  auto policy = make_batch_policy(o.batch_policy);
  auto optimizer = make_optimizer(o, *model);
  std::unique_ptr<augment::Augmentation> aug;
  if (!o.augment.empty()) {
    aug = augment::make_augmentation(o.augment);
    REBALANCE_CHECK(train.x.dim() == 4, "augment \"{}\" transforms images [C, H, W], but the rows have {} features",
                    o.augment, train.num_features());
  }
  const auto x = train.x.to(device, torch::kFloat32);
  const auto y = train.y.to(device);
  const auto labels = to_index_vector(train.y);
  LrFindResult r;
  double avg = 0, best = std::numeric_limits<double>::infinity();
  std::vector<int64_t> rows;
  size_t at = 0;
  int64_t epoch = 0;
  model->train();
  for (int64_t i = 0; i < f.steps; ++i) {
    if (at >= rows.size()) {
      Rng rng = Rng(o.seed).fork(streams::kEpochOrder + static_cast<uint64_t>(epoch++));
      rows = policy->epoch_rows(labels, c, o.batch_size, rng);
      at = 0;
    }
    const size_t end = std::min(rows.size(), at + static_cast<size_t>(o.batch_size));
    const auto idx = torch::tensor(std::vector<int64_t>(rows.begin() + at, rows.begin() + end), torch::kInt64).to(device);
    at = end;
    const double lr = f.start_lr * std::pow(f.end_lr / f.start_lr, double(i) / double(f.steps - 1));
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    auto xb = x.index_select(0, idx);
    if (aug) {
      Rng batch_rng = Rng(o.seed).fork(streams::kLrFindBatch | static_cast<uint64_t>(i));
      xb = aug->apply(xb, batch_rng);
    }
    optimizer->zero_grad();
    auto l = loss->forward(model->forward(xb), y.index_select(0, idx));
    const double value = l.item<double>();
    if (!std::isfinite(value)) {
      r.diverged = true;
      break;
    }
    l.backward();
    optimizer->step();
    avg = f.smoothing * avg + (1 - f.smoothing) * value;
    const double smooth = avg / (1 - std::pow(f.smoothing, double(i + 1)));
    r.lr.push_back(lr);
    r.loss.push_back(value);
    r.smoothed.push_back(smooth);
    best = std::min(best, smooth);
    if (i > 0 && smooth > f.diverge * best) {
      r.diverged = true;
      break;
    }
  }
  const size_t n = r.lr.size();
  REBALANCE_CHECK(n >= 3, "lr-find: the loss was not finite after {} step(s) from rate {}; lower --start-lr", n, f.start_lr);
  const size_t lowest = static_cast<size_t>(std::min_element(r.smoothed.begin(), r.smoothed.end()) - r.smoothed.begin());
  r.min_loss_lr = r.lr[lowest];
  // The steepest fall before the minimum: central differences against log(lr), as numpy.gradient.
  size_t steepest = 0;
  double slope = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i <= lowest; ++i) {
    const size_t a = i == 0 ? 0 : i - 1, b = std::min(n - 1, i + 1);
    if (a == b) continue;
    const double g = (r.smoothed[b] - r.smoothed[a]) / (std::log(r.lr[b]) - std::log(r.lr[a]));
    if (g < slope) slope = g, steepest = i;
  }
  r.suggested = r.lr[steepest];
  log << fmt::format("lr-find: {} steps from {:.1e} to {:.1e}{}; lowest smoothed loss {:.4f} at {:.2e}; steepest "
                     "fall at {:.2e}\n",
                     n, r.lr.front(), r.lr.back(), r.diverged ? " (stopped: the loss diverged)" : "", r.smoothed[lowest],
                     r.min_loss_lr, r.suggested);
  return r;
}

namespace {

struct Frame {
  double lx0, lx1, y0, y1;  // log10 rate range, loss range
};

/// Text for an SVG element: the XML specials escaped.
std::string xml_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

Frame frame_of(const LrFindResult& r) {
  Frame f{std::log10(r.lr.front()), std::log10(r.lr.back()), *std::min_element(r.smoothed.begin(), r.smoothed.end()), 0};
  // The top: the starting loss (later blow-up is clipped), a little headroom.
  f.y1 = std::max(r.smoothed.front(), f.y0 + 1e-9);
  f.y1 += 0.05 * (f.y1 - f.y0);
  if (f.lx1 <= f.lx0) f.lx1 = f.lx0 + 1;
  return f;
}

}  // namespace

std::string lr_find_svg(const LrFindResult& r, const std::string& title) {
  REBALANCE_CHECK(!r.lr.empty(), "lr_find_svg: no points");
  const Frame f = frame_of(r);
  const double W = 640, H = 400, L = 70, R = 20, T = 40, B = 50;
  auto px = [&](double lr) { return L + (std::log10(lr) - f.lx0) / (f.lx1 - f.lx0) * (W - L - R); };
  auto py = [&](double v) { return T + (1 - (std::min(v, f.y1) - f.y0) / (f.y1 - f.y0)) * (H - T - B); };
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
                              "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
                              "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n",
                              W, H, L, xml_text(title));
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", L, H - B, W - R);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", L, T, H - B);
  for (int d = static_cast<int>(std::ceil(f.lx0)); d <= static_cast<int>(std::floor(f.lx1)); ++d) {
    const double x = px(std::pow(10.0, d));
    s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0}\" y=\"{3}\" "
                     "text-anchor=\"middle\">1e{4}</text>\n", x, T, H - B, H - B + 18, d);
  }
  for (int k = 0; k <= 4; ++k) {
    const double v = f.y0 + (f.y1 - f.y0) * k / 4.0;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3g}</text>\n", L - 6, py(v) + 4, v);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">learning rate (log scale)</text>\n", (L + W - R) / 2,
                   H - 12);
  s += fmt::format("<text x=\"16\" y=\"{0}\" transform=\"rotate(-90 16 {0})\" text-anchor=\"middle\">smoothed "
                   "training loss</text>\n", (T + H - B) / 2);
  std::string pts;
  for (size_t i = 0; i < r.lr.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", px(r.lr[i]), py(r.smoothed[i]));
  s += fmt::format("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n", pts);
  const double sx = px(r.suggested);
  s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>"
                   "<text x=\"{3}\" y=\"{4}\" fill=\"#d62728\">suggested {5:.2e}</text>\n",
                   sx, T, H - B, sx + 4, T + 14, r.suggested);
  s += "</svg>\n";
  return s;
}

std::string lr_find_text_plot(const LrFindResult& r, int width, int height) {
  REBALANCE_CHECK(!r.lr.empty() && width >= 10 && height >= 3, "lr_find_text_plot: nothing to draw");
  const Frame f = frame_of(r);
  std::vector<std::string> grid(static_cast<size_t>(height), std::string(static_cast<size_t>(width), ' '));
  for (size_t i = 0; i < r.lr.size(); ++i) {
    const int x = static_cast<int>(std::lround((std::log10(r.lr[i]) - f.lx0) / (f.lx1 - f.lx0) * (width - 1)));
    const int y = static_cast<int>(std::lround((1 - (std::min(r.smoothed[i], f.y1) - f.y0) / (f.y1 - f.y0)) * (height - 1)));
    grid[static_cast<size_t>(std::clamp(y, 0, height - 1))][static_cast<size_t>(std::clamp(x, 0, width - 1))] = '*';
  }
  const int sx = static_cast<int>(std::lround((std::log10(r.suggested) - f.lx0) / (f.lx1 - f.lx0) * (width - 1)));
  std::string out;
  for (int y = 0; y < height; ++y) {
    const double v = f.y1 - (f.y1 - f.y0) * y / (height - 1);
    auto row = grid[static_cast<size_t>(y)];
    if (row[static_cast<size_t>(std::clamp(sx, 0, width - 1))] == ' ') row[static_cast<size_t>(std::clamp(sx, 0, width - 1))] = '|';
    out += fmt::format("{:>9.4g} |{}\n", v, row);
  }
  out += fmt::format("{:>9} +{}\n{:>9}  {:<{}}{:>10}\n", "", std::string(static_cast<size_t>(width), '-'), "",
                     fmt::format("{:.0e}", r.lr.front()), width - 10, fmt::format("{:.0e}", r.lr.back()));
  return out;
}

}  // namespace rebalance::train
