#include "rebalance/experiment/runner.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../test_util.hpp"
#include "rebalance/data/imbalance.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/table.hpp"
#include "rebalance/experiment/task.hpp"

#include <map>
#include <set>

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

const char* kTiny = R"(name = "t"
[data]
dataset = "mnist-digits"
pair = ["0", "6"]
majority = 150
minority = [8, 30]
[train]
model = "logreg"
epochs = 2
batch_size = 64
[run]
seeds = [0, 1]
[[method]]
name = "Vanilla"
[[method]]
name = "CS"
loss = "weighted_ce:weights=ratio"
)";

/// kTiny at one level and one seed: a cell per method.
std::string tiny_one_cell() {
  std::string cfg = kTiny;
  cfg.replace(cfg.find("minority = [8, 30]"), 18, "minority = [8]");
  cfg.replace(cfg.find("seeds = [0, 1]"), 14, "seeds = [0]");
  return cfg;
}

/// tiny_one_cell() and one more [[method]] (its TOML lines), run: the rows of Vanilla, CS and it.
std::vector<nlohmann::json> run_with_method(const TempDir& dir, const std::string& method) {
  const auto c = load_experiment(dir.write("one.toml", tiny_one_cell() + "[[method]]\n" + method));
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 3);
  auto rows = read_results(dir.file("out/results.jsonl"));
  EXPECT_EQ(rows.size(), 3u);
  rows.resize(3);
  return rows;
}

/// Results without the timings, which differ between any two runs.
std::vector<nlohmann::json> without_timings(std::vector<nlohmann::json> rows) {
  for (auto& r : rows) r.erase("timings");
  return rows;
}

}  // namespace

TEST(ExperimentConfig, ParsesTheGrid) {
  TempDir dir;
  const auto c = load_experiment(dir.write("t.toml", kTiny));
  EXPECT_EQ(c.name, "t");
  EXPECT_EQ(c.pair_majority, "0");
  EXPECT_EQ(c.majority, 150);
  ASSERT_EQ(c.levels.size(), 2u);
  EXPECT_EQ(c.levels[1].minority, 30);
  EXPECT_EQ(c.seeds, (std::vector<uint64_t>{0, 1}));
  ASSERT_EQ(c.methods.size(), 2u);
  EXPECT_EQ(c.methods[1].loss, "weighted_ce:weights=ratio");
  EXPECT_EQ(c.train.epochs, 2);
  EXPECT_EQ(experiment_hash(c), experiment_hash(load_experiment(dir.write("u.toml", std::string(kTiny) + "\n# note\n"))));
}

TEST(ExperimentConfigErrors, NameTheKeyAndLine) {
  TempDir dir;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = kTiny;
    s.replace(s.find(from), from.size(), to);
    return dir.write("bad.toml", s);
  };
  EXPECT_ERROR_MENTIONS(load_experiment(with("epochs = 2", "epochs = 0")), "bad.toml:9", "[train].epochs", "got 0");
  EXPECT_ERROR_MENTIONS(load_experiment(with("epochs = 2", "epoch = 2")), "bad.toml:9", "unknown key [train].epoch");
  EXPECT_ERROR_MENTIONS(load_experiment(with("weighted_ce:weights=ratio", "wce")), "bad.toml:17", "[method].loss",
                        "unknown loss \"wce\"");
  EXPECT_ERROR_MENTIONS(load_experiment(with("name = \"CS\"", "name = \"Vanilla\"")), "listed twice");
  EXPECT_ERROR_MENTIONS(load_experiment(with("minority = [8, 30]", "minority = [8, \"x\"]")), "[data].minority",
                        "element 2");
  EXPECT_ERROR_MENTIONS(load_experiment(with("batch_size = 64", "batch_size = 64\n[[")), "bad.toml:11");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.file("missing.toml")), "no such file");
  // A loss is checked before the data is loaded against as many classes as its weights name.
  EXPECT_NO_THROW(load_experiment(with("weighted_ce:weights=ratio", "weighted_ce:weights=[1,2,3]")));
  // A joint method's classifier loss is a sum of parts: a mixed or augmented row belongs to none.
  EXPECT_ERROR_MENTIONS(load_experiment(with("loss = \"weighted_ce:weights=ratio\"",
                                             "joint = \"aug\"\nmix = \"mixup\"")),
                        "bad.toml:18", "[method].mix", "method \"CS\" trains jointly", "drop mix \"mixup\"");
  std::string augmented = kTiny;  // augment for every method in [train], joint in one
  augmented.replace(augmented.find("batch_size = 64"), 15, "batch_size = 64\naugment = \"hflip\"");
  augmented.replace(augmented.find("loss = \"weighted_ce:weights=ratio\""), 34, "joint = \"aug\"");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("aug.toml", augmented)), "[method].joint", "drop augment \"hflip\"");
}

TEST(ExperimentRunner, KilledRunResumesToTheSameResults) {
  TempDir dir;
  const auto c = load_experiment(dir.write("t.toml", kTiny));
  std::ostringstream log;
  const auto whole = run_experiment(c, {.out_dir = dir.file("whole"), .progress = false}, log);
  EXPECT_EQ(whole.ran, 8);
  // "Kill" after 3 cells, then after 2 more, then finish.
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("part"), .stop_after_cells = 3, .progress = false}, log).ran, 3);
  EXPECT_EQ(read_results(dir.file("part/results.jsonl")).size(), 3u);
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("part"), .stop_after_cells = 2, .progress = false}, log).skipped, 3);
  const auto last = run_experiment(c, {.out_dir = dir.file("part"), .progress = false}, log);
  EXPECT_EQ(last.skipped, 5);
  EXPECT_EQ(last.ran, 3);
  EXPECT_EQ(without_timings(read_results(dir.file("part/results.jsonl"))),
            without_timings(read_results(dir.file("whole/results.jsonl"))));
  // A rerun of a finished grid runs nothing.
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("whole"), .progress = false}, log).ran, 0);
  const auto rows = read_results(dir.file("whole/results.jsonl"));
  EXPECT_EQ(rows[0]["train_counts"], nlohmann::json({150, 8}));
  EXPECT_EQ(rows[0]["test_scores"].size(), rows[0]["test_labels"].size());
}

