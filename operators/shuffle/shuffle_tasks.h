// The shuffle in the tasks of a checkpointed run (`--checkpoint`, docs/resume.md). The order is
// the one RecordShuffler gives (records by their keys), cut into output tasks: output task o of
// B holds the keys [o 2^64 / B, (o + 1) 2^64 / B), which makes the same division of the order as
// B MPI ranks (operators/shuffle/record_exchange.h), so the tasks' outputs, one after the other,
// are the single process's.
//
// Pass 1, input task t (one input slice): ShuffleInputTask keys each record by its identity,
// as the shuffle does, and writes it to the task's file `records` in its folder, in runs: a run
// holds the records that the task's workers held (at most a share of the budget), one section
// per output task, in output task order, each record as a spill block holds it (key, varint
// length, encoding; engine/record_codec.h) with the key mapped onto the whole 64-bit range
// (RecordExchange::OwnerKey, order-preserving). After the runs comes the index: per run, per
// output task, the section's offset, bytes, records and XXH3 (4 little-endian u64), then the
// runs, the output tasks and a magic (3 u64). The file is synced at the end of the task.
//
// Pass 2, output task o: ShuffleOutputTask reads section o of every run of every input task's
// file (checking its checksum: a damaged file is a CorruptionError naming it, never a record
// lost), adds them to a RecordShuffler of the run's budget (which spills to --tmp-dir when they
// do not fit) and emits them in key order, numbered from the records of the output tasks before.
// Thread safety: the executor's (a writer's Write on several workers, each with its local state;
// Combine and Finish on one thread; a reader on one thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/operator.h"
#include "operators/shuffle/record_shuffler.h"

namespace corpusflow {

/// The name of an input task's file in its folder.
inline constexpr char kShuffleTaskFile[] = "records";

/// Output tasks for `input_bytes` of input with a shuffle budget of `memory_bytes`: each task
/// gets about half the budget of input bytes, 32 MiB at most (its records then mostly stay in
/// memory; those that do not spill); 1 to 65536. Fewer tasks cost
/// less (each opens the stages after the shuffle and drains their pipeline), smaller ones lose
/// less work to a kill.
uint64_t ShuffleOutputTasks(uint64_t memory_bytes, uint64_t input_bytes);

/// The pass-1 writer of one input task: records keyed by `config.seed`, written to
/// `folder`/records for `output_tasks` output tasks, holding at most `config.memory_bytes` / 2.
/// It takes the section buffers of `previous` (a finished writer of this function, or null).
std::unique_ptr<InputTaskWriter> OpenShuffleInputTask(const ShuffleConfig& config,
                                                      const OpenContext& ctx,
                                                      const std::filesystem::path& folder,
                                                      uint64_t output_tasks,
                                                      std::unique_ptr<InputTaskWriter> previous);

/// The pass-2 reader of output task `task` of `output_tasks`: its `records` records from the
/// files of `inputs` (every input task's folder, in order), numbered from `origin`. Reads and
/// shuffles them here; throws CorruptionError when a file is damaged or the records are not
/// `records`. It takes the memory (read buffer, shuffle slabs) of `previous` (a finished reader
/// of this function, or null).
std::unique_ptr<BatchReader> OpenShuffleOutputTask(const ShuffleConfig& config,
                                                   const OpenContext& ctx, uint64_t task,
                                                   uint64_t output_tasks,
                                                   const std::vector<std::filesystem::path>& inputs,
                                                   uint64_t records, uint64_t origin,
                                                   std::unique_ptr<BatchReader> previous);

}  // namespace corpusflow
