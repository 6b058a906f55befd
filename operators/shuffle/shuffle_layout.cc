#include "operators/shuffle/shuffle_layout.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace corpusflow {
namespace {

/// Largest bucket wanted when the input is expected to fit in memory.
constexpr double kMemoryBucketBytes = 16 << 20;
/// Smallest per-bucket share of the record memory when the input size is unknown.
constexpr uint64_t kMinFlushShare = 256 << 10;
/// Smallest chunk.
constexpr uint64_t kMinChunkBytes = 4 << 10;
/// Pass 1's open chunks, per bucket and writer, when the spill route sizes its record memory.
constexpr uint64_t kSpillChunkBytes = 64 << 10;
/// Record memory below which the spill route does not go for its own sake: an input needing no
/// more is held in memory.
constexpr uint64_t kMinWorkingSet = uint64_t{64} << 20;
/// Record memory used at most when the input size is unknown.
constexpr uint64_t kUnknownInputWorkingSet = uint64_t{256} << 20;
/// Descriptors assumed when the limit is unknown or unlimited.
constexpr uint64_t kDefaultDescriptors = 1024;

uint64_t BlockBytes(const ShuffleLayoutInput& in, uint64_t memory) {
  if (in.forced_block_bytes > 0) return in.forced_block_bytes;
  // Blocks of 1 MiB under budgets of 32 MiB or more.
  return std::clamp<uint64_t>(memory / 32, 4 << 10, 1 << 20);
}

uint32_t SpillFiles(const ShuffleLayoutInput& in, uint32_t buckets) {
  uint64_t most = in.forced_spill_files;
  if (most == 0) {
    // Leave most descriptors to the rest of the run (inputs, outputs, libraries).
    const uint64_t descriptors =
        in.descriptor_limit > 0 ? in.descriptor_limit : kDefaultDescriptors;
    most = std::clamp<uint64_t>(descriptors / 16, 1, kMaxShuffleSpillFiles);
  }
  return static_cast<uint32_t>(std::min<uint64_t>(buckets, most));
}

}  // namespace

uint64_t SpillWorkingSet(uint64_t need, uint64_t writers) {
  // W(K) = the larger of what K buckets of at most 40% of W need (K > need / (0.4 W), the rule
  // of PlanShuffleLayout) and what K x writers open chunks of kSpillChunkBytes need (an eighth of
  // W); the smallest W(K) over powers of two K.
  const auto chunk_room =
      static_cast<double>(8 * std::max<uint64_t>(writers, 1) * kSpillChunkBytes);
  double best = static_cast<double>(need);
  for (uint64_t k = 2; k <= kMaxShuffleBuckets; k *= 2) {
    const double w = std::max(static_cast<double>(need) / (0.4 * static_cast<double>(k - 1)),
                              static_cast<double>(k) * chunk_room);
    best = std::min(best, w);
  }
  return std::max(kMinWorkingSet, static_cast<uint64_t>(std::ceil(best)));
}

uint32_t ShuffleBucketCountAtLeast(uint64_t n) {
  if (n <= 2) return 2;
  if (n >= kMaxShuffleBuckets) return kMaxShuffleBuckets;
  return static_cast<uint32_t>(std::bit_ceil(n));
}

uint64_t ScatterChunkBytes(uint64_t record_memory, uint64_t block_bytes, uint64_t open_chunks) {
  // Every bucket has a chunk open, and a chunk reused after a spill is resident whole: together
  // the open chunks' unused room stays within an eighth of the record memory.
  return std::min(block_bytes, std::max(record_memory / (8 * std::max<uint64_t>(open_chunks, 1)),
                                        kMinChunkBytes));
}

uint32_t RescatterBucketCount(uint64_t bucket_memory, uint64_t record_memory, uint32_t forced) {
  if (forced > 0) return ShuffleBucketCountAtLeast(forced);
  return ShuffleBucketCountAtLeast(bucket_memory * 5 / 2 / std::max<uint64_t>(record_memory, 1) +
                                   1);
}

ShuffleLayout PlanShuffleLayout(const ShuffleLayoutInput& in) {
  ShuffleLayout layout;
  const uint64_t memory = std::max<uint64_t>(in.memory_bytes, 1);
  layout.block_bytes = BlockBytes(in, memory);
  // Compression scratch: per thread a frame and a zstd context, at most a quarter of the budget.
  const uint64_t zstd_context = in.may_compress ? uint64_t{1} << 20 : 0;
  const uint64_t scratch =
      std::max<uint64_t>(in.threads, 1) * (2 * layout.block_bytes + zstd_context);
  const uint64_t budget_records = std::max<uint64_t>(memory - std::min(memory / 4, scratch), 1);

  const bool sized = in.expected_input_bytes > 0 && in.sample_records > 0 && in.sample_bytes > 0;
  double need = 0;
  uint64_t working_set = kUnknownInputWorkingSet;
  if (sized) {
    // Memory a bucket needs per byte of record encoding: the encoding, its key, its index entry.
    const double need_per_byte =
        static_cast<double>(in.sample_bytes + in.sample_records * kShuffleMemoryPerRecord) /
        static_cast<double>(in.sample_bytes);
    need = static_cast<double>(std::max(in.expected_input_bytes, in.sample_bytes)) * need_per_byte;
    working_set = SpillWorkingSet(static_cast<uint64_t>(need), in.writers);
  }
  // Never more than the spill route needs, whatever the budget: pages touched for the first time
  // cost more than spilling through the page cache (docs/shuffle.md), so a larger budget leaves
  // the layout as it is. An input needing no more than that stays in memory.
  layout.record_memory = std::min(budget_records, working_set);
  const auto record_memory = static_cast<double>(layout.record_memory);
  layout.in_memory = sized && need <= record_memory;
  if (in.forced_buckets > 0) {
    layout.buckets = ShuffleBucketCountAtLeast(in.forced_buckets);
  } else if (!sized) {
    // Unknown size: as many buckets as keep each one's share of a spill reasonably large.
    layout.buckets = static_cast<uint32_t>(std::clamp<uint64_t>(
        std::bit_floor(std::max<uint64_t>(layout.record_memory / kMinFlushShare, 2)), 2, 1024));
  } else if (layout.in_memory) {
    // Expected to fit: buckets of about kMemoryBucketBytes, each sorted while small and freed as
    // soon as it is emitted.
    layout.buckets =
        ShuffleBucketCountAtLeast(static_cast<uint64_t>(need / kMemoryBucketBytes) + 1);
  } else {
    // Two buckets of this size fit the record memory together, so pass 2 loads the next bucket
    // while it emits the current one.
    layout.buckets =
        ShuffleBucketCountAtLeast(static_cast<uint64_t>(need / (0.4 * record_memory)) + 1);
  }
  layout.chunk_bytes =
      ScatterChunkBytes(layout.record_memory, layout.block_bytes,
                        uint64_t{layout.buckets} * std::max<uint64_t>(in.writers, 1));
  layout.spill_files = SpillFiles(in, layout.buckets);
  return layout;
}

}  // namespace corpusflow