TEST(ExperimentRunner, ACellKilledInsideItsTrainingContinuesFromItsLastEpoch) {
  TempDir dir;
  auto cfg = tiny_one_cell() + "[[method]]\nname = \"SMOTE\"\nsampler = \"smote\"\n";
  cfg.replace(cfg.find("epochs = 2"), 10, "epochs = 4");
  const auto c = load_experiment(dir.write("t.toml", cfg));
  std::ostringstream log;
  // Into `out`, every sampler's rows kept (SMOTE on these rows takes milliseconds, not the default 10 s).
  const auto into = [&](const std::string& out, int64_t stop_after_cells = -1, int64_t stop_after_epochs = -1) {
    return RunOptions{.out_dir = dir.file(out), .stop_after_cells = stop_after_cells,
                      .stop_after_epochs = stop_after_epochs, .progress = false, .keep_sampler_rows_after_s = 0};
  };
  EXPECT_EQ(run_experiment(c, into("whole"), log).ran, 3);
  const auto whole = without_timings(read_results(dir.file("whole/results.jsonl")));
  const auto checkpoints = [&](const std::string& out) {
    std::vector<std::string> names;
    if (std::filesystem::exists(dir.file(out + "/.checkpoints")))
      for (const auto& e : std::filesystem::directory_iterator(dir.file(out + "/.checkpoints")))
        names.push_back(e.path().filename().string());
    return names;
  };
  EXPECT_TRUE(checkpoints("whole").empty());  // each cell's folder goes when its row is written
  // "Kill" the first cell after 3 of its 4 epochs: no row, its checkpoint kept.
  const auto kill = [&](const std::string& out, int64_t epochs) {
    return run_experiment(c, into(out, -1, epochs), log).ran;
  };
  EXPECT_EQ(kill("part", 3), 0);
  EXPECT_TRUE(read_results(dir.file("part/results.jsonl")).empty());
  ASSERT_EQ(checkpoints("part").size(), 1u);
  const auto missing = missing_cells(c, dir.file("part"));  // what `run --status` lists
  ASSERT_EQ(missing.size(), 3u);
  EXPECT_TRUE(missing[0].started);
  EXPECT_FALSE(missing[1].started);
  // The next run removes the folder of a cell of another version of the config's data or training
  // (its key's hash is another) and leaves one of no known cell (no key file) alone.
  std::filesystem::create_directories(dir.file("part/.checkpoints/cell-0123456789abcdef"));
  dir.write("part/.checkpoints/cell-0123456789abcdef/cell.key", "0123456789abcdef|minority=8|Vanilla|0");
  std::filesystem::create_directories(dir.file("part/.checkpoints/cell-of-no-known-cell"));
  std::ostringstream resumed;
  EXPECT_EQ(run_experiment(c, into("part", 2), resumed).ran, 2);
  EXPECT_NE(resumed.str().find("continuing the training from the checkpoint in"), std::string::npos) << resumed.str();
  EXPECT_EQ(checkpoints("part"), std::vector<std::string>{"cell-of-no-known-cell"});
  std::filesystem::remove_all(dir.file("part/.checkpoints/cell-of-no-known-cell"));
  // A config narrowed to the other methods (the same data and training, so the same cells) neither
  // continues nor removes the killed cell's checkpoint; the whole config then continues it.
  EXPECT_EQ(kill("narrowed", 3), 0);
  auto others = c;
  others.methods.erase(others.methods.begin());
  EXPECT_EQ(run_experiment(others, into("narrowed"), log).ran, 2);
  EXPECT_EQ(checkpoints("narrowed").size(), 1u);
  std::ostringstream narrowed_then_whole;
  EXPECT_EQ(run_experiment(c, into("narrowed"), narrowed_then_whole).ran, 1);
  EXPECT_NE(narrowed_then_whole.str().find("continuing the training from the checkpoint in"), std::string::npos)
      << narrowed_then_whole.str();
  EXPECT_TRUE(checkpoints("narrowed").empty());
  EXPECT_EQ(without_timings(read_results(dir.file("narrowed/results.jsonl"))).size(), 3u);
  // Killed inside SMOTE's cell: its rows are kept too, and the rerun neither samples nor trains again
  // what the killed run did.
  EXPECT_EQ(kill("part", 2), 0);
  std::ostringstream sampled;
  EXPECT_EQ(run_experiment(c, into("part"), sampled).ran, 1);
  EXPECT_NE(sampled.str().find("the sampler's rows from the checkpoint in"), std::string::npos) << sampled.str();
  EXPECT_NE(sampled.str().find("continuing the training from the checkpoint in"), std::string::npos);
  const auto rows = read_results(dir.file("part/results.jsonl"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[1]["timings"].contains("continued"));
  EXPECT_EQ(rows[2]["timings"]["continued"], true);
  EXPECT_GT(rows[2]["timings"]["epochs_s"].get<double>(), 0.0);  // the killed run's epochs counted too
  EXPECT_EQ(without_timings(rows), whole);
  EXPECT_TRUE(checkpoints("part").empty());
  // A checkpoint the run cannot continue (a damaged state file) is trained over from the start, and
  // damaged rows are sampled again.
  EXPECT_EQ(kill("damaged", 1), 0);
  auto names = checkpoints("damaged");
  ASSERT_EQ(names.size(), 1u);
  dir.write("damaged/.checkpoints/" + names[0] + "/state.json", "{not json");
  std::ostringstream afresh;
  EXPECT_EQ(run_experiment(c, into("damaged", 2), afresh).ran, 2);
  EXPECT_NE(afresh.str().find("training the cell from the start"), std::string::npos) << afresh.str();
  EXPECT_EQ(kill("damaged", 1), 0);
  names = checkpoints("damaged");
  ASSERT_EQ(names.size(), 1u);
  dir.write("damaged/.checkpoints/" + names[0] + "/sampled.rows", "REBALANCE-CELL-ROWS 1\n12\n{}");
  std::ostringstream again;
  EXPECT_EQ(run_experiment(c, into("damaged"), again).ran, 1);
  EXPECT_NE(again.str().find("running the sampler again"), std::string::npos) << again.str();
  EXPECT_EQ(without_timings(read_results(dir.file("damaged/results.jsonl"))), whole);
}

TEST(ResultTables, EveryMethodAPairedTestCannotTellFromTheBestIsMarked) {
  auto row = [](const std::string& method, uint64_t seed, double acsa) {
    return nlohmann::json{{"method", method}, {"level", "100"}, {"seed", seed}, {"metrics", {{"acsa", acsa}}}};
  };
  // B is 0.003 behind A with a spread of 0.02 over three seeds (p = 0.81, SciPy's ttest_rel); C is
  // 0.1 behind on every seed; D has one seed, which tests nothing.
  const std::vector<nlohmann::json> rows = {row("A", 0, 0.80), row("A", 1, 0.81), row("A", 2, 0.82),
                                            row("B", 2, 0.80), row("B", 0, 0.79), row("B", 1, 0.83),
                                            row("C", 0, 0.70), row("C", 1, 0.71), row("C", 2, 0.72), row("D", 1, 0.805)};
  const auto t = make_table(rows, "acsa");
  ASSERT_EQ(t.methods, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_TRUE(t.cells[0][0]->best && t.cells[0][0]->tied);
  EXPECT_FALSE(t.cells[1][0]->best);
  EXPECT_TRUE(t.cells[1][0]->tied);
  EXPECT_EQ(t.cells[1][0]->paired, 3);
  EXPECT_NEAR(t.cells[1][0]->p_vs_best, 0.8075499102701238, 1e-9);
  EXPECT_FALSE(t.cells[2][0]->tied);
  EXPECT_EQ(t.cells[2][0]->p_vs_best, 0.0);
  EXPECT_FALSE(t.cells[3][0]->tied);
  EXPECT_EQ(t.cells[3][0]->paired, 1);
  const auto md = table_markdown(t);
  EXPECT_NE(md.find("paired t-test over 3 seeds cannot tell from it (p >= 0.05)"), std::string::npos) << md;
  EXPECT_NE(md.find("| B | **0.8067 ± 0.0208** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| C | 0.7100 ± 0.0100 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| D | 0.8050 (1 seed) |"), std::string::npos) << md;  // fewer seeds than the fullest cell
  // One seed everywhere: only the best mean is marked, and the caption says nothing was tested.
  const auto one = make_table({row("A", 0, 0.8), row("B", 0, 0.79)}, "acsa");
  EXPECT_FALSE(one.cells[1][0]->tied);
  EXPECT_NE(table_markdown(one).find("one seed per cell, so no method can be told from another"), std::string::npos);
}

TEST(ResultTables, AConfigsOrderPutsRowsAndColumnsAsItListsThem) {
  auto row = [](const std::string& method, const std::string& level, double acsa) {
    return nlohmann::json{{"method", method}, {"level", level}, {"seed", 0}, {"metrics", {{"acsa", acsa}}}};
  };
  // Cells as two workers finished them, plus a method the config does not list.
  const std::vector<nlohmann::json> rows = {row("C", "rho=100", 0.7), row("X", "rho=10", 0.5), row("A", "rho=10", 0.9),
                                            row("B", "rho=100", 0.8), row("A", "rho=100", 0.6)};
  EXPECT_EQ(make_table(rows, "acsa").methods, (std::vector<std::string>{"C", "X", "A", "B"}));
  const auto t = make_table(rows, "acsa", {{"A", "B", "C"}, {"rho=10", "rho=100"}});
  ASSERT_EQ(t.methods, (std::vector<std::string>{"A", "B", "C", "X"}));  // the unlisted one last
  ASSERT_EQ(t.levels, (std::vector<std::string>{"rho=10", "rho=100"}));
  EXPECT_DOUBLE_EQ(t.cells[0][0]->mean, 0.9);
  EXPECT_DOUBLE_EQ(t.cells[0][1]->mean, 0.6);
  EXPECT_FALSE(t.cells[1][0].has_value());
  EXPECT_DOUBLE_EQ(t.cells[3][0]->mean, 0.5);
  EXPECT_TRUE(t.cells[0][0]->best);
  EXPECT_TRUE(t.cells[1][1]->best);
}

TEST(ResultTables, MeansStdsAndBestAgainstHandComputedValues) {
  auto row = [](const std::string& method, const std::string& level, double f1, int64_t mis) {
    return nlohmann::json{{"method", method}, {"level", level},
                          {"metrics", {{"f1_macro", f1}, {"misclassified", mis}, {"per_class", {{"6", {{"recall", f1 / 2}}}}}}}};
  };
  const std::vector<nlohmann::json> rows = {row("A", "25", 0.5, 10), row("A", "25", 0.7, 20), row("B", "25", 0.8, 30),
                                            row("B", "50", 0.9, 4),  row("A", "50", 0.6, 2),  row("B", "25", 0.6, 40)};
  const auto t = make_table(rows, "f1_macro");
  EXPECT_EQ(t.methods, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(t.levels, (std::vector<std::string>{"25", "50"}));
  EXPECT_DOUBLE_EQ(t.cells[0][0]->mean, 0.6);
  EXPECT_NEAR(t.cells[0][0]->std, 0.1414213562373095, 1e-12);  // sample std of {0.5, 0.7}
  EXPECT_DOUBLE_EQ(t.cells[1][0]->mean, 0.7);
  EXPECT_TRUE(t.cells[1][0]->best);
  EXPECT_FALSE(t.cells[0][0]->best);
  EXPECT_TRUE(t.cells[1][1]->best);
  const auto mis = make_table(rows, "misclassified");
  EXPECT_TRUE(mis.lower_is_better);
  EXPECT_TRUE(mis.cells[0][0]->best);  // 15 < 35
  EXPECT_TRUE(mis.cells[0][1]->best);  // 2 < 4
  EXPECT_DOUBLE_EQ(make_table(rows, "per_class.6.recall").cells[0][0]->mean, 0.3);
  const auto md = table_markdown(t);
  // Seeds 0 and 1 (their order) pair A with B at 25: -0.3 and +0.1 tell them nothing apart.
  EXPECT_TRUE(t.cells[0][0]->tied);
  EXPECT_EQ(t.cells[0][0]->paired, 2);
  EXPECT_NE(md.find("| A | **0.6000 ± 0.1414** | 0.6000 (1 seed) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| B | **0.7000 ± 0.1414** | **0.9000** (1 seed) |"), std::string::npos) << md;
  EXPECT_NE(md.find("**0.7000 ± 0.1414**"), std::string::npos) << md;
  EXPECT_NE(md.find("a method sharing one seed with the best is not tested, nor marked"), std::string::npos) << md;
  EXPECT_NE(table_csv(t).find("A,0.6,0.14142135623730948,2,0,1,0.7048"), std::string::npos) << table_csv(t);
  EXPECT_ERROR_MENTIONS(make_table(rows, "auc"), "no metric \"auc\"", "f1_macro");
}

TEST(ExperimentConfig, NpyDataWithLabelFilesAndItsOwnTestSet) {
  // [data] takes the label files a .npy data set and its .npy test set need, as `train` does.
  TempDir dir;
  const auto digits = load_builtin("mnist-digits");
  const auto split = stratified_split(digits, 0.0, 0.3, 0);
  for (const auto& [name, d] : {std::pair{"train", split.train}, std::pair{"test", split.test}}) {
    write_npy(dir.file(std::string(name) + ".npy"), d.x.flatten(1));
    write_npy_labels(dir.file(std::string(name) + "_y.npy"), d.y, d.class_names, "<i8");
  }
  std::string toml = kTiny;
  toml.replace(toml.find("dataset = \"mnist-digits\""), 24,
               fmt::format("dataset = \"{}\"\nlabel = \"{}\"\ntest = \"{}\"\ntest_label = \"{}\"", dir.file("train.npy"),
                           dir.file("train_y.npy"), dir.file("test.npy"), dir.file("test_y.npy")));
  const auto c = load_experiment(dir.write("npy.toml", toml));
  EXPECT_EQ(c.label, dir.file("train_y.npy"));
  EXPECT_EQ(c.test_label, dir.file("test_y.npy"));
  EXPECT_NE(experiment_hash(c), experiment_hash(load_experiment(dir.write("t.toml", kTiny))));
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .stop_after_cells = 1, .progress = false}, log).ran, 1);
  const auto rows = read_results(dir.file("out/results.jsonl"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["train_counts"], nlohmann::json({150, 8}));
  // Every test row of the pair is scored: the test set is the given one, not a split.
  const auto counts = split.test.class_counts();
  EXPECT_EQ(rows[0]["test_labels"].size(), static_cast<size_t>(counts[0] + counts[6]));

  // Without test_label, the .npy test set cannot be read; test_label without test is a mistake.
  std::string no_label = toml;
  no_label.erase(no_label.find("test_label"), no_label.find('\n', no_label.find("test_label")) - no_label.find("test_label"));
  const auto c2 = load_experiment(dir.write("nolabel.toml", no_label));
  EXPECT_ERROR_MENTIONS(run_experiment(c2, {.out_dir = dir.file("out2"), .progress = false}, log), "test.npy",
                        "needs its own labels", "[data].test_label");
  std::string no_test = kTiny;
  no_test.replace(no_test.find("pair ="), 0, "test_label = \"y.npy\"\n");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("notest.toml", no_test)), "[data].test_label", "[data].test is not");
  std::string bad_delim = kTiny;
  bad_delim.replace(bad_delim.find("pair ="), 0, "delimiter = \"ab\"\n");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("delim.toml", bad_delim)), "[data].delimiter", "\"ab\"",
                        "one character");
}

