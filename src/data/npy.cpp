#include "rebalance/data/npy.hpp"

#include <torch/torch.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
#include "rebalance/core/mapped_file.hpp"
#include "rebalance/core/number_text.hpp"
#include "rebalance/core/spec.hpp"

namespace rebalance {

namespace {

struct DtypeCode {
  const char* code;
  at::ScalarType type;
};
constexpr DtypeCode kDtypes[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<i8", at::kLong},
                                 {"<i4", at::kInt},   {"|u1", at::kByte},   {"|b1", at::kBool}};

std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
  const auto pos = header.find("'" + key + "'");
  REBALANCE_CHECK(pos != std::string::npos, "{}: .npy header has no '{}' entry: {}", path, key, header);
  const auto colon = header.find(':', pos);
  REBALANCE_CHECK(colon != std::string::npos, "{}: malformed .npy header: {}", path, header);
  return header.substr(colon + 1);
}

struct Header {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  size_t offset = 0;  ///< first payload byte
};

Header parse_header(std::string_view bytes, const std::string& path) {
  REBALANCE_CHECK(!bytes.empty(), "{}: empty file, expected a .npy array", path);
  REBALANCE_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0,
                  "{}: not a .npy file (wrong magic bytes)", path);
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    REBALANCE_CHECK(bytes.size() >= 12, "{}: truncated .npy header", path);
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    REBALANCE_THROW("{}: unsupported .npy format version {}", path, major);
  }
  REBALANCE_CHECK(bytes.size() >= offset + header_len, "{}: truncated .npy header: it promises {} bytes, the file has {}",
                  path, header_len, bytes.size() - offset);
  const std::string header(bytes.substr(offset, header_len));
  Header h;
  h.offset = offset + header_len;

  std::smatch m;
  const std::string descr_part = header_field(header, "descr", path);
  REBALANCE_CHECK(std::regex_search(descr_part, m, std::regex("^\\s*'([^']*)'")),
                  "{}: malformed or structured dtype in .npy header (only plain arrays are read): {}", path, header);
  h.descr = m[1];
  if (h.descr == "<u1" || h.descr == "|i1" || h.descr == "<b1") h.descr = h.descr == "<b1" ? "|b1" : h.descr;
  if (h.descr == "=f8") h.descr = "<f8";  // native order on this little-endian machine
  const std::string order = header_field(header, "fortran_order", path);
  const auto first = order.find_first_not_of(' ');
  h.fortran = first != std::string::npos && order.compare(first, 4, "True") == 0;
  const std::string shape_part = header_field(header, "shape", path);
  REBALANCE_CHECK(std::regex_search(shape_part, m, std::regex("^\\s*\\(([^)]*)\\)")),
                  "{}: malformed shape in .npy header: {}", path, header);
  for (const auto& item : split_top_level(std::string(m[1]), ',')) {
    if (item.empty()) continue;
    auto v = parse_int(item);
    REBALANCE_CHECK(v && *v >= 0 && *v < (int64_t(1) << 40), "{}: bad dimension '{}' in .npy shape", path, item);
    h.shape.push_back(*v);
    REBALANCE_CHECK(*v == 0 || h.numel <= (int64_t(1) << 40) / *v, "{}: implausible .npy shape ({})", path,
                    std::string(m[1]));
    h.numel *= *v;
  }
  REBALANCE_CHECK(h.descr.size() < 2 || h.descr[0] != '>' || h.descr.substr(1) == "u1" || h.descr.substr(1) == "i1" ||
                      h.descr.substr(1) == "b1",
                  "{}: big-endian dtype '{}' is not supported; convert it first, e.g. numpy.save(path, "
                  "arr.astype(arr.dtype.newbyteorder('<')))", path, h.descr);
  return h;
}

/// Bytes of the payload, checked against what the header promises.
std::string_view payload(std::string_view bytes, const Header& h, size_t item, const std::string& path) {
  const size_t need = static_cast<size_t>(h.numel) * item;
  REBALANCE_CHECK(bytes.size() - h.offset >= need,
                  "{}: truncated .npy data: shape ({}) of '{}' needs {} bytes, the file has {}", path,
                  fmt::join(h.shape, ", "), h.descr, need, bytes.size() - h.offset);
  return bytes.substr(h.offset, need);
}

