// The operator registry: every operator registers under its name with a Boost.Program_options
// description of its options and a factory. `corpusflow ops` lists the registry, `corpusflow help
// OP` prints one entry, and the pipeline parser builds operators through Create(). Registration
// happens from static initialisers (OperatorRegistrar) before main; afterwards the registry is
// read-only and safe to use from any thread.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/operator.h"

namespace corpusflow {

/// The options of one operator: named ones shown in help, hidden ones that take positional
/// arguments (e.g. "input" for `read PATH...`).
struct OptionSet {
  boost::program_options::options_description named{"options"};
  boost::program_options::options_description hidden{"positional"};
  boost::program_options::positional_options_description positional;
};

using OptionValues = boost::program_options::variables_map;

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
};

class OperatorRegistry {
 public:
  /// The process-wide registry that static registrars fill.
  static OperatorRegistry& Global();

  void Register(OperatorDef def);
  const OperatorDef* Find(std::string_view name) const;
  /// All operators, sorted by name.
  std::vector<const OperatorDef*> List() const;
  /// Parse `args` with the operator's options and create it. Unknown operators and options,
  /// missing or malformed values throw InvalidArgument with the nearest valid name.
  std::unique_ptr<Operator> Create(std::string_view name,
                                   const std::vector<std::string>& args) const;
  /// The help text of one operator; InvalidArgument when unknown.
  std::string Help(std::string_view name) const;

 private:
  std::vector<OperatorDef> defs_;
};

/// Registers an operator from a static initialiser:
///   static const OperatorRegistrar kRegisterRead(OperatorDef{...});
struct OperatorRegistrar {
  explicit OperatorRegistrar(OperatorDef def);
};

/// The candidate closest to `word` by edit distance, or "" when none is reasonably close.
std::string NearestName(std::string_view word, const std::vector<std::string>& candidates);

/// "source", "transform", "sink" or "breaker".
std::string_view RoleName(OperatorRole role);

}  // namespace corpusflow