namespace {

/// Every row of `d` as bytes, to find rows of one set in another.
std::set<std::string> row_bytes(const Dataset& d) {
  const auto x = d.x2d().contiguous().to(torch::kFloat32);
  const auto row = x.size(1) * static_cast<int64_t>(sizeof(float));
  std::set<std::string> out;
  for (int64_t i = 0; i < x.size(0); ++i)
    out.insert(std::string(static_cast<const char*>(x.data_ptr()) + i * row, static_cast<size_t>(row)));
  return out;
}

const char* kLeak = R"(name = "leak"
[data]
dataset = "mnist-digits"
test_fraction = 0.3
pair = ["0", "6"]
majority = 120
minority = [12]
[train]
model = "logreg"
epochs = 1
[[method]]
name = "SMOTE"
sampler = "smote:k_neighbors=3"
[[method]]
name = "SMOTE on test"
sampler = "smote:k_neighbors=3"
leak_test_minority_to_sampler = 20
)";

/// kLeak's two SMOTE methods, the second's leak key replaced by `key_line`.
std::string smote_pair_with(const std::string& key_line) {
  std::string cfg = kLeak;
  return cfg.replace(cfg.find("leak_test_minority_to_sampler = 20"), 34, key_line);
}

}  // namespace

TEST(ExperimentRunner, NoSamplerSeesATestRowUnlessTheConfigSaysSoLoudly) {
  TempDir dir;
  const auto c = load_experiment(dir.write("leak.toml", kLeak));
  std::map<std::string, int64_t> seen_test_rows, fitted_rows;
  int64_t test_minority = 0;
  RunOptions o{.out_dir = dir.file("out"), .progress = false};
  o.on_sampler_input = [&](const std::string& method, const Dataset& input, const Dataset& test) {
    const auto test_rows = row_bytes(test), input_rows = row_bytes(input);
    int64_t shared = 0;
    for (const auto& r : input_rows) shared += test_rows.count(r);
    seen_test_rows[method] = shared;
    fitted_rows[method] = input.size();
    test_minority = test.class_counts()[1];
  };
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, o, log).ran, 2);
  // The plain method's sampler saw training rows only; the leaking one exactly the 20 test sixes
  // it was told to take, in place of the 12 training sixes.
  EXPECT_EQ(seen_test_rows["SMOTE"], 0);
  EXPECT_EQ(fitted_rows["SMOTE"], 132);
  EXPECT_EQ(seen_test_rows["SMOTE on test"], 20);
  EXPECT_EQ(fitted_rows["SMOTE on test"], 140);
  EXPECT_GE(test_minority, 20);
  EXPECT_NE(log.str().find("LEAK: method \"SMOTE on test\" fits its sampler on 20 TEST images"), std::string::npos);
  // Its results say so in the method's name (which tables and reports show) and in a field.
  const auto rows = read_results(dir.file("out/results.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["method"], "SMOTE");
  EXPECT_FALSE(rows[0].contains("leak"));
  EXPECT_EQ(rows[1]["method"], "SMOTE on test (generator saw test images)");
  EXPECT_EQ(rows[1]["leak"]["test_rows_to_sampler"], 20);
  // The classifier trains on the 12 real sixes plus the synthetic ones (120 - 20 = 100 of them).
  EXPECT_EQ(rows[1]["train_counts"], nlohmann::json({120, 112}));
  const auto table = table_markdown(make_table(rows, "f1_macro"));
  const auto leak_line = table.find("| SMOTE on test (generator saw test images) |");
  ASSERT_NE(leak_line, std::string::npos) << table;
  // Shown, never the column's best: the plain method is bold, whichever scored higher.
  EXPECT_EQ(table.substr(leak_line, table.find('\n', leak_line) - leak_line).find("**"), std::string::npos) << table;
  EXPECT_NE(table.find("| SMOTE | **"), std::string::npos) << table;
  EXPECT_NE(table.find("never marked"), std::string::npos);

  // The key needs a sampler and a binary task, and no more test rows than there are.
  std::string no_sampler = kLeak;
  no_sampler.replace(no_sampler.find("sampler = \"smote:k_neighbors=3\"\nleak"), 31, "");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("ns.toml", no_sampler)), "leak_test_minority_to_sampler",
                        "has none");
  std::string too_many = kLeak;
  too_many.replace(too_many.find("= 20"), 4, "= 5000");
  EXPECT_ERROR_MENTIONS(run_experiment(load_experiment(dir.write("tm.toml", too_many)),
                                       {.out_dir = dir.file("tm"), .progress = false}, log),
                        "leak_test_minority_to_sampler = 5000", "minority rows");
}

