#include "rebalance/data/image_folder.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/spec.hpp"
#include "rebalance/data/csv.hpp"

namespace rebalance {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxImageBytes = int64_t(1) << 30;  // decoded pixels of one image: 1 GiB

/// Refuse dimensions whose pixels would not fit (a corrupt header may claim 10^6 x 10^6).
void check_size(int64_t h, int64_t w, int64_t c, const std::string& path) {
  REBALANCE_CHECK(h >= 1 && w >= 1 && h <= kMaxImageBytes / w / c, "{}: {}x{} pixels with {} channel(s) is more "
                  "than one image may decode to ({} bytes)", path, h, w, c, kMaxImageBytes);
}

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

DecodedImage decode_png(std::string_view bytes, int channels, const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  REBALANCE_CHECK(png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()), "{}: not a readable PNG: {}",
                  path, img.message);
  DecodedImage out;
  const int native = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  out.channels = channels ? channels : native;
  out.height = img.height;
  out.width = img.width;
  img.format = out.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  try {
    check_size(out.height, out.width, out.channels, path);
  } catch (...) {
    png_image_free(&img);
    throw;
  }
  out.pixels.resize(PNG_IMAGE_SIZE(img));
  // A transparent pixel is composited on black (background NULL).
  if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr)) {
    const std::string why = img.message;
    png_image_free(&img);
    REBALANCE_THROW("{}: corrupt PNG: {}", path, why);
  }
  return out;
}

struct JpegErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_warn(j_common_ptr c, int level) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  if (level < 0) {  // a warning (corrupt or truncated data): keep the first one's text
    if (c->err->num_warnings++ == 0) (*c->err->format_message)(c, e->message);
  }
}

/// Decodes into `out`; returns an empty string or the decoder's complaint. No C++ object with a
/// destructor lives between setjmp and a longjmp in this frame.
std::string decode_jpeg_into(std::string_view bytes, int channels, DecodedImage& out) {
  jpeg_decompress_struct cinfo;
  JpegErrors err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_warn;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return err.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const int native = cinfo.num_components == 1 ? 1 : 3;
  out.channels = channels ? channels : native;
  cinfo.out_color_space = out.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height * out.channels > kMaxImageBytes) {
    jpeg_destroy_decompress(&cinfo);
    return fmt::format("{}x{} pixels is more than one image may decode to ({} bytes)", cinfo.image_height,
                       cinfo.image_width, kMaxImageBytes);
  }
  jpeg_start_decompress(&cinfo);
  out.height = cinfo.output_height;
  out.width = cinfo.output_width;
  out.pixels.resize(static_cast<size_t>(out.height * out.width * out.channels));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * out.width * out.channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  const bool warned = cinfo.err->num_warnings > 0;
  jpeg_destroy_decompress(&cinfo);
  return warned ? err.message : "";
}

/// [C, H, W] float32 in [0, 1] of `img`, resized to h x w.
at::Tensor to_tensor(const DecodedImage& img, int64_t h, int64_t w) {
  auto t = torch::from_blob(const_cast<uint8_t*>(img.pixels.data()), {img.height, img.width, img.channels},
                            torch::kUInt8)
               .permute({2, 0, 1})
               .to(torch::kFloat32)
               .div_(255.0f);
  if (img.height == h && img.width == w) return t.contiguous();
  namespace F = torch::nn::functional;
  auto b = t.unsqueeze(0);
  if (h <= img.height && w <= img.width)
    b = F::adaptive_avg_pool2d(b, F::AdaptiveAvgPool2dFuncOptions({h, w}));  // area averaging
  else
    b = F::interpolate(b, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear)
                              .align_corners(false));
  return b.squeeze(0).clamp_(0.0f, 1.0f).contiguous();
}

/// Sort class names numerically when every one is a number, else as text.
void sort_names(std::vector<std::string>& names) {
  const bool numeric = std::all_of(names.begin(), names.end(), [](const std::string& s) { return parse_double(s).has_value(); });
  if (numeric)
    std::stable_sort(names.begin(), names.end(),
                     [](const std::string& a, const std::string& b) { return *parse_double(a) < *parse_double(b); });
  else
    std::sort(names.begin(), names.end());
}

int64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return int64_t(1) << 34;
}

