// `rebalance methods`: every factory's methods (samplers, models, losses, batch policies, decision
// rules, generators) with their parameters, defaults and descriptions, taken from the same
// declarations the factories parse with. It sits in experiment/ because only the experiment layer
// (and the CLI) may know every family.
//
//   std::cout << describe_methods("losses");      // one family, as text
//   auto j = methods_json("");                     // every family, for machines
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rebalance/core/spec.hpp"

namespace rebalance {

/// One factory and its methods.
struct MethodFamily {
  std::string name;                  ///< "samplers", "models", "losses", "batch-policies", "decisions", "generators"
  std::vector<std::string> aliases;  ///< further accepted spellings, e.g. "loss"
  std::string title;                 ///< heading, e.g. "Losses"
  std::string used_by;               ///< where its factory strings go, e.g. "train --loss; [[method]] loss ="
  std::vector<MethodDoc> methods;
};

/// Every family, in the order data flows (samplers, generators, models, losses, batch policies,
/// decisions).
std::vector<MethodFamily> method_families();

/// The canonical name of a family given by any of its names (case-insensitive, '_' = '-'), or ""
/// when none matches.
std::string canonical_method_family(const std::string& name);

/// The names of every family, "samplers, models, ...", for messages.
std::string method_family_names();

/// Text listing of one family (`family` by any accepted name) or of all ("" ). Throws Error naming
/// the families for an unknown one.
std::string describe_methods(const std::string& family = "");

/// {"families": [{"name", "title", "used_by", "methods": [{"name", "aliases", "group", "kind",
/// "description", "params": [{"name", "default", "required", "help"}]}]}]}, for one family or all.
nlohmann::json methods_json(const std::string& family = "");

}  // namespace rebalance