TEST(ExperimentRunner, ResultsCarryTheSyntheticRowsQuality) {
  TempDir dir;
  std::string cfg = kTiny;
  cfg.replace(cfg.find("minority = [8, 30]"), 18, "minority = [30]");
  cfg += "[[method]]\nname = \"VAE\"\nsampler = \"vae:epochs=2,hidden=[32]\"\n"
         "[[method]]\nname = \"SMOTE\"\nsampler = \"smote\"\n"
         "[[method]]\nname = \"AUG\"\njoint = \"aug:ngf=4,ndf=4,blocks=1,batch_size=4,steps=3,decay_steps=0\"\n";
  const auto c = load_experiment(dir.write("q.toml", cfg));
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 10);
  EXPECT_NE(log.str().find("judge for judge_recall"), std::string::npos) << log.str();
  const auto rows = read_results(dir.file("out/results.jsonl"));
  for (const auto& r : rows) {
    const bool makes_rows = r["method"] == "VAE" || r["method"] == "SMOTE" || r["method"] == "AUG";
    ASSERT_EQ(r.contains("quality"), makes_rows) << r["method"];
    if (!makes_rows) continue;
    const auto& q = r["quality"].at("6");  // the grown class, by name
    EXPECT_EQ(q["real_rows"], 30);
    // A sampler's rows fill the gap; AUG's are the translations of every majority training row.
    EXPECT_EQ(q["synthetic_rows"], r["method"] == "AUG" ? 150 : 120);
    EXPECT_GT(q["held_out_rows"].get<int64_t>(), 30) << "the test sixes are the held-out rows";
    EXPECT_TRUE(q["two_sample_auc"].is_number() && q["tstr_recall"].is_number() && q["memorisation"].is_number());
    ASSERT_TRUE(q["judge_recall"].is_number());
    EXPECT_GE(q["judge_recall"].get<double>(), 0.0);
    EXPECT_LE(q["judge_recall"].get<double>(), 1.0);
    EXPECT_EQ(q["reconstruction_error"].is_number(), r["method"] != "SMOTE") << "SMOTE has no encoder or cycle";
    EXPECT_EQ(q.contains("embedding"), r["seed"] == 0) << "the embedding is kept for the first seed";
    EXPECT_TRUE(r["timings"].contains("quality_s"));
  }
  // AUG's grid of translations and cycles; every method's RISE heat maps on test images.
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/samples/30_AUG.png")));
  for (const char* m : {"Vanilla", "SMOTE", "AUG"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("out/samples/30_") + m + "_rise.png"))) << m;
    EXPECT_FALSE(std::filesystem::exists(dir.file(std::string("out/samples/30_") + m + "_gradcam.png")))
        << "logreg has no convolutional feature map for Grad-CAM";
  }
  // `rebalance table --metric quality.FIELD`: the methods that made rows, no best marked.
  const auto auc = make_table(rows, "quality.two_sample_auc");
  EXPECT_EQ(auc.methods, (std::vector<std::string>{"VAE", "SMOTE", "AUG"}));
  ASSERT_TRUE(auc.cells[0][0].has_value());
  EXPECT_EQ(auc.cells[0][0]->n, 2);
  EXPECT_EQ(table_markdown(auc).find("**"), std::string::npos);
  EXPECT_ERROR_MENTIONS(make_table(rows, "quality.sharpness"), "no result has the sample-quality measure",
                        "sharpness");
  // The judge is kept in the output directory under the experiment's hash; a run that finds it there
  // loads it instead of training it again, and judges the same rows the same way.
  const auto judge_file = "judge-" + experiment_hash(c) + ".model";
  ASSERT_TRUE(std::filesystem::exists(dir.file("out/" + judge_file))) << log.str();
  std::filesystem::create_directories(dir.file("again"));
  std::filesystem::copy_file(dir.file("out/" + judge_file), dir.file("again/" + judge_file));
  auto smote_only = c;  // the same hash: the methods are keyed per cell
  std::erase_if(smote_only.methods, [](const MethodConfig& m) { return m.name != "SMOTE"; });
  ASSERT_EQ(smote_only.methods.size(), 1u);
  std::ostringstream again_log;
  EXPECT_EQ(run_experiment(smote_only, {.out_dir = dir.file("again"), .progress = false}, again_log).ran, 2);
  EXPECT_NE(again_log.str().find("(trained by an earlier run)"), std::string::npos) << again_log.str();
  EXPECT_EQ(again_log.str().find("balanced real training images"), std::string::npos) << again_log.str();
  const auto again = read_results(dir.file("again/results.jsonl"));
  ASSERT_EQ(again.size(), 2u);
  for (const auto& a : again)
    for (const auto& r : rows)
      if (r["method"] == "SMOTE" && r["seed"] == a["seed"])
        EXPECT_EQ(a["quality"]["6"]["judge_recall"], r["quality"]["6"]["judge_recall"]) << a["seed"];
  // [run] quality = false turns it off; a non-boolean is refused with its line.
  std::string off = cfg;
  off.replace(off.find("[run]\n"), 6, "[run]\nquality = false\n");
  EXPECT_EQ(run_experiment(load_experiment(dir.write("off.toml", off)), {.out_dir = dir.file("off"), .progress = false},
                           log).ran, 10);
  for (const auto& r : read_results(dir.file("off/results.jsonl"))) EXPECT_FALSE(r.contains("quality"));
  std::string bad = cfg;
  bad.replace(bad.find("[run]\n"), 6, "[run]\nquality = 1\n");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[run].quality must be true or false");
}

