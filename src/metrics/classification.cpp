#include "rebalance/metrics/classification.hpp"
#include "detail.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "rebalance/core/error.hpp"

namespace rebalance::metrics {

namespace detail {

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

std::vector<int64_t> read_labels(const at::Tensor& labels, int64_t n_classes, std::string_view name) {
  REBALANCE_CHECK(labels.defined(), "{} is an undefined tensor", name);
  REBALANCE_CHECK(labels.dim() == 1, "{} must be a 1-D tensor [N] of class labels, got shape {}", name,
                  shape_of(labels));
  REBALANCE_CHECK(at::isIntegralType(labels.scalar_type(), /*includeBool=*/false),
                  "{} must hold integer class labels, got dtype {}", name,
                  c10::toString(labels.scalar_type()));
  REBALANCE_CHECK(labels.numel() > 0, "{} is empty: metrics need at least one sample", name);
  at::Tensor cpu = labels.to(at::kCPU, at::kLong).contiguous();
  const int64_t* p = cpu.data_ptr<int64_t>();
  std::vector<int64_t> out(p, p + cpu.numel());
  for (size_t i = 0; i < out.size(); ++i) {
    REBALANCE_CHECK(out[i] >= 0 && out[i] < n_classes,
                    "{}[{}] = {} is not a class label: expected 0..{} (n_classes = {})", name, i,
                    out[i], n_classes - 1, n_classes);
  }
  return out;
}

}  // namespace detail

namespace {

// A validated confusion matrix as plain counts, with the sums every metric needs.
struct Counts {
  int64_t c = 0;
  std::vector<int64_t> m;       // row-major [c, c]
  std::vector<int64_t> truth;   // row sums: support
  std::vector<int64_t> pred;    // column sums
  int64_t total = 0;
  int64_t trace = 0;

