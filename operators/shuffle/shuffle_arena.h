// The shuffle's memory. LargeBuffer is a byte buffer mapped straight from the kernel, so that
// freeing it always returns the memory. SlabPool hands out slabs of one size and takes them
// back, so that pass 1's chunks, re-scatters and pass 2's loaded buckets reuse the same pages:
// on the virtual machines this project runs on, a page touched for the first time costs several
// times more than one already mapped (docs/shuffle.md, "What the measurements taught").
// ScatterArena holds the records of one scatter in per-bucket chunks carved from pool slabs.
//
// Thread safety: SlabPool is safe from any thread. A ScatterArena is filled either by one thread
// at a time (Append) or by several at once through AppendShared, each bucket by one of them at a
// time (pass 1 locks the bucket); new chunks are carved under the arena's own lock. Clear and
// Free run while nothing is appended; Free(b) may run while another bucket's chunks are read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "operators/shuffle/shuffle_layout.h"

namespace corpusflow {

/// A large uninitialised byte buffer mapped straight from the kernel (small ones come from the
/// heap), so that freeing it always returns the memory. (Transparent huge pages were measured
/// slower here: the kernel compacts memory on fault.)
class LargeBuffer {
 public:
  LargeBuffer() = default;
  /// Allocate `bytes` bytes (at least one), mapped when 1 MiB or more, else from the heap.
  /// Throws std::bad_alloc.
  explicit LargeBuffer(size_t bytes);
  ~LargeBuffer();
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;

  char* get() const { return data_; }
  size_t size() const { return size_; }
  /// Free the buffer.
  void reset();

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

/// Slabs of `slab_bytes` bytes, mapped once and reused for the life of the pool.
class SlabPool {
 public:
  explicit SlabPool(size_t slab_bytes) : slab_bytes_(slab_bytes) {}

  size_t slab_bytes() const { return slab_bytes_; }
  /// Return a slab given back earlier (its pages are mapped already), or a new one. Throws
  /// std::bad_alloc.
  LargeBuffer Take();
  /// Keep `slab` for the next Take(); a buffer of another size is freed.
  void Give(LargeBuffer slab);
  /// Slabs mapped so far (for tests).
  uint64_t slabs_mapped() const;

 private:
  const size_t slab_bytes_;
  mutable std::mutex mu_;
  std::vector<LargeBuffer> free_;
  uint64_t mapped_ = 0;
};

/// Records held in memory, already scattered: for each bucket of one split (the first-level
/// buckets in pass 1, a bucket's children in a re-scatter) the records in the spill record
/// layout (operators/shuffle/shuffle_record.h), in chunks of at most one block. Spilling writes
/// each chunk as one block, unchanged. In memory, pass 2 sorts and emits one bucket at a time and
/// frees its chunks as soon as it was emitted, so the output written next reuses their pages.
class ScatterArena {
 public:
  struct Chunk {
    char* data = nullptr;
    size_t capacity = 0;
    size_t size = 0;
    uint64_t records = 0;
    /// Set for a chunk larger than a regular one (one huge record); regular chunks are carved
    /// from slabs of the pool.
    LargeBuffer own;
  };

  /// `chunk_bytes` is rounded up to whole pages, so that a chunk's pages can be freed alone.
  /// REQUIRES: the rounded chunk fits a slab of `pool`.
  ScatterArena(size_t buckets, size_t chunk_bytes, SlabPool& pool);
  /// Give the slabs back to the pool.
  ~ScatterArena();
  ScatterArena(const ScatterArena&) = delete;
  ScatterArena& operator=(const ScatterArena&) = delete;

  /// Return room for one record of `n` bytes at the end of `bucket`'s last chunk; a new chunk
  /// when that one is full (a record larger than a chunk gets a chunk of its own).
  char* Append(size_t bucket, size_t n) {
    bytes_ += n;
    ++records_;
    return AppendShared(bucket, n);
  }
  /// Append for one of several threads filling the arena at once: the same as Append, but not
  /// counted in bytes() and records() (the callers count). REQUIRES: no other call appends to
  /// `bucket` meanwhile.
  char* AppendShared(size_t bucket, size_t n) {
    std::vector<Chunk>& chunks = buckets_[bucket];
    if (chunks.empty() || chunks.back().size + n > chunks.back().capacity) {
      chunks.push_back(NewChunk(n));
    }
    Chunk& c = chunks.back();
    char* p = c.data + c.size;
    c.size += n;
    ++c.records;
    return p;
  }

  /// Bytes of the records held (keys included) and their count, as far as Append counted them.
  uint64_t bytes() const { return bytes_; }
  uint64_t records() const { return records_; }
  /// Memory charged against the budget: the bytes and, per record, its pass-2 index entry.
  uint64_t used() const { return bytes_ + records_ * kShuffleIndexEntryBytes; }
  size_t bucket_count() const { return buckets_.size(); }
  const std::vector<Chunk>& chunks(size_t bucket) const { return buckets_[bucket]; }

  /// Forget every record, keeping regular chunks for reuse: their pages are already faulted in.
  void Clear();
  /// Give `bucket`'s pages back to the kernel at once (pass 2 in memory).
  void Free(size_t bucket);

 private:
  Chunk NewChunk(size_t n);

  SlabPool& pool_;
  std::vector<std::vector<Chunk>> buckets_;
  /// Guards spare_, slabs_, slab_next_ and slab_left_ (NewChunk from several threads).
  std::mutex chunk_mu_;
  std::vector<Chunk> spare_;
  std::vector<LargeBuffer> slabs_;
  char* slab_next_ = nullptr;
  size_t slab_left_ = 0;
  size_t chunk_bytes_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
};

}  // namespace corpusflow
