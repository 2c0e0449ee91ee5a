// Image files as a data set: a folder DIR/<class>/*.png|jpg (torchvision's ImageFolder layout) or
// a CSV of path,label, decoded (libpng, libjpeg-turbo) to [N, C, H, W] float32 in [0, 1], resized
// to one size, grey or RGB. Folders larger than memory are decoded once, batch by batch, into a
// memory-mapped scratch file that the kernel pages in and out as training reads it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

struct ImageFolderOptions {
  /// {H, W} every image is resized to (area averaging down, bilinear up); empty: every image must
  /// have the first image's size, and one that differs is a bad image.
  std::vector<int64_t> size;
  /// "auto": every image must have the first image's channel count (1 or 3); "grey" or "rgb":
  /// every image is converted (RGB to grey by libpng's / libjpeg's luminance, grey to RGB by copies).
  std::string channels = "auto";
  /// "fail": a corrupt, unreadable or mismatched image stops the load with its path and reason;
  /// "skip": it is left out, and named in ImageFolder::skipped().
  std::string on_bad_image = "fail";
  /// "memory", "disk" (a memory-mapped scratch file in $TMPDIR, removed when the data set is
  /// released), or "auto": disk when the decoded images would exceed half the available memory.
  std::string storage = "auto";
};

/// The decoded pixels of one file, interleaved [H, W, C] bytes.
struct DecodedImage {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

/// Decode a PNG or JPEG (told by its first bytes). `channels`: 0 keeps the file's (1 or 3; alpha
/// dropped by compositing on black), 1 or 3 converts. Error naming the path and the decoder's
/// reason for a missing, truncated or corrupt file.
DecodedImage decode_image(const std::string& path, int channels = 0);

/// True when `path` is a directory, or a CSV whose header has the columns path and label.
bool is_image_source(const std::string& path);

/// An index of labelled image files; nothing is decoded until load().
///
///   ImageFolder folder("whales/", {.size = {64, 64}, .channels = "rgb"});
///   Dataset d = folder.load(std::cerr);   // [N, 3, 64, 64] float32, classes = folder names
class ImageFolder {
 public:
  /// Index DIR/<class>/... (sub-folders searched recursively, files in sorted order, classes
  /// sorted, numerically when every name is a number) or a CSV "path,label" (paths relative to
  /// the CSV's folder). Files without a .png/.jpg/.jpeg extension are ignored and counted.
  /// Errors: no class folders, a class folder without images, an unknown option value.
  ImageFolder(std::string path, ImageFolderOptions options = {});

  int64_t size() const { return static_cast<int64_t>(files_.size()); }
  const std::vector<std::string>& files() const { return files_; }
  const std::vector<int64_t>& labels() const { return labels_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  int64_t ignored_files() const { return ignored_; }
  const std::string& path() const { return path_; }

  /// Decode every image (in parallel) into one data set: x [N, C, H, W] float32 in [0, 1],
  /// y from the folders, name the path. Skipped images are reported on `log` and in skipped().
  Dataset load(std::ostream& log);
  /// Decode `rows` (indices into files()) into [B, C, H, W] float32 at the size and channels the
  /// last load() settled; a bad image throws whatever on_bad_image says.
  at::Tensor load_rows(const std::vector<int64_t>& rows) const;
  /// "path: reason" of each image load() left out.
  const std::vector<std::string>& skipped() const { return skipped_; }
  /// The files of the rows load() kept, in row order (for provenance and for writing back).
  const std::vector<std::string>& kept_files() const { return kept_; }

 private:
  std::string path_;
  ImageFolderOptions options_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  std::vector<std::string> class_names_;
  int64_t ignored_ = 0;
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  std::vector<std::string> skipped_, kept_;
};

/// Class counts as a long-tail profile: how many classes hold 1, 2-4, 5-9, 10-49, 50+ rows, the
/// head and tail classes, and the share of rows in the largest 20% of classes.
std::string long_tail_profile(const std::vector<int64_t>& counts, const std::vector<std::string>& names);

}  // namespace rebalance
