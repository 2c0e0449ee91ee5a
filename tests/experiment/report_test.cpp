#include "rebalance/experiment/report.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "rebalance/core/atomic_file.hpp"
#include "rebalance/experiment/png.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using rebalance::testing::TempDir;

namespace {

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

struct Png {
  uint32_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  ///< [H, W, C] row-major
  std::set<int> filters;        ///< the row filter types seen
  uint8_t at(uint32_t y, uint32_t x, int c = 0) const { return pixels[(size_t(y) * width + x) * channels + c]; }
};

// An independent decoder (8-bit grey/RGB, no interlace): chunk CRCs, zlib's uncompress, and the
// five row filters of the PNG spec, so the writer is checked against the format, not itself.
Png decode_png(const std::string& bytes) {
  Png png;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  bool ended = false;
  for (size_t pos = 8; pos + 12 <= bytes.size() && !ended;) {
    const uint32_t length = be32(bytes, pos);
    const std::string type = bytes.substr(pos + 4, 4), data = bytes.substr(pos + 8, length);
    const uint32_t crc = be32(bytes, pos + 8 + length);
    EXPECT_EQ(crc, uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + pos + 4), length + 4))) << type;
    if (type == "IHDR") {
      png.width = be32(data, 0), png.height = be32(data, 4);
      EXPECT_EQ(data[8], 8);  // bit depth
      png.channels = data[9] == 0 ? 1 : data[9] == 2 ? 3 : 0;
      EXPECT_NE(png.channels, 0) << "colour type " << int(data[9]);
      EXPECT_EQ(data.substr(10, 3), std::string(3, '\0'));
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
    }
    pos += 12 + length;
  }
  EXPECT_TRUE(ended) << "no IEND chunk";
  const size_t stride = size_t(png.width) * png.channels;
  std::vector<uint8_t> raw(png.height * (stride + 1));
  uLongf raw_size = raw.size();
  EXPECT_EQ(::uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(raw_size, raw.size());
  png.pixels.assign(png.height * stride, 0);
  const int bpp = png.channels;
  for (size_t y = 0; y < png.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    png.filters.insert(filter);
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &png.pixels[y * stride];
    const uint8_t* up = y > 0 ? out - stride : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= size_t(bpp) ? out[i - bpp] : 0, b = up ? up[i] : 0,
                c = up && i >= size_t(bpp) ? up[i - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          ADD_FAILURE() << "row " << y << ": bad filter " << int(filter);
          return png;
      }
      out[i] = uint8_t(in[i] + pred);
    }
  }
  return png;
}

TEST(PngWriter, GreyRoundTripOfAKnownPattern) {
  TempDir dir;
  // A ramp, a checkerboard and a pseudo-random block, each value an exact byte / 255 (so rounding
  // is never a tie), plus out-of-range rows that must clamp; the rows call for different filters.
  const int64_t h = 26, w = 37;
  std::vector<int> bytes(h * w);
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < w; ++x)
      bytes[y * w + x] = y < 8 ? int(x * 7) : y < 16 ? 255 * int((x + y) % 2) : int((x * 131 + y * 71) % 256);
  auto img = torch::tensor(std::vector<float>(bytes.begin(), bytes.end())).reshape({h, w}).div(255.0);
  img[24].fill_(-0.5);
  img[25].fill_(1.7);
  rebalance::write_png(dir.file("grey.png"), img);
  const auto png = decode_png(rebalance::read_file(dir.file("grey.png")));
  ASSERT_EQ(png.width, uint32_t(w));
  ASSERT_EQ(png.height, uint32_t(h));
  ASSERT_EQ(png.channels, 1);
  EXPECT_GE(png.filters.size(), 3u) << "the adaptive filter choice should vary with the content";
  for (int64_t y = 0; y < 24; ++y)
    for (int64_t x = 0; x < w; ++x) ASSERT_EQ(png.at(y, x), bytes[y * w + x]) << y << "," << x;
  for (int64_t x = 0; x < w; ++x) {
    ASSERT_EQ(png.at(24, x), 0);
    ASSERT_EQ(png.at(25, x), 255);
  }
}

