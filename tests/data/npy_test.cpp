#include "rebalance/data/npy.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "../test_util.hpp"
#include "rebalance/core/atomic_file.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;

TEST(Npy, RoundTripsEverySupportedDtype) {
  TempDir dir;
  const std::vector<at::Tensor> tensors = {
      torch::rand({3, 4}), torch::rand({5}, torch::kFloat64), torch::arange(6, torch::kInt64).reshape({2, 3}),
      torch::arange(4, torch::kInt32), torch::arange(7, torch::kUInt8), torch::tensor({true, false}),
      torch::rand({2, 1, 3, 3}), torch::zeros({0, 3})};
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto path = dir.file(fmt::format("t{}.npy", i));
    write_npy(path, tensors[i]);
    const auto back = read_npy(path);
    EXPECT_EQ(back.scalar_type(), tensors[i].scalar_type()) << i;
    EXPECT_EQ(back.sizes(), tensors[i].sizes()) << i;
    EXPECT_TRUE(torch::equal(back, tensors[i])) << i;
  }
}

TEST(Npy, ReadsFortranOrderAndVersion2Headers) {
  TempDir dir;
  // np.asfortranarray(np.arange(6, dtype='<i8').reshape(2, 3)) saved with format 2.0.
  std::string header = "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }";
  header.append((64 - (12 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((len >> (8 * i)) & 0xff);
  bytes += header;
  const int64_t column_major[6] = {0, 3, 1, 4, 2, 5};
  bytes.append(reinterpret_cast<const char*>(column_major), sizeof(column_major));
  const auto t = read_npy(dir.write("f.npy", bytes));
  EXPECT_TRUE(torch::equal(t, torch::arange(6, torch::kInt64).reshape({2, 3})));
}

TEST(NpyErrors, ClearMessages) {
  TempDir dir;
  EXPECT_ERROR_MENTIONS(read_npy(dir.file("missing.npy")), "missing.npy", "no such file");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("empty.npy", "")), "empty file");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("bad.npy", "PK\x03\x04 not numpy at all")), "bad.npy", "wrong magic");
  write_npy(dir.file("ok.npy"), torch::rand({100}));
  auto bytes = read_file(dir.file("ok.npy"));
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("cut.npy", bytes.substr(0, bytes.size() - 10))), "cut.npy", "truncated");
  auto c16 = bytes;
  c16.replace(c16.find("<f4"), 3, "<c8");
  EXPECT_ERROR_MENTIONS(read_npy(dir.write("c.npy", c16)), "c.npy", "unsupported .npy dtype '<c8'", "float32");
  EXPECT_ERROR_MENTIONS(write_npy(dir.file("h.npy"), torch::rand({2}, torch::kFloat16)), "Half");
}

TEST(Npy, WriteIsAtomic) {
  TempDir dir;
  write_npy(dir.file("a.npy"), torch::rand({10}));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);  // no temporary left behind
}

TEST(Npy, BoolBytesOtherThanZeroAndOneReadAsTrue) {
  // numpy shows any non-zero '|b1' byte as True; the tensor must hold a valid bool (1), not 2.
  TempDir dir;
  write_npy(dir.file("b.npy"), torch::tensor({true, false, true}));
  auto bytes = read_file(dir.file("b.npy"));
  bytes[bytes.size() - 3] = 2;
  bytes[bytes.size() - 1] = static_cast<char>(255);
  const auto t = read_npy(dir.write("b2.npy", bytes));
  ASSERT_EQ(t.scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(t, torch::tensor({true, false, true})));
  EXPECT_EQ(t.to(torch::kLong).sum().item<int64_t>(), 2);
}
