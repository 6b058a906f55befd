// The corpusflow binary: look up the subcommand and map errors to exit codes
// (0 success, 1 runtime or data error, 2 usage error, 130 interrupted, 141 broken pipe).
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.h"
#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {
void PrintTopLevelUsage(std::FILE* out);
}

namespace {

/// The status of a run whose stdout reader went away: 128+SIGPIPE, what a tool killed by
/// SIGPIPE gives, so `set -o pipefail` scripts see the same as before.
constexpr int kBrokenPipeExit = 128 + SIGPIPE;

/// Whether text a command printed through stdio (reports, plans, help) met a closed pipe.
bool StdoutPipeBroke() {
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
  return corpusflow::InterruptSignal() == SIGPIPE || (failed && errno == EPIPE);
}

/// Whether SIGINT, SIGTERM or SIGHUP arrived: then the run ends with 130, whatever else it
/// met on its way out (an error from a system call the signal cut short, a usage error).
bool SignalArrived() {
  const int sig = corpusflow::InterruptSignal();
  return sig != 0 && sig != SIGPIPE;
}

int ExitInterrupted() {
  std::fprintf(stderr, "corpusflow: interrupted; temp files and partial outputs removed\n");
  return 130;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace corpusflow;
  // First of all, so that a signal at any later point (parsing, planning, loading a tokenizer,
  // blocked opening a FIFO) ends the run through its clean-up with exit 130.
  InstallInterruptHandlers();
  // glibc's allocator keeps its default, adaptive mmap threshold: a buffer freed and allocated
  // again (a task's output buffers, a batch) reuses pages the heap holds already, where a fixed
  // 1 MiB threshold mapped fresh ones each time (3.5x the page faults of the T5 PEGASUS
  // pipeline of bench/resume.sh, and fresh pages are dear: docs/packing.md).
  if (argc < 2) {
    PrintTopLevelUsage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h") {
    PrintTopLevelUsage(stdout);
    return 0;
  }
  const std::vector<std::string> args(argv + 2, argv + argc);
  // Under mpirun or srun every rank runs the command; MPI ends with the process, whatever the
  // outcome (docs/scale-out.md).
  struct FinalizeClusterOnExit {
    ~FinalizeClusterOnExit() { FinalizeCluster(); }
  } finalize_cluster;
  try {
    const CommandDef& command =
        CommandRegistry::Global().Get(name == "--version" ? "version" : name);
    if (TheCluster().size() > 1 && !command.ranks) {
      throw InvalidArgument("corpusflow " + command.name + " does not run as the " +
                            std::to_string(TheCluster().size()) +
                            " ranks of an MPI job; run it as one process (docs/scale-out.md)");
    }
    const int code = command.run(args);
    if (StdoutPipeBroke()) return kBrokenPipeExit;
    return SignalArrived() ? ExitInterrupted() : code;
  } catch (const BrokenPipe&) {
    return kBrokenPipeExit;  // quietly: the reader has what it wanted
  } catch (const RankFailed& e) {
    // Another rank's message says why; this one only says that it stopped.
    if (TheCluster().rank() == 0) std::fprintf(stderr, "corpusflow: %s\n", e.what());
    return e.exit_code();
  } catch (const Interrupted&) {
    return ExitInterrupted();
  } catch (const InvalidArgument& e) {
    if (SignalArrived()) return ExitInterrupted();
    // A usage error is the same on every rank of an MPI job: rank 0 says it.
    if (!ClusterStarted() || TheCluster().rank() == 0) {
      std::fprintf(stderr, "corpusflow: %s\n", e.what());
    }
    return 2;
  } catch (const std::exception& e) {
    if (SignalArrived()) return ExitInterrupted();
    std::fprintf(stderr, "corpusflow: error: %s\n", e.what());
    return 1;
  }
}
