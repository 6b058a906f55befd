// What a running operator may use from the engine: run options, the memory budget and batch
// size derived from it, the run's temp folder, progress reporting, and early stop (`head`).
// One ExecContext per run, shared by all workers: every member is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/io/commit_group.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"

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
};

/// The plan context of a run with `options` (the default budget when none is given).
PlanContext MakePlanContext(const RunOptions& options);

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

  /// Hold `commit` in the run's CommitGroup until every pipeline of the run has succeeded:
  /// Execute commits the group after the last pipeline (all members prepared, then renamed in
  /// rank order); when the run fails its members are destroyed without Commit(). Every output
  /// of a run goes this way, so a run's outputs appear together or not at all.
  void DeferCommit(std::unique_ptr<DeferredCommit> commit, CommitRank rank = CommitRank::kData);
  /// Commit the run's CommitGroup (Execute, at the end of a successful run).
  void CommitDeferred();
  /// Destroy the run's CommitGroup members without committing them (Execute, on failure).
  void DiscardDeferred() noexcept;

 private:
  RunOptions options_;
  int threads_;
  uint64_t memory_bytes_;
  uint64_t batch_bytes_;
  size_t max_in_flight_;
  TempDir temp_dir_;
  Progress progress_;
  std::atomic<bool> stop_requested_{false};
  CommitGroup outputs_;
};

}  // namespace corpusflow
