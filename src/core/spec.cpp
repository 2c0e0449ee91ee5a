#include "rebalance/core/spec.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "rebalance/core/error.hpp"

namespace rebalance {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string strip_brackets(const std::string& v) {
  if (v.size() >= 2 && ((v.front() == '[' && v.back() == ']') || (v.front() == '{' && v.back() == '}') ||
                        (v.front() == '(' && v.back() == ')')))
    return v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

/// At most this many brackets inside one another: no factory string needs more than a few, and
/// a bound keeps crafted input from nesting parses (and copies) thousands deep.
constexpr int kMaxSpecDepth = 32;

namespace {

/// The first `n` characters of `text`, with "..." when cut (long input quoted in errors).
std::string head(std::string_view text, size_t n = 80) {
  return text.size() <= n ? std::string(text) : std::string(text.substr(0, n)) + "...";
}

/// The '+' at text[i] is a number's exponent sign ("1e+16", as Python writes floats), not a
/// composition: an 'e' or 'E' before it ends a run of digits that follows '=', ',', ':' or an
/// opening bracket, and a digit follows it.
bool exponent_sign(std::string_view text, size_t i) {
  if (i < 2 || i + 1 >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 1]))) return false;
  if (text[i - 1] != 'e' && text[i - 1] != 'E') return false;
  size_t b = i - 1;
  bool digit = false;
  while (b > 0 && (std::isdigit(static_cast<unsigned char>(text[b - 1])) || text[b - 1] == '.')) {
    digit = digit || text[b - 1] != '.';
    --b;
  }
  if (b > 0 && text[b - 1] == '-') --b;
  return digit && (b == 0 || std::string_view("=,:[({ ").find(text[b - 1]) != std::string_view::npos);
}

}  // namespace

std::vector<std::string> split_top_level(std::string_view text, char sep) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '[' || c == '{' || c == '(') {
      ++depth;
      REBALANCE_CHECK(depth <= kMaxSpecDepth, "brackets nested more than {} deep in \"{}\"", kMaxSpecDepth,
                      head(text));
    }
    if (c == ']' || c == '}' || c == ')') {
      --depth;
      REBALANCE_CHECK(depth >= 0, "unbalanced '{}' in \"{}\"", c, text);
    }
    if (c == sep && depth == 0 && !(sep == '+' && exponent_sign(text, i))) {
      parts.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  REBALANCE_CHECK(depth == 0, "unclosed bracket in \"{}\"", text);
  parts.push_back(trim(cur));
  return parts;
}

Spec parse_spec(std::string_view text) {
  Spec spec;
  spec.text = std::string(text);
  const auto colon = text.find(':');
  spec.name = trim(text.substr(0, colon));
  REBALANCE_CHECK(!spec.name.empty(), "empty method name in \"{}\"", text);
  if (colon == std::string_view::npos) return spec;
  const auto rest = text.substr(colon + 1);
  if (trim(rest).empty()) return spec;
  for (const auto& part : split_top_level(rest, ',')) {
    const auto eq = part.find('=');
    REBALANCE_CHECK(eq != std::string::npos && eq > 0,
                    "argument \"{}\" in \"{}\" is not of the form key=value", part, text);
    std::string key = trim(std::string_view(part).substr(0, eq));
    std::string value = trim(std::string_view(part).substr(eq + 1));
    for (const auto& [k, v] : spec.args)
      REBALANCE_CHECK(k != key, "argument \"{}\" given twice in \"{}\"", key, text);
    spec.args.emplace_back(std::move(key), std::move(value));
  }
  return spec;
}

std::optional<double> parse_double(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  const char* b = t.data();
  if (*b == '+') ++b;
  double v = 0;
  auto [p, ec] = std::from_chars(b, t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) {
    // from_chars does not accept "inf"/"nan" spellings with sign variations the same on every
    // library; fall back to strtod for those and for nothing else.
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size()) return std::nullopt;
  }
  return v;
}

