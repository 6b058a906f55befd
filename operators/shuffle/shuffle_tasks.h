// The shuffle in the tasks of a checkpointed run (`--checkpoint`, docs/resume.md). The order is
// the one RecordShuffler gives (records by their keys), cut into R fixed key ranges: range r of
// R holds the keys [r 2^64 / R, (r + 1) 2^64 / R), the division of the order among R MPI ranks
// (operators/shuffle/record_exchange.h). Output tasks are runs of consecutive ranges, so the
// tasks' outputs, one after the other, are the single process's.
//
// Pass 1, input task t (one input slice): ShuffleInputTask keys each record by its identity,
// as the shuffle does, and writes it to the task's file `records` in its folder, in runs: a run
// holds the records that the task's workers held (a few MiB each), one section per key range,
// in range order, each record as a spill block holds it (key, varint length, encoding;
// engine/record_codec.h) with the key mapped onto the whole 64-bit range (RecordExchange::
// OwnerKey, order-preserving within the range). After the runs comes the index: per run, per
// range, the section's offset, bytes, records and XXH3 (4 little-endian u64), then the runs, the
// ranges and a magic (3 u64). The file is not synced: its checksums are checked as it is read,
// and whole by CheckShuffleInputTask where a machine restart may have lost it.
//
// Between the passes, GroupShuffleRanges makes the output tasks from what pass 1 wrote: runs of
// consecutive ranges whose records and index take a sixteenth of the budget at most (64 MiB), so
// that tasks keep their size however much the stages before the shuffle made records grow.
//
// Pass 2, output task o: ShuffleOutputTask reads the sections of its ranges from every run of
// every input task's file into one buffer (checking each checksum: a damaged file is a
// CorruptionError naming it, never a record lost), sorts each range's records by key and emits
// them range after range (the order a RecordShuffler gives), numbered from the records of the
// output tasks before. While one task is emitted, the next task of the process loads in the
// background (as the shuffle's pass 2 loads its next bucket), into memory that every later task
// reuses. A task that does not fit the budget (a resumed run given less --memory, or one range
// grown far larger than its input) goes range by range through a RecordShuffler, which spills.
// Thread safety: the executor's (a writer's Write on several workers, each with its local state;
// Combine and Finish on one thread; a reader on one thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "engine/operator.h"
#include "operators/shuffle/record_shuffler.h"

namespace corpusflow {

/// The name of an input task's file in its folder.
inline constexpr char kShuffleTaskFile[] = "records";

/// Key ranges for `input_bytes` of input with a shuffle budget of `memory_bytes`: an eighth of
/// an output task's worth of input each (a sixteenth of the budget, 64 MiB at most); 1 to 65536.
uint64_t ShuffleKeyRanges(uint64_t memory_bytes, uint64_t input_bytes);

/// The output tasks for the `records` (and their `bytes`) that pass 1 wrote to each key range,
/// with a shuffle budget of `memory_bytes`: the first range of each task, in order. A task takes
/// consecutive ranges while their records and index take a sixteenth of the budget at most (64
/// MiB); a range larger than that is a task alone.
std::vector<uint64_t> GroupShuffleRanges(uint64_t memory_bytes,
                                         const std::vector<uint64_t>& records,
                                         const std::vector<uint64_t>& bytes);

/// The pass-1 writer of one input task: records keyed by `config.seed`, written to
/// `folder`/records for `ranges` key ranges. It takes the section buffers of `previous` (a
/// finished writer of this function, or null).
std::unique_ptr<InputTaskWriter> OpenShuffleInputTask(const ShuffleConfig& config,
                                                      const OpenContext& ctx,
                                                      const std::filesystem::path& folder,
                                                      uint64_t ranges,
                                                      std::unique_ptr<InputTaskWriter> previous);

/// Check every section of the file that an input task wrote to `folder` against its checksum.
/// Throws CorruptionError naming the file.
void CheckShuffleInputTask(const std::filesystem::path& folder, uint64_t ranges);

/// The pass-2 reader of output task `task` (of `ranges` key ranges): its records from the files
/// of `inputs` (every input task's folder, in order). Loads and sorts them here when they fit
/// `config.memory_bytes` (else RecordShufflers of that budget shuffle them range by range,
/// spilling to --tmp-dir); throws CorruptionError when a file is damaged or the records are not
/// `task.records`. While the task is emitted, the records of `next` (the task this process
/// opens after it) load in the background when both fit. It takes the memory of `previous` (a
/// finished reader of this function, or null) and, when `previous` loaded this task, that load.
std::unique_ptr<BatchReader> OpenShuffleOutputTask(const ShuffleConfig& config,
                                                   const OpenContext& ctx,
                                                   const OutputTaskSpan& task, uint64_t ranges,
                                                   const std::vector<std::filesystem::path>& inputs,
                                                   const std::optional<OutputTaskSpan>& next,
                                                   std::unique_ptr<BatchReader> previous);

}  // namespace corpusflow
