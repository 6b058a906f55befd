// The operator registry: every operator registers under its name with a Boost.Program_options
// description of its options and a factory. `corpusflow ops` lists the registry, `corpusflow help
// OP` prints one entry, and the pipeline parser builds operators through Create(), which parses
// the operator's arguments with the one option parser (engine/options.h). Shortcut commands read
// an operator's options from here to forward them (cli/pipeline_template.h). An operator also
// declares the fields it adds (`outputs`): `corpusflow help` lists them, every such operator gets
// `--overwrite` (the one opt-in to replace a field of the same name, which the planner otherwise
// refuses), and the planner's "'src' comes from gsg or pseudo-summary" hints come from them.
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

/// A field an operator adds by default.
struct DeclaredOutput {
  /// The default name. A leading '*' stands for the name of the input field, `--field`
  /// (tokenize's "*_ids": `tokenize --field src` adds src_ids).
  std::string name;
  /// The option that names it otherwise ("--output").
  std::string option;
};

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
  /// The fields the operator adds by default, in order (empty: it adds none).
  std::vector<DeclaredOutput> outputs = {};

  /// Return the declared options (describe() run on a fresh OptionSet), with `--overwrite` when
  /// the operator declares outputs.
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

  /// The operators that add a field named `field` by their declared outputs, sorted by name:
  /// "pseudo-summary" for a default name, "tokenize --field src" for a derived one ("*_ids"),
  /// which counts only when no operator declares the name itself.
  std::vector<std::string> ProducersOf(std::string_view field) const;
  /// "'src' comes from gsg or pseudo-summary" (ProducersOf), or "" when no operator adds `field`.
  std::string FieldOrigin(std::string_view field) const;
  /// The default names of every declared output (derived names left out), sorted, unique.
  std::vector<std::string> DeclaredFieldNames() const;
};

/// Registers an operator from a static initialiser:
///   static const OperatorRegistrar kRegisterRead(OperatorDef{...});
struct OperatorRegistrar {
  explicit OperatorRegistrar(OperatorDef def);
};

/// "source", "transform", "sink" or "pipeline breaker".
std::string_view RoleName(OperatorRole role);

}  // namespace corpusflow