/// An uninitialised float32 tensor backed by an unlinked scratch file in $TMPDIR, mapped shared:
/// the kernel writes its pages back to the file instead of holding them in memory.
at::Tensor disk_tensor(const std::vector<int64_t>& shape) {
  int64_t bytes = 4;
  for (auto s : shape) bytes *= s;
  const fs::path dir = fs::temp_directory_path();
  std::string name = (dir / "rebalance-images-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  REBALANCE_CHECK(fd >= 0, "cannot create a scratch file in {} for the decoded images: {}", dir.string(),
                  std::strerror(errno));
  ::unlink(name.c_str());  // gone with the last reference
  if (::ftruncate(fd, std::max<int64_t>(bytes, 1)) != 0) {
    const int e = errno;
    ::close(fd);
    REBALANCE_THROW("cannot size a scratch file of {} bytes in {} for the decoded images: {}", bytes, dir.string(),
                    std::strerror(e));
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(std::max<int64_t>(bytes, 1)), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  ::close(fd);
  REBALANCE_CHECK(p != MAP_FAILED, "cannot map the scratch file for the decoded images: {}", std::strerror(e));
  const size_t len = static_cast<size_t>(std::max<int64_t>(bytes, 1));
  return torch::from_blob(p, shape, [len](void* q) { ::munmap(q, len); }, torch::kFloat32);
}

}  // namespace

DecodedImage decode_image(const std::string& path, int channels) {
  REBALANCE_CHECK(channels == 0 || channels == 1 || channels == 3, "decode_image: channels must be 0, 1 or 3, got {}",
                  channels);
  std::shared_ptr<const MappedFile> file;
  try {
    file = MappedFile::open(path);
  } catch (const Error& e) {
    REBALANCE_THROW("{}", e.what());
  }
  const auto bytes = file->bytes();
  REBALANCE_CHECK(!bytes.empty(), "{}: empty file, not an image", path);
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return decode_png(bytes, channels, path);
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8 &&
      static_cast<unsigned char>(bytes[2]) == 0xFF) {
    DecodedImage out;
    const auto why = decode_jpeg_into(bytes, channels, out);
    REBALANCE_CHECK(why.empty(), "{}: corrupt JPEG: {}", path, why);
    return out;
  }
  REBALANCE_THROW("{}: neither a PNG nor a JPEG (its first bytes are not an image signature)", path);
}

bool is_image_source(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return true;
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != ".csv") return false;
  std::string header;
  if (!fs::is_regular_file(path, ec)) {
    // A pipe can be read once: MappedFile keeps its bytes for the reader that follows.
    const auto file = MappedFile::open(path);
    header = std::string(file->bytes().substr(0, file->bytes().find('\n')));
  } else {
    std::ifstream in(path);
    std::getline(in, header);
  }
  if (!header.empty() && header.back() == '\r') header.pop_back();
  return header == "path,label";
}

ImageFolder::ImageFolder(std::string path, ImageFolderOptions options) : path_(std::move(path)), options_(std::move(options)) {
  REBALANCE_CHECK(options_.channels == "auto" || options_.channels == "grey" || options_.channels == "gray" ||
                      options_.channels == "rgb",
                  "image channels must be auto, grey or rgb, got \"{}\"", options_.channels);
  REBALANCE_CHECK(options_.on_bad_image == "fail" || options_.on_bad_image == "skip",
                  "on-bad-image must be skip or fail, got \"{}\"", options_.on_bad_image);
  REBALANCE_CHECK(options_.storage == "auto" || options_.storage == "memory" || options_.storage == "disk",
                  "image storage must be auto, memory or disk, got \"{}\"", options_.storage);
  REBALANCE_CHECK(options_.size.empty() || (options_.size.size() == 2 && options_.size[0] >= 1 && options_.size[1] >= 1 &&
                                            options_.size[0] <= 16384 && options_.size[1] <= 16384),
                  "image size must be HxW with 1 <= H, W <= 16384");
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> entries;  // file, class name
  if (fs::is_directory(path_, ec)) {
    std::vector<fs::path> class_dirs;
    for (const auto& e : fs::directory_iterator(path_)) {
      if (e.is_directory()) class_dirs.push_back(e.path());
      else ++ignored_;
    }
    REBALANCE_CHECK(!class_dirs.empty(), "{}: no class folders (an image folder holds one sub-folder per class, "
                    "DIR/<class>/*.png or *.jpg)", path_);
    std::sort(class_dirs.begin(), class_dirs.end());
    for (const auto& dir : class_dirs) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
        if (!e.is_regular_file()) continue;
        if (is_image_name(e.path())) files.push_back(e.path());
        else ++ignored_;
      }
      REBALANCE_CHECK(!files.empty(), "{}: class folder \"{}\" holds no images (.png, .jpg, .jpeg); remove it or add "
                      "its images", path_, dir.filename().string());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) entries.emplace_back(f.string(), dir.filename().string());
    }
  } else {
    REBALANCE_CHECK(is_image_source(path_), "{}: not an image folder (a directory of class folders) or a CSV with the "
                    "header path,label", path_);
    // Records of two CSV fields (quoted as rows.csv writes them: "a,b", doubled quotes), read
    // through MappedFile so a pipe read once for the header is not read again.
    const auto file = MappedFile::open(path_);
    const auto bytes = file->bytes();
    const fs::path base = fs::path(path_).parent_path();
    int64_t lineno = 1, first_line = 1;
    std::vector<std::string> fields(1);
    bool quoted = false, header = true;
    const auto finish = [&] {
      const bool blank = fields.size() == 1 && fields[0].empty();
      if (!header && !blank) {
        REBALANCE_CHECK(fields.size() == 2 && !fields[0].empty() && !fields[1].empty(),
                        "{}:{}: expected path,label, got {} field{}", path_, first_line, fields.size(),
                        fields.size() == 1 ? "" : "s");
        fs::path file = fields[0];
        if (file.is_relative()) file = base / file;
        entries.emplace_back(file.string(), fields[1]);
      }
      header = false;
      fields.assign(1, std::string());
      first_line = lineno;
    };
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (quoted) {
        if (c == '"' && i + 1 < bytes.size() && bytes[i + 1] == '"') fields.back() += '"', ++i;
        else if (c == '"') quoted = false;
        else fields.back() += c, lineno += c == '\n';
      } else if (c == '"' && fields.back().empty()) {
        quoted = true;
      } else if (c == ',') {
        fields.emplace_back();
      } else if (c == '\n' || (c == '\r' && (i + 1 == bytes.size() || bytes[i + 1] == '\n'))) {
        if (c == '\r') ++i;
        ++lineno;
        finish();
      } else {
        fields.back() += c;
      }
    }
    REBALANCE_CHECK(!quoted, "{}:{}: a quoted field is not closed", path_, first_line);
    finish();
    REBALANCE_CHECK(!entries.empty(), "{}: lists no images", path_);
  }
  std::set<std::string> names;
  for (const auto& [f, c] : entries) names.insert(c);
  class_names_.assign(names.begin(), names.end());
  sort_names(class_names_);
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < class_names_.size(); ++i) index[class_names_[i]] = static_cast<int64_t>(i);
  for (const auto& [f, c] : entries) {
    files_.push_back(f);
    labels_.push_back(index.at(c));
  }
}