at::Tensor to_tensor(std::string_view data, const Header& h, at::ScalarType type) {
  std::vector<int64_t> storage_shape = h.shape;
  if (h.fortran) std::reverse(storage_shape.begin(), storage_shape.end());
  auto t = torch::empty(storage_shape, torch::TensorOptions().dtype(type));
  if (type == at::kBool) {
    // numpy reads any non-zero byte as True; a C++ bool may only hold 0 or 1.
    auto* out = static_cast<uint8_t*>(t.data_ptr());
    for (size_t i = 0; i < data.size(); ++i) out[i] = data[i] != 0;
  } else if (!data.empty()) {
    std::memcpy(t.data_ptr(), data.data(), data.size());
  }
  if (h.fortran && h.shape.size() > 1) {
    std::vector<int64_t> perm(h.shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  return t;
}

}  // namespace

std::string npy_header_bytes(const std::string& descr, const std::vector<int64_t>& sizes) {
  std::string shape = fmt::format("{}", fmt::join(sizes, ", "));
  if (sizes.size() == 1) shape += ",";  // Python's one-element tuple: "(3,)"
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  const uint16_t len = static_cast<uint16_t>(header.size());
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + header;
}

namespace {

void write_raw(const std::string& path, const std::string& descr, const std::vector<int64_t>& sizes, const void* data,
               size_t nbytes) {
  const std::string header = npy_header_bytes(descr, sizes);
  write_atomic(path, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(nbytes));
  });
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::vector<uint32_t> utf8_to_utf32(const std::string& s, const std::string& path) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    REBALANCE_CHECK(len > 0 && i + len <= s.size(), "{}: label \"{}\" is not valid UTF-8", path, s);
    uint32_t v = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(v);
    i += len;
  }
  return out;
}

}  // namespace

at::Tensor read_npy(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  const Header h = parse_header(bytes, path);
  at::ScalarType type = at::kFloat;
  bool found = false;
  for (const auto& d : kDtypes)
    if (h.descr == d.code) type = d.type, found = true;
  REBALANCE_CHECK(found, "{}: unsupported .npy dtype '{}' (supported: float32 '<f4', float64 '<f8', "
                  "int64 '<i8', int32 '<i4', uint8 '|u1', bool '|b1')", path, h.descr);
  return to_tensor(payload(bytes, h, c10::elementSize(type), path), h, type);
}

NpyLayout read_npy_layout(const std::string& path) {
  // The header only: the first 64 KiB hold any header numpy writes, and a larger one is refused
  // as truncated by parse_header, naming the path.
  std::ifstream in(path, std::ios::binary);
  REBALANCE_CHECK(in.good(), "cannot open {}: {}", path, std::strerror(errno));
  std::string head(size_t(65536), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  in.clear();
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  const Header h = parse_header(head, path);
  NpyLayout out;
  out.descr = h.descr;
  out.shape = h.shape;
  out.fortran = h.fortran;
  out.offset = h.offset;
  out.file_size = size;
  return out;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  const auto t = tensor.detach().cpu().contiguous();
  const char* code = nullptr;
  for (const auto& d : kDtypes)
    if (t.scalar_type() == d.type) code = d.code;
  REBALANCE_CHECK(code, "{}: cannot write a {} tensor as .npy (supported: float32, float64, int64, int32, "
                  "uint8, bool)", path, std::string(c10::toString(t.scalar_type())));
  write_raw(path, code, t.sizes().vec(), t.data_ptr(), t.nbytes());
}

NpyLabels read_npy_labels(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  const Header h = parse_header(bytes, path);
  REBALANCE_CHECK(h.shape.size() == 1, "{}: labels must be 1-D, got shape ({})", path, fmt::join(h.shape, ", "));
  const int64_t n = h.numel;
  NpyLabels out;
  out.descr = h.descr;
  // The payload must hold what the header promises before anything is allocated for it.
  const bool unicode = h.descr.size() >= 3 && h.descr[1] == 'U';
  REBALANCE_CHECK(unicode || bytes.size() - h.offset >= static_cast<size_t>(n),
                  "{}: truncated .npy data: shape ({}) needs at least {} bytes, the file has {}", path,
                  fmt::join(h.shape, ", "), n, bytes.size() - h.offset);
  std::vector<std::string> text(n);
  if (h.descr.size() >= 3 && h.descr[1] == 'U' && (h.descr[0] == '<' || h.descr[0] == '|')) {
    const auto width = parse_int(h.descr.substr(2));
    REBALANCE_CHECK(width && *width > 0 && *width < 4096, "{}: bad string dtype '{}'", path, h.descr);
    const auto data = payload(bytes, h, static_cast<size_t>(*width) * 4, path);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < *width; ++k) {
        uint32_t c;
        std::memcpy(&c, data.data() + (i * *width + k) * 4, 4);
        if (c == 0) break;
        REBALANCE_CHECK(c < 0x110000, "{}: label {} holds an invalid code point", path, i);
        append_utf8(text[i], c);
      }
  } else {
    const auto t = read_npy(path);
    REBALANCE_CHECK(!t.is_floating_point() || torch::isfinite(t).all().item<bool>(), "{}: labels must be finite",
                    path);
    if (t.is_floating_point()) {
      const auto d = t.to(torch::kFloat64).contiguous();
      const double* p = d.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) append_number(text[i], p[i]);
    } else {
      const auto d = t.to(torch::kInt64).contiguous();
      const int64_t* p = d.data_ptr<int64_t>();
      const bool is_bool = t.scalar_type() == torch::kBool;
      for (int64_t i = 0; i < n; ++i) text[i] = is_bool ? (p[i] ? "True" : "False") : std::to_string(p[i]);
    }
  }
  // Distinct values, sorted (numerically for numbers, False < True, strings by code point).
  const bool numeric = h.descr[1] != 'U' && h.descr != "|b1";
  auto key = [&](const std::string& s) -> long double { return std::stold(s); };
  auto less = [&](const std::string& a, const std::string& b) { return numeric ? key(a) < key(b) : a < b; };
  std::map<std::string, int64_t> distinct;
  for (const auto& s : text) distinct.emplace(s, 0);
  std::vector<std::string> names;
  for (const auto& [s, unused] : distinct) names.push_back(s);
  std::sort(names.begin(), names.end(), less);
  for (size_t k = 0; k < names.size(); ++k) distinct[names[k]] = static_cast<int64_t>(k);
  auto y = torch::empty({n}, torch::kInt64);
  int64_t* py = y.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) py[i] = distinct[text[i]];
  out.y = y;
  out.class_names = std::move(names);
  return out;
}

