#include "rebalance/stream/out_of_core.hpp"

#include <fmt/format.h>

#include "rebalance/core/error.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/over_sampling/random_over_sampler.hpp"
#include "rebalance/over_sampling/streaming.hpp"
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/under_sampling/streaming.hpp"

namespace rebalance {

namespace {

/// Why each sampler that does not stream cannot (yet), by registry name.
const std::map<std::string, std::string>& reasons() {
  static const std::map<std::string, std::string> r = {
      {"kmeans_smote", "clusters all rows with k-means: one pass per Lloyd iteration could stream, not built yet"},
      {"cluster_over", "clusters all rows with k-means: one pass per Lloyd iteration could stream, not built yet"},
      {"cluster_centroids",
       "replaces the majority by k-means centres fitted to all its rows: one pass per iteration, not built yet"},
      {"smotenc", "mixes categorical and numeric columns; out-of-core features are numeric (a block cannot know the "
                  "whole file's categories)"},
      {"smoten", "works on categorical columns; out-of-core features are numeric (a block cannot know the whole "
                 "file's categories)"},
      {"enn",
       "asks every targeted row for its k nearest rows among all rows: an N x N search with no small anchor set"},
      {"renn", "repeats ENN's N x N search until nothing changes"},
      {"allknn", "repeats ENN's N x N search for k = 1..n_neighbors"},
      {"ncr", "runs ENN's N x N search over the majority"},
      {"cnn", "grows the kept set one row at a time, each decision depending on the rows kept so far: sequential"},
      {"oss", "runs CNN's sequential pass after TomekLinks"},
  };
  return r;
}

std::string family_reason(const SamplerInfo& info) {
  if (auto it = reasons().find(info.name); it != reasons().end()) return it->second;
  if (info.name.find("augment") != std::string::npos) return "transforms images; out-of-core input is rows of features";
  if (info.type == SamplingType::Over)
    return "trains a generator on the grown classes (held in memory, like SMOTE's); generating in bounded chunks is "
           "not built yet";
  return "combines or wraps other samplers; run its parts one after another, each out of core";
}

}  // namespace

std::vector<OutOfCoreSupport> out_of_core_support() {
  std::vector<OutOfCoreSupport> out;
  for (const auto& info : sampler_registry()) {
    OutOfCoreSupport s{info.name, true, ""};
    if (info.name == "random_under")
      s.how = "holds the class counts and the kept positions; 2 passes (labels, then rows)";
    else if (info.name == "random_over")
      s.how = "holds the grown classes; 3 passes (labels, gather, copy), new rows in chunks";
    else if (info.name == "smote")
      s.how = "holds the grown classes and their own kNN; 3 passes, new rows in chunks";
    else if (info.name == "borderline_smote")
      s.how = "holds the grown classes; an anchored scan for the danger rows (borderline-2: a second over the other "
              "classes' rows, which it gathers); new rows in chunks";
    else if (info.name == "adasyn")
      s.how = "holds the grown classes; an anchored scan for each row's difficulty; new rows in chunks";
    else if (info.name == "near_miss")
      s.how = "holds the minority and each targeted class's best rows; scores streamed against the minority "
              "(version 3: an anchored scan for the short list, which it gathers)";
    else if (info.name == "tomek_links")
      s.how = "holds the rows outside the largest class; 5 passes (labels, gather, 2 anchored kNN scans, write)";
    else
      s = {info.name, false, family_reason(info)};
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<MethodDoc> out_of_core_docs() {
  std::vector<MethodDoc> docs;
  for (bool streams : {true, false})
    for (const auto& s : out_of_core_support())
      if (s.streams == streams)
        docs.push_back({s.name, {}, streams ? "streams (bounded memory)" : "in memory only", "", s.how,
                        sampler_params(*find_sampler(s.name))});
  return docs;
}

OutOfCoreReport resample_out_of_core(const std::string& spec, uint64_t seed, const RowSource& source, RowSink& sink,
                                     const OutOfCoreOptions& options) {
  REBALANCE_CHECK(split_top_level(spec, '+').size() == 1,
                  "--out-of-core runs one sampler at a time, got the composition \"{}\"; run each part out of core "
                  "on the previous part's output", spec);
  const auto sampler = make_sampler(spec, seed);  // checks the name, parameters and strategy text
  const Spec parsed = parse_spec(spec);
  const SamplerInfo* info = find_sampler(parsed.name);
  const Params params(parsed, sampler_params(*info), info->class_name);
  OutOfCoreReport report;
  for (const auto& s : out_of_core_support())
    if (s.name == info->name && !s.streams)
      REBALANCE_THROW("{} ({}) cannot run out of core: it {}. Run it in memory (without --out-of-core) on data "
                      "that fits, or see `rebalance methods out-of-core`", info->class_name, info->name, s.how);
  report.target = sampler->strategy().resolve(source.class_counts(), source.class_names(), sampler->type());
  const uint64_t s = sampler->seed();
  const int64_t block = options.block_rows;
  if (info->name == "random_under") {
    under_sampling::stream_random_under(source, report.target, params.get_bool("replacement"), s, sink, block);
  } else if (info->name == "near_miss") {
    report.rows_out = under_sampling::stream_near_miss(source, report.target, params.get_int("version"),
                                                       params.get_int("n_neighbors"),
                                                       params.get_int("n_neighbors_ver3"), sink, block);
  } else if (info->name == "tomek_links") {
    std::vector<int64_t> classes;
    for (const auto& [c, n] : report.target) classes.push_back(c);
    report.removed = under_sampling::stream_tomek_links(source, classes, sink, block);
  } else {
    over_sampling::StreamOptions so;
    so.block_rows = so.chunk_rows = block;
    if (info->name == "random_over")
      report.synthetic = over_sampling::stream_random_over(
          source, report.target,
          over_sampling::RandomOverSamplerOptions::parse_shrinkage(params.get_string("shrinkage")), s, sink, so);
    else if (info->name == "smote")
      report.synthetic = over_sampling::stream_smote(source, report.target, params.get_int("k_neighbors"), s, sink, so);
    else if (info->name == "adasyn")
      report.synthetic = over_sampling::stream_adasyn(source, report.target, params.get_int("n_neighbors"), s, sink, so);
    else if (info->name == "borderline_smote")
      report.synthetic = over_sampling::stream_borderline_smote(source, report.target, params.get_int("k_neighbors"),
                                                                params.get_int("m_neighbors"),
                                                                params.get_string("kind"), s, sink, so);
  }
  int64_t kept = 0;
  if (info->name == "random_under") {
    for (int64_t c = 0; c < static_cast<int64_t>(source.class_counts().size()); ++c)
      kept += report.target.count(c) ? report.target.at(c) : source.class_counts()[c];
    report.rows_out = kept;
    report.removed = source.rows() - kept;
  } else if (info->name == "near_miss") {
    report.removed = source.rows() - report.rows_out;
  } else if (info->name == "tomek_links") {
    report.rows_out = source.rows() - report.removed;
  } else {
    report.rows_out = source.rows() + report.synthetic;
  }
  return report;
}

}  // namespace rebalance
