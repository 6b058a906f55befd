// RecordShuffler: the global shuffle algorithm, usable without the executor (the `shuffle`
// operator adapts it to the Breaker contract; tests drive it directly). Every record gets a 64-bit
// key that is a pseudo-random bijection of its global ordinal under the seed
// (operators/shuffle/shuffle_keys.h); the output is the records in key order, a uniformly random
// permutation that depends only on the seed and the input, never on threads, memory budget or
// bucket layout.
//
// Pass 1 scatters records to K buckets as they arrive, bucket = the top bits of the key (an
// independent, uniform draw per record), in block-sized chunks in memory (ScatterArena). Several
// threads may add batches at once, each with its own Writer: a batch reserves its records' memory
// against one shared count, places each record at the end of its bucket's chunk (one lock per
// bucket and batch) and copies it there outside any lock. When the input fits the record memory
// nothing more is written: pass 2 sorts and emits the buckets one by one from memory. Otherwise:
//   pass 1 writes the chunks, each time the record memory is full, as framed, checksummed,
//          optionally zstd-compressed blocks (engine/io/spill_file.h) into a few spill files, each
//          holding a contiguous range of buckets, so the number of open files never depends on K;
//   re-scatter: a bucket that does not fit the record memory is scattered again on the next key
//          bits, recursively, before any output is produced;
//   pass 2 loads the buckets in key order (blocks decoded in parallel), sorts each by key and
//          emits it; a spill file is removed as soon as its last bucket is emitted, so its pages
//          are free again before writeback and the output reuses them.
// Every spill block carries its identity (this run, its file, its bucket, its number in the
// bucket) and is read back only as the block it was written as; the re-scatter and pass 2 also
// count each bucket's records against pass 1. A corrupt, misplaced or stale block is a
// CorruptionError naming the spill file and the block, never a record lost or duplicated.
// The record layout (RecordCodec) is the planned input schema, given at construction. The layout
// of the run (K, record memory, block and chunk sizes, spill files) comes from the pure sizing
// policy in operators/shuffle/shuffle_layout.h, given the budget, the expected input bytes and a
// sample: the batch that holds record 0 (the first non-empty batch of the stream), whichever
// thread adds it, so that the layout never depends on thread timing. A batch added before that
// one waits for it. docs/shuffle.md explains why this is uniform and how to size memory and the
// temp folder.
//
// Thread safety: Add(Writer&, ...) may be called from several threads at once, each with its own
// Writer (NewWriter is thread-safe); Add(batch, ...) uses the shuffler's own writer, one thread at
// a time. Pass 1's record memory is shared: when a batch does not fit, its thread takes the
// shuffler's spill lock exclusively (adds hold it shared) and spills every held record, so blocks
// stay as large as with one thread. Finish, then Next, run on one thread after every Add
// returned; the shuffler runs its own parallel work on oneTBB inside those calls (a spill inside
// Add runs isolated, so a waiting thread never picks up another Add).
#pragma once

#include <tbb/task_group.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <vector>

#include "engine/io/spill_file.h"
#include "engine/record_codec.h"
#include "operators/shuffle/shuffle_layout.h"
#include "operators/shuffle/shuffle_record.h"

