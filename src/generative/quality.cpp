// Sample-quality diagnostics: two-sample test, nearest-real distances, train-on-synthetic /
// test-on-real and a PCA embedding (see quality.hpp).
#include "rebalance/generative/quality.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "rebalance/core/error.hpp"
#include "rebalance/core/rng.hpp"
#include "rebalance/data/dataset.hpp"
#include "rebalance/metrics/ranking.hpp"
#include "rebalance/neighbors/knn.hpp"
#include "rebalance/core/rng_streams.hpp"

namespace rebalance::generative {

namespace {

bool present(const at::Tensor& t) { return t.defined() && t.size(0) > 0; }

at::Tensor flat(const at::Tensor& x) { return x.reshape({x.size(0), -1}).to(torch::kCPU, torch::kFloat32).contiguous(); }

/// At most n rows of x: all of them in order when it has no more, else a seeded draw.
at::Tensor at_most(const at::Tensor& x, int64_t n, Rng& rng) {
  if (x.size(0) <= n) return x;
  return x.index_select(0, torch::tensor(rng.choice_without_replacement(x.size(0), n), torch::kInt64));
}

double median_of(const at::Tensor& v) { return v.to(torch::kFloat64).median().item<double>(); }

/// Median distance of each row of `query` to its nearest row of `base`.
double nn_median(const at::Tensor& base, const at::Tensor& query) {
  return median_of(neighbors::knn(base, query, 1).distances.select(1, 0));
}

/// AUC of a real (label 0) vs synthetic (label 1) classifier. With held-out real rows: fitted on
/// the training rows against one half of the synthetic rows, scored on the held-out rows against
/// the other half, so that no scored row has a training row it was made from (an interpolation
/// of a training row would otherwise make that row look synthetic, an AUC below 0.5). Without:
/// out-of-fold scores of the training rows against as many synthetic rows.
double two_sample_auc(const at::Tensor& real, const at::Tensor& synthetic, const at::Tensor& held,
                      const QualityOptions& o, Rng& rng) {
  const auto labels = [](int64_t n0, int64_t n1) {
    return torch::cat({torch::zeros({n0}, torch::kInt64), torch::ones({n1}, torch::kInt64)});
  };
  if (held.defined() && synthetic.size(0) >= 2) {
    const auto perm = torch::tensor(rng.permutation(synthetic.size(0)), torch::kInt64);
    const int64_t half = synthetic.size(0) / 2;
    const auto fit_syn = synthetic.index_select(0, perm.slice(0, 0, half));
    const auto score_syn = synthetic.index_select(0, perm.slice(0, half));
    const int64_t n_fit = std::min({real.size(0), fit_syn.size(0), o.max_rows});
    const int64_t n_score = std::min({held.size(0), score_syn.size(0), o.max_rows});
    const auto a = at_most(real, n_fit, rng), b = at_most(fit_syn, n_fit, rng);
    const auto c = at_most(held, n_score, rng), d = at_most(score_syn, n_score, rng);
    const auto scores = logistic_scores(torch::cat({a, b}), labels(n_fit, n_fit), torch::cat({c, d}), o);
    return metrics::roc_auc(labels(n_score, n_score), scores);
  }
  const int64_t n = std::min({real.size(0), synthetic.size(0), o.max_rows});
  if (n < 2) return SampleQuality::kNaN;
  const auto a = at_most(real, n, rng), b = at_most(synthetic, n, rng);
  const auto x = torch::cat({a, b});
  const auto y = labels(n, n);
  const int64_t k = std::max<int64_t>(2, std::min(o.folds, n));
  // Fold of each row: a seeded permutation within each group, dealt round-robin.
  std::vector<int64_t> fold(2 * n);
  for (int g = 0; g < 2; ++g) {
    const auto perm = rng.permutation(n);
    for (int64_t i = 0; i < n; ++i) fold[g * n + perm[i]] = i % k;
  }
  const auto folds = torch::tensor(fold, torch::kInt64);
  auto scores = torch::zeros({2 * n}, torch::kFloat32);
  for (int64_t f = 0; f < k; ++f) {
    const auto test = (folds == f).nonzero().flatten(), train = (folds != f).nonzero().flatten();
    scores.index_put_({test}, logistic_scores(x.index_select(0, train), y.index_select(0, train),
                                            x.index_select(0, test), o));
  }
  return metrics::roc_auc(y, scores);
}

/// PCA to two dimensions of the three groups (each at most embed_rows rows); each axis's sign is
/// fixed so that its largest loading is positive.
std::vector<EmbeddedPoint> embed(const at::Tensor& others, const at::Tensor& real, const at::Tensor& synthetic,
                                 const QualityOptions& o, Rng& rng) {
  const at::Tensor groups[3] = {at_most(others, o.embed_rows, rng), at_most(real, o.embed_rows, rng),
                                at_most(synthetic, o.embed_rows, rng)};
  const auto u = torch::cat({groups[0], groups[1], groups[2]}).to(torch::kFloat64);
  const auto centred = u - u.mean(0);
  auto vh = std::get<2>(at::linalg_svd(centred, /*full_matrices=*/false));
  const int64_t dims = std::min<int64_t>(2, vh.size(0));
  vh = vh.slice(0, 0, dims).clone();
  for (int64_t d = 0; d < dims; ++d) {
    const auto row = vh[d];
    if (row[row.abs().argmax()].item<double>() < 0) vh[d] = -row;
  }
  const auto proj = centred.matmul(vh.t()).contiguous();
  const auto* p = proj.data_ptr<double>();
  std::vector<EmbeddedPoint> out;
  out.reserve(u.size(0));
  int64_t i = 0;
  for (int g = 0; g < 3; ++g)
    for (int64_t r = 0; r < groups[g].size(0); ++r, ++i)
      out.push_back({static_cast<float>(p[i * dims]), dims > 1 ? static_cast<float>(p[i * dims + 1]) : 0.f, g});
  return out;
}

}  // namespace

at::Tensor logistic_scores(const at::Tensor& x, const at::Tensor& y, const at::Tensor& test, const QualityOptions& o) {
  const auto mean = x.mean(0);
  auto sd = x.std(0, /*unbiased=*/false);
  sd = torch::where(sd > 1e-6, sd, torch::ones_like(sd));
  const auto xs = (x - mean) / sd, ts = (test - mean) / sd;
  const auto yf = y.to(torch::kFloat32);
  const double n1 = yf.sum().item<double>(), n0 = double(y.size(0)) - n1;
  const auto weight = torch::where(y == 1, torch::full_like(yf, 0.5 / n1), torch::full_like(yf, 0.5 / n0));
  auto w = torch::zeros({x.size(1)}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  torch::optim::Adam opt({w, b}, torch::optim::AdamOptions(0.05));
  for (int64_t s = 0; s < o.steps; ++s) {
    opt.zero_grad();
    const auto logits = xs.mv(w) + b;
    const auto loss =
        (weight * torch::binary_cross_entropy_with_logits(logits, yf, {}, {}, at::Reduction::None)).sum() +
        0.5 * o.l2 * w.dot(w);
    loss.backward();
    opt.step();
  }
  torch::NoGradGuard no_grad;
  return (ts.mv(w) + b).detach();
}

SampleQuality sample_quality(const at::Tensor& others_in, const at::Tensor& real_in, const at::Tensor& synthetic_in,
                             const at::Tensor& held_out_in, const at::Tensor& held_out_others_in,
                             const QualityOptions& o) {
  REBALANCE_CHECK(present(synthetic_in), "sample_quality: no synthetic rows to assess");
  REBALANCE_CHECK(present(real_in), "sample_quality: no real rows of the class to compare the synthetic rows with");
  REBALANCE_CHECK(present(others_in), "sample_quality: no rows of the other classes");
  REBALANCE_CHECK(o.max_rows >= 2 && o.embed_rows >= 1 && o.folds >= 2 && o.steps >= 1,
                  "sample_quality: max_rows >= 2, embed_rows >= 1, folds >= 2 and steps >= 1 needed");
  const auto real = flat(real_in), synthetic = flat(synthetic_in), others = flat(others_in);
  const int64_t d = real.size(1);
  auto check_width = [&](const at::Tensor& t, const char* what) {
    REBALANCE_CHECK(t.size(1) == d, "sample_quality: {} rows have {} features, the real rows {}", what, t.size(1), d);
  };
  check_width(synthetic, "synthetic");
  check_width(others, "other classes'");
  const bool has_held = present(held_out_in), has_held_others = present(held_out_others_in);
  const auto held = has_held ? flat(held_out_in) : at::Tensor();
  const auto held_others = has_held_others ? flat(held_out_others_in) : at::Tensor();
  if (has_held) check_width(held, "held-out");
  if (has_held_others) check_width(held_others, "held-out other classes'");

  Rng rng(o.seed);
  SampleQuality q;
  q.real_rows = real.size(0), q.synthetic_rows = synthetic.size(0), q.held_out_rows = has_held ? held.size(0) : 0;
  {
    Rng r = rng.fork(streams::kQualityTwoSample);
    q.two_sample_auc = two_sample_auc(real, synthetic, held, o, r);
  }
  {
    Rng r = rng.fork(streams::kQualityNeighbours);
    const auto nearest = neighbors::knn(real, at_most(synthetic, o.max_rows, r), 1).distances.select(1, 0);
    q.nn_synthetic = median_of(nearest);
    q.copies = (nearest == 0).to(torch::kFloat64).mean().item<double>();  // exact float64 distances
    if (has_held) {
      q.nn_held_out = nn_median(real, at_most(held, o.max_rows, r));
      q.memorisation = q.nn_held_out > 0 ? q.nn_synthetic / q.nn_held_out : SampleQuality::kNaN;
    }
  }
  if (has_held || has_held_others) {
    Rng r = rng.fork(streams::kQualityTstr);
    const auto neg = at_most(others, o.max_rows, r), pos = at_most(synthetic, o.max_rows, r);
    const auto x = torch::cat({neg, pos});
    const auto y = torch::cat({torch::zeros({neg.size(0)}, torch::kInt64), torch::ones({pos.size(0)}, torch::kInt64)});
    if (has_held) {
      const auto s = logistic_scores(x, y, at_most(held, o.max_rows, r), o);
      q.tstr_recall = (s > 0).to(torch::kFloat64).mean().item<double>();
    }
    if (has_held_others) {
      const auto s = logistic_scores(x, y, at_most(held_others, o.max_rows, r), o);
      q.tstr_other_recall = (s <= 0).to(torch::kFloat64).mean().item<double>();
    }
  }
  {
    Rng r = rng.fork(streams::kQualityEmbedding);
    q.embedding = embed(others, real, synthetic, o, r);
  }
  return q;
}

SampleQuality class_quality(const Dataset& data, int64_t cls, const at::Tensor& synthetic, const Dataset& held_out,
                            const QualityOptions& o) {
  const auto y = data.y.to(torch::kCPU), origin = data.origin.to(torch::kCPU);
  const auto x = data.x.to(torch::kCPU);
  auto rows = [](const at::Tensor& t, const at::Tensor& mask) { return t.index_select(0, mask.nonzero().flatten()); };
  at::Tensor held, held_others;
  if (held_out.size() > 0) {
    const auto hy = held_out.y.to(torch::kCPU), hx = held_out.x.to(torch::kCPU);
    held = rows(hx, hy == cls), held_others = rows(hx, hy != cls);
  }
  return sample_quality(rows(x, (y != cls) & (origin >= 0)), rows(x, (y == cls) & (origin >= 0)), synthetic, held,
                        held_others, o);
}

std::map<int64_t, SampleQuality> resampled_quality(
    const Dataset& resampled, const Dataset& held_out, const QualityOptions& o,
    const std::function<double(int64_t cls, const at::Tensor& rows)>& reconstruction) {
  const auto hy = held_out.size() > 0 ? held_out.y.to(torch::kCPU) : at::Tensor();
  std::map<int64_t, SampleQuality> out;
  const auto y = resampled.y.to(torch::kCPU), origin = resampled.origin.to(torch::kCPU);
  for (int64_t c = 0; c < resampled.num_classes(); ++c) {
    const auto synthetic = ((y == c) & (origin < 0)).nonzero().flatten();
    if (synthetic.numel() == 0) continue;
    QualityOptions oc = o;
    oc.seed = Rng(o.seed).fork(static_cast<uint64_t>(c) + 1).next_u64();
    out[c] = class_quality(resampled, c, resampled.x.to(torch::kCPU).index_select(0, synthetic), held_out, oc);
    if (reconstruction && hy.defined()) {
      const auto rows = (hy == c).nonzero().flatten();
      if (rows.numel() > 0) out[c].reconstruction_error = reconstruction(c, held_out.x.index_select(0, rows));
    }
  }
  return out;
}

nlohmann::json quality_to_json(const SampleQuality& q, bool with_embedding) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j = {{"real_rows", q.real_rows},
                      {"synthetic_rows", q.synthetic_rows},
                      {"held_out_rows", q.held_out_rows},
                      {"reconstruction_error", num(q.reconstruction_error)},
                      {"two_sample_auc", num(q.two_sample_auc)},
                      {"nn_synthetic", num(q.nn_synthetic)},
                      {"nn_held_out", num(q.nn_held_out)},
                      {"memorisation", num(q.memorisation)},
                      {"copies", num(q.copies)},
                      {"tstr_recall", num(q.tstr_recall)},
                      {"tstr_other_recall", num(q.tstr_other_recall)}};
  if (with_embedding) {
    auto pts = nlohmann::json::array();
    for (const auto& p : q.embedding)
      pts.push_back({std::round(p.x * 1e4) / 1e4, std::round(p.y * 1e4) / 1e4, p.group});
    j["embedding"] = std::move(pts);
  }
  return j;
}

}  // namespace rebalance::generative
