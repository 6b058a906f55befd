#include "engine/interrupt.h"

#include <signal.h>

#include <atomic>

#include "engine/error.h"

namespace corpusflow {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int /*sig*/) { g_interrupted = 1; }

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool InterruptRequested() { return g_interrupted != 0; }

void CheckInterrupt() {
  if (g_interrupted != 0) throw Interrupted();
}

void ClearInterrupt() { g_interrupted = 0; }

}  // namespace corpusflow