namespace corpusflow {

class Batch;
class OperatorStats;
class Progress;
class ScatterArena;
class SlabPool;
class TempDir;

/// The layout and limits of one shuffle run.
struct ShuffleConfig {
  uint64_t seed = 0;
  /// Bytes the shuffle may hold: records and their index in pass 1, one bucket in pass 2,
  /// compression scratch included.
  uint64_t memory_bytes = uint64_t{256} << 20;
  /// Buckets of the first scatter (rounded up to a power of two); 0 = from the expected input
  /// size and the budget.
  uint32_t buckets = 0;
  /// Buckets of each re-scatter (rounded up to a power of two); 0 = from the bucket's size.
  uint32_t rescatter_buckets = 0;
  /// Largest raw spill block (a page at least); 0 = from the budget (1 MiB, more for budgets
  /// over 8 GiB).
  uint32_t block_bytes = 0;
  /// Most spill files; 0 = from the descriptor limit (a 16th of it, at most 64).
  uint32_t max_spill_files = 0;
  /// Input data bytes expected (0 = unknown), for K and the free-space check.
  uint64_t expected_input_bytes = 0;
  /// Target data bytes of each output batch.
  uint64_t batch_bytes = uint64_t{4} << 20;
  /// Punch holes over spill blocks as soon as they are consumed, even when the temp filesystem
  /// has room to spare (by default only when it is short of space).
  bool always_release_spill = false;
  SpillOptions spill{SpillCompression::kAuto, kDefaultSpillLevel};
  /// The file system spill files are written through (the run's; null: the POSIX one).
  FileSystem* file_system = nullptr;
  /// The files the run reads and the one it writes the shuffled data to, for the I/O bound
  /// (shuffle_bounds.h): empty inputs mean no file is read (a generator, stdin), an empty
  /// output that no file is written (stdout); neither is then counted or noted as unknown.
  std::vector<std::string> input_paths;
  std::string output_path;
};

/// The global shuffle algorithm. Add every batch, Finish, then Next until it returns false.
class RecordShuffler {
 public:
  /// Memory charged per record besides its bytes: its 8-byte key and its index entry in pass 2.
  /// A record's bytes are varint(length) + its encoding (engine/record_codec.h).
  static constexpr uint64_t kMemoryPerRecord = kShuffleMemoryPerRecord;

  /// One thread's scratch for pass 1: the keys, sizes and places of one batch's records, reused
  /// from batch to batch. Used by one Add at a time; it holds no records.
  class Writer {
   private:
    friend class RecordShuffler;
    /// Spreads the bucket locks writers take first.
    uint32_t id = 0;
    std::vector<uint64_t> keys;
    std::vector<size_t> sizes;
    /// The batch's records grouped by bucket, in record order within a bucket; bucket b's are
    /// order[start[b], start[b + 1]), those not placed yet from next[b].
    std::vector<uint32_t> order;
    std::vector<uint32_t> start;
    std::vector<uint32_t> next;
    std::vector<char*> dest;
  };

  /// `layout`: the fields of every batch, in column order (the planned input schema). `temp_dir`
  /// receives the spill file; `stats` and `progress` may be null.
  RecordShuffler(const ShuffleConfig& config, const Schema& layout, TempDir& temp_dir,
                 OperatorStats* stats, Progress* progress);
  ~RecordShuffler();
  RecordShuffler(const RecordShuffler&) = delete;
  RecordShuffler& operator=(const RecordShuffler&) = delete;

  /// A writer for one thread of pass 1. Thread-safe.
  std::unique_ptr<Writer> NewWriter();
  /// Pass 1: add the records of `batch`, whose first record has global ordinal `first_record`,
  /// with the calling thread's `writer`. Thread-safe for distinct writers. Record ordinals must
  /// start at 0 (a batch waits until the one holding record 0 was added, by another thread) and
  /// no two records may share one. Throws Error when the batch's fields are not the layout's,
  /// IoError (disk full), InvalidArgument. `ordinals`, when given, holds each record's own
  /// ordinal (a batch thinned by a filter, `shuffle --head-count`): record i is keyed by
  /// ordinals[i] instead of first_record + i; first_record still names the batch, so the batch of
  /// record 0 must keep record 0.
  void Add(Writer& writer, const Batch& batch, uint64_t first_record,
           std::span<const uint64_t> ordinals = {});
  /// Add with the shuffler's own writer; one thread at a time.
  void Add(const Batch& batch, uint64_t first_record);
  /// Pass 1 for records keyed elsewhere (the exchange of a shuffle across MPI ranks,
  /// operators/shuffle/record_exchange.h): `records` holds whole records as spill blocks do,
  /// key (8 bytes, little-endian) + varint(length) + encoding, in any order; the key is the sort
  /// key (no ordinal). One thread at a time, and never mixed with the other Adds in one run: its
  /// first call sets the layout. Throws CorruptionError for a malformed record, IoError (disk
  /// full).
  void AddKeyed(std::string_view records);
  /// Count input data bytes that keyed records stand for (the run's figures and bounds).
  void AddInputBytes(uint64_t bytes) { input_bytes_ += bytes; }
  /// Tell the shuffle how many input data bytes to expect (0 = unknown), before the first Add; it
  /// sets the layout with the batch holding record 0, and the free-space check at the first spill.
  void SetExpectedInputBytes(uint64_t bytes);
  /// End of input: sort in memory, or spill the rest and re-scatter every bucket that does not
  /// fit the budget. Errors here come before any output.
  void Finish();
  /// Pass 2: fill `out` with the next records in shuffled order; false when all were emitted.
  bool Next(Batch* out);

