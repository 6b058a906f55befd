// What a running operator may use from the engine: run options, the memory budget and batch
// size derived from it, the run's temp folder, its FileSystem and input files (RunFiles, for
// every output it creates), the CommitGroup that holds its outputs until the run succeeded,
// progress reporting, early stop (`head`), and the run-wide cache of loaded resources.
// One ExecContext per run, shared by all workers: every member is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/cluster.h"
#include "engine/io/commit_group.h"
#include "engine/io/file_system.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/resource_cache.h"
#include "engine/slices.h"

namespace corpusflow {

/// Run-wide options given on the command line.
struct RunOptions {
  /// Worker threads; 0 = all cores.
  int threads = 0;
  /// The memory budget of the whole run in bytes; 0 = default (a fraction of RAM).
  uint64_t memory_bytes = 0;
  /// Target bytes per batch; 0 = derived from the budget.
  uint64_t batch_bytes = 0;
  /// The longest record a source accepts (`--max-record-bytes`); 0 = DefaultMaxRecordBytes of
  /// the budget.
  uint64_t max_record_bytes = 0;
  /// Input bytes per slice (`--slice-bytes`, engine/slices.h); 0 = kDefaultSliceBytes.
  uint64_t slice_bytes = 0;
  /// The ranks that run the pipeline together (engine/cluster.h); null = this process alone.
  Cluster* cluster = nullptr;
  std::filesystem::path tmp_dir;
  ProgressMode progress = ProgressMode::kAuto;
  /// The `--stats-json` document to write ("" = none, "-" = stdout).
  std::string stats_json;
  /// The file layer every file of the run goes through; null = FileSystem::Default(). Tests set
  /// a fault-injecting one (tests/testing/fault_file_system.h).
  FileSystem* file_system = nullptr;
  /// A flag another thread sets to cancel the run (the Python module, when its iterator is
  /// closed or dropped early); null = none. The executor checks it before each batch a source
  /// produces and throws Interrupted, which ends the run as a signal does.
  const std::atomic<bool>* cancel = nullptr;
  /// The checkpoint folder (`--checkpoint DIR`, docs/resume.md); empty: the run is not
  /// checkpointed.
  std::filesystem::path checkpoint;
  /// `--restart`: discard what the checkpoint folder holds before the run.
  bool restart = false;
  /// The command and those of its options that decide the outputs, as the checkpoint's identity
  /// records it (a resumed run must give the same).
  std::string command;
};

/// The default budget: a quarter of physical memory, at least 256 MiB.
uint64_t DefaultMemoryBudget();
/// The default longest record of a run with budget `memory_bytes`: an eighth of it, so that a
/// record, the batch that holds it and a breaker's copy of it stay inside the budget.
uint64_t DefaultMaxRecordBytes(uint64_t memory_bytes);

/// What operators may check at plan time (before any I/O).
struct PlanContext {
  RunOptions options;
  uint64_t memory_bytes = 0;

  /// The run's FileSystem.
  FileSystem& file_system() const {
    return options.file_system != nullptr ? *options.file_system : FileSystem::Default();
  }
};

/// The plan context of a run with `options` (the default budget when none is given).
PlanContext MakePlanContext(const RunOptions& options);

class ExecContext {
 public:
  explicit ExecContext(const RunOptions& options);
  /// Discards the outputs not committed and removes the output folders a failed run created.
  ~ExecContext();
  ExecContext(const ExecContext&) = delete;
  ExecContext& operator=(const ExecContext&) = delete;

