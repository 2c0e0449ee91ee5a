// Level 1: image folders: decoding against the pixels written, the folder layout, resizing,
// bad images (refused or skipped, by path), disk-backed storage and the long-tail profile.
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "../test_util.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/data/image_folder.hpp"
#include "rebalance/data/registry.hpp"
#include "rebalance/experiment/png.hpp"

using namespace rebalance;
using rebalance::testing::TempDir;
namespace fs = std::filesystem;

namespace {

/// [C, H, W] image with pixel values k/255 (exactly representable after the 8-bit round trip).
at::Tensor pattern(int64_t c, int64_t h, int64_t w, int64_t seed) {
  return (torch::arange(c * h * w, torch::kInt64).add(seed * 7).remainder(256).to(torch::kFloat32) / 255.0f).view({c, h, w});
}

void put(const TempDir& dir, const std::string& rel, const at::Tensor& img) {
  fs::create_directories(fs::path(dir.file(rel)).parent_path());
  write_png(dir.file(rel), img);
}

}  // namespace

TEST(ImageFolder, DecodesTheWrittenPixelsWithClassesFromFolders) {
  TempDir d;
  put(d, "imgs/whale_b/1.png", pattern(1, 4, 5, 1));
  put(d, "imgs/whale_a/2.png", pattern(1, 4, 5, 2));
  put(d, "imgs/whale_a/sub/3.png", pattern(1, 4, 5, 3));  // sub-folders belong to their class
  d.write("imgs/whale_a/notes.txt", "not an image");
  d.write("imgs/README", "ignored too");
  ImageFolder folder(d.file("imgs"));
  EXPECT_EQ(folder.class_names(), (std::vector<std::string>{"whale_a", "whale_b"}));
  EXPECT_EQ(folder.size(), 3);
  EXPECT_EQ(folder.ignored_files(), 2);
  std::ostringstream log;
  const auto data = folder.load(log);
  EXPECT_EQ(data.feature_shape(), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(data.class_counts(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(torch::equal(data.x[0], pattern(1, 4, 5, 2)));  // whale_a/2.png sorts before whale_a/sub/3.png
  EXPECT_TRUE(torch::equal(data.x[1], pattern(1, 4, 5, 3)));
  EXPECT_TRUE(torch::equal(data.x[2], pattern(1, 4, 5, 1)));
  EXPECT_TRUE(torch::equal(folder.load_rows({2, 0}), torch::stack({data.x[2], data.x[0]})));
  // RGB, and grey/RGB conversion on request.
  put(d, "rgb/a/x.png", pattern(3, 2, 2, 0));
  put(d, "rgb/b/y.png", pattern(3, 2, 2, 9));
  const auto rgb = load_dataset(d.file("rgb"));
  EXPECT_TRUE(torch::equal(rgb.x[0], pattern(3, 2, 2, 0)));
  const auto grey = load_dataset(d.file("rgb"), {}, {.channels = "grey"});
  EXPECT_EQ(grey.feature_shape(), (std::vector<int64_t>{1, 2, 2}));
  // Numeric class names sort as numbers; a CSV of path,label reads the same files.
  put(d, "num/10/a.png", pattern(1, 2, 2, 0));
  put(d, "num/9/b.png", pattern(1, 2, 2, 1));
  EXPECT_EQ(ImageFolder(d.file("num")).class_names(), (std::vector<std::string>{"9", "10"}));
  const auto csv = d.write("list.csv", "path,label\nnum/10/a.png,ten\nnum/9/b.png,nine\n");
  const auto listed = load_dataset(csv);
  EXPECT_EQ(listed.class_names, (std::vector<std::string>{"nine", "ten"}));
  EXPECT_TRUE(torch::equal(listed.x[0], pattern(1, 2, 2, 0)));
  EXPECT_EQ(listed.y[0].item<int64_t>(), 1);
}

TEST(ImageFolder, ResizesAndRefusesMismatchedImagesByPath) {
  TempDir d;
  put(d, "f/a/1.png", torch::ones({1, 4, 4}));
  put(d, "f/b/2.png", torch::zeros({1, 8, 8}));
  EXPECT_ERROR_MENTIONS(load_dataset(d.file("f")), "2.png", "8x8", "4x4", "--image-size");
  const auto r = load_dataset(d.file("f"), {}, {.size = {2, 2}});
  EXPECT_EQ(r.feature_shape(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_TRUE(torch::equal(r.x[0], torch::ones({1, 2, 2})));
  // Area averaging: a 4x4 checkerboard of 0 and 1 becomes 0.5 at 2x2.
  put(d, "c/a/1.png", (torch::arange(16).view({4, 4}).remainder(2).add(torch::arange(4).view({4, 1})).remainder(2))
                          .to(torch::kFloat32).view({1, 4, 4}));
  put(d, "c/b/1.png", torch::zeros({1, 4, 4}));
  EXPECT_TRUE(torch::allclose(load_dataset(d.file("c"), {}, {.size = {2, 2}}).x[0], torch::full({1, 2, 2}, 0.5f)));
  put(d, "g/a/1.png", torch::ones({1, 2, 2}));
  put(d, "g/b/2.png", torch::ones({3, 2, 2}));
  EXPECT_ERROR_MENTIONS(load_dataset(d.file("g")), "2.png", "3 channel(s)", "--image-channels");
  EXPECT_EQ(load_dataset(d.file("g"), {}, {.channels = "rgb"}).feature_shape(), (std::vector<int64_t>{3, 2, 2}));
}

TEST(ImageFolder, CorruptImagesFailOrAreSkippedByName) {
  TempDir d;
  put(d, "f/a/good1.png", torch::ones({1, 3, 3}));
  put(d, "f/a/good2.png", torch::zeros({1, 3, 3}));
  put(d, "f/b/good3.png", torch::full({1, 3, 3}, 0.2f));
  const auto bytes = read_file(d.file("f/a/good1.png"));
  d.write("f/b/truncated.png", bytes.substr(0, bytes.size() / 2));
  d.write("f/b/fake.jpg", "this is text");
  d.write("f/b/empty.png", "");
  // The first bad file in the folder's order is named.
  EXPECT_ERROR_MENTIONS(load_dataset(d.file("f")), "empty.png", "empty file", "--on-bad-image skip");
  std::ostringstream log;
  ImageFolder folder(d.file("f"), {.on_bad_image = "skip"});
  const auto data = folder.load(log);
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(folder.skipped().size(), 3u);
  EXPECT_NE(log.str().find("fake.jpg"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("empty.png"), std::string::npos);
  EXPECT_NE(log.str().find("truncated.png: not a readable PNG"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("3 of 6 images"), std::string::npos);
  EXPECT_TRUE(torch::equal(data.x[2], torch::full({1, 3, 3}, 0.2f).mul(255).round().div(255)));
  EXPECT_EQ(folder.kept_files().back(), d.file("f/b/good3.png"));
  EXPECT_ERROR_MENTIONS(decode_image(d.file("f/b/fake.jpg")), "fake.jpg", "neither a PNG nor a JPEG");
  EXPECT_ERROR_MENTIONS(decode_image(d.file("missing.png")), "missing.png");
  // A header claiming 10^6 x 10^6 pixels is refused before anything is allocated.
  const auto huge = (std::filesystem::path(REBALANCE_TEST_DIR) / ".." / "fuzz" / "regressions" / "image" /
                     "huge_dimensions.png").string();
  EXPECT_ERROR_MENTIONS(decode_image(huge), "huge_dimensions.png", "1000000x1000000", "more than one image");
}

TEST(ImageFolder, LayoutErrorsAndDiskStorage) {
  TempDir d;
  fs::create_directories(d.file("empty_root"));
  EXPECT_ERROR_MENTIONS(ImageFolder(d.file("empty_root")), "no class folders");
  put(d, "f/a/1.png", torch::ones({1, 2, 2}));
  fs::create_directories(d.file("f/b"));
  d.write("f/b/readme.txt", "x");
  EXPECT_ERROR_MENTIONS(ImageFolder(d.file("f")), "class folder \"b\" holds no images");
  EXPECT_ERROR_MENTIONS(ImageFolder(d.file("f"), {.on_bad_image = "maybe"}), "skip or fail");
  put(d, "f/b/2.png", torch::zeros({1, 2, 2}));
  const auto mem = load_dataset(d.file("f"), {}, {.storage = "memory"});
  const auto disk = load_dataset(d.file("f"), {}, {.storage = "disk"});
  EXPECT_TRUE(torch::equal(mem.x, disk.x));
  const auto csv = d.write("bad.csv", "path,label\nf/a/1.png\n");
  EXPECT_ERROR_MENTIONS(ImageFolder{csv}, "bad.csv:2", "path,label");
}

TEST(ImageFolder, LongTailProfile) {
  std::vector<int64_t> counts = {120, 60, 12, 7, 3, 1, 1, 1, 1, 1};
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back(fmt::format("c{}", i));
  const auto text = long_tail_profile(counts, names);
  EXPECT_NE(text.find("10 classes, 207 rows"), std::string::npos) << text;
  EXPECT_NE(text.find("     1 row       5 classes ( 50.0%)"), std::string::npos) << text;
  EXPECT_NE(text.find("largest 2 classes (20%) hold 87.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("head: c0=120, c1=60"), std::string::npos) << text;
}