  uint64_t records() const { return records_.load(); }
  /// Bytes of records (with their index) held in memory before a spill; a pass-2 bucket must fit
  /// it too. The budget less the compression scratch.
  uint64_t record_memory_limit() const { return layout_.record_memory; }
  /// Whether the whole input was shuffled in memory (nothing spilled).
  bool in_memory() const { return !spilled_; }
  /// Buckets sorted in pass 2 (from memory or from the spill files).
  size_t bucket_count() const;
  /// Buckets scattered again because they did not fit.
  uint64_t rescatters() const { return rescatters_; }
  /// Spill files created (0 in memory).
  uint64_t spill_files() const { return spill_files_; }
  /// Bytes of memory slabs mapped so far for chunks and loaded buckets (pass 2 reuses pass 1's).
  uint64_t slab_bytes_mapped() const;
  /// Use `pool`, the slabs of an earlier shuffler of the same config (ReleaseSlabPool), whose
  /// pages are touched already. Before the first Add; a pool of another slab size is dropped.
  void AdoptSlabPool(std::unique_ptr<SlabPool> pool);
  /// After the last Next: the slabs, for a later shuffler (AdoptSlabPool), and the shuffler is
  /// done; null before.
  std::unique_ptr<SlabPool> ReleaseSlabPool();
  /// Raw and stored (compressed) bytes written to spill files.
  uint64_t spill_raw_bytes() const { return spill_raw_bytes_.load(); }
  uint64_t spill_stored_bytes() const { return spill_stored_bytes_.load(); }

 private:
  using IndexEntry = ShuffleIndexEntry;
  struct Bucket;
  struct Workers;

  /// Write every chunk of `arena` as a block of its bucket in `buckets` (the split the arena
  /// scatters into), then clear the arena.
  void SpillArena(ScatterArena& arena, std::vector<Bucket>& buckets);
  /// Split the range of `parent` into this many buckets (they share its spill file).
  std::vector<Bucket> SplitRange(const Bucket& parent, uint32_t count) const;
  /// The layout for the expected input, given `records` records of `data` encoded bytes seen.
  ShuffleLayout PlanLayout(uint64_t records, uint64_t data) const;
  /// Return once the run's layout is set: set it from this batch when it holds record 0
  /// (`records` records of `data` encoded bytes), else wait for the thread adding that one.
  void AwaitLayout(uint64_t first_record, uint64_t records, uint64_t data);
  /// Reserve record memory for the longest run of `writer`'s records from `begin` on that fits
  /// what is held (at least one when nothing is); return its end (`begin`: none fits).
  size_t Reserve(const Writer& writer, size_t begin, size_t end);
  /// Scatter `n` records whose keys and encoding sizes are in `writer` (`data` bytes of
  /// varint(size) + encoding in all): reserve, place, and fill(i, p) writes record i's encoding at
  /// p; spills in between when the record memory is full.
  template <typename Fill>
  void Scatter(Writer& writer, size_t n, uint64_t data, const Fill& fill);
  /// Give each of `writer`'s records not placed yet, up to `end`, its place at the end of its
  /// bucket (under the bucket's lock).
  void Place(Writer& writer, size_t end);
  /// Spill every held record unless another thread did since record memory of `need` bytes was
  /// found missing. Takes the spill lock exclusively.
  void SpillHeld(uint64_t need);
  /// At the first spill: check the temp folder's free space and settle the compression.
  void PrepareSpill();
  /// Create the spill files and give each first-level bucket its file: contiguous ranges of
  /// buckets share one.
  void AssignSpillFiles(std::vector<Bucket>& buckets);
  /// Append `bucket` to the leaves, scattering it again first when it does not fit.
  void Resolve(Bucket bucket);
  void Rescatter(const Bucket& bucket, std::vector<Bucket>& children);
  uint64_t BucketMemory(const Bucket& bucket) const;
  /// A bucket loaded for pass 2: its records and their index sorted by key.
  struct LoadedBucket;
  void LoadLeaf(const Bucket& bucket, LoadedBucket* into);
  /// Give the disk space of `bucket`'s blocks back when the temp filesystem is short of room for
  /// what is still to be written (hole punching makes ext4 write the blocks out first, so it is
  /// skipped while space is plentiful).
  void ReleaseIfTight(const Bucket& bucket, uint64_t bytes_ahead);
  /// After a bucket was emitted: release its disk space if tight and its spill file reference
  /// (the file's last leaf removes it).
  void DoneWithLeaf(LoadedBucket* loaded);
  /// Make the next bucket current (waiting for its prefetch) and start prefetching the one after
  /// it when both fit the budget; false after the last bucket.
  bool NextBucket();
  /// Emit the stats of a finished pass 2.
  void ReportPass2();

