// The over_sampling family's samplers, as the factory sees them: one declaration per method.
#include <cmath>

#include "rebalance/core/error.hpp"
#include "rebalance/data/chunked.hpp"
#include "rebalance/over_sampling.hpp"
#include "rebalance/over_sampling/streaming.hpp"
#include "rebalance/sampling/sampler.hpp"

namespace rebalance {

namespace {

using namespace over_sampling;

constexpr int64_t kMaxNeighbors = int64_t(1) << 31;

/// "auto" -> nullopt, otherwise a finite number.
std::optional<double> auto_or_double(const Params& p, const std::string& key) {
  const auto text = p.get_string(key);
  if (text == "auto") return std::nullopt;
  const auto v = parse_double(text);
  REBALANCE_CHECK(v && std::isfinite(*v), "parameter {} must be \"auto\" or a number, got \"{}\"", key, text);
  return v;
}

/// Blocks of the run's size, new rows in chunks of as many.
StreamOptions chunks(const StreamJob& j) {
  StreamOptions o;
  o.block_rows = o.chunk_rows = j.block_rows;
  return o;
}

/// The counts of an over-sampler's run that added `synthetic` rows.
StreamCounts grown(const StreamJob& j, int64_t synthetic) {
  return {.rows_out = j.source.rows() + synthetic, .synthetic = synthetic, .removed = 0};
}

}  // namespace

void add_over_samplers(std::vector<SamplerInfo>& out) {
  out.push_back({"random_over", "RandomOverSampler", {"ros"}, SamplingType::Over,
                 "duplicate rows at random (with replacement), optionally as a smoothed bootstrap",
                 {{"shrinkage", "none",
                   "smoothed bootstrap: none (plain copies), a factor >= 0, or {class: factor} per resampled class"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<RandomOverSampler>(
                       RandomOverSamplerOptions::parse_shrinkage(p.get_string("shrinkage")), s, seed);
                 }});
  out.back().streaming = {
      "holds the grown classes; 3 passes (labels, gather, copy), new rows in chunks",
      [](const Params& p, const StreamJob& j) {
        return grown(j, stream_random_over(j.source, j.target,
                                           RandomOverSamplerOptions::parse_shrinkage(p.get_string("shrinkage")), j.seed,
                                           j.sink, chunks(j)));
      }};
  out.push_back({"smote", "SMOTE", {}, SamplingType::Over,
                 "interpolate between a row and one of its k same-class neighbours (Chawla et al. 2002)",
                 {{"k_neighbors", "5", "same-class nearest neighbours to interpolate towards"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<SMOTE>(SMOTEOptions{.k_neighbors = p.get_int_in("k_neighbors", 1, kMaxNeighbors)},
                                                  s, seed);
                 }});
  out.back().streaming = {
      "holds the grown classes and their own kNN; 3 passes, new rows in chunks",
      [](const Params& p, const StreamJob& j) {
        return grown(j, stream_smote(j.source, j.target, p.get_int_in("k_neighbors", 1, kMaxNeighbors), j.seed, j.sink,
                                     chunks(j)));
      }};
  out.push_back({"borderline_smote", "BorderlineSMOTE", {"bsmote"}, SamplingType::Over,
                 "SMOTE from the rows in danger near the class border only (Han et al. 2005)",
                 {{"k_neighbors", "5", "same-class nearest neighbours to interpolate towards"},
                  {"m_neighbors", "10", "nearest rows of the whole data set that decide whether a row is in danger"},
                  {"kind", "borderline-1", "borderline-1, or borderline-2 (also towards other-class neighbours)"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<BorderlineSMOTE>(
                       BorderlineSMOTEOptions{.k_neighbors = p.get_int_in("k_neighbors", 1, kMaxNeighbors),
                                              .m_neighbors = p.get_int_in("m_neighbors", 1, kMaxNeighbors),
                                              .kind = p.get_string("kind")},
                       s, seed);
                 }});
  out.back().streaming = {
      "holds the grown classes; an anchored scan for the danger rows (borderline-2: a second over the other "
      "classes' rows, which it gathers); new rows in chunks",
      [](const Params& p, const StreamJob& j) {
        return grown(j, stream_borderline_smote(j.source, j.target, p.get_int_in("k_neighbors", 1, kMaxNeighbors),
                                                p.get_int_in("m_neighbors", 1, kMaxNeighbors), p.get_string("kind"),
                                                j.seed, j.sink, chunks(j)));
      }};
  out.push_back({"adasyn", "ADASYN", {}, SamplingType::Over,
                 "SMOTE-like, more new rows where other classes crowd the row (He et al. 2008)",
                 {{"n_neighbors", "5", "nearest neighbours for the difficulty ratio and the interpolation"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<ADASYN>(
                       ADASYNOptions{.n_neighbors = p.get_int_in("n_neighbors", 1, kMaxNeighbors)}, s, seed);
                 }});
  out.back().streaming = {
      "holds the grown classes; an anchored scan for each row's difficulty; new rows in chunks",
      [](const Params& p, const StreamJob& j) {
        return grown(j, stream_adasyn(j.source, j.target, p.get_int_in("n_neighbors", 1, kMaxNeighbors), j.seed, j.sink,
                                      chunks(j)));
      }};
  out.push_back({"kmeans_smote", "KMeansSMOTE", {}, SamplingType::Over,
                 "k-means, then SMOTE inside the clusters where the class is dense (Douzas et al. 2018)",
                 {{"k_neighbors", "2", "same-class nearest neighbours inside a cluster"},
                  {"n_clusters", "8", "clusters of the k-means over all rows"},
                  {"cluster_balance_threshold", "auto",
                   "least share of the class for a cluster to be used; auto: asked / all asked / 2"},
                  {"density_exponent", "auto", "exponent of the cluster density; auto: 0.16 * log_1.6(n)^1.8"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<KMeansSMOTE>(
                       KMeansSMOTEOptions{.k_neighbors = p.get_int_in("k_neighbors", 1, kMaxNeighbors),
                                          .n_clusters = p.get_int_in("n_clusters", 1, kMaxNeighbors),
                                          .cluster_balance_threshold = auto_or_double(p, "cluster_balance_threshold"),
                                          .density_exponent = auto_or_double(p, "density_exponent")},
                       s, seed);
                 }});
  out.back().streaming = {"clusters all rows with k-means: one pass per Lloyd iteration could stream, not built yet"};
  out.push_back({"smotenc", "SMOTENC", {"smote_nc"}, SamplingType::Over,
                 "SMOTE for continuous plus categorical columns (categories: most frequent among neighbours)",
                 {{"categorical_features", "", "indices of the categorical columns, e.g. [0,3]"},
                  {"k_neighbors", "5", "same-class nearest neighbours to interpolate towards"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<SMOTENC>(
                       SMOTENCOptions{.categorical_features = p.get_ints("categorical_features"),
                                      .k_neighbors = p.get_int_in("k_neighbors", 1, kMaxNeighbors)},
                       s, seed);
                 }});
  out.back().streaming = {"mixes categorical and numeric columns; out-of-core features are numeric (a block cannot "
                          "know the whole file's categories)"};
  out.push_back({"smoten", "SMOTEN", {"smote_n"}, SamplingType::Over,
                 "SMOTE for all-categorical data: Value Difference Metric, per-column mode of the neighbours",
                 {{"k_neighbors", "5", "same-class nearest neighbours (by VDM) that vote on each column"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<SMOTEN>(
                       SMOTENOptions{.k_neighbors = p.get_int_in("k_neighbors", 1, kMaxNeighbors)}, s, seed);
                 }});
  out.back().streaming = {"works on categorical columns; out-of-core features are numeric (a block cannot know the "
                          "whole file's categories)"};
  out.push_back({"cluster_over", "ClusterOverSampler", {"cbo"}, SamplingType::Over,
                 "k-means in every class, each cluster randomly over-sampled to the largest majority cluster, "
                 "then the classes topped up to equal size (Jo & Japkowicz 2004)",
                 {{"n_clusters", "4", "k-means clusters per class (at most the class's row count)"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) -> std::unique_ptr<Sampler> {
                   return std::make_unique<ClusterOverSampler>(
                       ClusterOverSamplerOptions{.n_clusters = p.get_int_in("n_clusters", 1, kMaxNeighbors)}, s, seed);
                 }});
  out.back().streaming = {"clusters all rows with k-means: one pass per Lloyd iteration could stream, not built yet"};
}

}  // namespace rebalance
