// The under_sampling family's samplers, as the factory sees them: one declaration per method.
#include "rebalance/sampling/sampler.hpp"
#include "rebalance/data/chunked.hpp"
#include "rebalance/under_sampling.hpp"
#include "rebalance/under_sampling/streaming.hpp"

namespace rebalance {

void add_under_samplers(std::vector<SamplerInfo>& out) {
  using namespace under_sampling;
  const std::string kind_sel_help = "all: remove a row if any neighbour is of another class; mode: if most are";
  out.push_back({"random_under", "RandomUnderSampler", {"random_under_sampler", "rus"}, SamplingType::Under,
                 "keep a random subset of each targeted class",
                 {{"replacement", "false", "draw with replacement"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) {
                   return std::make_unique<RandomUnderSampler>(s, p.get_bool("replacement"), seed);
                 }});
  out.back().streaming = {
      "holds the class counts and the kept positions; 2 passes (labels, then rows)",
      [](const Params& p, const StreamJob& j) {
        stream_random_under(j.source, j.target, p.get_bool("replacement"), j.seed, j.sink, j.block_rows);
        int64_t kept = 0;
        for (int64_t c = 0; c < static_cast<int64_t>(j.source.class_counts().size()); ++c)
          kept += j.target.count(c) ? j.target.at(c) : j.source.class_counts()[c];
        return StreamCounts{.rows_out = kept, .synthetic = 0, .removed = j.source.rows() - kept};
      }};
  out.push_back({"near_miss", "NearMiss", {"nearmiss"}, SamplingType::Under,
                 "keep the rows of each class nearest to the minority class (Mani & Zhang 2003)",
                 {{"version", "1", "1: nearest on average to the k nearest minority rows; 2: to the k farthest; "
                                   "3: short-list, then farthest"},
                  {"n_neighbors", "3", "minority rows each score averages over"},
                  {"n_neighbors_ver3", "3", "version 3: class rows short-listed per minority row"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t) {
                   return std::make_unique<NearMiss>(s, p.get_int("version"), p.get_int_in("n_neighbors", 1, INT64_MAX),
                                                     p.get_int_in("n_neighbors_ver3", 1, INT64_MAX));
                 }});
  out.back().streaming = {
      "holds the minority and each targeted class's best rows; scores streamed against the minority (version 3: an "
      "anchored scan for the short list, which it gathers)",
      [](const Params& p, const StreamJob& j) {
        const int64_t kept = stream_near_miss(j.source, j.target, p.get_int("version"),
                                              p.get_int_in("n_neighbors", 1, INT64_MAX),
                                              p.get_int_in("n_neighbors_ver3", 1, INT64_MAX), j.sink, j.block_rows);
        return StreamCounts{.rows_out = kept, .synthetic = 0, .removed = j.source.rows() - kept};
      }};
  out.push_back({"tomek_links", "TomekLinks", {"tomek"}, SamplingType::Clean,
                 "remove rows that form a Tomek link (mutual nearest neighbours of different classes; Tomek 1976)",
                 {},
                 [](const Params&, const SamplingStrategy& s, uint64_t) { return std::make_unique<TomekLinks>(s); }});
  out.back().streaming = {
      "holds the rows outside the largest class; 5 passes (labels, gather, 2 anchored kNN scans, write)",
      [](const Params&, const StreamJob& j) {
        std::vector<int64_t> classes;
        for (const auto& [c, n] : j.target) classes.push_back(c);
        const int64_t removed = stream_tomek_links(j.source, classes, j.sink, j.block_rows);
        return StreamCounts{.rows_out = j.source.rows() - removed, .synthetic = 0, .removed = removed};
      }};
  out.push_back({"enn", "EditedNearestNeighbours", {"edited_nearest_neighbours"}, SamplingType::Clean,
                 "remove rows their k nearest neighbours disagree with (Wilson 1972)",
                 {{"n_neighbors", "3", "neighbours consulted per row"}, {"kind_sel", "all", kind_sel_help}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t) {
                   return std::make_unique<EditedNearestNeighbours>(
                       s, p.get_int_in("n_neighbors", 1, INT64_MAX),
                       parse_kind_sel(p.get_string("kind_sel"), "EditedNearestNeighbours"));
                 }});
  out.back().streaming = {"asks every targeted row for its k nearest rows among all rows: an N x N search with no small anchor set"};
  out.push_back({"renn", "RepeatedEditedNearestNeighbours", {"repeated_edited_nearest_neighbours"},
                 SamplingType::Clean, "repeat edited nearest neighbours until nothing changes (Tomek 1976)",
                 {{"n_neighbors", "3", "neighbours consulted per row"},
                  {"max_iter", "100", "most editing passes"},
                  {"kind_sel", "all", kind_sel_help}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t) {
                   return std::make_unique<RepeatedEditedNearestNeighbours>(
                       s, p.get_int_in("n_neighbors", 1, INT64_MAX), p.get_int_in("max_iter", 1, INT64_MAX),
                       parse_kind_sel(p.get_string("kind_sel"), "RepeatedEditedNearestNeighbours"));
                 }});
  out.back().streaming = {"repeats ENN's N x N search until nothing changes"};
  out.push_back({"allknn", "AllKNN", {"all_knn"}, SamplingType::Clean,
                 "edited nearest neighbours with k = 1, 2, ..., n_neighbors in turn (Tomek 1976)",
                 {{"n_neighbors", "3", "largest neighbourhood"},
                  {"kind_sel", "all", kind_sel_help},
                  {"allow_minority", "false", "go on when a class falls below the minority's count"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t) {
                   return std::make_unique<AllKNN>(s, p.get_int_in("n_neighbors", 1, INT64_MAX),
                                                   parse_kind_sel(p.get_string("kind_sel"), "AllKNN"),
                                                   p.get_bool("allow_minority"));
                 }});
  out.back().streaming = {"repeats ENN's N x N search for k = 1..n_neighbors"};
  out.push_back({"cnn", "CondensedNearestNeighbour", {"condensed_nearest_neighbour"}, SamplingType::Clean,
                 "keep the rows a nearest-neighbour rule needs to classify each class (Hart 1968)",
                 {{"n_neighbors", "1", "neighbours of the classification rule"},
                  {"n_seeds_S", "1", "random seed rows per targeted class"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) {
                   return std::make_unique<CondensedNearestNeighbour>(s, p.get_int_in("n_neighbors", 1, INT64_MAX),
                                                                      p.get_int_in("n_seeds_S", 1, INT64_MAX), seed);
                 }});
  out.back().streaming = {"grows the kept set one row at a time, each decision depending on the rows kept so far: sequential"};
  out.push_back({"oss", "OneSidedSelection", {"one_sided_selection"}, SamplingType::Clean,
                 "condense each targeted class, then remove Tomek links (Kubat & Matwin 1997)",
                 {{"n_neighbors", "1", "neighbours of the classification rule"},
                  {"n_seeds_S", "1", "random seed rows per targeted class"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) {
                   return std::make_unique<OneSidedSelection>(s, p.get_int_in("n_neighbors", 1, INT64_MAX),
                                                              p.get_int_in("n_seeds_S", 1, INT64_MAX), seed);
                 }});
  out.back().streaming = {"runs CNN's sequential pass after TomekLinks"};
  out.push_back({"ncr", "NeighbourhoodCleaningRule", {"neighbourhood_cleaning_rule"}, SamplingType::Clean,
                 "edit the targeted classes and clean around misclassified minority rows (Laurikkala 2001)",
                 {{"n_neighbors", "3", "neighbours consulted per row"},
                  {"kind_sel", "all", "how a minority row's neighbourhood is judged (all or mode)"},
                  {"threshold_cleaning", "0.5", "only classes above this share of the rows are cleaned"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t) {
                   return std::make_unique<NeighbourhoodCleaningRule>(
                       s, p.get_int_in("n_neighbors", 1, INT64_MAX),
                       parse_kind_sel(p.get_string("kind_sel"), "NeighbourhoodCleaningRule"),
                       p.get_double("threshold_cleaning"));
                 }});
  out.back().streaming = {"runs ENN's N x N search over the majority"};
  out.push_back({"cluster_centroids", "ClusterCentroids", {"cc"}, SamplingType::Under,
                 "replace each targeted class by the centres of a k-means of it",
                 {{"voting", "auto", "soft: the centres; hard: the row nearest each centre; auto: soft"},
                  {"n_init", "10", "k-means restarts (scikit-learn 1.2's default)"},
                  {"max_iter", "300", "k-means iterations per restart"}},
                 [](const Params& p, const SamplingStrategy& s, uint64_t seed) {
                   return std::make_unique<ClusterCentroids>(s, ClusterCentroids::parse_voting(p.get_string("voting")),
                                                             p.get_int_in("n_init", 1, INT64_MAX),
                                                             p.get_int_in("max_iter", 1, INT64_MAX), seed);
                 }});
  out.back().streaming = {"replaces the majority by k-means centres fitted to all its rows: one pass per iteration, not built yet"};
}

}  // namespace rebalance
