// The shuffle's sizing policy: from what is known when pass 1 starts (the memory budget, the
// expected input, a sample of its records, the thread count, the descriptor limit) to the layout
// of one run: how much record memory pass 1 may fill before it spills, the size of spill blocks
// and of the chunks records are scattered into, the number of buckets, whether the input is
// expected to stay in memory, and how many spill files the buckets share. Re-scatters size their
// split with RescatterBucketCount. docs/shuffle.md ("Memory and temp space") explains the choices.
//
// A wrong estimate never costs correctness, only an extra pass over some buckets: the output
// order is the key order whatever the layout.
//
// Thread safety: pure functions of their arguments; safe from any thread.
#pragma once

#include <cstdint>

namespace corpusflow {

/// Most buckets of one scatter (first-level or re-scatter).
inline constexpr uint32_t kMaxShuffleBuckets = uint32_t{1} << 16;
/// Bytes of a record's sort key, stored before it in chunks and spill blocks.
inline constexpr uint64_t kShuffleKeyBytes = 8;
/// Bytes of a record's entry in the index that pass 2 sorts.
inline constexpr uint64_t kShuffleIndexEntryBytes = 16;
/// Memory charged per record besides its encoding: its key and its index entry.
inline constexpr uint64_t kShuffleMemoryPerRecord = kShuffleKeyBytes + kShuffleIndexEntryBytes;
/// Most spill files of one shuffle (each holds a contiguous range of first-level buckets).
inline constexpr uint32_t kMaxShuffleSpillFiles = 64;

/// What the sizing policy knows. Sizes of 0 mean unknown; forced values of 0 mean automatic.
struct ShuffleLayoutInput {
  /// Bytes the shuffle may hold, compression scratch included.
  uint64_t memory_bytes = 0;
  /// Input data bytes expected (0 = unknown).
  uint64_t expected_input_bytes = 0;
  /// A sample of the input (its first batch): records, and the bytes of their encodings
  /// (varint(length) + encoding each, engine/record_codec.h). Both 0 before any record.
  uint64_t sample_records = 0;
  uint64_t sample_bytes = 0;
  /// Worker threads: each holds compression scratch.
  uint64_t threads = 1;
  /// Threads that scatter in pass 1 at once: each keeps a chunk open per bucket.
  uint64_t writers = 1;
  /// Whether spill blocks may be compressed (each thread then holds a zstd context).
  bool may_compress = true;
  /// The soft limit on open descriptors (0 = unlimited or unknown).
  uint64_t descriptor_limit = 0;
  /// Forced buckets of the first scatter (rounded up to a power of two).
  uint32_t forced_buckets = 0;
  /// Forced largest raw spill block.
  uint32_t forced_block_bytes = 0;
  /// Forced most spill files.
  uint32_t forced_spill_files = 0;
};

/// The layout of one shuffle run.
struct ShuffleLayout {
  /// Largest raw spill block: the capacity of a regular chunk.
  uint64_t block_bytes = 0;
  /// Bytes of records (keys and index entries included) pass 1 holds before it spills; a pass-2
  /// bucket is loaded whole when it needs no more.
  uint64_t record_memory = 0;
  /// Buckets of the first scatter: a power of two.
  uint32_t buckets = 0;
  /// Chunk size of the first scatter (at most block_bytes).
  uint64_t chunk_bytes = 0;
  /// Whether the input is expected to fit record_memory (then nothing is written).
  bool in_memory = false;
  /// Files the first-level buckets are spread over when pass 1 spills (contiguous ranges).
  uint32_t spill_files = 0;

  bool operator==(const ShuffleLayout&) const = default;
};

/// Choose the layout for `input`. Never throws.
ShuffleLayout PlanShuffleLayout(const ShuffleLayoutInput& input);

/// The record memory of the spill route for an input needing `need` bytes (encodings, keys and
/// index entries) scattered by `writers` threads: the least that holds two buckets of the first
/// split together (so that pass 2 loads one while it emits another, with no re-scatter) and keeps
/// every open chunk of pass 1 at 64 KiB or more; at least 64 MiB.
uint64_t SpillWorkingSet(uint64_t need, uint64_t writers);

/// The chunk size of a scatter with `open_chunks` chunks open at once (buckets x writers) and
/// `record_memory` bytes to fill: their unused room stays within an eighth of it.
uint64_t ScatterChunkBytes(uint64_t record_memory, uint64_t block_bytes, uint64_t open_chunks);

/// Buckets a bucket needing `bucket_memory` bytes (ShuffleBucketMemory) is scattered into when it
/// does not fit `record_memory`: sub-buckets of about 40% of it, so that pass 2 can load the next
/// one while it emits one. `forced` > 0 forces the count (rounded up to a power of two).
uint32_t RescatterBucketCount(uint64_t bucket_memory, uint64_t record_memory, uint32_t forced);

/// The smallest power of two at least `n`, within [2, kMaxShuffleBuckets].
uint32_t ShuffleBucketCountAtLeast(uint64_t n);

}  // namespace corpusflow
