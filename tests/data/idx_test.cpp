#include "rebalance/data/idx.hpp"

#include <torch/torch.h>
#include <zlib.h>

#include <cstring>

#include "../test_util.hpp"
#include "rebalance/data/registry.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

namespace {

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string s = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int b = 3; b >= 0; --b) s += static_cast<char>((d >> (8 * b)) & 0xff);
  s.append(data.begin(), data.end());
  return s;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST(Idx, ReadsPlainAndGzip) {
  TempDir dir;
  std::vector<uint8_t> pixels(2 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  const auto bytes = idx_bytes({2, 2, 3}, pixels);
  const auto plain = read_idx(dir.write("img.idx", bytes));
  write_gz(dir.file("img.idx.gz"), bytes);
  const auto gz = read_idx(dir.file("img.idx.gz"));
  EXPECT_EQ(plain.sizes(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_TRUE(torch::equal(plain, gz));
  EXPECT_EQ(plain[1][1][2].item<uint8_t>(), 220);
}

TEST(Idx, ImagesAndLabelsBecomeADataset) {
  TempDir dir;
  write_gz(dir.file("i.gz"), idx_bytes({3, 2, 2}, std::vector<uint8_t>(12, 255)));
  write_gz(dir.file("l.gz"), idx_bytes({3}, {2, 0, 1}));
  const auto d = load_idx_dataset(dir.file("i.gz"), dir.file("l.gz"), {"a", "b", "c"}, "tiny");
  EXPECT_EQ(d.x.sizes(), (std::vector<int64_t>{3, 1, 2, 2}));
  EXPECT_FLOAT_EQ(d.x.max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(d.y, torch::tensor({2, 0, 1}, torch::kInt64)));
}

TEST(IdxErrors, WrongMagicTruncatedMismatched) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_idx(dir.file("none.gz")), "none.gz", "no such file");
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("empty", "")), "empty file");
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("magic", std::string("\x00\x00\x0d\x03rest", 8))), "magic",
                        "wrong magic 00000d03");
  auto bytes = idx_bytes({10, 28, 28}, std::vector<uint8_t>(10 * 28 * 28, 1));
  write_gz(dir.file("cut.gz"), bytes.substr(0, bytes.size() - 100));
  EXPECT_ERROR_MENTIONS(read_idx(dir.file("cut.gz")), "cut.gz", "truncated", "7840 bytes", "found 7740");
  write_gz(dir.file("i.gz"), idx_bytes({3, 1, 1}, {1, 2, 3}));
  write_gz(dir.file("l.gz"), idx_bytes({2}, {0, 1}));
  EXPECT_ERROR_MENTIONS(load_idx_dataset(dir.file("i.gz"), dir.file("l.gz"), {}, "x"), "3 images", "2 labels");
}

TEST(Idx, RealFashionMnistFiles) {
  const auto train = load_builtin("fashion-mnist");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(train.x.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  for (auto n : train.class_counts()) EXPECT_EQ(n, 6000);
  EXPECT_EQ(train.class_names[6], "Shirt");
  const auto test = load_builtin("fashion-mnist:split=test");
  EXPECT_EQ(test.size(), 10000);
  EXPECT_GE(test.x.min().item<float>(), 0.0f);
  EXPECT_LE(test.x.max().item<float>(), 1.0f);
}

// Headers that promise what no file holds: refused before anything near their size is allocated
// (fuzz/regressions/idx/ holds the inputs the fuzzer found).
TEST(IdxErrors, ImplausibleShapesAreRefusedBeforeAllocating) {
  TempDir dir;
  // 0xffffffff * 0xffffffff overflows int64 when multiplied naively.
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("overflow", idx_bytes({0xffffffffu, 0xffffffffu}, {}))), "overflow",
                        "implausible IDX shape", "4294967295, 4294967295");
  // No images, but each one 2589746533 x 4278190080 bytes: refused, not a tensor with absurd strides.
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("strides", idx_bytes({0, 2589746533u, 4278190080u}, {}))), "strides",
                        "implausible IDX shape");
  // 4 GiB promised by an 8-byte plain file, and by a tiny gzip stream.
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("big", idx_bytes({0xffffffffu}, {}))), "big", "truncated",
                        "4294967295 bytes", "found 0");
  write_gz(dir.file("big.gz"), idx_bytes({0xffffffffu}, {1, 2, 3}));
  EXPECT_ERROR_MENTIONS(read_idx(dir.file("big.gz")), "big.gz", "truncated", "4294967295 bytes", "found 3");
  // A plain file one byte short names both counts.
  EXPECT_ERROR_MENTIONS(read_idx(dir.write("short", idx_bytes({2, 3}, {1, 2, 3, 4, 5}))), "short", "6 bytes",
                        "found 5");
  // Zero images of a sane size is a valid, empty array.
  EXPECT_EQ(read_idx(dir.write("none", idx_bytes({0, 28, 28}, {}))).sizes(), (std::vector<int64_t>{0, 28, 28}));
}

TEST(Idx, ReadsGzipLargerThanOneChunk) {
  // More than the reader's 16 MiB first chunk, so the buffer grows while the stream is read.
  TempDir dir;
  const uint32_t n = 25000;
  std::vector<uint8_t> pixels(size_t(n) * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 + i / 784);
  write_gz(dir.file("many.gz"), idx_bytes({n, 28, 28}, pixels));
  const auto t = read_idx(dir.file("many.gz"));
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{n, 28, 28}));
  EXPECT_EQ(std::memcmp(t.data_ptr(), pixels.data(), pixels.size()), 0);
}
