// The `--stats-json` document of a run, written through AtomicOutput like every output: validated
// at plan time (Plan::Build: its folder exists, it is no input or other output of the run), then
// either a member of the run's CommitGroup (a successful run: written once every other output is
// complete, so the counters are final, and renamed last, CommitRank::kReport), or written at once
// after a failed run. A device, FIFO or /dev/stdout is written in place, never replaced.
// Thread safety: one thread (the one that runs the plan).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/exec_context.h"
#include "engine/io/commit_group.h"
#include "engine/io/file_system.h"
#include "engine/plan.h"
#include "engine/stats.h"

namespace corpusflow {

/// Give `stats` the files the run's CommitGroup prepared (ExecContext::written_outputs), each
/// with the operator of `plan` that wrote it; a sink's bytes_out becomes the bytes of its files.
/// Call once every data file is prepared: from the report's `finish`, or after Execute.
void RecordRunOutputs(const Plan& plan, const ExecContext& ctx, RunStats& stats);

/// Write `stats` to `path` now (the report of a failed run). Throws IoError.
void WriteStatsJson(const std::string& path, const RunStats& stats, const RunFiles& run);

/// The document of a run that may succeed, for ExecContext::DeferCommit with CommitRank::kReport:
/// when the group prepares it calls `finish` (to fill in the run-wide figures), then writes
/// `stats` to a temp file created through `ctx`'s RunFiles; it is renamed with the group.
std::unique_ptr<DeferredCommit> DeferStatsJson(std::string path, const RunStats& stats,
                                               const ExecContext& ctx,
                                               std::function<void()> finish);

}  // namespace corpusflow
