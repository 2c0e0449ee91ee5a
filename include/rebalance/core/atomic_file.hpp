// Crash-safe output: every file rebalance writes goes to a temporary file beside the target and is
// renamed over it only once complete, so a crash or a full disk never leaves half a file behind.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace rebalance {

/// Call `write` with a stream on a temporary file next to `path`; on success flush, fsync and
/// rename it to `path`. On any exception the temporary file is removed and `path` is untouched.
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write,
                  bool binary = true);

/// Whole file as bytes; Error naming the path if it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace rebalance
