// `shuffle`: the global shuffle as a pipeline breaker. It consumes every record, shuffles them
// uniformly with RecordShuffler (operators/shuffle/record_shuffler.h: pass 1, re-scatter, pass 2)
// and then produces them in shuffled order for the next pipeline. The output depends only on the
// seed and the input, never on threads, memory budget or bucket layout. With `--head-count N` it
// produces the first N records of that same order, and drops in pass 1 every record that cannot
// be among them (operators/shuffle/smallest_keys.h), so a small sample of a huge input needs
// neither the memory nor the spill of the whole. docs/shuffle.md explains
// the algorithm, why it is uniform, and how to size memory and the temp folder. Under MPI each
// rank shuffles the records whose keys it owns, received from every rank in pass 1
// (operators/shuffle/record_exchange.h), and emits its range of the same order
// (docs/scale-out.md).
//
// The shortcut `corpusflow shuffle` builds `read | shuffle | write-lines` around it with
// LockstepLinesSource (paired corpora) and ShuffledLinesSink (contiguous shards).
// Thread safety: operators are immutable after planning; a run object is driven by the executor
// (Write, Finish, OpenOutput in that order). Write runs on several workers at once, each with its
// local state (a RecordShuffler::Writer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/io/spill_file.h"
#include "engine/operator.h"

namespace corpusflow {

struct ShuffleSettings {
  uint64_t seed = 0;
  /// Whether the seed was given (otherwise it was drawn at random and is reported in stats).
  bool seed_given = false;
  /// The shuffle's budget; 0 = what the run leaves to a breaker (ExecContext).
  uint64_t memory_bytes = 0;
  /// Force the number of buckets of the first scatter (0 = automatic).
  uint32_t buckets = 0;
  SpillOptions spill{SpillCompression::kAuto, kDefaultSpillLevel};
  /// `--head-count N`: emit only the first N records of the permutation (a uniform sample of N
  /// records, in random order, as `shuf -n`); the rest are counted as dropped. Unset = all.
  std::optional<uint64_t> head_count;
  /// Under MPI: bytes a rank receives per exchange round (0 = from the budget,
  /// operators/shuffle/record_exchange.h).
  uint64_t exchange_bytes = 0;
};

class ShuffleOperator : public Breaker {
 public:
  explicit ShuffleOperator(ShuffleSettings settings);

  void Validate(const PlanContext& ctx) const override;
  std::string Describe() const override;
  bool NeedsRecordIndex() const override { return true; }
  /// Runs across MPI ranks: pass 1 exchanges records between them (record_exchange.h).
  std::string RankLimit() const override { return ""; }
  std::unique_ptr<BreakerRun> Open(const OpenContext& ctx) const override;
  /// Runs in the tasks of a checkpointed run (shuffle_tasks.h) with --seed, without --head-count.
  std::string TaskLimit() const override;
  uint64_t KeyRanges(const ExecContext& ctx, uint64_t input_bytes) const override;
  std::unique_ptr<InputTaskWriter> OpenInputTask(
      const OpenContext& ctx, const std::filesystem::path& folder, uint64_t ranges,
      std::unique_ptr<InputTaskWriter> previous) const override;
  void CheckInputTask(const std::filesystem::path& folder, uint64_t ranges) const override;
  std::vector<uint64_t> GroupRanges(const ExecContext& ctx, const std::vector<uint64_t>& records,
                                    const std::vector<uint64_t>& bytes) const override;
  std::unique_ptr<BatchReader> OpenOutputTask(const OpenContext& ctx, const OutputTaskSpan& task,
                                              uint64_t ranges,
                                              const std::vector<std::filesystem::path>& inputs,
                                              const std::optional<OutputTaskSpan>& next,
                                              std::unique_ptr<BatchReader> previous) const override;

  const ShuffleSettings& settings() const { return settings_; }

 private:
  ShuffleSettings settings_;
};

}  // namespace corpusflow
