#include "rebalance/metrics/ranking.hpp"
#include "detail.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "rebalance/core/error.hpp"
#include "rebalance/metrics/classification.hpp"

namespace rebalance::metrics {

namespace {

// Validated labels and scores, read once into plain arrays.
struct Scored {
  int64_t n = 0;
  int64_t c = 0;           // number of classes: columns, or 2 for [N] scores
  bool one_column = false;  // [N] scores of class 1
  std::vector<double> s;    // [n] or row-major [n, c]
  std::vector<int64_t> y;

  double at(int64_t i, int64_t j) const { return s[static_cast<size_t>(i * c + j)]; }
  // Score of class 1 in a two-class problem, whichever layout was given.
  double positive(int64_t i) const { return one_column ? s[i] : at(i, 1); }
};

Scored read_scored(const at::Tensor& y_true, const at::Tensor& scores) {
  REBALANCE_CHECK(scores.defined(), "scores is an undefined tensor");
  REBALANCE_CHECK(at::isFloatingType(scores.scalar_type()),
                  "scores must be floating point (float32 or float64), got dtype {}",
                  c10::toString(scores.scalar_type()));
  REBALANCE_CHECK(scores.dim() == 1 || (scores.dim() == 2 && scores.size(1) >= 2),
                  "scores must be [N, C] with C >= 2, or [N] for two classes; got shape {}",
                  detail::shape_of(scores));
  Scored d;
  d.one_column = scores.dim() == 1;
  d.c = d.one_column ? 2 : scores.size(1);
  d.y = detail::read_labels(y_true, d.c, "y_true");
  d.n = static_cast<int64_t>(d.y.size());
  REBALANCE_CHECK(scores.size(0) == d.n, "scores has {} rows (shape {}) but y_true has {} labels",
                  scores.size(0), detail::shape_of(scores), d.n);
  at::Tensor cpu = scores.to(at::kCPU, at::kDouble).contiguous();
  const double* p = cpu.data_ptr<double>();
  d.s.assign(p, p + cpu.numel());
  const int64_t width = d.one_column ? 1 : d.c;
  for (int64_t i = 0; i < d.n; ++i) {
    for (int64_t j = 0; j < width; ++j) {
      REBALANCE_CHECK(!std::isnan(d.s[static_cast<size_t>(i * width + j)]),
                      "scores row {} is NaN (column {})", i, j);
    }
  }
  return d;
}

// The points of a binary ranking where the threshold passes a distinct score, from the highest
// score down: cumulative true and false positives. All samples with one score enter together,
// which is what makes ties count one half in the AUC and one step in the AP.
struct Curve {
  std::vector<double> tps, fps;
  double positives = 0, negatives = 0;
};

Curve binary_curve(const std::vector<double>& score, const std::vector<char>& is_pos) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  Curve curve;
  double tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (is_pos[order[i]]) ++tp; else ++fp;
    if (i + 1 == order.size() || score[order[i + 1]] != score[order[i]]) {
      curve.tps.push_back(tp);
      curve.fps.push_back(fp);
    }
  }
  curve.positives = tp;
  curve.negatives = fp;
  return curve;
}

// Caller guarantees both positives and negatives.
double binary_auc(const std::vector<double>& score, const std::vector<char>& is_pos) {
  const Curve c = binary_curve(score, is_pos);
  // The trapezoid of each step in integer units: fp_step * (tp_before + tp_step / 2). Summing
  // counts (exact in double below 2^53) and dividing once is at least as accurate as
  // scikit-learn's sum of normalised trapezoids.
  double area2 = 0, tp_prev = 0, fp_prev = 0;
  for (size_t i = 0; i < c.tps.size(); ++i) {
    area2 += (c.fps[i] - fp_prev) * (c.tps[i] + tp_prev);
    tp_prev = c.tps[i];
    fp_prev = c.fps[i];
  }
  return area2 / (2.0 * c.positives * c.negatives);
}

double binary_ap(const std::vector<double>& score, const std::vector<char>& is_pos) {
  const Curve c = binary_curve(score, is_pos);
  // scikit-learn sets recall to 1 everywhere when there is no positive, which makes AP 0.
  if (c.positives == 0) return 0.0;
  double ap = 0, recall_prev = 0;
  for (size_t i = 0; i < c.tps.size(); ++i) {
    const double recall = c.tps[i] / c.positives;
    const double precision = c.tps[i] / (c.tps[i] + c.fps[i]);
    ap += (recall - recall_prev) * precision;
    recall_prev = recall;
  }
  return ap;
}

// One-vs-rest view of class `k`: its scores and which samples belong to it.
void one_vs_rest(const Scored& d, int64_t k, std::vector<double>& score, std::vector<char>& is_pos) {
  score.resize(d.n);
  is_pos.resize(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    score[i] = d.at(i, k);
    is_pos[i] = d.y[i] == k;
  }
}

