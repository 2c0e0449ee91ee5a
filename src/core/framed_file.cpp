#include "rebalance/core/framed_file.hpp"

#include <charconv>

#include "rebalance/core/error.hpp"

namespace rebalance {

std::string frame_header(std::string_view magic_line, const nlohmann::json& header) {
  const std::string text = header.dump();
  std::string out(magic_line);
  out += std::to_string(text.size());
  out += '\n';
  out += text;
  return out;
}

Unframed unframe(const std::string& bytes, std::string_view magic_line, std::string_view kind,
                 const std::string& where) {
  REBALANCE_CHECK(bytes.compare(0, magic_line.size(), magic_line) == 0, "{}: not a rebalance {}", where, kind);
  const size_t pos = magic_line.size(), nl = bytes.find('\n', pos);
  REBALANCE_CHECK(nl != std::string::npos, "{}: truncated {} (no header length)", where, kind);
  size_t len = 0;
  const auto [end, ec] = std::from_chars(bytes.data() + pos, bytes.data() + nl, len);
  REBALANCE_CHECK(ec == std::errc() && end == bytes.data() + nl && nl > pos, "{}: corrupt {}: header length '{}'",
                  where, kind, bytes.substr(pos, std::min<size_t>(nl - pos, 40)));
  REBALANCE_CHECK(len <= bytes.size() - nl - 1, "{}: truncated {}: header of {} bytes, {} left", where, kind, len,
                  bytes.size() - nl - 1);
  Unframed out;
  try {
    out.header = nlohmann::json::parse(bytes.substr(nl + 1, len));
  } catch (const nlohmann::json::exception& e) {
    REBALANCE_THROW("{}: corrupt {} header: {}", where, kind, e.what());
  }
  REBALANCE_CHECK(out.header.is_object(), "{}: corrupt {} header: not a JSON object", where, kind);
  out.payload_offset = nl + 1 + len;
  return out;
}

void throw_corrupt(const std::string& where, std::string_view kind, const std::string& what) {
  REBALANCE_THROW("{}: corrupt {} header: {}", where, kind, what);
}

void throw_unreadable(const std::string& where, std::string_view kind, const std::string& what) {
  REBALANCE_THROW("{}: cannot read this {}: {}", where, kind, what.substr(0, what.find('\n')));
}

}  // namespace rebalance