void write_npy_labels(const std::string& path, const at::Tensor& y_in, const std::vector<std::string>& names,
                      std::string descr) {
  const auto y = y_in.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t n = y.numel();
  const int64_t* py = y.data_ptr<int64_t>();
  bool integers = true;
  for (const auto& s : names) {
    double v = 0;
    integers = integers && parse_number(s, v) == NumberStatus::Ok && v == std::trunc(v) && std::fabs(v) < 9.2e18 &&
               s.find_first_of(".eE") == std::string::npos;
  }
  if (descr.empty()) {
    if (integers) {
      descr = "<i8";
    } else {
      size_t width = 1;
      for (const auto& s : names) width = std::max(width, utf8_to_utf32(s, path).size());
      descr = fmt::format("<U{}", width);
    }
  }
  if (descr[1] == 'U') {
    const auto width = parse_int(descr.substr(2)).value_or(1);
    std::vector<std::vector<uint32_t>> codes;
    for (const auto& s : names) {
      codes.push_back(utf8_to_utf32(s, path));
      REBALANCE_CHECK(static_cast<int64_t>(codes.back().size()) <= width, "{}: label \"{}\" is longer than {}", path,
                      s, descr);
    }
    std::vector<uint32_t> out(static_cast<size_t>(n * width), 0);
    for (int64_t i = 0; i < n; ++i) std::copy(codes[py[i]].begin(), codes[py[i]].end(), out.begin() + i * width);
    write_raw(path, descr, {n}, out.data(), out.size() * 4);
    return;
  }
  at::ScalarType type = at::kLong;
  bool found = false;
  for (const auto& d : kDtypes)
    if (descr == d.code) type = d.type, found = true;
  REBALANCE_CHECK(found, "{}: cannot write labels as '{}'", path, descr);
  if (type == at::kLong || type == at::kInt) {
    // Through int64 so that large integer labels keep every digit.
    std::vector<int64_t> class_value;
    for (const auto& s : names) {
      const auto v = parse_int(s);
      REBALANCE_CHECK(v.has_value(), "{}: label \"{}\" is not an integer; cannot write it as '{}'", path, s, descr);
      class_value.push_back(*v);
    }
    auto ints = torch::empty({n}, torch::kInt64);
    int64_t* pi = ints.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) pi[i] = class_value[py[i]];
    write_npy(path, ints.to(type));
    return;
  }
  std::vector<double> values;
  for (const auto& s : names) {
    double v = 0;
    if (type == at::kBool)
      v = s == "True" ? 1.0 : 0.0;
    else
      REBALANCE_CHECK(parse_number(s, v) == NumberStatus::Ok, "{}: label \"{}\" is not a number; cannot write it as '{}'",
                      path, s, descr);
    values.push_back(v);
  }
  auto out = torch::empty({n}, torch::kFloat64);
  double* po = out.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) po[i] = values[py[i]];
  write_npy(path, out.to(type));
}

}  // namespace rebalance
