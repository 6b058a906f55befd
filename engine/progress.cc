#include "engine/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "engine/error.h"
#include "engine/units.h"

namespace corpusflow {

ProgressMode ParseProgressMode(const std::string& text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  throw InvalidArgument("invalid --progress '" + text + "' (expected auto, always or never)");
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Progress::Progress(ProgressMode mode)
    : enabled_(mode == ProgressMode::kAlways ||
               (mode == ProgressMode::kAuto && isatty(STDERR_FILENO) == 1)) {
  phase_start_ = MonotonicSeconds();
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Stop(); }

void Progress::StartPhase(std::string phase, uint64_t total_bytes) {
  std::lock_guard lock(mu_);
  phase_ = std::move(phase);
  phase_start_ = MonotonicSeconds();
  total_bytes_ = total_bytes;
  done_bytes_ = 0;
  records_ = 0;
}

std::string Progress::Line() const {
  std::string phase;
  double start;
  {
    std::lock_guard lock(mu_);
    phase = phase_;
    start = phase_start_;
  }
  const double elapsed = MonotonicSeconds() - start;
  const uint64_t done = done_bytes_.load();
  const uint64_t total = total_bytes_.load();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  char buf[256];
  std::string line = phase.empty() ? std::string("running") : phase;
  line += ": " + FormatBytes(done);
  if (total > 0) {
    std::snprintf(buf, sizeof buf, " of %s (%.1f%%)", FormatBytes(total).c_str(),
                  100.0 * done / total);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, ", %.1f MB/s", rate / 1e6);
  line += buf;
  if (const uint64_t records = records_.load(); records > 0) {
    line += ", " + std::to_string(records) + " records";
  }
  if (total > 0 && rate > 0 && done <= total) {
    line += ", ETA " + FormatDuration((total - done) / rate);
  }
  line += ", " + FormatDuration(elapsed);
  return line;
}

void Progress::Loop() {
  // On a terminal the line is redrawn in place twice a second; into a file or pipe
  // (`--progress always`) a plain line is appended every ten seconds.
  const bool terminal = isatty(STDERR_FILENO) == 1;
  const auto period = std::chrono::milliseconds(terminal ? 500 : 10000);
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period);
    if (stop_) break;
    lock.unlock();
    const std::string line = Line();
    std::fprintf(stderr, terminal ? "\r\033[K%s" : "%s\n", line.c_str());
    std::fflush(stderr);
    lock.lock();
  }
}

void Progress::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    if (isatty(STDERR_FILENO) == 1) {
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    }
  }
}

}  // namespace corpusflow
