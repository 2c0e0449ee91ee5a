// A many-class long tail written as an image folder, seed 002's shape (thousands of whales, most
// with one photograph) built from real images: each class of a data set split into visual
// sub-classes by k-means, then a long-tailed number of training images per sub-class and a
// fixed number of test images each.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "rebalance/data/dataset.hpp"

namespace rebalance {

struct LongTailFolderOptions {
  int64_t subclasses = 20;      ///< k-means clusters per source class (pixels, k-means++ seeded)
  int64_t max_per_class = 40;   ///< training images of the largest sub-class
  double singletons = 0.5;      ///< share of sub-classes with one training image
  int64_t test_per_class = 5;   ///< test images of every sub-class (held out, never in train/)
  uint64_t seed = 0;
};

struct LongTailFolderSummary {
  int64_t classes = 0, train_images = 0, test_images = 0, singleton_classes = 0, dropped_classes = 0;
};

/// Write OUT/train/<class>/<row>.png and OUT/test/<class>/<row>.png from `source` (images in
/// [0, 1]). Sub-classes are named "<source class>.<k>" ('/' and spaces made '-'); sub-classes with
/// fewer than test_per_class + 1 images are dropped. Training counts: the sub-classes in a seeded
/// order, the first (1 - singletons) share decaying exponentially from max_per_class to 2, the rest
/// with 1 image (capped by what each sub-class holds). The folder is written beside OUT and
/// renamed into place; an existing OUT is refused.
LongTailFolderSummary make_longtail_folder(const Dataset& source, const LongTailFolderOptions& o,
                                           const std::string& out, std::ostream& log);

}  // namespace rebalance
