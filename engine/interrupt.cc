#include "engine/interrupt.h"

#include <signal.h>

#include "engine/error.h"

namespace corpusflow {
namespace {

/// The first signal received, 0 while none.
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(sig, &action, nullptr);
}

bool InterruptRequested() { return g_signal != 0; }

int InterruptSignal() { return g_signal; }

void CheckInterrupt() {
  const int sig = g_signal;
  if (sig == 0) return;
  if (sig == SIGPIPE) throw BrokenPipe("");
  throw Interrupted();
}

void ClearInterrupt() { g_signal = 0; }

}  // namespace corpusflow