at::Tensor ImageFolder::load_rows(const std::vector<int64_t>& rows) const {
  REBALANCE_CHECK(channels_ > 0, "{}: load() settles the image size before load_rows()", path_);
  auto out = torch::empty({static_cast<int64_t>(rows.size()), channels_, height_, width_});
  const int want = options_.channels == "auto" ? 0 : static_cast<int>(channels_);
  std::vector<std::string> errors(rows.size());
  at::parallel_for(0, static_cast<int64_t>(rows.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto& file = files_.at(static_cast<size_t>(rows[i]));
      try {
        const auto img = decode_image(file, want);
        if (img.channels != channels_) {
          errors[i] = fmt::format("{}: {} channel(s), the folder's images have {} (pass --image-channels grey|rgb to "
                                  "convert)", file, img.channels, channels_);
        } else if (options_.size.empty() && (img.height != height_ || img.width != width_)) {
          errors[i] = fmt::format("{}: {}x{} pixels, the folder's images are {}x{} (pass --image-size HxW to resize)",
                                  file, img.height, img.width, height_, width_);
        } else {
          out[i].copy_(to_tensor(img, height_, width_));
        }
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    }
  });
  for (const auto& e : errors) REBALANCE_CHECK(e.empty(), "{}", e);
  return out;
}

