// Subcommands of the `corpusflow` binary (`run`, `ops`, `help`, `shuffle`, `gen`, `merge`, ...).
// Each registers itself by name from a static initialiser (CommandRegistrar) in its own file under
// cli/; main() looks the name up and calls it. Commands are thin: they parse their arguments,
// build a pipeline or call an engine/operator facility, and report. They throw corpusflow::Error
// (InvalidArgument for usage errors) and return the process exit code on success paths.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec_context.h"
#include "engine/name_registry.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

struct CommandDef {
  std::string name;
  /// "shuffle [INPUT...] [-o OUTPUT] [options]".
  std::string synopsis;
  /// One line for `corpusflow help`.
  std::string summary;
  /// Run with the arguments after the command name; return the exit code.
  std::function<int(const std::vector<std::string>& args)> run;
  /// Whether the command may run as the ranks of an MPI job (its pipeline's operators then say
  /// what they cannot do across ranks); a command that does not is refused under mpirun/srun
  /// with several ranks, instead of every rank doing the same work.
  bool ranks = false;
};

/// The commands by name; Get() of an unknown name says "unknown command 'x' (did you mean
/// 'y'?); `corpusflow help` lists commands".
class CommandRegistry : public NameRegistry<CommandDef> {
 public:
  CommandRegistry();
  /// The process-wide registry that static registrars fill.
  static CommandRegistry& Global();
};

struct CommandRegistrar {
  explicit CommandRegistrar(CommandDef def);
};

/// Add the run-wide options (--threads, --memory, --max-record-bytes, --slice-bytes, --tmp-dir,
/// --stats-json, --progress, --checkpoint, --restart) to `desc`.
void AddRunOptions(boost::program_options::options_description& desc);
/// The identity of a checkpointed command (RunOptions::command): `command` and its `args`
/// without the options that never change the outputs (--threads, --memory, --tmp-dir,
/// --progress, --stats-json, --checkpoint, --restart), which a resumed run may change.
std::string CheckpointCommand(std::string_view command, const std::vector<std::string>& args);
/// Read the run-wide options back from parsed values.
RunOptions RunOptionsFrom(const boost::program_options::variables_map& values);

/// Create the operators of stage specs through the operator registry, in order. `stages` is a
/// list of (operator name, args). Throws InvalidArgument (unknown operator, bad options).
std::vector<std::unique_ptr<Operator>> CreateOperators(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& stages);

/// Build operators from stage specs through the operator registry and plan them.
/// `stages` is a list of (operator name, args).
Plan PlanStages(const std::vector<std::pair<std::string, std::vector<std::string>>>& stages,
                const RunOptions& options);

/// Run a plan and report it: fill `stats` (status, error, elapsed seconds, peak RSS, the files
/// written), write `--stats-json` (after a failure too) and tell the other MPI ranks of a
/// failure. Returns whether the progress display was shown; throws the run's error after the
/// report. Installs no signal handler (the caller decides: the CLI does, the Python module
/// leaves Python's own).
bool RunPlanWithReport(const Plan& plan, const RunOptions& options, RunStats& stats);

/// Run a plan with the standard reporting: progress on stderr, `--stats-json`, the summary of
/// dropped records, cleanup on failure. Returns 0; throws on error (after writing stats).
int ExecutePlan(const Plan& plan, const RunOptions& options);

/// Parse `args` against `desc` (+ positional) with the one option parser (engine/options.h):
/// Boost errors become InvalidArgument "COMMAND: ...", an unknown option suggests the nearest
/// option of `desc`.
void ParseCommandArgs(const std::string& command, const std::vector<std::string>& args,
                      const boost::program_options::options_description& desc,
                      const boost::program_options::positional_options_description* positional,
                      boost::program_options::variables_map* values);
/// The same where every positional argument is a value of the hidden, repeatable option
/// `positional_name` (a std::vector<std::string>), as in `corpusflow shuffle a.txt b.txt`.
void ParseCommandArgsWithInputs(const std::string& command, const std::vector<std::string>& args,
                                const boost::program_options::options_description& desc,
                                const char* positional_name,
                                boost::program_options::variables_map* values);

}  // namespace corpusflow
