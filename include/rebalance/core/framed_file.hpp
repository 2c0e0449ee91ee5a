#pragma once
/// The file layout rebalance's model and generator files share: a magic line, the length of a
/// JSON header in decimal on its own line, the header, then a binary payload (named tensors:
/// core/tensor_archive.hpp).
#include <nlohmann/json.hpp>

#include "rebalance/core/error.hpp"

#include <new>
#include <stdexcept>
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

/// Error "WHERE: corrupt KIND header: WHAT".
[[noreturn]] void throw_corrupt(const std::string& where, std::string_view kind, const std::string& what);

/// Error "WHERE: cannot read this KIND: WHAT" (WHAT's first line: a library's own exception, such
/// as torch's stream errors on a truncated legacy archive, named by the file it came from).
[[noreturn]] void throw_unreadable(const std::string& where, std::string_view kind, const std::string& what);

/// Runs `read` (which builds an object from a framed file's header and payload) and returns what
/// it returns, turning a JSON key or type error, or a network too large to build, into an Error
/// naming `where` ("PATH: corrupt generator file header: ..."), and any other exception, rebalance's
/// own included, into one naming `where` unless its message already does.
template <class Read>
auto read_framed(const std::string& where, std::string_view kind, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const Error& e) {
    // The header's strings go through factories whose errors name the spec, not the file.
    if (std::string_view(e.what()).find(where) != std::string_view::npos) throw;
    throw_unreadable(where, kind, e.what());
  } catch (const nlohmann::json::exception& e) {
    throw_corrupt(where, kind, e.what());
  } catch (const std::bad_alloc&) {
    throw_corrupt(where, kind, "the network its header describes is too large to build");
  } catch (const std::length_error&) {
    throw_corrupt(where, kind, "the network its header describes is too large to build");
  } catch (const std::exception& e) {
    throw_unreadable(where, kind, e.what());
  }
}

}  // namespace rebalance
