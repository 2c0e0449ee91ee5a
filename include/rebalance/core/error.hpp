// Errors: one exception type and the check macros every module uses to refuse bad input with a
// message that names what was wrong and where (file, line, column, value, class).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace rebalance {

/// Thrown for any input or usage the library refuses. `what()` is the user-facing message; the
/// source location that raised it is kept apart (`where()`) so the CLI can show it only in debug.
class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string where)
      : std::runtime_error(std::move(message)), where_(std::move(where)) {}
  const std::string& where() const noexcept { return where_; }

 private:
  std::string where_;
};

namespace detail {
[[noreturn]] void fail(const char* file, int line, std::string message);
}  // namespace detail

}  // namespace rebalance

/// Throw rebalance::Error with a fmt-formatted message.
#define REBALANCE_THROW(...) ::rebalance::detail::fail(__FILE__, __LINE__, ::fmt::format(__VA_ARGS__))

/// Throw rebalance::Error with a fmt-formatted message unless `cond` holds.
#define REBALANCE_CHECK(cond, ...)  \
  do {                              \
    if (!(cond)) {                  \
      REBALANCE_THROW(__VA_ARGS__); \
    }                               \
  } while (false)
