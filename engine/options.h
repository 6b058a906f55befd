// The one command-line option parser of corpusflow, for operators (`head 3`, `write x --shards 2`)
// and commands (`corpusflow shuffle a.txt --seed 1`) alike: Boost.Program_options underneath,
// abbreviations refused (an option is spelled in full, so adding one never breaks a script), and
// every Boost error turned into InvalidArgument that names who parsed it and, for an unknown
// option, suggests the nearest declared one.
// Thread safety: ParseOptions is a pure function of its arguments; an OptionSet is built by one
// thread and read-only while it is parsed against.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace corpusflow {

/// The options of an operator or command: named ones shown in help, hidden ones that take
/// positional arguments (e.g. "input" for `read PATH...`).
struct OptionSet {
  boost::program_options::options_description named{"options"};
  boost::program_options::options_description hidden{"positional"};
  boost::program_options::positional_options_description positional;
};

using OptionValues = boost::program_options::variables_map;

/// How ParseOptions words its errors.
struct OptionErrors {
  /// Who parses, the prefix of every message: "head", "shuffle", "bench disk".
  std::string who{};
  /// Appended to an unknown option's message after "; " (e.g. "`corpusflow help head` lists its
  /// options"); nothing when empty.
  std::string unknown_hint{};
  /// The usage shown for surplus positional arguments ("who: too many arguments; usage:
  /// USAGE"); Boost's own message when empty.
  std::string usage{};
};

/// Parse `args` against `options` into `values` (stored and notified: required options and
/// notifiers are checked) and return Boost's parse (each option with its original tokens).
/// Throws InvalidArgument "WHO: MESSAGE": for an unknown option "WHO: unknown option '--x'
/// (did you mean '--y'?)", the suggestion taken from the named options.
boost::program_options::parsed_options ParseOptions(const OptionSet& options,
                                                    const std::vector<std::string>& args,
                                                    const OptionErrors& errors,
                                                    OptionValues* values);

/// The long names of `desc`'s options as typed, "--name".
std::vector<std::string> OptionNames(const boost::program_options::options_description& desc);

}  // namespace corpusflow