Dataset ImageFolder::load(std::ostream& log) {
  skipped_.clear();
  kept_.clear();
  const int want = options_.channels == "auto" ? 0 : options_.channels == "rgb" ? 3 : 1;
  // The first readable image settles channels (auto) and size (none given).
  size_t first = 0;
  for (; first < files_.size(); ++first) {
    try {
      const auto img = decode_image(files_[first], want);
      channels_ = img.channels;
      height_ = options_.size.empty() ? img.height : options_.size[0];
      width_ = options_.size.empty() ? img.width : options_.size[1];
      break;
    } catch (const Error& e) {
      REBALANCE_CHECK(options_.on_bad_image == "skip", "{} (pass --on-bad-image skip to leave bad images out)", e.what());
    }
  }
  REBALANCE_CHECK(channels_ > 0, "{}: none of its {} images could be read", path_, files_.size());
  const int64_t n = size();
  const int64_t bytes = n * channels_ * height_ * width_ * 4;
  const bool disk = options_.storage == "disk" || (options_.storage == "auto" && bytes > available_memory() / 2);
  at::Tensor x = disk ? disk_tensor({n, channels_, height_, width_}) : torch::empty({n, channels_, height_, width_});
  std::vector<std::string> errors(static_cast<size_t>(n));
  // Batches of 256 decoded in parallel: memory holds one batch of decoded pixels at a time.
  constexpr int64_t kBatch = 256;
  for (int64_t b = 0; b < n; b += kBatch) {
    at::parallel_for(b, std::min(n, b + kBatch), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const auto& file = files_[static_cast<size_t>(i)];
        try {
          const auto img = decode_image(file, want);
          if (img.channels != channels_)
            errors[i] = fmt::format("{}: {} channel(s), but {} (the first image) has {}; pass --image-channels grey|rgb "
                                    "to convert", file, img.channels, files_[first], channels_);
          else if (options_.size.empty() && (img.height != height_ || img.width != width_))
            errors[i] = fmt::format("{}: {}x{} pixels, but {} (the first image) is {}x{}; pass --image-size HxW to "
                                    "resize", file, img.height, img.width, files_[first], height_, width_);
          else
            x[i].copy_(to_tensor(img, height_, width_));
        } catch (const Error& e) {
          errors[i] = e.what();
        }
      }
    });
    if (options_.on_bad_image == "fail")
      for (int64_t i = b; i < std::min(n, b + kBatch); ++i)
        REBALANCE_CHECK(errors[i].empty(), "{} (pass --on-bad-image skip to leave bad images out)", errors[i]);
  }
  std::vector<int64_t> keep, y;
  for (int64_t i = 0; i < n; ++i) {
    if (errors[i].empty()) {
      keep.push_back(i);
      y.push_back(labels_[i]);
      kept_.push_back(files_[i]);
    } else {
      skipped_.push_back(errors[i]);
      log << "warning: skipped " << errors[i] << "\n";
    }
  }
  REBALANCE_CHECK(!keep.empty(), "{}: none of its {} images could be read", path_, n);
  if (!skipped_.empty()) {
    log << fmt::format("warning: {} of {} images of {} skipped\n", skipped_.size(), n, path_);
    // Close the gaps in place, in row order (a row only ever moves down).
    for (size_t j = 0; j < keep.size(); ++j)
      if (keep[j] != static_cast<int64_t>(j)) x[static_cast<int64_t>(j)].copy_(x[keep[j]]);
    x = x.slice(0, 0, static_cast<int64_t>(keep.size()));
  }
  std::vector<int64_t> present(class_names_.size(), 0);
  for (auto c : y) present[static_cast<size_t>(c)]++;
  for (size_t c = 0; c < present.size(); ++c)
    REBALANCE_CHECK(present[c] > 0, "{}: every image of class \"{}\" was skipped as unreadable", path_, class_names_[c]);
  Dataset d;
  d.x = x;
  d.y = torch::tensor(y, torch::kInt64);
  d.origin = torch::arange(d.y.size(0), torch::kInt64);
  d.class_names = class_names_;
  d.name = path_;
  return d;
}

std::string long_tail_profile(const std::vector<int64_t>& counts, const std::vector<std::string>& names) {
  const int64_t c = static_cast<int64_t>(counts.size());
  int64_t total = 0;
  for (auto v : counts) total += v;
  struct Bin {
    const char* label;
    int64_t lo, hi;
  };
  const Bin bins[] = {{"1", 1, 1}, {"2-4", 2, 4}, {"5-9", 5, 9}, {"10-49", 10, 49}, {"50-99", 50, 99},
                      {"100+", 100, INT64_MAX}};
  std::string out = fmt::format("  long-tail profile ({} classes, {} rows):\n", c, total);
  for (const auto& b : bins) {
    int64_t k = 0, rows = 0;
    for (auto v : counts)
      if (v >= b.lo && v <= b.hi) ++k, rows += v;
    out += fmt::format("    {:>6} row{} {:>6} classes ({:5.1f}%)  {:>8} rows ({:5.1f}%)\n", b.label,
                       b.lo == 1 && b.hi == 1 ? " " : "s", k, 100.0 * k / std::max<int64_t>(c, 1), rows,
                       100.0 * rows / std::max<int64_t>(total, 1));
  }
  std::vector<int64_t> order(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
  const int64_t head = std::max<int64_t>(1, (c + 4) / 5);
  int64_t head_rows = 0;
  for (int64_t i = 0; i < head && i < c; ++i) head_rows += counts[order[i]];
  out += fmt::format("    the largest {} classes (20%) hold {:.1f}% of the rows\n", head,
                     100.0 * head_rows / std::max<int64_t>(total, 1));
  const auto list = [&](int64_t from, int64_t to) {
    std::string s;
    for (int64_t i = from; i < to; ++i) s += fmt::format("{}{}={}", s.empty() ? "" : ", ", names[order[i]], counts[order[i]]);
    return s;
  };
  if (c > 0) {
    out += fmt::format("    head: {}\n", list(0, std::min<int64_t>(5, c)));
    out += fmt::format("    tail: {}\n", list(std::max<int64_t>(0, c - 5), c));
  }
  return out;
}

}  // namespace rebalance
