#include "rebalance/data/idx.hpp"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/ranges.h>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

/// Read up to n bytes; returns how many were read. gzread reads plain files transparently.
size_t read_some(gzFile f, void* buf, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
    const int r = gzread(f, static_cast<char*>(buf) + done, chunk);
    if (r < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      REBALANCE_THROW("{}: corrupt or unreadable data: {}", path, msg ? msg : "unknown zlib error");
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

}  // namespace

at::Tensor read_idx(const std::string& path) {
  REBALANCE_CHECK(std::filesystem::exists(path), "{}: no such file", path);
  REBALANCE_CHECK(std::filesystem::is_regular_file(path), "{}: IDX data is read from a regular file, not a pipe or "
                  "device (save it to a file first)", path);
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  REBALANCE_CHECK(f, "{}: cannot open", path);
  unsigned char magic[4] = {0, 0, 0, 0};
  const size_t got = read_some(f.get(), magic, 4, path);
  REBALANCE_CHECK(got > 0, "{}: empty file, expected IDX data", path);
  REBALANCE_CHECK(got == 4 && magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && magic[3] >= 1 && magic[3] <= 4,
                  "{}: wrong magic {:02x}{:02x}{:02x}{:02x}: expected 000008NN (unsigned-byte IDX with "
                  "1-4 dimensions)", path, magic[0], magic[1], magic[2], magic[3]);
  const int ndim = magic[3];
  constexpr int64_t kMaxBytes = int64_t(1) << 34;  // 16 GiB: far past any real IDX file
  std::vector<int64_t> shape(ndim);
  int64_t nonzero_product = 1;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    REBALANCE_CHECK(read_some(f.get(), b, 4, path) == 4, "{}: truncated header (dimension {} of {})",
                    path, i + 1, ndim);
    shape[i] = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    // The non-zero product bounds the strides of an empty tensor as well as the bytes to read.
    if (shape[i] != 0 && __builtin_mul_overflow(nonzero_product, shape[i], &nonzero_product))
      nonzero_product = kMaxBytes + 1;
    REBALANCE_CHECK(nonzero_product <= kMaxBytes, "{}: implausible IDX shape ({}): more than {} bytes", path,
                    fmt::join(std::vector<int64_t>(shape.begin(), shape.begin() + i + 1), ", "), kMaxBytes);
  }
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  const size_t want = empty ? 0 : static_cast<size_t>(nonzero_product);
  if (gzdirect(f.get())) {
    // A plain file: its size says whether the data is there before anything is allocated.
    std::error_code ec;
    const auto file_size = std::filesystem::file_size(path, ec);
    const size_t header = 4 + 4 * static_cast<size_t>(ndim);
    REBALANCE_CHECK(ec || file_size - header >= want,
                    "{}: truncated: header promises {} bytes of data, found {}", path, want, file_size - header);
  }
  if (want == 0) return torch::empty(shape, torch::kUInt8);
  // Read in chunks, so a gzip stream (whose size is unknown until it ends) that promises more
  // than it holds costs only what it holds; the tensor takes the buffer without a copy.
  auto* buffer = new std::vector<uint8_t>();
  std::unique_ptr<std::vector<uint8_t>> owner(buffer);
  constexpr size_t kChunk = size_t(1) << 24;
  while (buffer->size() < want) {
    const size_t before = buffer->size();
    const size_t step = std::min(want - before, std::max(kChunk, before));
    buffer->resize(before + step);
    const size_t n = read_some(f.get(), buffer->data() + before, step, path);
    buffer->resize(before + n);
    REBALANCE_CHECK(n == step, "{}: truncated: header promises {} bytes of data, found {}", path, want,
                    buffer->size());
  }
  owner.release();
  auto t = torch::from_blob(
      buffer->data(), shape, [buffer](void*) { delete buffer; }, torch::TensorOptions().dtype(torch::kUInt8));
  return t;
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                         std::vector<std::string> class_names, std::string name) {
  const auto images = read_idx(images_path);
  const auto labels = read_idx(labels_path);
  REBALANCE_CHECK(images.dim() == 3, "{}: expected images [N, H, W], got {} dimensions", images_path, images.dim());
  REBALANCE_CHECK(labels.dim() == 1, "{}: expected labels [N], got {} dimensions", labels_path, labels.dim());
  REBALANCE_CHECK(images.size(0) == labels.size(0), "{} holds {} images but {} holds {} labels", images_path,
                  images.size(0), labels_path, labels.size(0));
  auto x = images.to(torch::kFloat32).div_(255.0f).unsqueeze(1);
  auto y = labels.to(torch::kInt64);
  if (!class_names.empty() && y.numel()) {
    const auto hi = y.max().item<int64_t>();
    REBALANCE_CHECK(hi < static_cast<int64_t>(class_names.size()), "{}: label {} but only {} classes",
                    labels_path, hi, class_names.size());
  }
  return Dataset::from_tensors(x, y, std::move(class_names), std::move(name));
}

}  // namespace rebalance
