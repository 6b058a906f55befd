// The progress line on stderr. The executor starts a phase per pipeline, named by the stages
// that run in it (`[2/2] shuffle > tokenize > write-megatron`); an operator may name a step of
// the phase it runs (`shuffle pass 2: buckets`) without hiding the stages. Stages report with
// AddBytes/AddRecords (atomics, any thread); a reporter thread redraws the line twice a second
// while enabled, and at once when a phase or step starts. The line shows the bytes done (of the
// total when known, with a percentage and an ETA), the records, the rate, the phase's elapsed
// time and the whole run's (`phase 3.1s, total 12.4s`); once the input is known to end early
// (`head` asked the source to stop) it shows no percentage and no ETA.
// On a terminal the line is redrawn in place (`\r`, clear to the end of the line, never a
// newline) and fitted to the terminal's width (TIOCGWINSZ on stderr, else $COLUMNS, else 80):
// the least important fields are dropped first (the rate, the phase time, the step, the records,
// the ETA, the total time; the bytes stay), then the stage names are shortened, so the line
// never wraps. Into a file or pipe (`--progress always`) a whole line is appended every ten
// seconds. With `--progress auto` it is shown only when stderr is a terminal. The reporter
// thread sleeps on a condition variable: it never blocks a TBB worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace corpusflow {

enum class ProgressMode { kAuto, kAlways, kNever };

/// Parse "auto", "always" or "never"; throws InvalidArgument.
ProgressMode ParseProgressMode(const std::string& text);

/// The width of the terminal on `fd` (TIOCGWINSZ), else $COLUMNS, else 80.
size_t TerminalWidth(int fd);

/// Where a Progress draws (tests give a file posing as a terminal of a fixed width).
struct ProgressDisplay {
  FILE* out = stderr;
  /// Redraw in place and fit the width; false: append whole lines.
  bool terminal = false;
  /// The width to fit; 0: TerminalWidth of `out` at each redraw.
  size_t width = 0;
  /// Seconds between redraws.
  double period_seconds = 0.5;
};

class Progress {
 public:
  /// Draw on stderr per `mode` (a terminal when stderr is one).
  explicit Progress(ProgressMode mode);
  /// Draw on `display` (enabled).
  explicit Progress(ProgressDisplay display);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  /// Start a phase named `stages` ("[1/2] read > shuffle"): resets the bytes, records and the
  /// phase's time, clears the step and the early end, and redraws.
  void StartPhase(std::string stages, uint64_t total_bytes = 0);
  /// Name a step of the current phase ("shuffle pass 2: buckets") with its own byte total: the
  /// bytes count from zero again, the records and the phase's time go on; redraws.
  void StartStep(std::string step, uint64_t total_bytes = 0);
  /// The input of the phase will not be read to its end (head): no percentage or ETA any more.
  void EndEarly() { ended_early_ = true; }
  void SetTotalBytes(uint64_t total) { total_bytes_ = total; }
  /// The current phase's total bytes (0 when unknown).
  uint64_t total_bytes() const { return total_bytes_.load(); }
  void AddBytes(uint64_t n) { done_bytes_.fetch_add(n, std::memory_order_relaxed); }
  void AddRecords(uint64_t n) { records_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t done_bytes() const { return done_bytes_.load(); }
  /// Stop the reporter and clear the line (on a terminal).
  void Stop();

  /// The current line fitted to `width` columns (0: no limit), without terminal control codes.
  std::string Line(size_t width = 0) const;

 private:
  void Loop();
  void Draw();
  /// Wake the reporter to redraw now.
  void Poke();

  bool enabled_;
  ProgressDisplay display_;
  std::atomic<uint64_t> total_bytes_{0};
  std::atomic<uint64_t> done_bytes_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<bool> ended_early_{false};
  mutable std::mutex mu_;
  std::string stages_;
  std::string step_;
  double run_start_ = 0;
  double phase_start_ = 0;
  double step_start_ = 0;
  std::condition_variable cv_;
  bool stop_ = false;
  bool redraw_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

/// Seconds on a monotonic clock.
double MonotonicSeconds();

}  // namespace corpusflow