TEST(ExperimentConfig, FirstRowsNoValidationAndAnIterationBudget) {
  // Seed 000's protocol: each class's first rows of the data's first N rows, no validation set,
  // a budget in iterations, the final weights kept.
  TempDir dir;
  std::string toml = kTiny;
  toml.replace(toml.find("majority = 150"), 14,
               "majority = 150\nselect = \"first\"\nrows = 8000\nval_fraction = 0");
  toml.replace(toml.find("epochs = 2"), 10, "iterations = 5\nmonitor = \"none\"");
  const auto c = load_experiment(dir.write("first.toml", toml));
  EXPECT_EQ(c.select, "first");
  EXPECT_EQ(c.rows, 8000);
  EXPECT_EQ(c.train.iterations, 5);
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .stop_after_cells = 2, .progress = false}, log).ran, 2);
  const auto rows = read_results(dir.file("out/results.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["train_counts"], nlohmann::json({150, 8}));
  // "first" draws the same rows whatever the seed.
  const auto pool = load_builtin("mnist-digits").subset(torch::arange(8000, torch::kInt64));
  const auto split = stratified_split(pool, 0.0, 0.2, 0);
  const auto b = binary_pair(split.train, pool.class_index("0"), -1, pool.class_index("6"), -1, 0);
  const auto [t0, v0] = draw_train_validation(b, {{0, 150}, {1, 8}}, 0.0, 0, true);
  const auto [t1, v1] = draw_train_validation(b, {{0, 150}, {1, 8}}, 0.0, 9, true);
  EXPECT_EQ(v0.size(), 0);
  EXPECT_TRUE(torch::equal(t0.origin, t1.origin));
  EXPECT_TRUE(torch::equal(t0.origin.index_select(0, t0.indices_of(0)),
                           b.origin.index_select(0, b.indices_of(0).slice(0, 0, 150))));
  EXPECT_TRUE(torch::equal(t0.origin.index_select(0, t0.indices_of(1)),
                           b.origin.index_select(0, b.indices_of(1).slice(0, 0, 8))));

  std::string bad = toml;
  bad.replace(bad.find("monitor = \"none\""), 16, "");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[data].val_fraction", "monitor = \"none\"");
  bad = toml;
  bad.replace(bad.find("select = \"first\""), 16, "select = \"last\"");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[data].select", "\"last\"");
  bad = toml;
  bad.replace(bad.find("rows = 8000"), 11, "rows = 99999999");
  EXPECT_ERROR_MENTIONS(run_experiment(load_experiment(dir.write("bad.toml", bad)),
                                       {.out_dir = dir.file("bad"), .progress = false}, log),
                        "[data].rows = 99999999");
}