  const RunOptions& options() const { return options_; }
  int threads() const { return threads_; }
  /// The whole run's memory budget.
  uint64_t memory_bytes() const { return memory_bytes_; }
  /// Target data bytes per batch that sources aim for.
  uint64_t batch_bytes() const { return batch_bytes_; }
  /// The longest record a source may produce: a longer one is an error naming its file and line,
  /// or a counted drop where the source is asked to skip bad records; sources never hold more
  /// of one record than this.
  uint64_t max_record_bytes() const { return max_record_bytes_; }
  /// Input bytes per slice (engine/slices.h): the unit of work division and the first half of
  /// a record's identity.
  uint64_t slice_bytes() const {
    return options_.slice_bytes > 0 ? options_.slice_bytes : kDefaultSliceBytes;
  }
  /// Whether sources read a share of the input slices, not all of them: under MPI (each rank
  /// its share) or in a task of a checkpointed run (one slice).
  bool divides_input() const { return !cluster().single() || input_task_.has_value(); }
  /// The input slices [first, end) of the `slices` of the run that the sources read: all of
  /// them for one process; slices [S*r/n, S*(r+1)/n) for rank r of n; the task's slice in an
  /// input task of a checkpointed run (SetInputTask).
  std::pair<uint64_t, uint64_t> InputSliceRange(uint64_t slices) const;
  /// Make the sources opened from now on read input slice `slice` alone (a checkpointed run's
  /// input task), or all that are theirs again (nullopt).
  void SetInputTask(std::optional<uint64_t> slice) { input_task_ = slice; }
  /// Whether the outputs writers make now are parts of the outputs, not the outputs: in a task
  /// of a checkpointed run whose outputs the run keeps as parts (docs/resume.md). Writers count
  /// the files they make only when they are not.
  bool writes_parts() const { return writes_parts_; }
  void set_writes_parts(bool parts) { writes_parts_ = parts; }
  /// The ranks of the run: each reads its share of the input slices (`read`), and rank 0 commits
  /// the outputs every rank wrote parts of (CommitGroup::set_cluster).
  Cluster& cluster() const;
  /// Batches in flight in one pipeline (TBB tokens).
  size_t max_batches_in_flight() const { return max_in_flight_; }
  /// Memory left to a pipeline breaker (shuffle, vocab) after the in-flight batches' share.
  uint64_t breaker_memory_bytes() const;

  TempDir& temp_dir() { return temp_dir_; }
  /// The run's FileSystem (RunOptions::file_system, else the POSIX one).
  FileSystem& file_system() const { return run_files_.fs(); }
  /// The FileSystem and the input files of the run: what every output of the run is created
  /// with (OutputOptions::run_files, AtomicOutput::Create).
  const RunFiles& run_files() const { return run_files_; }
  /// Record the files the run reads, which no output may replace (Execute, from the plan).
  /// REQUIRES: no worker runs yet.
  void SetInputFiles(const std::vector<std::string>& paths);
  /// The paths given to SetInputFiles.
  const std::vector<std::string>& input_paths() const { return input_paths_; }
  /// Record the files the run writes as planned (Execute, from the plan), for operators that
  /// report where their data goes (the shuffle's I/O bound). REQUIRES: no worker runs yet.
  void SetOutputPaths(std::vector<std::string> paths) { output_paths_ = std::move(paths); }
  const std::vector<std::string>& output_paths() const { return output_paths_; }
  Progress& progress() { return progress_; }
  /// The run's loaded resources (dictionaries, vocabularies, models): operators load them here,
  /// in Open, so each loads once per run.
  ResourceCache& resources() { return resources_; }

  /// Ask the source to stop producing (after `head` has what it needs). The progress line then
  /// stops showing a percentage and an ETA: the input will not be read to its end.
  void RequestStop() {
    if (!stop_requested_.exchange(true)) progress_.EndEarly();
  }
  bool stop_requested() const { return stop_requested_.load(std::memory_order_relaxed); }
  /// Whether another thread cancelled the run (RunOptions::cancel).
  bool cancelled() const {
    return options_.cancel != nullptr && options_.cancel->load(std::memory_order_relaxed);
  }
  /// Reset the early-stop flag when a new pipeline starts.
  void ResetStop() { stop_requested_ = false; }

