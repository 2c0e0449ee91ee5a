// Numbers as text, both ways, without loss: fields parsed as float64 with every way a value can
// fail to survive named (overflow, underflow, an integer float64 cannot hold), and values written
// with the shortest text that reads back to the same bits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rebalance {

enum class NumberStatus : uint8_t {
  Ok,
  Empty,           ///< nothing but blanks
  NotANumber,      ///< text that is not a number ("red", "12abc")
  NotFinite,       ///< inf, nan, infinity (any case, any sign)
  Overflow,        ///< finite text beyond float64's range (1e400)
  Underflow,       ///< a non-zero value that rounds to 0 in float64 (1e-400)
  InexactInteger,  ///< an integer past 2^53 that float64 cannot hold exactly (9007199254740993)
};

/// Parse `s` (already trimmed) as a float64: decimal or scientific, optional sign. Exactly the
/// IEEE round-to-nearest value of the text (fast_float), or a status saying why not.
NumberStatus parse_number(std::string_view s, double& value);

/// "is not a number", "overflows float64", ...: the reason, for error messages.
const char* describe(NumberStatus status);

/// Append the shortest text that parses back to exactly `v` (std::to_chars); integral values
/// below 2^53 in magnitude as plain integers ("4000000001", not "4.000000001e+09").
void append_number(std::string& out, double v);
void append_number(std::string& out, float v);

}  // namespace rebalance