std::optional<int64_t> parse_int(std::string_view s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  const char* b = t.data();
  if (*b == '+') ++b;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(b, t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  return v;
}

Params::Params(const Spec& spec, const std::vector<ParamDecl>& decls, std::string_view what)
    : what_(what), spec_text_(spec.text) {
  for (const auto& d : decls) values_[d.name] = d.default_value;
  for (const auto& [k, v] : spec.args) {
    if (!values_.count(k)) {
      std::string accepted;
      for (const auto& d : decls) accepted += (accepted.empty() ? "" : ", ") + d.name;
      REBALANCE_THROW("unknown parameter \"{}\" for {} \"{}\" (accepted: {})", k, what_, spec.name,
                      accepted.empty() ? "none" : accepted);
    }
    values_[k] = v;
    given_[k] = true;
  }
}

bool Params::has(const std::string& key) const { return given_.count(key) > 0; }

std::string Params::context(const std::string& key) const {
  return fmt::format("parameter \"{}\" of {} \"{}\"", key, what_, spec_text_);
}

const std::string& Params::raw(const std::string& key) const {
  auto it = values_.find(key);
  REBALANCE_CHECK(it != values_.end(), "internal: {} is not declared", context(key));
  return it->second;
}

std::string Params::get_string(const std::string& key) const { return raw(key); }

int64_t Params::get_int(const std::string& key) const {
  const auto& v = raw(key);
  REBALANCE_CHECK(!v.empty(), "{} is required", context(key));
  auto r = parse_int(v);
  REBALANCE_CHECK(r.has_value(), "{} must be an integer, got \"{}\"", context(key), v);
  return *r;
}

double Params::get_double(const std::string& key) const {
  const auto& v = raw(key);
  REBALANCE_CHECK(!v.empty(), "{} is required", context(key));
  auto r = parse_double(v);
  REBALANCE_CHECK(r.has_value() && std::isfinite(*r), "{} must be a finite number, got \"{}\"",
                  context(key), v);
  return *r;
}

bool Params::get_bool(const std::string& key) const {
  const auto& v = raw(key);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  REBALANCE_THROW("{} must be true or false, got \"{}\"", context(key), v);
}

std::vector<double> Params::get_doubles(const std::string& key) const {
  const auto inner = strip_brackets(raw(key));
  std::vector<double> out;
  if (trim(inner).empty()) return out;
  const char sep = inner.find('/') != std::string::npos ? '/' : ',';
  for (const auto& item : split_top_level(inner, sep)) {
    auto r = parse_double(item);
    REBALANCE_CHECK(r.has_value() && std::isfinite(*r), "{}: \"{}\" is not a finite number",
                    context(key), item);
    out.push_back(*r);
  }
  return out;
}

std::vector<int64_t> Params::get_ints(const std::string& key) const {
  const auto inner = strip_brackets(raw(key));
  std::vector<int64_t> out;
  if (trim(inner).empty()) return out;
  const char sep = inner.find('/') != std::string::npos ? '/' : ',';
  for (const auto& item : split_top_level(inner, sep)) {
    auto r = parse_int(item);
    REBALANCE_CHECK(r.has_value(), "{}: \"{}\" is not an integer", context(key), item);
    out.push_back(*r);
  }
  return out;
}

int64_t Params::get_int_in(const std::string& key, int64_t lo, int64_t hi) const {
  const auto v = get_int(key);
  REBALANCE_CHECK(v >= lo && v <= hi, "{} must be in [{}, {}], got {}", context(key), lo, hi, v);
  return v;
}

double Params::get_double_in(const std::string& key, double lo, double hi) const {
  const auto v = get_double(key);
  REBALANCE_CHECK(v >= lo && v <= hi, "{} must be in [{}, {}], got {}", context(key), lo, hi, v);
  return v;
}

std::string describe_params(const std::vector<ParamDecl>& decls, std::string_view indent) {
  std::string out;
  for (const auto& d : decls)
    out += fmt::format("{}{:<22} {:<12} {}\n", indent, d.name,
                       d.default_value.empty() ? "(required)" : "= " + d.default_value, d.help);
  return out;
}

std::string describe_method_docs(const std::vector<MethodDoc>& docs) {
  std::string out, group;
  const std::string pad(21, ' ');
  for (const auto& d : docs) {
    if (!d.group.empty() && d.group != group) {
      out += fmt::format("{}== {} ==\n", out.empty() ? "" : "\n", d.group);
      group = d.group;
    }
    out += fmt::format("{:<20} {}\n", d.name, d.description);
    std::string names;
    for (const auto& a : d.aliases) names += (names.empty() ? "" : ", ") + a;
    if (!names.empty() || !d.kind.empty())
      out += fmt::format("{}({}{}{})\n", pad, names, !names.empty() && !d.kind.empty() ? "; " : "", d.kind);
    out += d.params.empty() ? pad + "(no parameters)\n" : describe_params(d.params, pad);
  }
  return out;
}

void throw_unknown_method(std::string_view what, std::string_view name, const std::vector<std::string>& known) {
  std::string names;
  for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
  REBALANCE_THROW("unknown {} \"{}\" (known: {})", what, name, names);
}

}  // namespace rebalance