TEST(PngWriter, RgbRoundTripKeepsChannelsApart) {
  TempDir dir;
  torch::manual_seed(0);
  const auto bytes = torch::randint(0, 256, {3, 9, 14}, torch::kLong);
  const auto img = bytes.to(torch::kDouble).div(255.0);
  rebalance::write_png(dir.file("rgb.png"), img);
  const auto file = rebalance::read_file(dir.file("rgb.png"));
  EXPECT_EQ(file, rebalance::encode_png(img));
  const auto png = decode_png(file);
  ASSERT_EQ(png.channels, 3);
  ASSERT_EQ(png.width, 14u);
  ASSERT_EQ(png.height, 9u);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 14; ++x) ASSERT_EQ(png.at(y, x, c), bytes[c][y][x].item<int64_t>()) << c << y << x;
}

TEST(PngWriter, GridTilesRowByRowWithWhitePadding) {
  TempDir dir;
  // Five 3x4 tiles, tile i filled with byte 51 i, three per row, one pixel of padding.
  auto images = torch::empty({5, 1, 3, 4});
  for (int i = 0; i < 5; ++i) images[i].fill_(i * 51 / 255.0);
  rebalance::write_image_grid_png(dir.file("grid.png"), images, 3, 1);
  const auto png = decode_png(rebalance::read_file(dir.file("grid.png")));
  ASSERT_EQ(png.width, 3u * 4 + 4);
  ASSERT_EQ(png.height, 2u * 3 + 3);
  for (int i = 0; i < 6; ++i) {
    const uint32_t top = 1 + (i / 3) * 4, left = 1 + (i % 3) * 5;
    const int expected = i < 5 ? i * 51 : 255;  // the sixth place stays blank
    for (uint32_t y = top; y < top + 3; ++y)
      for (uint32_t x = left; x < left + 4; ++x) ASSERT_EQ(png.at(y, x), expected) << "tile " << i;
  }
  EXPECT_EQ(png.at(0, 0), 255);
  EXPECT_EQ(png.at(4, 7), 255);
  // More columns than images: one row, no empty columns.
  rebalance::write_image_grid_png(dir.file("row.png"), images.slice(0, 0, 2), 8, 0);
  const auto row = decode_png(rebalance::read_file(dir.file("row.png")));
  EXPECT_EQ(row.width, 8u);
  EXPECT_EQ(row.height, 3u);
}

TEST(PngWriter, RefusesBadImages) {
  TempDir dir;
  const auto path = dir.file("bad.png");
  EXPECT_ERROR_MENTIONS(rebalance::write_png(path, torch::zeros({4, 5, 5})), "1 (grey) or 3 (RGB)", "4");
  EXPECT_ERROR_MENTIONS(rebalance::write_png(path, torch::zeros({5})), "[C, H, W] or [H, W]");
  EXPECT_ERROR_MENTIONS(rebalance::write_png(path, torch::zeros({5, 5}, torch::kLong)), "floating point", "Long");
  EXPECT_ERROR_MENTIONS(rebalance::write_png(path, torch::full({2, 2}, std::numeric_limits<float>::quiet_NaN())),
                        "NaN");
  EXPECT_ERROR_MENTIONS(rebalance::write_png(path, torch::zeros({0, 5})), "empty");
  EXPECT_ERROR_MENTIONS(rebalance::write_image_grid_png(path, torch::zeros({2, 1, 3, 3}), 0), "columns", "0");
  EXPECT_ERROR_MENTIONS(rebalance::write_image_grid_png(path, torch::zeros({0, 1, 3, 3}), 2), "no images");
  EXPECT_ERROR_MENTIONS(rebalance::write_image_grid_png(path, torch::zeros({3, 3}), 2), "[N, C, H, W]");
  EXPECT_FALSE(fs::exists(path));
}

// Results as `rebalance run` writes them: a binary task, two methods (one with a name full of
// HTML), two levels, two seeds.
const std::string kEvilMethod = "<script>alert(\"x\")</script> & 'co'";