void binary_view(const Scored& d, std::vector<double>& score, std::vector<char>& is_pos) {
  score.resize(d.n);
  is_pos.resize(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    score[i] = d.positive(i);
    is_pos[i] = d.y[i] == 1;
  }
}

// scikit-learn's k = 1 decision for one-column binary scores: probabilities are cut at 0.5,
// anything else (logits, margins) at 0; a score equal to the cut is class 0.
std::vector<int64_t> thresholded(const Scored& d) {
  const auto [lo, hi] = std::minmax_element(d.s.begin(), d.s.end());
  const double cut = (*lo >= 0.0 && *hi <= 1.0) ? 0.5 : 0.0;
  std::vector<int64_t> pred(d.n);
  for (int64_t i = 0; i < d.n; ++i) pred[i] = d.s[i] > cut ? 1 : 0;
  return pred;
}

}  // namespace

double roc_auc(const at::Tensor& y_true, const at::Tensor& scores) {
  const Scored d = read_scored(y_true, scores);
  std::vector<int64_t> support(d.c, 0);
  for (int64_t y : d.y) ++support[y];
  std::vector<double> score;
  std::vector<char> is_pos;
  if (d.c == 2) {
    REBALANCE_CHECK(support[0] > 0 && support[1] > 0,
                    "roc_auc is undefined: y_true holds only class {} (it needs both classes)",
                    support[0] > 0 ? 0 : 1);
    binary_view(d, score, is_pos);
    return binary_auc(score, is_pos);
  }
  for (int64_t k = 0; k < d.c; ++k) {
    REBALANCE_CHECK(support[k] > 0,
                    "roc_auc is undefined: class {} has no sample in y_true (one-vs-rest needs "
                    "every one of the {} classes)",
                    k, d.c);
  }
  double sum = 0;
  for (int64_t k = 0; k < d.c; ++k) {
    one_vs_rest(d, k, score, is_pos);
    sum += binary_auc(score, is_pos);
  }
  return sum / static_cast<double>(d.c);
}

double average_precision(const at::Tensor& y_true, const at::Tensor& scores) {
  const Scored d = read_scored(y_true, scores);
  std::vector<double> score;
  std::vector<char> is_pos;
  if (d.c == 2) {
    binary_view(d, score, is_pos);
    return binary_ap(score, is_pos);
  }
  double sum = 0;
  for (int64_t k = 0; k < d.c; ++k) {
    one_vs_rest(d, k, score, is_pos);
    sum += binary_ap(score, is_pos);
  }
  return sum / static_cast<double>(d.c);
}

double top_k_accuracy(const at::Tensor& y_true, const at::Tensor& scores, int64_t k) {
  REBALANCE_CHECK(k >= 1, "top_k_accuracy: k = {} must be at least 1", k);
  const Scored d = read_scored(y_true, scores);
  if (k >= d.c) return 1.0;
  int64_t hits = 0;
  if (d.one_column) {  // k == 1 here
    const std::vector<int64_t> pred = thresholded(d);
    for (int64_t i = 0; i < d.n; ++i) hits += pred[i] == d.y[i];
  } else {
    // scikit-learn reverses a stable ascending argsort, so ties go to the higher index; but with
    // two columns it only takes the class-1 column and predicts 1 iff p1 > 0.5, which for
    // probability rows is p1 > p0 with a tie going to class 0.
    const bool lower_first = d.c == 2;
    for (int64_t i = 0; i < d.n; ++i) {
      const int64_t t = d.y[i];
      const double st = d.at(i, t);
      // Classes ranked above t: higher scores, and equal scores on the side the tie rule favours.
      int64_t above = 0;
      for (int64_t j = 0; j < d.c; ++j) {
        const double sj = d.at(i, j);
        above += sj > st || (sj == st && (lower_first ? j < t : j > t));
      }
      hits += above < k;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(d.n);
}

double map_at_k(const at::Tensor& y_true, const at::Tensor& scores, int64_t k) {
  REBALANCE_CHECK(k >= 1, "map_at_k: k = {} must be at least 1", k);
  const Scored d = read_scored(y_true, scores);
  double sum = 0;
  if (d.one_column) {
    const std::vector<int64_t> pred = thresholded(d);
    for (int64_t i = 0; i < d.n; ++i) {
      const int64_t rank = pred[i] == d.y[i] ? 1 : 2;
      if (rank <= k) sum += 1.0 / static_cast<double>(rank);
    }
  } else {
    for (int64_t i = 0; i < d.n; ++i) {
      const int64_t t = d.y[i];
      const double st = d.at(i, t);
      int64_t rank = 1;
      for (int64_t j = 0; j < d.c; ++j) {
        const double sj = d.at(i, j);
        rank += sj > st || (sj == st && j < t);
      }
      if (rank <= k) sum += 1.0 / static_cast<double>(rank);
    }
  }
  return sum / static_cast<double>(d.n);
}

}  // namespace rebalance::metrics
