#include "rebalance/experiment/png.hpp"

#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// A chunk's CRC covers its type and data, not its length (PNG spec, section 5.3).
void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out += data;
  const auto crc =
      ::crc32(0L, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
  put_u32(out, static_cast<uint32_t>(crc));
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  return static_cast<uint8_t>(pb <= pc ? b : c);
}

// Each row gets the filter whose output has the smallest sum of absolute (signed) bytes, the
// heuristic the PNG spec recommends (section 12.8): it makes smooth images deflate far better
// than no filtering at all.
std::string filter_rows(const uint8_t* pixels, int64_t height, int64_t row_bytes, int64_t bpp) {
  std::string out;
  out.reserve(static_cast<size_t>(height * (row_bytes + 1)));
  const std::vector<uint8_t> zero(static_cast<size_t>(row_bytes), 0);
  std::array<std::vector<uint8_t>, 5> candidates;
  for (auto& c : candidates) c.resize(static_cast<size_t>(row_bytes));
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = pixels + y * row_bytes;
    const uint8_t* up = y > 0 ? row - row_bytes : zero.data();
    for (int64_t i = 0; i < row_bytes; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = up[i], c = i >= bpp ? up[i - bpp] : 0;
      candidates[0][i] = row[i];
      candidates[1][i] = static_cast<uint8_t>(row[i] - a);
      candidates[2][i] = static_cast<uint8_t>(row[i] - b);
      candidates[3][i] = static_cast<uint8_t>(row[i] - (a + b) / 2);
      candidates[4][i] = static_cast<uint8_t>(row[i] - paeth(a, b, c));
    }
    size_t best = 0;
    int64_t best_cost = -1;
    for (size_t f = 0; f < candidates.size(); ++f) {
      int64_t cost = 0;
      for (const uint8_t v : candidates[f]) cost += v < 128 ? v : 256 - v;
      if (best_cost < 0 || cost < best_cost) best = f, best_cost = cost;
    }
    out.push_back(static_cast<char>(best));
    out.append(reinterpret_cast<const char*>(candidates[best].data()), candidates[best].size());
  }
  return out;
}

/// [C, H, W] or [H, W] floating point -> [H, W, C] uint8, contiguous, on the CPU.
at::Tensor to_pixels(const at::Tensor& image, const char* who) {
  REBALANCE_CHECK(image.defined(), "{}: undefined image tensor", who);
  REBALANCE_CHECK(image.dim() == 2 || image.dim() == 3, "{}: expected an image [C, H, W] or [H, W], got {} dims {}",
                  who, image.dim(), image.sizes());
  REBALANCE_CHECK(at::isFloatingType(image.scalar_type()), "{}: expected a floating point image in [0, 1], got {}", who,
                  c10::toString(image.scalar_type()));
  const auto chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  const int64_t c = chw.size(0), h = chw.size(1), w = chw.size(2);
  REBALANCE_CHECK(c == 1 || c == 3, "{}: expected 1 (grey) or 3 (RGB) channels, got {} (shape {})", who, c,
                  image.sizes());
  REBALANCE_CHECK(h > 0 && w > 0, "{}: empty image of shape {}", who, image.sizes());
  REBALANCE_CHECK(h < (int64_t(1) << 31) && w < (int64_t(1) << 31), "{}: image of shape {} is too large for PNG", who,
                  image.sizes());
  const auto cpu = chw.detach().to(at::kCPU, at::kFloat);
  REBALANCE_CHECK(at::isfinite(cpu).all().item<bool>(), "{}: image holds NaN or infinite values", who);
  return cpu.clamp(0.0, 1.0).mul(255.0).round().to(at::kByte).permute({1, 2, 0}).contiguous();
}

std::string encode_pixels(const at::Tensor& hwc) {
  const int64_t h = hwc.size(0), w = hwc.size(1), c = hwc.size(2);
  const auto raw = filter_rows(hwc.data_ptr<uint8_t>(), h, w * c, c);
  uLongf size = ::compressBound(static_cast<uLong>(raw.size()));
  std::string deflated(size, '\0');
  const int rc = ::compress2(reinterpret_cast<Bytef*>(deflated.data()), &size,
                             reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
  REBALANCE_CHECK(rc == Z_OK, "PNG: zlib compress2 failed with code {}", rc);
  deflated.resize(size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  put_u32(header, static_cast<uint32_t>(w));
  put_u32(header, static_cast<uint32_t>(h));
  header.push_back(8);                  // bit depth
  header.push_back(c == 1 ? 0 : 2);     // colour type: grey or RGB
  header.append(std::string(3, '\0'));  // deflate, adaptive filtering, no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", deflated);
  put_chunk(png, "IEND", "");
  return png;
}

void save(const std::string& path, const std::string& bytes) {
  write_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

}  // namespace

std::string encode_png(const at::Tensor& image) { return encode_pixels(to_pixels(image, "encode_png")); }

void write_png(const std::string& path, const at::Tensor& image) {
  save(path, encode_pixels(to_pixels(image, "write_png")));
}

void write_image_grid_png(const std::string& path, const at::Tensor& images, int64_t columns, int64_t padding) {
  REBALANCE_CHECK(images.defined() && images.dim() == 4, "write_image_grid_png: expected images [N, C, H, W], got {}",
                  images.defined() ? fmt::format("{} dims {}", images.dim(), images.sizes()) : "undefined");
  REBALANCE_CHECK(images.size(0) > 0, "write_image_grid_png: no images (shape {})", images.sizes());
  REBALANCE_CHECK(columns >= 1, "write_image_grid_png: columns must be >= 1, got {}", columns);
  REBALANCE_CHECK(padding >= 0, "write_image_grid_png: padding must be >= 0, got {}", padding);
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  REBALANCE_CHECK(at::isFloatingType(images.scalar_type()),
                  "write_image_grid_png: expected floating point images in [0, 1], got {}",
                  c10::toString(images.scalar_type()));
  REBALANCE_CHECK(c == 1 || c == 3, "write_image_grid_png: expected 1 (grey) or 3 (RGB) channels, got {} (shape {})", c,
                  images.sizes());
  const int64_t cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  // White separators: the digits and clothes of MNIST-like data sit on black, so black padding
  // would merge neighbouring tiles.
  auto grid = at::ones({c, rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding}, at::kFloat);
  const auto src = images.detach().to(at::kCPU, at::kFloat);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = padding + (i / cols) * (h + padding), left = padding + (i % cols) * (w + padding);
    grid.narrow(1, top, h).narrow(2, left, w).copy_(src[i]);
  }
  save(path, encode_pixels(to_pixels(grid, "write_image_grid_png")));
}

}  // namespace rebalance
