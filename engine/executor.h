// The executor runs a Plan's pipelines one after the other on oneTBB. Each pipeline is a
// tbb::parallel_pipeline: a serial source, transforms in parallel (or serial in order when they
// ask), and the sink in sequence order (or in parallel when the writer allows it). The number of
// batches in flight is ExecContext::max_batches_in_flight(), derived from the memory budget, so
// memory follows `--memory`; batches come from a pool and are reused. Stages that need record
// ordinals get a serial numbering step in front of them, so results never depend on the thread
// count.
// Every operator of a pipeline is opened (OpenContext) with its planned input schema and the
// pipeline's InputEstimate before the pipeline starts. A worker borrows a local state of a
// stage for each call and gives it back, so no two calls share one; when every batch went
// through, each stage in order combines its local states (one Combine each) and finishes.
// Writers hand their finished outputs to the run's CommitGroup (ExecContext::DeferCommit), which
// is committed after the last pipeline. An exception anywhere cancels the pipeline and is
// rethrown here; local states and run objects are then destroyed without Combine or Finish and
// the CommitGroup is discarded, which removes every partial output. A run that another thread
// cancels (RunOptions::cancel) ends the same way, with Interrupted, before its source's next
// batch. A run with a checkpoint (RunOptions::checkpoint) runs in tasks instead
// (engine/task_executor.h).
#pragma once

#include "engine/exec_context.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

/// Run every pipeline of `plan`. `stats` receives one OperatorStats per operator. Throws the
/// first error of any stage (after cancelling the others).
void Execute(const Plan& plan, ExecContext& ctx, RunStats& stats);

}  // namespace corpusflow
