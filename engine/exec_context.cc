#include "engine/exec_context.h"

#include <algorithm>
#include <thread>

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

void ExecContext::CommitDeferred() {
  outputs_.Commit();
  // After a failed commit the folders are removed like those of any failed run: only the empty
  // ones go, so a folder holding an output already renamed stays.
  run_files_.folders->Keep();
}

void ExecContext::DiscardDeferred() noexcept {
  outputs_.Discard();
  run_files_.folders->RemoveCreated();
}

}  // namespace corpusflow
