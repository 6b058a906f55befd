// The operator registry: every operator registers under its name with a Boost.Program_options
// description of its options and a factory. `corpusflow ops` lists the registry, `corpusflow help
// OP` prints one entry, and the pipeline parser builds operators through Create(), which parses
// the operator's arguments with the one option parser (engine/options.h). Shortcut commands read
// an operator's options from here to forward them (cli/pipeline_template.h).
// Thread safety: registration happens from static initialisers (OperatorRegistrar) before main;
// afterwards the registry is read-only and safe to use from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/name_registry.h"
#include "engine/operator.h"
#include "engine/options.h"

namespace corpusflow {

struct OperatorDef {
  std::string name;
  OperatorRole role = OperatorRole::kTransform;
  /// "read PATH... [options]".
  std::string synopsis;
  /// One line for `corpusflow ops`.
  std::string summary;
  /// Paragraphs for `corpusflow help OP` (may be empty).
  std::string details;
  /// Declare the options.
  std::function<void(OptionSet&)> describe;
  /// Build the operator from parsed values; throw InvalidArgument on bad combinations.
  std::function<std::unique_ptr<Operator>(const OptionValues&)> create;
  /// Take the arguments unparsed, for operators that wrap another operator (`tee PATH [write
  /// options]`): create() receives them as the value "args" (std::vector<std::string>), and
  /// describe() only documents them.
  bool raw_args = false;

  /// Return the declared options (describe() run on a fresh OptionSet).
  OptionSet Options() const;
};

class OperatorRegistry : public NameRegistry<OperatorDef> {
 public:
  OperatorRegistry();

  /// The process-wide registry that static registrars fill.
  static OperatorRegistry& Global();

  /// Parse `args` with the operator's options and create it. Unknown operators and options,
  /// missing or malformed values throw InvalidArgument with the nearest valid name.
  std::unique_ptr<Operator> Create(std::string_view name,
                                   const std::vector<std::string>& args) const;
  /// The help text of one operator; InvalidArgument when unknown.
  std::string Help(std::string_view name) const;
};

/// Registers an operator from a static initialiser:
///   static const OperatorRegistrar kRegisterRead(OperatorDef{...});
struct OperatorRegistrar {
  explicit OperatorRegistrar(OperatorDef def);
};

/// "source", "transform", "sink" or "pipeline breaker".
std::string_view RoleName(OperatorRole role);

}  // namespace corpusflow
