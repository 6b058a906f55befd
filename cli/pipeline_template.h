// The command line of a shortcut command: a fixed pipeline of registered operators, e.g.
// `corpusflow shuffle IN... -o OUT` for `read IN... | shuffle | write OUT`. It accepts the
// command's own options (inputs, outputs, --dry-run), the named options of each operator it
// forwards to, read from the operator registry (so an operator declares and documents its options
// once, and the shortcut's help shows them), and the run-wide options. After parsing, ArgsFor()
// gives each forwarded operator its options as typed, to create it through the registry with its
// own parser and checks.
// An operator option whose long name the command, an operator forwarded before it or the run
// declares is not forwarded: the command's meaning wins (`corpusflow shuffle --memory` is the
// run's budget, not the shuffle operator's --memory).
// Thread safety: one thread builds, parses and reads a ShortcutCommandLine.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/options.h"

namespace corpusflow {

class ShortcutCommandLine {
 public:
  /// `command` names the shortcut in messages ("shuffle"); `synopsis` is its usage line without
  /// "corpusflow ".
  ShortcutCommandLine(std::string command, std::string synopsis);

  /// The command's own options, shown first in help.
  boost::program_options::options_description& own() { return own_; }
  /// Take every positional argument as a value of the hidden repeatable option `name`
  /// (a std::vector<std::string>).
  void TakePositionals(const std::string& name);
  /// Accept the named options of the registered operator `op` and forward them to it.
  /// InvalidArgument when `op` is not registered.
  void Forward(const std::string& op);

  /// Parse the arguments after the command name. Throws InvalidArgument "COMMAND: ..." (unknown
  /// options with the nearest of all accepted ones).
  void Parse(const std::vector<std::string>& args);
  /// The parsed values of every option: own, forwarded (with the operator's defaults) and run.
  const OptionValues& values() const { return values_; }
  /// The options given for the forwarded operator `op`, as typed and in command-line order
  /// (`--seed 7` gives {"--seed", "7"}). REQUIRES: Forward(op) and Parse were called.
  const std::vector<std::string>& ArgsFor(std::string_view op) const;

  /// Return the help: "usage: corpusflow SYNOPSIS", `description`, then the command's options,
  /// each forwarded operator's and the run options.
  std::string Help(std::string_view description) const;

 private:
  struct Forwarded {
    std::string op;
    std::vector<std::string> args;
  };

  /// The options forwarded to each operator, in Forward() order: its named options less those
  /// whose long or short name an earlier declaration took.
  std::vector<boost::program_options::options_description> ForwardedOptions() const;
  /// All options shown in help, grouped: own, forwarded, run.
  boost::program_options::options_description Visible() const;

  std::string command_;
  std::string synopsis_;
  boost::program_options::options_description own_;
  boost::program_options::options_description run_{"run options"};
  std::string positional_name_;
  std::vector<Forwarded> forwarded_;
  OptionValues values_;
};

}  // namespace corpusflow
