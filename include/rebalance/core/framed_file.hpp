#pragma once
/// The file layout rebalance's model and generator files share: a magic line, the length of a
/// JSON header in decimal on its own line, the header, then a binary payload (torch archive).
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace rebalance {

/// magic_line + length + "\n" + header: what precedes the payload.
std::string frame_header(std::string_view magic_line, const nlohmann::json& header);

struct Unframed {
  nlohmann::json header;
  size_t payload_offset = 0;
};

/// Splits a framed file; every malformed layout is a rebalance::Error naming `where` and `kind`
/// ("model file", "generator file").
Unframed unframe(const std::string& bytes, std::string_view magic_line, std::string_view kind,
                 const std::string& where);

}  // namespace rebalance
