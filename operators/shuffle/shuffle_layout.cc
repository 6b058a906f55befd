#include "operators/shuffle/shuffle_layout.h"

#include <algorithm>
#include <bit>

namespace corpusflow {
namespace {

/// Largest bucket wanted when the input is expected to fit in memory.
constexpr double kMemoryBucketBytes = 16 << 20;
/// Smallest per-bucket share of the record memory when the input size is unknown.
constexpr uint64_t kMinFlushShare = 256 << 10;
/// Smallest chunk.
constexpr uint64_t kMinChunkBytes = 4 << 10;
/// Descriptors assumed when the limit is unknown or unlimited.
constexpr uint64_t kDefaultDescriptors = 1024;

uint64_t BlockBytes(const ShuffleLayoutInput& in, uint64_t memory) {
  if (in.forced_block_bytes > 0) return in.forced_block_bytes;
  // Blocks of 1 MiB, larger only for budgets over 8 GiB: every regular chunk is carved from a
  // slab and every larger one is a mapping of its own, and a process may hold about 65,000
  // (vm.max_map_count).
  return std::clamp<uint64_t>(memory / 32, 4 << 10, std::max<uint64_t>(1 << 20, memory / 8192));
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

uint32_t ShuffleBucketCountAtLeast(uint64_t n) {
  if (n <= 2) return 2;
  if (n >= kMaxShuffleBuckets) return kMaxShuffleBuckets;
  return static_cast<uint32_t>(std::bit_ceil(n));
}

uint64_t ScatterChunkBytes(uint64_t record_memory, uint64_t block_bytes, uint64_t buckets) {
  // Every bucket has a chunk open, and a chunk reused after a spill is resident whole: together
  // the open chunks' unused room stays within an eighth of the record memory.
  return std::min(block_bytes,
                  std::max(record_memory / (8 * std::max<uint64_t>(buckets, 1)), kMinChunkBytes));
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
  layout.record_memory = std::max<uint64_t>(memory - std::min(memory / 4, scratch), 1);
  const auto record_memory = static_cast<double>(layout.record_memory);

  const bool sized = in.expected_input_bytes > 0 && in.sample_records > 0 && in.sample_bytes > 0;
  double need = 0;
  if (sized) {
    // Memory a bucket needs per byte of record encoding: the encoding, its key, its index entry.
    const double need_per_byte =
        static_cast<double>(in.sample_bytes + in.sample_records * kShuffleMemoryPerRecord) /
        static_cast<double>(in.sample_bytes);
    need = static_cast<double>(std::max(in.expected_input_bytes, in.sample_bytes)) * need_per_byte;
    layout.in_memory = need <= record_memory;
  }
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
  layout.chunk_bytes = ScatterChunkBytes(layout.record_memory, layout.block_bytes, layout.buckets);
  layout.spill_files = SpillFiles(in, layout.buckets);
  return layout;
}

}  // namespace corpusflow