  /// Hold `commit` in the run's CommitGroup until every pipeline of the run has succeeded:
  /// Execute commits the group after the last pipeline (all members prepared, then renamed in
  /// rank order); when the run fails its members are destroyed without Commit(). Every output
  /// of a run goes this way, so a run's outputs appear together or not at all.
  /// The files of a member are tagged with the operator set by set_output_owner (for the run's
  /// report: which operator wrote which file).
  void DeferCommit(std::unique_ptr<DeferredCommit> commit, CommitRank rank = CommitRank::kData);
  /// Tag the outputs deferred from now on as written by the operator at `index` of the plan (-1:
  /// none). The executor sets it around each operator's Finish (one thread).
  void set_output_owner(int index) { output_owner_ = index; }
  /// The files the run's CommitGroup prepared, with their sizes and owners (after
  /// CommitDeferred, or from a member's Prepare of rank kReport: every data file is prepared
  /// then).
  std::vector<WrittenFile> written_outputs() const { return outputs_.written(); }
  /// Commit the run's CommitGroup (Execute, at the end of a successful run); the output folders
  /// the run created stay.
  void CommitDeferred();
  /// Destroy the run's CommitGroup members without committing them and, unless the run
  /// committed, remove the output folders it created that are empty (Execute, on failure; the
  /// destructor again, once every writer is gone).
  void DiscardDeferred() noexcept;
  /// A task of a checkpointed run ended: prepare the outputs its writers deferred (not the
  /// report) and take them out of the run's CommitGroup (CommitGroup::PrepareAndTakeOutputs).
  std::vector<CommitGroup::TakenMember> TakeTaskOutputs() {
    return outputs_.PrepareAndTakeOutputs();
  }
  /// A checkpointed run under MPI: rank 0 commits the outputs joined from the tasks' parts
  /// alone, without the join across ranks (CommitGroup::set_cluster).
  void CommitAlone() { outputs_.set_cluster(nullptr); }
  /// The outputs a checkpointed run appends to (RunFiles::appends); the map may change between
  /// tasks, never while writers are open.
  void SetAppendedOutputs(std::shared_ptr<const std::map<std::string, AppendedOutput>> appends) {
    run_files_.appends = std::move(appends);
  }
  /// The parts earlier tasks of a checkpointed run wrote, joined into the outputs at the commit
  /// (CommitGroup::set_earlier_parts).
  void SetEarlierParts(CommitGroup::EarlierParts earlier) {
    outputs_.set_earlier_parts(std::move(earlier));
  }

  /// Name the multi-rank job this run is a rank of (Execute: every rank gets rank 0's
  /// NewJobName): the temp files of its outputs carry the job and the rank
  /// (RunFiles::temp_tag). REQUIRES: no output created yet.
  void SetJob(const std::string& job);
  /// After a multi-rank run failed on this rank (Execute, on the way out, once no object of the
  /// run uses its run folder): remove this rank's run folder, the temp files of every rank of
  /// the job beside the run's outputs (a killed rank's parts too: RemoveJobTemps) and the run
  /// folders in this rank's --tmp-dir whose owner is gone (a killed rank's on this node:
  /// SweepStaleRunFolders); then, for up to a second while other run folders remain in the
  /// --tmp-dir (the other ranks of this node cleaning up), sweep again, so that this rank's exit
  /// (after which the launcher kills the rest) comes after theirs. Nothing for one process.
  void RemoveFailedJobFiles() noexcept;
  /// Remove the temp files of the job's outputs that a killed process of it left beside the
  /// outputs (a checkpointed run resumed: its job is the checkpoint's); returns how many.
  uint64_t RemoveJobTempsBesideOutputs() noexcept;

 private:
  /// The folders of the run's outputs (and of its report).
  std::vector<std::string> OutputFolderPaths() const noexcept;

  RunOptions options_;
  int threads_;
  uint64_t memory_bytes_;
  uint64_t batch_bytes_;
  uint64_t max_record_bytes_;
  size_t max_in_flight_;
  TempDir temp_dir_;
  RunFiles run_files_;
  std::string job_;
  std::optional<uint64_t> input_task_;
  bool writes_parts_ = false;
  std::vector<std::string> input_paths_;
  std::vector<std::string> output_paths_;
  Progress progress_;
  ResourceCache resources_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> output_owner_{-1};
  CommitGroup outputs_;
};

}  // namespace corpusflow