TEST(ExperimentConfig, EveryShippedExampleLoads) {
  // Every factory string of every shipped config (examples and the benchmark grids the README's
  // tables come from) is built once when it loads.
  int64_t n = 0;
  for (const char* folder : {"examples", "bench"})
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(REBALANCE_TEST_DIR) / ".." / folder)) {
      if (e.path().extension() != ".toml") continue;
      SCOPED_TRACE(e.path().string());
      const auto c = load_experiment(e.path().string());
      EXPECT_FALSE(c.methods.empty());
      ++n;
    }
  EXPECT_GE(n, 12);
}

TEST(ExperimentRunner, SyntheticWeightReachesTheTrainerAndTheResults) {
  TempDir dir;
  const auto cfg = smote_pair_with("synthetic_weight = 0.25");
  const auto c = load_experiment(dir.write("w.toml", cfg));
  ASSERT_EQ(c.methods.size(), 2u);
  EXPECT_EQ(c.methods[0].synthetic_weight, 1.0);
  EXPECT_EQ(c.methods[1].synthetic_weight, 0.25);
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 2);
  const auto rows = read_results(dir.file("out/results.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["spec"]["synthetic_weight"], 1.0);
  EXPECT_EQ(rows[1]["spec"]["synthetic_weight"], 0.25);
  EXPECT_NE(rows[1]["key"].get<std::string>().find("synthetic_weight=0.25"), std::string::npos);
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("synthetic_weight"), std::string::npos);
  // The same data and sampler: only the loss weight differs, and the model with it.
  EXPECT_EQ(rows[0]["train_counts"], rows[1]["train_counts"]);

  // A method without a sampler has nothing to weigh; the weight is a share in [0, 100].
  std::string no_sampler = cfg;
  no_sampler.replace(no_sampler.find("sampler = \"smote:k_neighbors=3\"\nsynthetic"), 31, "");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("ns.toml", no_sampler)), "synthetic_weight", "no sampler");
  std::string negative = cfg;
  negative.replace(negative.find("= 0.25"), 6, "= -1");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("neg.toml", negative)), "synthetic_weight");
}

