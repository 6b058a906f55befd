#include "engine/exec_context.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

#include "engine/io/atomic_output.h"
#include "engine/io/paths.h"
#include "engine/units.h"

namespace corpusflow {

PlanContext MakePlanContext(const RunOptions& options) {
  PlanContext ctx;
  ctx.options = options;
  ctx.memory_bytes = options.memory_bytes > 0 ? options.memory_bytes : DefaultMemoryBudget();
  return ctx;
}

uint64_t DefaultMemoryBudget() {
  return std::max<uint64_t>(PhysicalMemoryBytes() / 4, uint64_t{256} << 20);
}

uint64_t DefaultMaxRecordBytes(uint64_t memory_bytes) {
  return std::max<uint64_t>(memory_bytes / 8, 1);
}

namespace {

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

ExecContext::ExecContext(const RunOptions& options)
    : options_(options),
      threads_(ResolveThreads(options.threads)),
      memory_bytes_(options.memory_bytes > 0 ? options.memory_bytes : DefaultMemoryBudget()),
      max_record_bytes_(options.max_record_bytes > 0 ? options.max_record_bytes
                                                     : DefaultMaxRecordBytes(memory_bytes_)),
      temp_dir_(options.tmp_dir.empty() ? TempDir::DefaultParent() : options.tmp_dir),
      progress_(options.progress) {
  run_files_.file_system = options.file_system;
  run_files_.folders = std::make_shared<OutputFolders>();
  outputs_.set_cluster(&cluster());
  // A commit of several renames is journaled in the run folder (engine/io/commit_journal.h).
  outputs_.set_journal_folder([this] { return temp_dir_.Path(); });
  // Batches of a few MB; smaller when the budget is tiny so several fit in flight. A batch in
  // flight costs about three times its data (input buffers, output buffers, reader chunk).
  batch_bytes_ = options.batch_bytes > 0
                     ? options.batch_bytes
                     : std::clamp<uint64_t>(memory_bytes_ / 64, 16 << 10, 4 << 20);
  const uint64_t share = memory_bytes_ / 4;
  max_in_flight_ = static_cast<size_t>(
      std::clamp<uint64_t>(share / (3 * batch_bytes_), 2, 2 * static_cast<uint64_t>(threads_) + 2));
}

uint64_t ExecContext::breaker_memory_bytes() const {
  const uint64_t in_flight = 3 * batch_bytes_ * max_in_flight_;
  const uint64_t floor = memory_bytes_ / 2;
  return memory_bytes_ > in_flight + floor ? memory_bytes_ - in_flight : floor;
}

void ExecContext::SetInputFiles(const std::vector<std::string>& paths) {
  input_paths_ = paths;
  run_files_.inputs =
      std::make_shared<const std::vector<FileId>>(IdentifyFiles(file_system(), paths));
}

void ExecContext::DeferCommit(std::unique_ptr<DeferredCommit> commit, CommitRank rank) {
  outputs_.Add(std::move(commit), rank, output_owner_.load());
}

ExecContext::~ExecContext() { DiscardDeferred(); }

Cluster& ExecContext::cluster() const {
  static const std::unique_ptr<Cluster> single = MakeSingleProcessCluster();
  return options_.cluster != nullptr ? *options_.cluster : *single;
}

std::pair<uint64_t, uint64_t> ExecContext::InputSliceRange(uint64_t slices) const {
  if (input_task_) return {*input_task_, *input_task_ + 1};
  const auto n = static_cast<uint64_t>(cluster().size());
  const auto r = static_cast<uint64_t>(cluster().rank());
  return {slices * r / n, slices * (r + 1) / n};
}

void ExecContext::CommitDeferred() {
  outputs_.Commit();
  // After a failed commit the folders are removed like those of any failed run: only the empty
  // ones go, so a folder holding an output already renamed stays.
  run_files_.folders->Keep();
}

void ExecContext::SetJob(const std::string& job) {
  job_ = job;
  run_files_.temp_tag = job + "-r" + std::to_string(cluster().rank()) + "-";
}

namespace {

/// Whether `parent` holds a run folder (TempDir), of any run.
bool HoldsRunFolder(const std::filesystem::path& parent) noexcept {
  std::error_code error;
  std::filesystem::directory_iterator it(parent, error);
  for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (IsRunFolderName(it->path().filename().string())) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> ExecContext::OutputFolderPaths() const noexcept {
  std::vector<std::string> folders;
  try {
    std::vector<std::string> outputs = output_paths_;
    if (!options_.stats_json.empty()) outputs.push_back(options_.stats_json);
    for (const std::string& output : outputs) {
      const std::string folder = std::filesystem::path(output).parent_path().string();
      if (std::find(folders.begin(), folders.end(), folder) == folders.end()) {
        folders.push_back(folder);
      }
    }
  } catch (...) {
    // A clean-up path: what cannot be listed stays.
  }
  return folders;
}

uint64_t ExecContext::RemoveJobTempsBesideOutputs() noexcept {
  if (job_.empty()) return 0;
  return RemoveJobTemps(file_system(), OutputFolderPaths(), job_);
}

void ExecContext::RemoveFailedJobFiles() noexcept {
  if (job_.empty()) return;
  // Once one rank of a failed job exits, the launcher SIGKILLs the others (mpirun at once, in
  // abort mode): this rank's own run folder goes first (its parts are gone already), then every
  // rank's parts and the run folders of dead ranks.
  temp_dir_.Remove();
  const std::vector<std::string> folders = OutputFolderPaths();
  const auto clean = [&] {
    RemoveJobTemps(file_system(), folders, job_);
    SweepStaleRunFolders(temp_dir_.parent());
  };
  clean();
  // The other ranks on this node clean up at the same time: wait (up to a second) until their
  // run folders are gone, so that this rank's exit does not get them killed halfway, and sweep
  // the folders of those killed meanwhile. Run folders of unrelated runs in the same --tmp-dir
  // only make it wait the whole second.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (HoldsRunFolder(temp_dir_.parent()) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    clean();
  }
}

void ExecContext::DiscardDeferred() noexcept {
  outputs_.Discard();
  run_files_.folders->RemoveCreated();
}

}  // namespace corpusflow
