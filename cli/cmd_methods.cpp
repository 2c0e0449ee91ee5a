// `rebalance methods [FAMILY] [--format text|json]`: every factory's methods with their
// parameters, defaults and descriptions (the library's describe_methods / methods_json).
#include <iostream>

#include "commands.hpp"
#include "rebalance/experiment/methods.hpp"

namespace rebalance::cli {

void add_methods_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("methods", "every method of every factory (samplers, generators, models, losses, "
                                            "batch policies, decision rules) with its parameters and defaults");
  static std::string family, format = "text";
  cmd->add_option("family", family, "only this family: " + method_family_names())
      ->check(CLI::Validator(
          [](std::string& name) {
            return canonical_method_family(name).empty()
                       ? "unknown method family \"" + name + "\" (families: " + method_family_names() + ")"
                       : std::string();
          },
          "FAMILY"));
  cmd->add_option("--format", format, "text, or json for programs")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([&action] {
    action = [] {
      if (format == "json")
        std::cout << methods_json(family).dump(2) << "\n";
      else
        std::cout << describe_methods(family);
    };
  });
}

}  // namespace rebalance::cli