  int64_t at(int64_t i, int64_t j) const { return m[static_cast<size_t>(i * c + j)]; }
  bool present(int64_t k) const { return truth[k] > 0 || pred[k] > 0; }
};

Counts read_confusion(const at::Tensor& confusion) {
  REBALANCE_CHECK(confusion.defined(), "confusion matrix is an undefined tensor");
  REBALANCE_CHECK(confusion.dim() == 2 && confusion.size(0) == confusion.size(1),
                  "confusion matrix must be square [C, C], got shape {}",
                  detail::shape_of(confusion));
  REBALANCE_CHECK(confusion.size(0) >= 2, "confusion matrix must cover at least 2 classes, got {}",
                  confusion.size(0));
  REBALANCE_CHECK(at::isIntegralType(confusion.scalar_type(), /*includeBool=*/false),
                  "confusion matrix must hold integer counts, got dtype {}",
                  c10::toString(confusion.scalar_type()));
  at::Tensor cpu = confusion.to(at::kCPU, at::kLong).contiguous();
  Counts k;
  k.c = cpu.size(0);
  const int64_t* p = cpu.data_ptr<int64_t>();
  k.m.assign(p, p + cpu.numel());
  k.truth.assign(k.c, 0);
  k.pred.assign(k.c, 0);
  for (int64_t i = 0; i < k.c; ++i) {
    for (int64_t j = 0; j < k.c; ++j) {
      const int64_t v = k.at(i, j);
      REBALANCE_CHECK(v >= 0, "confusion matrix entry [{}, {}] = {} is negative", i, j, v);
      k.truth[i] += v;
      k.pred[j] += v;
      k.total += v;
    }
    k.trace += k.at(i, i);
  }
  REBALANCE_CHECK(k.total > 0, "confusion matrix counts no samples");
  return k;
}

// scikit-learn's _prf_divide with zero_division="warn": 0/0 and x/0 give 0.
double ratio(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

// F1 from precision and recall exactly as precision_recall_fscore_support forms it (beta = 1),
// so parity holds to the last bits rather than to the 2 tp / (2 tp + fp + fn) rounding.
double f1_of(double precision, double recall) {
  double denom = precision + recall;
  if (denom == 0.0) denom = 1.0;
  return 2.0 * precision * recall / denom;
}

std::vector<double> recalls(const Counts& k) {
  std::vector<double> r(k.c);
  for (int64_t i = 0; i < k.c; ++i) r[i] = ratio(static_cast<double>(k.at(i, i)), static_cast<double>(k.truth[i]));
  return r;
}

std::vector<double> f1s(const Counts& k) {
  std::vector<double> f(k.c);
  for (int64_t i = 0; i < k.c; ++i) {
    const double tp = static_cast<double>(k.at(i, i));
    f[i] = f1_of(ratio(tp, static_cast<double>(k.pred[i])), ratio(tp, static_cast<double>(k.truth[i])));
  }
  return f;
}

}  // namespace

at::Tensor confusion_matrix(const at::Tensor& y_true, const at::Tensor& y_pred, int64_t n_classes) {
  REBALANCE_CHECK(n_classes >= 2, "n_classes = {}: a classification needs at least 2 classes",
                  n_classes);
  const std::vector<int64_t> t = detail::read_labels(y_true, n_classes, "y_true");
  const std::vector<int64_t> p = detail::read_labels(y_pred, n_classes, "y_pred");
  REBALANCE_CHECK(t.size() == p.size(), "y_true has {} labels but y_pred has {}", t.size(), p.size());
  at::Tensor cm = at::zeros({n_classes, n_classes}, at::kLong);
  int64_t* m = cm.data_ptr<int64_t>();
  for (size_t i = 0; i < t.size(); ++i) ++m[t[i] * n_classes + p[i]];
  return cm;
}

std::vector<ClassMetrics> per_class_metrics(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  std::vector<ClassMetrics> out(k.c);
  for (int64_t i = 0; i < k.c; ++i) {
    const double tp = static_cast<double>(k.at(i, i));
    const double fp = static_cast<double>(k.pred[i]) - tp;
    const double fn = static_cast<double>(k.truth[i]) - tp;
    const double tn = static_cast<double>(k.total) - tp - fp - fn;
    ClassMetrics& c = out[i];
    c.precision = ratio(tp, tp + fp);
    c.recall = ratio(tp, tp + fn);
    c.specificity = ratio(tn, tn + fp);
    c.f1 = f1_of(c.precision, c.recall);
    c.gmean = std::sqrt(c.recall * c.specificity);
    // imblearn squares the G-mean it just took the root of; keep that order for bitwise parity.
    c.iba = (1.0 + kIbaAlpha * (c.recall - c.specificity)) * (c.gmean * c.gmean);
    c.support = k.truth[i];
  }
  return out;
}

ClassMetrics support_weighted_average(const std::vector<ClassMetrics>& per_class) {
  ClassMetrics avg;
  for (const ClassMetrics& c : per_class) {
    REBALANCE_CHECK(c.support >= 0, "class support {} is negative", c.support);
    const double w = static_cast<double>(c.support);
    avg.precision += w * c.precision;
    avg.recall += w * c.recall;
    avg.specificity += w * c.specificity;
    avg.f1 += w * c.f1;
    avg.gmean += w * c.gmean;
    avg.iba += w * c.iba;
    avg.support += c.support;
  }
  REBALANCE_CHECK(avg.support > 0, "cannot average over classes whose total support is 0");
  const double total = static_cast<double>(avg.support);
  avg.precision /= total;
  avg.recall /= total;
  avg.specificity /= total;
  avg.f1 /= total;
  avg.gmean /= total;
  avg.iba /= total;
  return avg;
}

double accuracy(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  return static_cast<double>(k.trace) / static_cast<double>(k.total);
}

double f1_macro(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const std::vector<double> f = f1s(k);
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < k.c; ++i) {
    if (!k.present(i)) continue;
    sum += f[i];
    ++n;
  }
  return sum / static_cast<double>(n);  // n >= 1 because total > 0
}

double f1_micro(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const double p = static_cast<double>(k.trace) / static_cast<double>(k.total);
  return f1_of(p, p);
}

double f1_weighted(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const std::vector<double> f = f1s(k);
  double sum = 0;
  for (int64_t i = 0; i < k.c; ++i) sum += f[i] * static_cast<double>(k.truth[i]);
  return sum / static_cast<double>(k.total);
}

ShotAccuracy shot_accuracy(const at::Tensor& confusion, const std::vector<int64_t>& train_counts) {
  const Counts k = read_confusion(confusion);
  REBALANCE_CHECK(k.c >= 3 && static_cast<int64_t>(train_counts.size()) == k.c,
                  "shot_accuracy: needs 3 or more classes and one training count per class, got {} classes and {} "
                  "counts", k.c, train_counts.size());
  const std::vector<double> r = recalls(k);
  std::vector<int64_t> order(static_cast<size_t>(k.c));
  for (int64_t i = 0; i < k.c; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return train_counts[a] > train_counts[b]; });
  const int64_t third = k.c / 3;
  const auto mean_of = [&](int64_t from, int64_t to) {
    double sum = 0;
    int64_t n = 0;
    for (int64_t i = from; i < to; ++i)
      if (k.truth[order[i]] > 0) {
        sum += r[order[i]];
        ++n;
      }
    return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  };
  return {mean_of(0, third), mean_of(third, k.c - third), mean_of(k.c - third, k.c)};
}

double acsa(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const std::vector<double> r = recalls(k);
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < k.c; ++i) {
    if (k.truth[i] == 0) continue;
    sum += r[i];
    ++n;
  }
  return sum / static_cast<double>(n);
}

double geometric_mean(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const std::vector<double> r = recalls(k);
  double log_sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < k.c; ++i) {
    if (!k.present(i)) continue;
    if (r[i] == 0.0) return 0.0;  // imblearn's correction defaults to 0: one failed class zeroes it
    log_sum += std::log(r[i]);
    ++n;
  }
  // scipy.stats.gmean's form, exp(mean(log)), rather than a running product that could underflow.
  return std::exp(log_sum / static_cast<double>(n));
}

double mcc(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  const double n = static_cast<double>(k.total);
  double tp_dot = 0, pp_dot = 0, tt_dot = 0;
  for (int64_t i = 0; i < k.c; ++i) {
    const double t = static_cast<double>(k.truth[i]);
    const double p = static_cast<double>(k.pred[i]);
    tp_dot += t * p;
    pp_dot += p * p;
    tt_dot += t * t;
  }
  const double cov_ytyp = static_cast<double>(k.trace) * n - tp_dot;
  const double cov_ypyp = n * n - pp_dot;
  const double cov_ytyt = n * n - tt_dot;
  if (cov_ypyp * cov_ytyt == 0.0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

int64_t misclassified(const at::Tensor& confusion) {
  const Counts k = read_confusion(confusion);
  return k.total - k.trace;
}

}  // namespace rebalance::metrics
