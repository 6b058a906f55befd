// SIGINT/SIGTERM handling. The handlers only set a flag (the one process-wide variable of the
// engine: a signal handler can reach nothing else); long-running loops call CheckInterrupt(),
// which throws Interrupted, so the normal error path cancels the pipeline and RAII removes temp
// files and partial outputs. The CLI then exits 130.
#pragma once

namespace corpusflow {

/// Install the SIGINT/SIGTERM handlers (idempotent). Without SA_RESTART, so a blocking read
/// returns EINTR and its caller checks the flag.
void InstallInterruptHandlers();
/// Whether SIGINT or SIGTERM arrived.
bool InterruptRequested();
/// Throw Interrupted when a signal arrived.
void CheckInterrupt();
/// Forget a received signal (tests).
void ClearInterrupt();

}  // namespace corpusflow
