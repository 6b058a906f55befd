// The engine's own pieces of the executor that both ways of running a plan use: one pipeline
// run to its end (RunPipeline) and the checks of a run whose work is divided among MPI ranks or
// the tasks of a checkpointed run (CheckDivisible). Execute (engine/executor.h) runs a plan as
// one process or rank; ExecuteTasks (engine/task_executor.h) runs it in tasks. Nothing outside
// engine/ includes this header.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/exec_context.h"
#include "engine/operator.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

/// Batches reused across a pipeline (or across the pipelines of a checkpointed run's tasks, whose
/// memory is then touched once); owns every batch so none leaks on cancellation. Thread-safe.
class BatchPool {
 public:
  /// A batch that comes back holding more than `max_kept_bytes` (it carried a record far larger
  /// than a batch) is emptied, so that the pool keeps its batches at their usual size and a
  /// huge record's memory is given back once it has passed.
  explicit BatchPool(uint64_t max_kept_bytes) : max_kept_bytes_(max_kept_bytes) {}

  Batch* Get() {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      Batch* b = free_.back();
      free_.pop_back();
      return b;
    }
    all_.push_back(std::make_unique<Batch>());
    return all_.back().get();
  }
  void Put(Batch* b) {
    if (b->MemoryBytes() > max_kept_bytes_) b->Release();
    std::lock_guard lock(mu_);
    free_.push_back(b);
  }

 private:
  uint64_t max_kept_bytes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Batch>> all_;
  std::vector<Batch*> free_;
};

/// The run objects of one pipeline, opened, and where their counters go.
struct PipelineRuns {
  BatchReader* reader = nullptr;
  OperatorStats* source_stats = nullptr;
  std::vector<TransformRun*> transforms;
  std::vector<const Operator*> transform_ops;
  std::vector<OperatorStats*> transform_stats;
  /// The plan indexes of the transforms and of the sink.
  std::vector<int> transform_indexes;
  int sink_index = -1;
  BatchWriter* writer = nullptr;
  const Operator* sink_op = nullptr;
  OperatorStats* sink_stats = nullptr;
  /// What runs, for KillPointForTest: "a batch", or a checkpointed run's task.
  const char* moment = "a batch";
  /// The batches to use, kept across pipelines (null: the pipeline's own).
  BatchPool* pool = nullptr;
};

/// Open the transforms of `pipe` (each with `open(i)`, its OpenContext) into `runs`, with their
/// counters `op_stats[i]`; returns the run objects, which `runs` points into.
std::vector<std::unique_ptr<TransformRun>> OpenTransforms(
    const Plan& plan, const PipelinePlan& pipe, const std::function<OpenContext(size_t)>& open,
    const std::vector<OperatorStats*>& op_stats, PipelineRuns& runs);

/// Run one pipeline to its end: every batch through every stage, then each stage's Combine
/// steps and Finish, in stage order. Returns the records and bytes its sink consumed. Throws the
/// first error of any stage (after cancelling the others).
InputEstimate RunPipeline(const PipelineRuns& runs, ExecContext& ctx);

/// The checks of a run whose work is divided (MPI ranks, or the tasks of a checkpointed run):
/// every operator can be divided (`limit`: Operator::RankLimit or TaskLimit), and no stage after
/// a breaker numbers records with another stage before it. `divided`: "cannot run across N MPI
/// ranks"; `advice` ends the message. Throws InvalidArgument.
void CheckDivisible(const Plan& plan, std::string (Operator::*limit)() const,
                    const std::string& divided, const std::string& advice);

}  // namespace corpusflow