TEST(ExperimentRunner, LossCountsReachTheTrainerAndTheResults) {
  TempDir dir;
  const auto cfg = smote_pair_with("loss_counts = \"real\"");
  const auto c = load_experiment(dir.write("lc.toml", cfg));
  EXPECT_EQ(c.methods.at(0).loss_counts, "all");
  EXPECT_EQ(c.methods.at(1).loss_counts, "real");
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 2);
  const auto rows = read_results(dir.file("out/results.jsonl"));
  EXPECT_EQ(rows.at(0)["spec"]["loss_counts"], "all");
  EXPECT_EQ(rows[1]["spec"]["loss_counts"], "real");
  // Keyed only when set, so the cells run before the key existed keep theirs.
  EXPECT_NE(rows[1]["key"].get<std::string>().find("|loss_counts=real"), std::string::npos);
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("loss_counts"), std::string::npos);

  std::string no_sampler = cfg;
  no_sampler.replace(no_sampler.find("sampler = \"smote:k_neighbors=3\"\nloss_counts"), 31, "");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("ns.toml", no_sampler)), "loss_counts", "no sampler");
  std::string bad = cfg;
  bad.replace(bad.find("\"real\""), 6, "\"some\"");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "loss_counts", "must be all or real", "some");
}

TEST(ExperimentRunner, MixingReachesTheTrainerAndTheResults) {
  TempDir dir;
  const std::string method = "name = \"Remix\"\nmix = \"remix:kappa=2\"\n";
  const auto rows = run_with_method(dir, method);
  EXPECT_EQ(rows[2]["spec"]["mix"], "remix:kappa=2");
  EXPECT_NE(rows[2]["key"].get<std::string>().find("|mix=remix:kappa=2"), std::string::npos);
  // Methods without mixing keep the keys they had before mixing existed.
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("mix"), std::string::npos);
  EXPECT_NE(rows[0]["metrics"], rows[2]["metrics"]);
  std::string bad = tiny_one_cell() + "[[method]]\n" + method;
  bad.replace(bad.find("remix:kappa=2"), 13, "remix:kappa=0");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[method].mix", "kappa");
}

TEST(ExperimentRunner, AMethodMayTuneItsWeightDecayAndMaxNormWeightBalancingsTwoStages) {
  // Weight balancing (Alshammari et al.): a first stage with its own weight decay (and MaxNorm),
  // the second its wb stage; the [train] table's values for every other method.
  TempDir dir;
  const std::string method = "name = \"WB\"\nweight_decay = 0.005\nmax_norm = 0.5\ndecouple = \"wb:epochs=2\"\n";
  const auto c = load_experiment(dir.write("m.toml", tiny_one_cell() + "[[method]]\n" + method));
  EXPECT_DOUBLE_EQ(c.methods[2].weight_decay, 0.005);
  EXPECT_DOUBLE_EQ(c.methods[2].max_norm, 0.5);
  EXPECT_LT(c.methods[0].weight_decay, 0);
  const auto rows = run_with_method(dir, method);
  EXPECT_EQ(rows[2]["spec"]["weight_decay"], 0.005);
  EXPECT_EQ(rows[2]["spec"]["max_norm"], 0.5);
  EXPECT_EQ(rows[0]["spec"]["weight_decay"], c.train.weight_decay);
  EXPECT_EQ(rows[0]["spec"]["max_norm"], 0.0);
  EXPECT_NE(rows[2]["key"].get<std::string>().find("|weight_decay=0.005|max_norm=0.5"), std::string::npos);
  // Methods without them keep the keys they had before the keys existed.
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("weight_decay"), std::string::npos);
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("max_norm"), std::string::npos);
  EXPECT_NE(rows[0]["metrics"], rows[2]["metrics"]);
  std::string bad = tiny_one_cell() + "[[method]]\n" + method;
  bad.replace(bad.find("max_norm = 0.5"), 14, "max_norm = -2");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[method].max_norm", "got -2");
}

