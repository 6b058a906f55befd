// Handling of the signals that end a run early: SIGINT, SIGTERM and SIGHUP ("interrupted") and
// SIGPIPE (the reader of a pipe the run writes went away). The handlers only record the signal
// (the one process-wide variable of the engine: a signal handler can reach nothing else);
// long-running loops call CheckInterrupt(), which throws Interrupted, or BrokenPipe after
// SIGPIPE, so the normal error path cancels the pipeline and RAII removes the temp folder and
// partial outputs. The CLI then exits 130, or 141 quietly for a broken pipe. cli/main.cc installs
// the handlers before anything else and exits 130 whenever one of the first three arrived, even
// if the run ended by another error on its way out (a system call the signal cut short).
//
// SIGPIPE is caught, not left to its default action (which kills the process before any
// cleanup): a write to a pipe without a reader then fails with EPIPE, which the writers turn
// into BrokenPipe. A caught signal is reset to its default in any program the run executes.
#pragma once

namespace corpusflow {

/// Install the SIGINT/SIGTERM/SIGHUP/SIGPIPE handlers (idempotent). Without SA_RESTART, so a
/// blocking read returns EINTR and its caller checks the flag.
void InstallInterruptHandlers();
/// Whether one of those signals arrived.
bool InterruptRequested();
/// The first of those signals that arrived, or 0.
int InterruptSignal();
/// Throw BrokenPipe when SIGPIPE arrived first, Interrupted when another signal did.
void CheckInterrupt();
/// Forget a received signal (tests).
void ClearInterrupt();

/// A moment where the tests of resumable runs may kill the process (tests only):
/// CORPUSFLOW_TEST_KILL_AT=N makes the N-th call of the process say "corpusflow: test kill at
/// `where`" on stderr and raise SIGKILL, which nothing catches; with
/// CORPUSFLOW_TEST_KILL_WHERE=TEXT only the calls whose `where` holds TEXT count, with
/// CORPUSFLOW_TEST_KILL_RANK=R only MPI rank R counts. The executor calls it before
/// each batch a source makes and at each step of a checkpointed run's task commit, the commit
/// group before each rename. A no-op (one relaxed load) without the variable.
void KillPointForTest(const char* where);

}  // namespace corpusflow
