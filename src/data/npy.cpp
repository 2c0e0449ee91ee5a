#include "rebalance/data/npy.hpp"

#include <torch/torch.h>

#include <fmt/ranges.h>

#include <cstring>
#include <regex>

#include "rebalance/core/atomic_file.hpp"
#include "rebalance/core/error.hpp"
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

}  // namespace

at::Tensor read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
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
  REBALANCE_CHECK(bytes.size() >= offset + header_len, "{}: truncated .npy header", path);
  const std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  std::smatch m;
  const std::string descr_part = header_field(header, "descr", path);
  REBALANCE_CHECK(std::regex_search(descr_part, m, std::regex("^\\s*'([^']*)'")),
                  "{}: malformed dtype in .npy header: {}", path, header);
  std::string descr = m[1];
  if (descr == "<u1" || descr == "|i1" || descr == "<b1") descr = descr == "<b1" ? "|b1" : descr;
  at::ScalarType type = at::kFloat;
  bool found = false;
  for (const auto& d : kDtypes)
    if (descr == d.code) type = d.type, found = true;
  REBALANCE_CHECK(found, "{}: unsupported .npy dtype '{}' (supported: float32 '<f4', float64 '<f8', "
                  "int64 '<i8', int32 '<i4', uint8 '|u1', bool '|b1')", path, descr);

  const std::string order = header_field(header, "fortran_order", path);
  const auto first = order.find_first_not_of(' ');
  const bool fortran = first != std::string::npos && order.compare(first, 4, "True") == 0;
  const std::string shape_part = header_field(header, "shape", path);
  REBALANCE_CHECK(std::regex_search(shape_part, m, std::regex("^\\s*\\(([^)]*)\\)")),
                  "{}: malformed shape in .npy header: {}", path, header);
  std::vector<int64_t> shape;
  for (const auto& item : split_top_level(std::string(m[1]), ',')) {
    if (item.empty()) continue;
    auto v = parse_int(item);
    REBALANCE_CHECK(v && *v >= 0, "{}: bad dimension '{}' in .npy shape", path, item);
    shape.push_back(*v);
  }
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  const size_t need = static_cast<size_t>(numel) * c10::elementSize(type);
  REBALANCE_CHECK(bytes.size() - offset >= need, "{}: truncated .npy data: shape needs {} bytes, file has {}",
                  path, need, bytes.size() - offset);

  std::vector<int64_t> storage_shape = shape;
  if (fortran) std::reverse(storage_shape.begin(), storage_shape.end());
  auto t = torch::empty(storage_shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bytes.data() + offset, need);
  if (fortran && shape.size() > 1) {
    std::vector<int64_t> perm(shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  return t;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  const auto t = tensor.detach().cpu().contiguous();
  const char* code = nullptr;
  for (const auto& d : kDtypes)
    if (t.scalar_type() == d.type) code = d.code;
  REBALANCE_CHECK(code, "{}: cannot write a {} tensor as .npy (supported: float32, float64, int64, int32, "
                  "uint8, bool)", path, std::string(c10::toString(t.scalar_type())));
  std::string shape = fmt::format("{}", fmt::join(t.sizes(), ", "));
  if (t.dim() == 1) shape += ",";  // Python's one-element tuple: "(3,)"
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", code, shape);
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  write_atomic(path, [&](std::ostream& out) {
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(le, 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  });
}

}  // namespace rebalance
