// Factory strings: "name:key=value,key=value". One parser and one parameter declaration list per
// method, so the help text, the validation and the defaults all come from the same place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rebalance {

/// A parsed factory string. Values may hold brackets, e.g. "weights=[0.9,0.1]" or "{0:10,1:20}";
/// commas inside brackets do not split arguments.
struct Spec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> args;
  std::string text;  ///< the string as the user wrote it, for error messages
};

/// Parse "name" or "name:k=v,k=v". Throws Error on an empty name, a missing '=', a repeated key
/// or unbalanced brackets, quoting the offending text.
Spec parse_spec(std::string_view text);

/// Split "a+b+c" at '+' outside brackets (composition of methods).
std::vector<std::string> split_top_level(std::string_view text, char sep);

/// One declared parameter: its name, default (as text, "" = required), and a one-line help.
struct ParamDecl {
  std::string name;
  std::string default_value;
  std::string help;
};

/// Typed access to a Spec's arguments against a declaration list. Construction refuses any key
/// that is not declared, naming the accepted ones; getters refuse values of the wrong type.
class Params {
 public:
  Params(const Spec& spec, const std::vector<ParamDecl>& decls, std::string_view what);

  bool has(const std::string& key) const;  ///< given explicitly by the user
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<double> get_doubles(const std::string& key) const;  ///< "[a,b]" or "a/b"
  std::vector<int64_t> get_ints(const std::string& key) const;

  /// Fail with a message naming the key and value unless lo <= v <= hi.
  int64_t get_int_in(const std::string& key, int64_t lo, int64_t hi) const;
  double get_double_in(const std::string& key, double lo, double hi) const;

 private:
  const std::string& raw(const std::string& key) const;
  std::string context(const std::string& key) const;

  std::string what_;
  std::string spec_text_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> given_;
};

/// "  key (default: v)  help" lines for --help output and `rebalance methods`.
std::string describe_params(const std::vector<ParamDecl>& decls, std::string_view indent = "  ");

/// One method of a factory as `rebalance methods` shows it, built from the factory's own
/// registry entry (so the listing cannot drift from what the factory accepts).
struct MethodDoc {
  std::string name;                  ///< the factory name, e.g. "smote"
  std::vector<std::string> aliases;  ///< further names the factory accepts, e.g. "SMOTE"
  std::string group;                 ///< a heading inside the family, e.g. "over-sampling"; may be ""
  std::string kind;                  ///< a short tag, e.g. a sampler's "over-sampling"; may be ""
  std::string description;           ///< one line
  std::vector<ParamDecl> params;     ///< exactly the parameters the factory's Params accepts
};

/// Text form of a list of methods: a "== group ==" heading where the group changes, then per
/// method its name and description, its other names, and describe_params of its parameters.
std::string describe_method_docs(const std::vector<MethodDoc>& docs);

/// Refuse an unknown method name: "unknown {what} \"{name}\" (known: a, b, ...)".
[[noreturn]] void throw_unknown_method(std::string_view what, std::string_view name,
                                       const std::vector<std::string>& known);

/// The entry of a factory's registry (a list of structs with name, description and params) that
/// `spec` names; unknown names are refused, listing the known ones.
template <class Info>
const Info& registry_entry(const std::vector<Info>& registry, const Spec& spec, std::string_view what) {
  for (const auto& info : registry)
    if (info.name == spec.name) return info;
  std::vector<std::string> known;
  for (const auto& info : registry) known.push_back(info.name);
  throw_unknown_method(what, spec.name, known);
}

/// A registry as `rebalance methods` lists it: one MethodDoc per entry, no group or kind.
template <class Info>
std::vector<MethodDoc> registry_docs(const std::vector<Info>& registry) {
  std::vector<MethodDoc> docs;
  for (const auto& m : registry) docs.push_back({m.name, {}, "", "", m.description, m.params});
  return docs;
}

/// Parse a whole string as a number; nullopt if any character is left over.
std::optional<double> parse_double(std::string_view s);
std::optional<int64_t> parse_int(std::string_view s);

}  // namespace rebalance
