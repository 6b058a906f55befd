// What a running operator may use from the engine: run options, the memory budget and batch
// size derived from it, the run's temp folder, progress reporting, and early stop (`head`).
// One ExecContext per run, shared by all workers: every member is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/progress.h"
#include "engine/temp_dir.h"

namespace corpusflow {

/// Run-wide options given on the command line.
struct RunOptions {
  /// Worker threads; 0 = all cores.
  int threads = 0;
  /// The memory budget of the whole run in bytes; 0 = default (a fraction of RAM).
  uint64_t memory_bytes = 0;
  /// Target bytes per batch; 0 = derived from the budget.
  uint64_t batch_bytes = 0;
  std::filesystem::path tmp_dir;
  ProgressMode progress = ProgressMode::kAuto;
  std::string stats_json;
};

/// The default budget: a quarter of physical memory, at least 256 MiB.
uint64_t DefaultMemoryBudget();

/// What operators may check at plan time (before any I/O).
struct PlanContext {
  RunOptions options;
  uint64_t memory_bytes = 0;
  int threads = 1;
};

class ExecContext {
 public:
  explicit ExecContext(const RunOptions& options);

  const RunOptions& options() const { return options_; }
  int threads() const { return threads_; }
  /// The whole run's memory budget.
  uint64_t memory_bytes() const { return memory_bytes_; }
  /// Target data bytes per batch that sources aim for.
  uint64_t batch_bytes() const { return batch_bytes_; }
  /// Batches in flight in one pipeline (TBB tokens).
  size_t max_batches_in_flight() const { return max_in_flight_; }
  /// Memory left to a pipeline breaker (shuffle, vocab) after the in-flight batches' share.
  uint64_t breaker_memory_bytes() const;

  TempDir& temp_dir() { return temp_dir_; }
  Progress& progress() { return progress_; }

  /// Ask the source to stop producing (after `head` has what it needs).
  void RequestStop() { stop_requested_ = true; }
  bool stop_requested() const { return stop_requested_.load(std::memory_order_relaxed); }
  /// Reset the early-stop flag when a new pipeline starts.
  void ResetStop() { stop_requested_ = false; }

 private:
  RunOptions options_;
  int threads_;
  uint64_t memory_bytes_;
  uint64_t batch_bytes_;
  size_t max_in_flight_;
  TempDir temp_dir_;
  Progress progress_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace corpusflow