json fake_result(const std::string& method, const std::string& level, int64_t minority, uint64_t seed, double f1) {
  const int64_t fn = method == "Vanilla" ? 3 : 1;
  return {{"key", method + level + std::to_string(seed)},
          {"experiment", "unit <test>"},
          {"config_hash", "abc123"},
          {"versions", "rebalance 0.1.0 / libtorch 1.13.1"},
          {"level", level},
          {"minority", minority},
          {"rho", 0.0},
          {"method", method},
          {"spec", {{"sampler", ""}, {"loss", "ce"}, {"batch_policy", "uniform"}, {"decision", "argmax"}}},
          {"seed", seed},
          {"train_counts", {100, minority}},
          {"best_epoch", 1},
          {"metrics",
           {{"n", 8},
            {"classes", json::array({"0", "6"})},
            {"confusion_matrix", {{4, 0}, {fn, 4 - fn}}},
            {"f1_macro", f1},
            {"acsa", f1 - 0.05},
            {"gmean", f1 - 0.1},
            {"mcc", f1 - 0.2},
            {"average_precision", 0.9},
            {"misclassified", fn}}},
          {"test_scores", {0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1}},
          {"test_labels", {1, 1, 0, 1, 0, 1, 0, 0}},
          {"timings", {{"sampler_s", 0.0}, {"train_s", 0.5}, {"total_s", 0.6}}}};
}

struct ReportFixture {
  TempDir dir;
  std::string results = dir.file("results.jsonl"), html = dir.file("report.html");
  rebalance::ReportOptions options;

  ReportFixture() {
    std::string lines;
    for (const auto& [level, minority] : std::vector<std::pair<std::string, int64_t>>{{"10", 10}, {"40", 40}})
      for (uint64_t seed : {0, 1}) {
        lines += fake_result("Vanilla", level, minority, seed, 0.70 + 0.01 * seed).dump() + "\n";
        lines += fake_result(kEvilMethod, level, minority, seed, 0.80 + 0.02 * seed).dump() + "\n";
      }
    dir.write("results.jsonl", lines);
    // Stand-ins for the Vega builds: this test checks the HTML, the CLI test renders it for real.
    for (const auto& p : rebalance::vega_packages()) {
      fs::create_directories(dir.path() / "vega" / p.name / "build");
      dir.write(std::string("vega/") + p.name + "/" + p.script, std::string("/* stub ") + p.name + " </script> */");
    }
    options.vega_dir = dir.file("vega");
  }
  std::string report() {
    rebalance::write_report(results, html, options);
    return rebalance::read_file(html);
  }
};

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, HoldsTablesChartsAndEscapedText) {
  ReportFixture f;
  f.dir.write("config.toml", "name = \"unit <test>\"\n");
  fs::create_directories(f.dir.path() / "samples");
  rebalance::write_png(f.dir.file("samples/real_vs_smote.png"), torch::rand({8, 8}));
  const auto html = f.report();

  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* metric : {"f1_macro", "acsa", "misclassified"})
    EXPECT_NE(html.find(fmt::format("<table class=\"results\" data-metric=\"{}\">", metric)), std::string::npos)
        << metric;
  // Column headings are the levels; the better method wins every column of all three tables.
  EXPECT_NE(html.find("<th>10</th><th>40</th>"), std::string::npos);
  EXPECT_EQ(count(html, "<td class=\"best\">"), 6u);
  EXPECT_NE(html.find("<td class=\"best\"><strong>0.8100 <span class=\"std\">± 0.0141</span></strong></td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"best\"><strong>1.0 <span class=\"std\">± 0.0</span></strong></td>"),
            std::string::npos);  // misclassified, lower is better

  // Text from the results is escaped everywhere: in HTML and in the chart data.
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"), std::string::npos);
  EXPECT_NE(html.find("\\u003cscript\\u003ealert"), std::string::npos);
  EXPECT_NE(html.find("rebalance: unit &lt;test&gt;"), std::string::npos);
  EXPECT_NE(html.find("name = &quot;unit &lt;test&gt;&quot;"), std::string::npos);  // config.toml
  // The inlined scripts cannot close their own tag.
  EXPECT_NE(html.find("/* stub vega-embed <\\/script> */"), std::string::npos);

  // Charts: 6 metrics, the PR curves and the confusion matrices, with the error sink first.
  EXPECT_EQ(count(html, "<div class=\"chart\" id=\"chart-"), 8u);
  EXPECT_LT(html.find("<div id=\"errors\">"), html.find("window.onerror"));
  EXPECT_LT(html.find("window.onerror"), html.find("/* stub vega "));
  EXPECT_NE(html.find("\"interpolate\":\"step-before\""), std::string::npos);
  EXPECT_NE(html.find("{\"point\":true,\"type\":\"line\"}"), std::string::npos);  // two levels: lines

  EXPECT_NE(html.find("<img src=\"data:image/png;base64,iVBORw0KGgo"), std::string::npos);
  EXPECT_NE(html.find("<figcaption>real_vs_smote.png</figcaption>"), std::string::npos);
  EXPECT_NE(html.find("abc123"), std::string::npos);
  EXPECT_NE(html.find("rebalance 0.1.0 / libtorch 1.13.1"), std::string::npos);
}

