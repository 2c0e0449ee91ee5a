#include "rebalance/core/number_text.hpp"

#include <fast_float/fast_float.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace rebalance {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// True when the mantissa of a decimal literal has a non-zero digit (so a 0 result underflowed).
bool has_nonzero_mantissa(std::string_view s) {
  for (char c : s) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return true;
  }
  return false;
}

}  // namespace

NumberStatus parse_number(std::string_view s, double& value) {
  if (s.empty()) return NumberStatus::Empty;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  // fast_float takes '-' but not '+'; a '+' is fine in front of a digit or a point.
  if (*first == '+' && last - first > 1 && (is_digit(first[1]) || first[1] == '.' || first[1] == 'i' ||
                                            first[1] == 'I' || first[1] == 'n' || first[1] == 'N'))
    ++first;
  const auto r = fast_float::from_chars(first, last, value, fast_float::chars_format::general);
  if (r.ec != std::errc() || r.ptr != last) return NumberStatus::NotANumber;
  if (!std::isfinite(value)) {
    // The text itself spelled inf/nan, or a finite literal overflowed.
    const char* p = first + (*first == '-' ? 1 : 0);
    return (is_digit(*p) || *p == '.') ? NumberStatus::Overflow : NumberStatus::NotFinite;
  }
  if (value == 0.0) {
    if (has_nonzero_mantissa(std::string_view(first, static_cast<size_t>(last - first)))) return NumberStatus::Underflow;
    return NumberStatus::Ok;
  }
  // Integers: past 15 digits float64 may not hold the value; compare its exact decimal expansion.
  const std::string_view body(first + (*first == '-' ? 1 : 0), static_cast<size_t>(last - first) - (*first == '-'));
  if (body.size() > 15) {
    bool integer = true;
    for (char c : body) integer = integer && is_digit(c);
    if (integer && std::fabs(value) >= 9007199254740992.0) {
      char buf[400];
      const int len = std::snprintf(buf, sizeof buf, "%.0f", std::fabs(value));  // exact in glibc
      std::string_view digits = body;
      while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
      if (len <= 0 || std::string_view(buf, static_cast<size_t>(len)) != digits) return NumberStatus::InexactInteger;
    }
  }
  return NumberStatus::Ok;
}

const char* describe(NumberStatus status) {
  switch (status) {
    case NumberStatus::Ok: return "is a number";
    case NumberStatus::Empty: return "is missing";
    case NumberStatus::NotANumber: return "is not a number";
    case NumberStatus::NotFinite: return "is not finite (features must be finite)";
    case NumberStatus::Overflow: return "overflows float64 (beyond 1.8e308)";
    case NumberStatus::Underflow: return "underflows float64 (a non-zero value that would become 0)";
    case NumberStatus::InexactInteger:
      return "is an integer past 2^53 that float64 cannot hold exactly (it would come back changed); "
             "carry it with --passthrough or drop it with --drop";
  }
  return "?";
}

namespace {

template <typename T>
void append_impl(std::string& out, T v) {
  char buf[64];
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0 && !(v == 0 && std::signbit(v))) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.append(buf, r.ptr);
    return;
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void append_number(std::string& out, double v) { append_impl(out, v); }
void append_number(std::string& out, float v) { append_impl(out, v); }

}  // namespace rebalance
