#include "engine/interrupt.h"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

void KillPointForTest(const char* where) {
  static const uint64_t kill_at = [] {
    const char* value = std::getenv("CORPUSFLOW_TEST_KILL_AT");
    if (value == nullptr) return uint64_t{0};
    // Only the MPI rank named, when one is.
    const char* rank = std::getenv("CORPUSFLOW_TEST_KILL_RANK");
    const char* mine = std::getenv("OMPI_COMM_WORLD_RANK");
    if (rank != nullptr && (mine == nullptr || std::strcmp(rank, mine) != 0)) return uint64_t{0};
    return static_cast<uint64_t>(std::strtoull(value, nullptr, 10));
  }();
  static const char* const only = std::getenv("CORPUSFLOW_TEST_KILL_WHERE");
  static std::atomic<uint64_t> calls{0};
  if (kill_at == 0) return;
  if (only != nullptr && std::strstr(where, only) == nullptr) return;
  if (++calls != kill_at) return;
  std::fprintf(stderr, "corpusflow: test kill at %s\n", where);
  std::fflush(stderr);
  std::raise(SIGKILL);
}

}  // namespace corpusflow
