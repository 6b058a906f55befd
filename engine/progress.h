// The progress line on stderr: phase, bytes done of total (when known), MB/s, ETA, records.
// Stages report with AddBytes/AddRecords (atomics, any thread); a reporter thread redraws the
// line twice a second while enabled. With `--progress auto` it is shown only when stderr is a
// terminal. The reporter thread sleeps on a condition variable: it never blocks a TBB worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace corpusflow {

enum class ProgressMode { kAuto, kAlways, kNever };

/// Parse "auto", "always" or "never"; throws InvalidArgument.
ProgressMode ParseProgressMode(const std::string& text);

class Progress {
 public:
  explicit Progress(ProgressMode mode);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  /// Start a phase ("pass 1: scatter"); resets the byte and record counts.
  void StartPhase(std::string phase, uint64_t total_bytes = 0);
  void SetTotalBytes(uint64_t total) { total_bytes_ = total; }
  /// The current phase's total bytes (0 when unknown).
  uint64_t total_bytes() const { return total_bytes_.load(); }
  void AddBytes(uint64_t n) { done_bytes_.fetch_add(n, std::memory_order_relaxed); }
  void AddRecords(uint64_t n) { records_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t done_bytes() const { return done_bytes_.load(); }
  /// Stop the reporter and clear the line.
  void Stop();

  /// The current line (without terminal control codes), for tests.
  std::string Line() const;

 private:
  void Loop();

  bool enabled_;
  std::atomic<uint64_t> total_bytes_{0};
  std::atomic<uint64_t> done_bytes_{0};
  std::atomic<uint64_t> records_{0};
  mutable std::mutex mu_;
  std::string phase_;
  double phase_start_ = 0;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// Seconds on a monotonic clock.
double MonotonicSeconds();

}  // namespace corpusflow
