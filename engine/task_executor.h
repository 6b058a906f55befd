// ExecuteTasks: a plan run as the tasks of a resumable run (`--checkpoint DIR`,
// docs/resume.md). The work is divided into tasks that depend on the inputs and options alone:
// an input task per input slice and, with a shuffle, an output task per fixed range of the
// shuffled order. Each task opens the pipeline's operators afresh, with counters of its own, and
// is committed to the checkpoint (engine/io/checkpoint.h) when it ends: a breaker's task files,
// or its outputs kept as parts, and its journal entry. Tasks committed by an earlier run are
// skipped. The last task is never committed alone: it runs when every other task is, and its
// outputs, joined with the earlier parts (CommitGroup::set_earlier_parts), are committed as the
// run's outputs. Under MPI the ranks share the tasks through the folder and rank 0 runs the last
// one and commits alone.
#pragma once

#include "engine/exec_context.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

/// Run every task of `plan` not committed yet to the checkpoint of `ctx` (RunOptions::checkpoint),
/// then commit the outputs and remove the checkpoint. `stats` gets one OperatorStats per operator
/// (the sums over every task, committed ones included). Throws InvalidArgument when the plan
/// cannot run in tasks (an operator's TaskLimit) or the checkpoint is of another run, the first
/// error of any task otherwise; the tasks committed stay.
void ExecuteTasks(const Plan& plan, ExecContext& ctx, RunStats& stats);

}  // namespace corpusflow