  ShuffleConfig config_;
  TempDir& temp_dir_;
  OperatorStats* stats_;
  Progress* progress_;
  /// The records' layout, from the planned input schema.
  const RecordCodec codec_;
  /// The layout: from the budget alone until the batch holding record 0, then for the expected
  /// input (set once, under layout_mu_; layout_set_ tells other threads).
  ShuffleLayout layout_;
  std::mutex layout_mu_;
  std::condition_variable layout_cv_;
  std::atomic<bool> layout_set_{false};
  /// The layout's sample (the batch holding record 0): records and encoded bytes.
  uint64_t sample_records_ = 0;
  uint64_t sample_bytes_ = 0;
  /// Pass 1: adds hold it shared, a spill exclusively.
  std::shared_mutex spill_mu_;
  /// Record memory (records, keys and index entries) reserved in the arena, by every writer.
  std::atomic<uint64_t> held_{0};
  /// One lock per first-level bucket: a batch places its records in a bucket under its lock.
  std::unique_ptr<std::mutex[]> bucket_mu_;
  std::atomic<uint32_t> writers_made_{0};
  std::unique_ptr<Writer> own_writer_;
  /// AddKeyed's scratch: where each record's varint(length) starts.
  std::vector<const char*> keyed_;

  /// The memory of chunks and loaded buckets, reused from pass 1 to pass 2. Declared before
  /// them: it outlives them.
  std::unique_ptr<SlabPool> pool_;
  /// Pass 1's records not spilled yet (and in memory, pass 2's buckets).
  std::unique_ptr<ScatterArena> arena_;
  std::unique_ptr<Workers> workers_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> input_bytes_{0};
  /// Bytes of record encodings added in pass 1.
  std::atomic<uint64_t> encoded_bytes_{0};
  /// Set by the first spill, under the exclusive spill lock.
  bool spilled_ = false;
  bool finished_ = false;
  std::vector<Bucket> first_buckets_;
  std::vector<Bucket> leaves_;
  /// The run number in the identity of every spill block (random per shuffler).
  const uint64_t run_id_;
  /// The number of the next bucket a re-scatter makes (first-level buckets are 0..K-1).
  uint64_t next_bucket_id_ = 0;
  uint64_t rescatters_ = 0;
  uint64_t spill_files_ = 0;
  std::atomic<uint64_t> spill_raw_bytes_{0};
  std::atomic<uint64_t> spill_stored_bytes_{0};
  std::atomic<uint64_t> spill_blocks_{0};

  // Pass 2: the bucket being emitted, the one loading in the background, and where emission
  // stands.
  std::unique_ptr<LoadedBucket> current_;
  std::unique_ptr<LoadedBucket> prefetched_;
  /// Held by pointer: tbb::task_group's destructor may throw, which a member's would inherit.
  std::unique_ptr<tbb::task_group> prefetch_group_;
  bool prefetching_ = false;
  uint64_t prefetched_buckets_ = 0;
  /// Raw spill bytes of the buckets not yet loaded in pass 2.
  std::atomic<uint64_t> unloaded_bytes_{0};
  std::atomic<uint64_t> released_bytes_{0};
  /// Capacity given to pass-2 buffers: the largest leaf, when two such fit the budget.
  uint64_t reserve_leaf_records_ = 0;
  size_t next_leaf_ = 0;
  size_t cursor_ = 0;
  bool pass2_started_ = false;
  bool emitted_all_ = false;
  double pass1_start_ = 0;
  double pass2_start_ = 0;
  /// Process CPU seconds at the start of pass 1, the end of pass 1 (for the shuffle's bounds).
  double cpu_pass1_start_ = 0;
  double cpu_pass1_end_ = 0;
  double pass1_end_ = 0;
};

}  // namespace corpusflow