TEST(ExperimentRunner, AMethodMayTrainItsOwnModel) {
  // LDAM's scale is meant for a cosine head (Cao et al.): one method trains on one, the others on [train]'s.
  TempDir dir;
  const std::string method = "name = \"LDAM (cosine head)\"\nloss = \"ldam\"\nmodel = \"mlp:hidden=[8],head=cosine\"\n";
  EXPECT_EQ(load_experiment(dir.write("m.toml", tiny_one_cell() + "[[method]]\n" + method)).methods[2].model,
            "mlp:hidden=[8],head=cosine");
  const auto rows = run_with_method(dir, method);
  EXPECT_EQ(rows[2]["spec"]["model"], "mlp:hidden=[8],head=cosine");
  EXPECT_EQ(rows[0]["spec"]["model"], "logreg");
  EXPECT_NE(rows[2]["key"].get<std::string>().find("|model=mlp:hidden=[8],head=cosine"), std::string::npos);
  EXPECT_EQ(rows[0]["key"].get<std::string>().find("model"), std::string::npos);
  std::string bad = tiny_one_cell() + "[[method]]\n" + method;
  bad.replace(bad.find("head=cosine"), 11, "head=normed");
  EXPECT_ERROR_MENTIONS(load_experiment(dir.write("bad.toml", bad)), "[method].model", "head must be linear or cosine");
}

TEST(ExperimentRunner, GeneratorLossDeferredReweightingMixingAndDecouplingStackInOneMethod) {
  TempDir dir;
  const auto rows = run_with_method(dir, "name = \"Stacked\"\nsampler = \"deepsmote:epochs=2,min_steps=0,batch_size=32,"
                                         "latent=4\"\nloss = \"la:drw_epoch=1\"\nmix = \"remix\"\ndecouple = \"crt:epochs=2\"\n");
  const auto& spec = rows[2]["spec"];
  EXPECT_EQ(spec["sampler"], "deepsmote:epochs=2,min_steps=0,batch_size=32,latent=4");
  EXPECT_EQ(spec["loss"], "la:drw_epoch=1");
  EXPECT_EQ(spec["mix"], "remix");
  EXPECT_EQ(spec["decouple"], "crt:epochs=2");
  // The generator grew the minority before training: the training counts are balanced.
  const auto counts = rows[2]["train_counts"].get<std::vector<int64_t>>();
  EXPECT_EQ(counts[0], counts[1]);
}

TEST(ExperimentRunner, LongTailedResultsHoldManyMediumAndFewShotAccuracy) {
  TempDir dir;
  const auto c = load_experiment(dir.write("lt.toml", R"(name = "lt"
[data]
dataset = "mnist-digits"
long_tail = [10]
[train]
model = "logreg"
epochs = 1
batch_size = 256
monitor = "none"
[run]
seeds = [0]
[[method]]
name = "CE"
)"));
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 1);
  const auto rows = read_results(dir.file("out/results.jsonl"));
  ASSERT_EQ(rows.size(), 1u);
  const auto& m = rows[0]["metrics"];
  for (const char* key : {"many_shot", "medium_shot", "few_shot"}) {
    ASSERT_TRUE(m.contains(key)) << key;
    EXPECT_GE(m[key].get<double>(), 0.0) << key;
    EXPECT_LE(m[key].get<double>(), 1.0) << key;
  }
  // The groups' recalls, weighted by their sizes (3, 4, 3 of 10 classes), average to ACSA.
  const double mean = (3 * m["many_shot"].get<double>() + 4 * m["medium_shot"].get<double>() +
                       3 * m["few_shot"].get<double>()) / 10;
  EXPECT_NEAR(mean, m["acsa"].get<double>(), 1e-9);
}

TEST(ExperimentRunner, ConvolutionalModelsGetGradCamMaps) {
  TempDir dir;
  std::string cfg = kTiny;
  cfg.replace(cfg.find("minority = [8, 30]"), 18, "minority = [30]");
  cfg.replace(cfg.find("model = \"logreg\""), 16, "model = \"lenet\"");
  cfg.replace(cfg.find("seeds = [0, 1]"), 14, "seeds = [0]");
  const auto c = load_experiment(dir.write("g.toml", cfg));
  std::ostringstream log;
  EXPECT_EQ(run_experiment(c, {.out_dir = dir.file("out"), .progress = false}, log).ran, 2);
  for (const char* m : {"Vanilla", "CS"}) {
    const auto path = dir.file(std::string("out/samples/30_") + m + "_gradcam.png");
    ASSERT_TRUE(std::filesystem::exists(path)) << m;
    // 4 + 4 test images, each beside its overlay: 2 rows of 8 RGB 28 x 28 tiles, 2-pixel padding.
    std::ifstream in(path, std::ios::binary);
    std::string head(26, '\0');
    in.read(head.data(), 26);
    const auto be32 = [&](size_t at) {
      return (uint32_t(uint8_t(head[at])) << 24) | (uint32_t(uint8_t(head[at + 1])) << 16) |
             (uint32_t(uint8_t(head[at + 2])) << 8) | uint32_t(uint8_t(head[at + 3]));
    };
    EXPECT_EQ(head.substr(12, 4), "IHDR");
    EXPECT_EQ(be32(16), 8u * 28 + 9 * 2) << m;
    EXPECT_EQ(be32(20), 2u * 28 + 3 * 2) << m;
    EXPECT_EQ(int(head[25]), 2) << "an RGB heat overlay";
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("out/samples/30_") + m + "_rise.png"))) << m;
  }
}