TEST(HtmlReport, OneLevelPutsTheMethodsSideBySide) {
  // A grid of one level: each method on its own row (not dots on one vertical line), marked by
  // the paired test against the best.
  TempDir dir;
  std::string lines;
  for (uint64_t seed : {0, 1, 2}) {
    lines += fake_result("Vanilla", "100", 10, seed, 0.70 + 0.01 * seed).dump() + "\n";
    lines += fake_result("Other", "100", 10, seed, 0.71 + 0.02 * (seed % 2)).dump() + "\n";
  }
  ReportFixture f;
  f.dir.write("results.jsonl", lines);
  const auto html = f.report();
  EXPECT_NE(html.find("\"y\":{\"field\":\"method\",\"sort\":[\"Vanilla\",\"Other\"]"), std::string::npos);
  EXPECT_NE(html.find("\"marked\":\"not told apart from the best\""), std::string::npos);
  EXPECT_NE(html.find("\"subtitle\":\"minority size 100: mean over seeds"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"tied\"><strong>"), std::string::npos);
  EXPECT_NE(html.find("paired t-test over 3 seeds"), std::string::npos);
  EXPECT_EQ(html.find("{\"point\":true,\"type\":\"line\"}"), std::string::npos);  // no metric line chart
}

TEST(HtmlReport, LevelAndSeedChooseTheDetailCharts) {
  ReportFixture f;
  f.options.level = "40";
  f.options.seed = 1;
  const auto html = f.report();
  EXPECT_NE(html.find("confusion matrices, minority size 40, seed 1"), std::string::npos);
  EXPECT_NE(html.find("{\"subtitle\":\"minority size 40\",\"text\":\"precision-recall of class \\\"6\\\", seed 1\"}"),
            std::string::npos);  // one PR panel
  EXPECT_NE(html.find("No sample images"), std::string::npos);
}

TEST(HtmlReportErrors, RefusesMissingOrEmptyResultsAndMissingScripts) {
  ReportFixture f;
  EXPECT_ERROR_MENTIONS(rebalance::write_report(f.dir.file("nope/results.jsonl"), f.html, f.options),
                        "nope/results.jsonl", "no such results file", "rebalance run");
  f.dir.write("empty.jsonl", "");
  EXPECT_ERROR_MENTIONS(rebalance::write_report(f.dir.file("empty.jsonl"), f.html, f.options), "no results");
  f.dir.write("other.jsonl", "{\"a\": 1}\n");
  EXPECT_ERROR_MENTIONS(rebalance::write_report(f.dir.file("other.jsonl"), f.html, f.options), "other.jsonl:1",
                        "\"method\"");
  f.options.level = "7";
  EXPECT_ERROR_MENTIONS(f.report(), "--level 7", "10, 40");
  f.options.level.reset();
  f.options.seed = 9;
  EXPECT_ERROR_MENTIONS(f.report(), "--seed 9", "0, 1");
  f.options.seed.reset();
  f.options.vega_dir = f.dir.file("no-vega");
  EXPECT_ERROR_MENTIONS(f.report(), "vega.min.js not found", "scripts/setup", "vega-lite@5.23.0");
  EXPECT_FALSE(fs::exists(f.html));
}

}  // namespace
