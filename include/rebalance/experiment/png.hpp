// PNG files from image tensors: single images and grids of samples (real next to synthetic), so
// the report can show what a generator or sampler produced. Encoded with zlib, written atomically.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace rebalance {

/// Write one 8-bit grey (C=1) or RGB (C=3) PNG. Values are clamped to [0, 1] and rounded to
/// 0..255; NaN or infinite values are refused.
/// @param image [C, H, W] or [H, W] floating point, C = 1 or 3, on any device
///
///     write_png("digit.png", x[0].reshape({1, 28, 28}));
void write_png(const std::string& path, const at::Tensor& image);

/// Tile `images` row by row, `columns` per row (fewer if there are fewer images), `padding` white
/// pixels between tiles and around the border, and write the grid as one PNG.
/// @param images [N, C, H, W] floating point in [0, 1], C = 1 or 3, N >= 1
///
///     write_image_grid_png(dir + "/samples/smote.png", synthetic.x.reshape({-1, 1, 28, 28}), 8);
void write_image_grid_png(const std::string& path, const at::Tensor& images, int64_t columns, int64_t padding = 2);

/// The PNG bytes `write_png` writes (for callers that embed the image instead of saving it).
std::string encode_png(const at::Tensor& image);

}  // namespace rebalance
