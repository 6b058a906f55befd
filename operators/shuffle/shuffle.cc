#include "operators/shuffle/shuffle.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <utility>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/interrupt.h"
#include "engine/io/file_io.h"
#include "engine/io/line_reader.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/record_codec.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/io/write.h"
#include "operators/shuffle/shuffle_bounds.h"
#include "operators/shuffle/shuffle_keys.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Memory charged per record besides its key and encoding: its index entry in pass 2.
constexpr uint64_t kBucketCostPerRecord = 16;
static_assert(RecordShuffler::kMemoryPerRecord == 8 + kBucketCostPerRecord);
/// Largest bucket wanted when the input is expected to fit in memory.
constexpr double kMemoryBucketBytes = 16 << 20;
/// Smallest per-bucket share of the arena when the input size is unknown.
constexpr uint64_t kMinFlushShare = 256 << 10;
constexpr uint32_t kMaxBuckets = 1 << 16;
/// Most spill files of one shuffle (each holds a contiguous range of first-level buckets).
constexpr uint64_t kMaxSpillFiles = 64;

/// The end of the spill record at `p` (key u64 | varint(length) | encoding) in [p, end), or null
/// when it is malformed.
const char* RecordEnd(const char* p, const char* end) {
  uint64_t length = 0;
  const char* after = end - p > 8 ? GetVarint64Ptr(p + 8, end, &length) : nullptr;
  if (after == nullptr || length > static_cast<uint64_t>(end - after)) return nullptr;
  return after + length;
}

[[noreturn]] void ThrowBadBlock(const SpillFile& file, uint64_t offset, const std::string& what) {
  throw CorruptionError("spill file " + file.path().string() + ": block at offset " +
                        std::to_string(offset) + ": " + what);
}

uint32_t PowerOfTwoAtLeast(uint64_t n) {
  if (n <= 2) return 2;
  if (n >= kMaxBuckets) return kMaxBuckets;
  return static_cast<uint32_t>(std::bit_ceil(n));
}

}  // namespace

/// A large uninitialised byte buffer mapped straight from the kernel (small ones come from the
/// heap), so that freeing it always returns the memory: the arena and loaded buckets come and go
/// and must not leave the heap inflated. (Transparent huge pages were measured slower here: the
/// kernel compacts memory on fault.)
class LargeBuffer {
 public:
  LargeBuffer() = default;
  /// `bytes` bytes (at least one), mapped when 1 MiB or more, else from the heap. Throws
  /// std::bad_alloc.
  explicit LargeBuffer(size_t bytes);
  ~LargeBuffer();
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;

  char* get() const { return data_; }
  size_t size() const { return size_; }
  void reset();
  /// Make room for at least `bytes`, keeping the current mapping when it is large enough (its
  /// pages are already faulted in: reusing them is much cheaper than fresh ones). Contents are
  /// not kept.
  void Reserve(size_t bytes);

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

LargeBuffer::LargeBuffer(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
  constexpr size_t kPage = 4096;
  if (size_ < (size_t{1} << 20)) {
    // Small: the heap is cheaper than a mapping.
    data_ = new char[size_];
    return;
  }
  mapped_ = (size_ + kPage - 1) / kPage * kPage;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
}

LargeBuffer::~LargeBuffer() { reset(); }

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void LargeBuffer::Reserve(size_t bytes) {
  if (data_ != nullptr && size_ >= bytes) return;
  reset();  // before mapping the new buffer, so that the two never coexist
  *this = LargeBuffer(bytes);
}

void LargeBuffer::reset() {
  if (data_ == nullptr) return;
  if (mapped_ > 0) {
    ::munmap(data_, mapped_);
  } else {
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
}

struct RecordShuffler::IndexEntry {
  uint64_t key;
  /// The record as varint(length) + encoding.
  const char* record;
};

struct RecordShuffler::LoadedBucket {
  /// The leaf it holds (null when empty).
  const Bucket* leaf = nullptr;
  /// The bucket's blocks, copied or decompressed from its spill file (unused in memory).
  LargeBuffer data;
  std::vector<IndexEntry> index;
};

struct RecordShuffler::Bucket {
  /// The bucket holds the keys [lo, lo + 2^width).
  uint64_t lo = 0;
  int width = 64;
  /// The spill file holding its blocks, shared with the other buckets of its key range; the file
  /// is removed when the last of them is emitted (or dropped). Null for a bucket in memory.
  std::shared_ptr<SpillFile> file;
  /// In memory: the bucket's index in the arena (-1 when spilled).
  int64_t arena_bucket = -1;
  std::vector<SpillBlockHandle> blocks;
  uint64_t records = 0;
  uint64_t raw_bytes = 0;
};

/// Records held in memory, already scattered: for each bucket of one split (the first-level
/// buckets in pass 1, a bucket's children in a re-scatter) the records in the spill block layout
/// (key u64 | varint(length) | encoding), in chunks of at most one block. Spilling writes each
/// chunk as one block, unchanged. In memory, pass 2 sorts and emits one bucket at a time and
/// frees its chunks as soon as it was emitted, so the output written next reuses their pages.
class RecordShuffler::ScatterArena {
 public:
  struct Chunk {
    char* data = nullptr;
    size_t capacity = 0;
    size_t size = 0;
    uint64_t records = 0;
    /// Set for a chunk larger than a regular one (one huge record); regular chunks are carved
    /// from the arena's slabs.
    LargeBuffer own;
  };

  /// `chunk_bytes` is rounded up to whole pages, so that a chunk's pages can be freed alone.
  ScatterArena(size_t buckets, size_t chunk_bytes)
      : buckets_(buckets), chunk_bytes_((chunk_bytes + kPage - 1) / kPage * kPage) {}

  /// Room for one record of `n` bytes at the end of `bucket`'s last chunk; a new chunk when that
  /// one is full (a record larger than a chunk gets a chunk of its own).
  char* Append(size_t bucket, size_t n) {
    std::vector<Chunk>& chunks = buckets_[bucket];
    if (chunks.empty() || chunks.back().size + n > chunks.back().capacity) {
      chunks.push_back(NewChunk(n));
    }
    Chunk& c = chunks.back();
    char* p = c.data + c.size;
    c.size += n;
    ++c.records;
    bytes_ += n;
    ++records_;
    return p;
  }

  /// Bytes of the records held (keys included) and their count.
  uint64_t bytes() const { return bytes_; }
  uint64_t records() const { return records_; }
  /// Memory charged against the budget: the bytes and, per record, its pass-2 index entry.
  uint64_t used() const { return bytes_ + records_ * kBucketCostPerRecord; }
  const std::vector<Chunk>& chunks(size_t bucket) const { return buckets_[bucket]; }

  /// Forget every record, keeping regular chunks for reuse: their pages are already faulted in.
  void Clear() {
    for (std::vector<Chunk>& chunks : buckets_) {
      for (Chunk& c : chunks) {
        if (c.own.get() != nullptr) continue;
        c.size = 0;
        c.records = 0;
        spare_.push_back(std::move(c));
      }
      chunks.clear();
    }
    bytes_ = 0;
    records_ = 0;
  }

  /// Give `bucket`'s pages back to the kernel at once (pass 2 in memory). Safe while another
  /// bucket is read.
  void Free(size_t bucket) {
    for (Chunk& c : buckets_[bucket]) {
      if (c.own.get() == nullptr) ::madvise(c.data, c.capacity, MADV_DONTNEED);
    }
    std::vector<Chunk>().swap(buckets_[bucket]);
  }

 private:
  static constexpr size_t kPage = 4096;
  /// Regular chunks are carved from mappings of this size: few mappings whatever the chunk size
  /// (a process may hold about 65,000), and freeing returns the pages, which the heap would not.
  static constexpr size_t kSlabBytes = size_t{64} << 20;

  Chunk NewChunk(size_t n) {
    Chunk c;
    if (n > chunk_bytes_) {
      c.own = LargeBuffer(n);
      c.data = c.own.get();
      c.capacity = n;
      return c;
    }
    if (!spare_.empty()) {
      c = std::move(spare_.back());
      spare_.pop_back();
      return c;
    }
    if (slab_left_ < chunk_bytes_) {
      // Uninitialised on purpose: every byte handed out is written before it is read.
      slabs_.emplace_back(std::max(kSlabBytes, chunk_bytes_));
      slab_next_ = slabs_.back().get();
      slab_left_ = slabs_.back().size();
    }
    c.data = slab_next_;
    c.capacity = chunk_bytes_;
    slab_next_ += chunk_bytes_;
    slab_left_ -= chunk_bytes_;
    return c;
  }

  std::vector<std::vector<Chunk>> buckets_;
  std::vector<Chunk> spare_;
  std::vector<LargeBuffer> slabs_;
  char* slab_next_ = nullptr;
  size_t slab_left_ = 0;
  size_t chunk_bytes_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
};

bool RecordShuffler::ParseBlock(const char* p, const char* end, std::vector<IndexEntry>& index) {
  while (p < end) {
    const char* next = RecordEnd(p, end);
    if (next == nullptr) return false;
    index.push_back(IndexEntry{DecodeFixed64(p), p + 8});
    p = next;
  }
  return true;
}

/// Per-thread compression and decompression state.
struct RecordShuffler::Workers {
  explicit Workers(const SpillOptions& options) : options(options) {}

  SpillBlockEncoder& encoder() {
    auto& slot = encoders.local();
    if (!slot) slot = std::make_unique<SpillBlockEncoder>(options);
    return *slot;
  }
  SpillBlockDecoder& decoder() {
    auto& slot = decoders.local();
    if (!slot) slot = std::make_unique<SpillBlockDecoder>();
    return *slot;
  }

  SpillOptions options;
  tbb::enumerable_thread_specific<std::unique_ptr<SpillBlockEncoder>> encoders;
  tbb::enumerable_thread_specific<std::unique_ptr<SpillBlockDecoder>> decoders;
};

RecordShuffler::RecordShuffler(const ShuffleConfig& config, TempDir& temp_dir, OperatorStats* stats,
                               Progress* progress)
    : config_(config), temp_dir_(temp_dir), stats_(stats), progress_(progress) {
  const uint64_t memory = std::max<uint64_t>(config_.memory_bytes, 1);
  // Blocks of 1 MiB, larger only for budgets over 8 GiB: every chunk of memory is one mapping,
  // and a process may hold about 65,000 (vm.max_map_count).
  block_bytes_ =
      config_.block_bytes > 0
          ? config_.block_bytes
          : std::clamp<uint64_t>(memory / 32, 4 << 10, std::max<uint64_t>(1 << 20, memory / 8192));
  // Compression scratch: per thread a frame and a zstd context.
  const auto threads = static_cast<uint64_t>(tbb::this_task_arena::max_concurrency());
  const uint64_t zstd_context =
      config_.spill.compression == SpillCompression::kNone ? 0 : uint64_t{1} << 20;
  const uint64_t scratch = threads * (2 * block_bytes_ + zstd_context);
  const uint64_t reserve = std::min(memory / 4, scratch);
  arena_limit_ = std::max<uint64_t>(memory - reserve, 1);
  workers_ = std::make_unique<Workers>(config_.spill);
  prefetch_group_ = std::make_unique<tbb::task_group>();
  current_ = std::make_unique<LoadedBucket>();
  prefetched_ = std::make_unique<LoadedBucket>();
  pass1_start_ = MonotonicSeconds();
  cpu_pass1_start_ = ProcessCpuSeconds();
  if (stats_ != nullptr) {
    stats_->SetText("seed", std::to_string(config_.seed));
    stats_->Set("memory budget bytes", static_cast<double>(config_.memory_bytes));
  }
}

RecordShuffler::~RecordShuffler() {
  if (prefetching_) {
    // A failed run: stop the background load before its buffers and the spill files go away.
    prefetch_group_->cancel();
    try {
      prefetch_group_->wait();
    } catch (...) {
    }
  }
}

size_t RecordShuffler::bucket_count() const { return leaves_.size(); }

void RecordShuffler::SetExpectedInputBytes(uint64_t bytes) { config_.expected_input_bytes = bytes; }

size_t RecordShuffler::ChunkBytes(size_t buckets) const {
  // Every bucket has a chunk open, and a chunk reused after a spill is resident whole: together
  // the open chunks' unused room stays within an eighth of the budget.
  return static_cast<size_t>(
      std::min(block_bytes_, std::max<uint64_t>(arena_limit_ / (8 * buckets), 4 << 10)));
}

void RecordShuffler::Add(const Batch& batch, uint64_t first_record) {
  if (finished_) throw std::logic_error("RecordShuffler::Add after Finish");
  const size_t n = batch.num_records();
  if (n == 0) return;
  if (!codec_) {
    codec_ = RecordCodec::ForBatch(batch);
  } else if (!codec_->Matches(batch)) {
    throw Error("shuffle: a batch has the fields " + batch.schema().ToString() +
                " but earlier ones had " + codec_->layout().ToString());
  }
  const ShuffleKeys keys(config_.seed);
  const RecordEncoder encoder(batch);
  if (arena_ == nullptr) {
    // The first batch tells the size of a record: it sets the first split.
    uint64_t data = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t size = encoder.EncodedSize(i);
      data += VarintLength(size) + size;
    }
    first_buckets_ = SplitRange(Bucket{}, FirstBucketCount(n, data));
    arena_ =
        std::make_unique<ScatterArena>(first_buckets_.size(), ChunkBytes(first_buckets_.size()));
  }
  const int shift = first_buckets_.front().width;
  for (size_t i = 0; i < n; ++i) {
    const size_t size = encoder.EncodedSize(i);
    const size_t need = 8 + VarintLength(size) + size;
    const uint64_t key = keys.Key(first_record + i);
    encoded_bytes_ += need - 8;
    if (arena_->used() + need + kBucketCostPerRecord > arena_limit_ && arena_->records() > 0) {
      CheckInterrupt();
      if (!spilled_) {
        spilled_ = true;
        PrepareSpill();
        AssignSpillFiles(first_buckets_);
      }
      SpillArena(*arena_, first_buckets_);
    }
    const size_t b = shift >= 64 ? 0 : static_cast<size_t>(key >> shift);
    char* p = arena_->Append(b, need);
    EncodeFixed64(p, key);
    encoder.Encode(i, EncodeVarint64(p + 8, size));
  }
  records_ += n;
  input_bytes_ += batch.DataBytes();
}

std::vector<RecordShuffler::Bucket> RecordShuffler::SplitRange(const Bucket& parent,
                                                               uint32_t count) const {
  int bits = std::countr_zero(count);
  bits = std::min(bits, parent.width);
  std::vector<Bucket> children(size_t{1} << bits);
  const int width = parent.width - bits;
  for (size_t i = 0; i < children.size(); ++i) {
    children[i].lo = parent.lo + (width >= 64 ? 0 : (static_cast<uint64_t>(i) << width));
    children[i].width = width;
    children[i].file = parent.file;
  }
  return children;
}

uint32_t RecordShuffler::FirstBucketCount(uint64_t records, uint64_t data) const {
  if (config_.buckets > 0) return PowerOfTwoAtLeast(config_.buckets);
  if (config_.expected_input_bytes == 0 || records == 0 || data == 0) {
    // Unknown size: as many buckets as keep each one's share of a spill reasonably large.
    return static_cast<uint32_t>(std::clamp<uint64_t>(
        std::bit_floor(std::max<uint64_t>(arena_limit_ / kMinFlushShare, 2)), 2, 1024));
  }
  // Memory a bucket needs per byte of record encoding: the encoding, its 8-byte key, its index
  // entry.
  const double need_per_byte =
      static_cast<double>(data + records * (8 + kBucketCostPerRecord)) / static_cast<double>(data);
  const double need =
      static_cast<double>(std::max(config_.expected_input_bytes, data)) * need_per_byte;
  if (need <= static_cast<double>(arena_limit_)) {
    // Expected to fit: buckets of about kMemoryBucketBytes, each sorted while small and freed as
    // soon as it is emitted.
    return PowerOfTwoAtLeast(static_cast<uint64_t>(need / kMemoryBucketBytes) + 1);
  }
  // Two buckets of this size fit the budget together, so pass 2 loads the next bucket while it
  // emits the current one.
  const double target = 0.4 * static_cast<double>(arena_limit_);
  return PowerOfTwoAtLeast(static_cast<uint64_t>(need / target) + 1);
}

void RecordShuffler::PrepareSpill() {
  const uint64_t n = arena_->records();
  const uint64_t data = arena_->bytes() - 8 * n;
  SpillCompression chosen = config_.spill.compression;
  if (config_.expected_input_bytes > 0 && n > 0 && data > 0) {
    const uint64_t expected = std::max(config_.expected_input_bytes, encoded_bytes_);
    // Raw spill bytes per byte of record encoding: the encoding plus an 8-byte key per record.
    const double raw_per_byte = static_cast<double>(data + 8 * n) / static_cast<double>(data);
    const auto raw_need =
        static_cast<uint64_t>(static_cast<double>(expected) * raw_per_byte * 1.05);
    const uint64_t free = FreeDiskBytes(temp_dir_.Path());
    if (chosen == SpillCompression::kAuto) {
      chosen = raw_need <= free / 10 * 9 ? SpillCompression::kNone : SpillCompression::kZstd;
    }
    uint64_t need = raw_need;
    if (chosen == SpillCompression::kZstd) {
      // Compress the fullest chunk (a block as it will be spilled) to estimate the stored size.
      std::string_view sample;
      for (size_t b = 0; b < first_buckets_.size(); ++b) {
        for (const ScatterArena::Chunk& c : arena_->chunks(b)) {
          if (c.size > sample.size()) sample = std::string_view(c.data, c.size);
        }
      }
      SpillBlockEncoder encoder(SpillOptions{SpillCompression::kZstd, config_.spill.level});
      const double ratio = static_cast<double>(encoder.Encode(sample).size()) /
                           static_cast<double>(std::max<size_t>(sample.size(), 1));
      need = static_cast<uint64_t>(static_cast<double>(raw_need) * ratio);
    }
    if (need > free) {
      std::string message = "not enough free space for the shuffle's spill files in " +
                            temp_dir_.parent().string() + ": about " + FormatBytes(need) +
                            " needed for " + FormatBytes(expected) + " of input, " +
                            FormatBytes(free) + " free; choose another --tmp-dir";
      if (chosen == SpillCompression::kNone) message += " or use --spill-compression zstd";
      throw IoError(message);
    }
  } else if (chosen == SpillCompression::kAuto) {
    // Unknown input size: raw blocks are the fastest (see docs/shuffle.md).
    chosen = SpillCompression::kNone;
  }
  config_.spill.compression = chosen;
  workers_->options = config_.spill;
}

uint32_t RecordShuffler::MaxSpillFiles() const {
  if (config_.max_spill_files > 0) return config_.max_spill_files;
  // Leave most descriptors to the rest of the run (inputs, outputs, libraries).
  rlimit limit{};
  uint64_t descriptors = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    descriptors = limit.rlim_cur;
  }
  return static_cast<uint32_t>(std::clamp<uint64_t>(descriptors / 16, 1, kMaxSpillFiles));
}

void RecordShuffler::AssignSpillFiles(std::vector<Bucket>& buckets) {
  const size_t count = std::min<size_t>(buckets.size(), MaxSpillFiles());
  std::vector<std::shared_ptr<SpillFile>> files(count);
  for (auto& file : files) {
    file = std::make_shared<SpillFile>(temp_dir_.NewFilePath("shuffle-spill", ".cfs"));
  }
  for (size_t b = 0; b < buckets.size(); ++b) buckets[b].file = files[b * count / buckets.size()];
  spill_files_ += count;
}

void RecordShuffler::SpillArena(ScatterArena& arena, std::vector<Bucket>& buckets) {
  // Buckets in parallel: they write to several files, and compress on every thread.
  tbb::parallel_for(tbb::blocked_range<size_t>(0, buckets.size(), 1), [&](const auto& range) {
    SpillBlockEncoder& encoder = workers_->encoder();
    for (size_t b = range.begin(); b != range.end(); ++b) {
      CheckInterrupt();
      Bucket& bucket = buckets[b];
      for (const ScatterArena::Chunk& c : arena.chunks(b)) {
        const SpillBlock block = encoder.Encode(std::string_view(c.data, c.size));
        bucket.blocks.push_back(bucket.file->Append(block));
        bucket.raw_bytes += c.size;
        bucket.records += c.records;
        spill_raw_bytes_ += c.size;
        spill_stored_bytes_ += block.size();
        ++spill_blocks_;
      }
    }
  });
  arena.Clear();
}

uint64_t RecordShuffler::BucketMemory(const Bucket& bucket) const {
  return bucket.raw_bytes + bucket.records * kBucketCostPerRecord;
}

void RecordShuffler::Finish() {
  if (finished_) return;
  finished_ = true;
  const double pass1_end = MonotonicSeconds();
  pass1_end_ = pass1_end;
  cpu_pass1_end_ = ProcessCpuSeconds();
  if (stats_ != nullptr) {
    stats_->Set("pass 1 seconds", pass1_end - pass1_start_);
    stats_->SetText("mode", spilled_ ? "external" : "in memory");
    stats_->SetText("spill compression", !spilled_ ? std::string("nothing spilled")
                                         : config_.spill.compression == SpillCompression::kZstd
                                             ? "zstd level " + std::to_string(config_.spill.level)
                                             : std::string("none"));
  }
  if (!spilled_) {
    // In memory: the first-level buckets are the leaves, read from the arena.
    for (size_t b = 0; b < first_buckets_.size(); ++b) {
      if (arena_->chunks(b).empty()) continue;
      Bucket leaf = first_buckets_[b];
      leaf.arena_bucket = static_cast<int64_t>(b);
      for (const ScatterArena::Chunk& c : arena_->chunks(b)) {
        leaf.raw_bytes += c.size;
        leaf.records += c.records;
      }
      leaves_.push_back(std::move(leaf));
    }
    first_buckets_.clear();
    return;
  }
  SpillArena(*arena_, first_buckets_);
  arena_.reset();
  uint64_t oversized = 0;
  for (const Bucket& b : first_buckets_) {
    if (BucketMemory(b) > arena_limit_ && b.records > 1) oversized += b.raw_bytes;
  }
  if (oversized > 0 && progress_ != nullptr) {
    progress_->StartPhase("shuffle: re-scatter buckets larger than the memory budget", oversized);
  }
  std::vector<Bucket> first = std::move(first_buckets_);
  first_buckets_.clear();
  for (Bucket& b : first) Resolve(std::move(b));
  const double rescatter_seconds = MonotonicSeconds() - pass1_end;
  uint64_t largest_bytes = 0;
  uint64_t largest_records = 0;
  for (const Bucket& b : leaves_) {
    unloaded_bytes_ += b.raw_bytes;
    largest_bytes = std::max(largest_bytes, b.raw_bytes);
    largest_records = std::max(largest_records, b.records);
  }
  if (2 * (largest_bytes + largest_records * kBucketCostPerRecord) <= arena_limit_) {
    reserve_leaf_bytes_ = largest_bytes;
    reserve_leaf_records_ = largest_records;
  }
  // Pass 2 copies blocks into reused buffers. (Reading raw blocks in place from a mapping of the
  // spill file saved a copy but left the peak RSS far above the budget with many buckets: 463 MB
  // for a 64 MB budget, against 88 MB copying.)
  if (stats_ != nullptr) {
    stats_->Add("buckets", leaves_.size());
    stats_->Add("re-scatters", rescatters_);
    stats_->Add("spill blocks", spill_blocks_.load());
    stats_->Add("spill files", spill_files_);
    stats_->Add("spill bytes raw", spill_raw_bytes_.load());
    stats_->Add("spill bytes stored", spill_stored_bytes_.load());
    stats_->Set("re-scatter seconds", rescatter_seconds);
  }
}

void RecordShuffler::Resolve(Bucket bucket) {
  if (bucket.records == 0) return;
  if (BucketMemory(bucket) <= arena_limit_ || bucket.records <= 1 || bucket.width == 0) {
    leaves_.push_back(std::move(bucket));
    return;
  }
  std::vector<Bucket> children;
  Rescatter(bucket, children);
  ++rescatters_;
  for (Bucket& child : children) Resolve(std::move(child));
}

void RecordShuffler::Rescatter(const Bucket& bucket, std::vector<Bucket>& children) {
  // Sub-buckets of about 40% of the budget, so that pass 2 can prefetch (see FirstBucketCount).
  const uint32_t count = config_.rescatter_buckets > 0
                             ? PowerOfTwoAtLeast(config_.rescatter_buckets)
                             : PowerOfTwoAtLeast(BucketMemory(bucket) * 5 / 2 / arena_limit_ + 1);
  children = SplitRange(bucket, count);
  const int shift = children.front().width;
  ScatterArena arena(children.size(), ChunkBytes(children.size()));
  SpillBlockDecoder& decoder = workers_->decoder();
  std::string block;
  for (const SpillBlockHandle& h : bucket.blocks) {
    CheckInterrupt();
    block.resize(h.raw_size);
    bucket.file->Read(h, block.data(), decoder);
    const char* p = block.data();
    const char* const end = p + block.size();
    while (p < end) {
      const char* next = RecordEnd(p, end);
      if (next == nullptr) ThrowBadBlock(*bucket.file, h.offset, "malformed record");
      const uint64_t key = DecodeFixed64(p);
      if (bucket.width < 64 && ((key - bucket.lo) >> bucket.width) != 0) {
        ThrowBadBlock(*bucket.file, h.offset, "record key outside its bucket");
      }
      const auto need = static_cast<size_t>(next - p);  // key, length, encoding
      if (arena.used() + need + kBucketCostPerRecord > arena_limit_ && arena.records() > 0) {
        SpillArena(arena, children);
      }
      const size_t child = shift >= 64 ? 0 : static_cast<size_t>((key - bucket.lo) >> shift);
      std::memcpy(arena.Append(child, need), p, need);
      p += need;
    }
    if (progress_ != nullptr) progress_->AddBytes(h.raw_size);
  }
  SpillArena(arena, children);
  ReleaseIfTight(bucket, spill_raw_bytes_.load());
}

void RecordShuffler::SortIndex(std::vector<IndexEntry>& index) {
  auto by_key = [](const IndexEntry& a, const IndexEntry& b) { return a.key < b.key; };
  if (index.size() < (1 << 16)) {
    std::sort(index.begin(), index.end(), by_key);
  } else {
    tbb::parallel_sort(index.begin(), index.end(), by_key);
  }
}

void RecordShuffler::LoadLeaf(const Bucket& bucket, LoadedBucket* into) {
  CheckInterrupt();
  into->leaf = &bucket;
  auto& index = into->index;
  index.clear();
  // Buffers sized for the largest leaf once (when two of those fit the budget): each bucket
  // then reuses pages already faulted in rather than mapping fresh ones.
  index.reserve(std::max(bucket.records, reserve_leaf_records_));
  if (bucket.file == nullptr) {
    // In memory: index the arena's chunks where they are.
    for (const ScatterArena::Chunk& c : arena_->chunks(static_cast<size_t>(bucket.arena_bucket))) {
      if (!ParseBlock(c.data, c.data + c.size, index)) {
        throw std::logic_error("shuffle: malformed record in memory");
      }
    }
  } else {
    const SpillFile& file = *bucket.file;
    into->data.Reserve(std::max(bucket.raw_bytes, reserve_leaf_bytes_));
    std::vector<uint64_t> offsets(bucket.blocks.size() + 1, 0);
    for (size_t i = 0; i < bucket.blocks.size(); ++i) {
      offsets[i + 1] = offsets[i] + bucket.blocks[i].raw_size;
    }
    char* const data = into->data.get();
    tbb::parallel_for(tbb::blocked_range<size_t>(0, bucket.blocks.size(), 1), [&](const auto& r) {
      SpillBlockDecoder& decoder = workers_->decoder();
      for (size_t i = r.begin(); i != r.end(); ++i) {
        CheckInterrupt();
        file.Read(bucket.blocks[i], data + offsets[i], decoder);
      }
    });
    // Records never span blocks: parse each block's raw bytes into the index.
    for (size_t i = 0; i < bucket.blocks.size(); ++i) {
      if (!ParseBlock(data + offsets[i], data + offsets[i + 1], index)) {
        ThrowBadBlock(file, bucket.blocks[i].offset, "malformed record");
      }
    }
    if (index.size() != bucket.records) {
      throw CorruptionError("spill file " + file.path().string() + ": a bucket holds " +
                            std::to_string(index.size()) + " records, " +
                            std::to_string(bucket.records) + " were written");
    }
    unloaded_bytes_ -= bucket.raw_bytes;
  }
  SortIndex(index);
  if (progress_ != nullptr) progress_->AddBytes(bucket.raw_bytes);
}

void RecordShuffler::DoneWithLeaf(LoadedBucket* loaded) {
  if (loaded->leaf == nullptr) return;
  Bucket& leaf = leaves_[static_cast<size_t>(loaded->leaf - leaves_.data())];
  loaded->leaf = nullptr;
  loaded->index.clear();
  if (leaf.file == nullptr) {
    // In memory: give the pages back at once; the output written next reuses them.
    arena_->Free(static_cast<size_t>(leaf.arena_bucket));
    return;
  }
  ReleaseIfTight(leaf, unloaded_bytes_.load());
  // The last leaf of a spill file removes it: its pages are freed before any writeback, and the
  // output written next reuses them.
  leaf.file.reset();
}

void RecordShuffler::ReleaseIfTight(const Bucket& bucket, uint64_t bytes_ahead) {
  // `bytes_ahead`: what may still be written to the temp filesystem (the output of what is not
  // emitted yet, when it goes to the same filesystem, or re-scattered copies). Keep a margin.
  if (!config_.always_release_spill &&
      FreeDiskBytes(temp_dir_.Path()) > bytes_ahead + bytes_ahead / 4 + (uint64_t{1} << 30)) {
    return;
  }
  for (const SpillBlockHandle& h : bucket.blocks) bucket.file->Release(h);
  released_bytes_ += bucket.raw_bytes;
}

bool RecordShuffler::NextBucket() {
  DoneWithLeaf(current_.get());
  if (prefetching_) {
    prefetching_ = false;
    prefetch_group_->wait();  // rethrows the prefetch's error
    std::swap(current_, prefetched_);
  } else if (next_leaf_ < leaves_.size()) {
    LoadLeaf(leaves_[next_leaf_++], current_.get());
  } else {
    return false;
  }
  cursor_ = 0;
  // Load the following bucket in the background while this one is emitted, when both fit (in
  // memory only the next index is new).
  if (next_leaf_ < leaves_.size() &&
      (!spilled_ ||
       BucketMemory(leaves_[next_leaf_ - 1]) + BucketMemory(leaves_[next_leaf_]) <= arena_limit_)) {
    prefetching_ = true;
    ++prefetched_buckets_;
    const Bucket* next = &leaves_[next_leaf_++];
    prefetch_group_->run([this, next] { LoadLeaf(*next, prefetched_.get()); });
  }
  return true;
}

bool RecordShuffler::Next(Batch* out) {
  if (!finished_) throw std::logic_error("RecordShuffler::Next before Finish");
  if (!pass2_started_) {
    pass2_started_ = true;
    pass2_start_ = MonotonicSeconds();
    if (progress_ != nullptr) {
      uint64_t total = 0;
      for (const Bucket& b : leaves_) total += b.raw_bytes;
      progress_->StartPhase(spilled_ ? "shuffle pass 2: buckets" : "shuffle: in memory", total);
    }
  }
  if (!codec_) return false;
  codec_->PrepareBatch(out);
  RecordDecoder decoder(out);
  for (;;) {
    const std::vector<IndexEntry>& index = current_->index;
    if (cursor_ >= index.size()) {
      if (!out->empty()) return true;
      if (NextBucket()) continue;
      if (!emitted_all_) {
        emitted_all_ = true;
        *current_ = LoadedBucket{};  // NextBucket() was done with its leaf
        arena_.reset();
        if (stats_ != nullptr) {
          const double pass2_end = MonotonicSeconds();
          stats_->Set("pass 2 seconds", pass2_end - pass2_start_);
          // Achieved time next to the I/O and CPU lower bounds (docs/disk.md). Inside a
          // pipeline the input and output files are other stages' business: the I/O bound
          // covers the spill, measured by `corpusflow bench disk` on the temp folder.
          ShuffleRunFigures run;
          run.input_bytes = input_bytes_;
          run.output_bytes = input_bytes_;  // every record in is a record out
          run.spill_raw_bytes = spilled_ ? spill_raw_bytes_.load() : 0;
          run.spill_stored_bytes = spilled_ ? spill_stored_bytes_.load() : 0;
          run.pass1 = {pass1_end_ - pass1_start_, cpu_pass1_end_ - cpu_pass1_start_, 0};
          run.pass2 = {pass2_end - pass1_end_, ProcessCpuSeconds() - cpu_pass1_end_, 0};
          run.threads = static_cast<int>(tbb::this_task_arena::max_concurrency());
          RecordShuffleBounds(
              ComputeShuffleBounds(run, LocateShuffleStorage({}, temp_dir_.parent(), "")), *stats_);
          stats_->Add("buckets prefetched", prefetched_buckets_);
          stats_->Add("spill bytes released early", released_bytes_.load());
        }
      }
      return false;
    }
    while (cursor_ < index.size() && out->DataBytes() < config_.batch_bytes) {
      const char* record = index[cursor_++].record;
      uint64_t length = 0;
      const char* encoded = GetVarint64Ptr(record, record + 10, &length);
      decoder.DecodeAppend(std::string_view(encoded, length));
    }
    if (out->DataBytes() >= config_.batch_bytes) return true;
  }
}

// ---------------------------------------------------------------------------------------------
// The operator.

namespace {

class ShuffleOutput : public BatchReader {
 public:
  explicit ShuffleOutput(RecordShuffler& shuffler) : shuffler_(shuffler) {}
  bool Next(Batch* out) override { return shuffler_.Next(out); }

 private:
  RecordShuffler& shuffler_;
};

ShuffleConfig ConfigFor(const ShuffleSettings& settings, ExecContext& ctx) {
  ShuffleConfig config;
  config.seed = settings.seed;
  config.memory_bytes =
      settings.memory_bytes > 0 ? settings.memory_bytes : ctx.breaker_memory_bytes();
  config.buckets = settings.buckets;
  config.spill = settings.spill;
  config.batch_bytes = ctx.batch_bytes();
  return config;
}

class ShuffleRun : public BreakerRun {
 public:
  ShuffleRun(const ShuffleSettings& settings, ExecContext& ctx, OperatorStats& stats)
      : settings_(settings),
        ctx_(ctx),
        shuffler_(ConfigFor(settings, ctx), ctx.temp_dir(), &stats, &ctx.progress()) {
    if (!settings.seed_given) stats.SetText("seed origin", "random");
  }

  void Write(Batch& batch, OpState* /*local*/) override {
    if (!told_size_) {
      told_size_ = true;
      shuffler_.SetExpectedInputBytes(ctx_.progress().total_bytes());
    }
    shuffler_.Add(batch, batch.first_record());
  }

  void Finish() override {
    shuffler_.Finish();
    if (settings_.tally != nullptr) {
      settings_.tally->records = shuffler_.records();
      settings_.tally->finished = true;
    }
  }

  std::unique_ptr<BatchReader> OpenOutput() override {
    return std::make_unique<ShuffleOutput>(shuffler_);
  }

 private:
  const ShuffleSettings& settings_;
  ExecContext& ctx_;
  RecordShuffler shuffler_;
  bool told_size_ = false;
};

}  // namespace

ShuffleOperator::ShuffleOperator(ShuffleSettings settings) : settings_(settings) {
  if (settings_.spill.compression != SpillCompression::kNone) {
    // Checks the level against zstd's range.
    SpillBlockEncoder check(settings_.spill);
  }
}

void ShuffleOperator::Validate(const PlanContext& ctx) const {
  const std::filesystem::path parent =
      ctx.options.tmp_dir.empty() ? TempDir::DefaultParent() : ctx.options.tmp_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    throw IoError("shuffle: the temp folder " + parent.string() +
                  " does not exist (set --tmp-dir or $TMPDIR)");
  }
}

std::string ShuffleOperator::Describe() const {
  std::string text = "shuffle all records uniformly (seed " + std::to_string(settings_.seed);
  if (!settings_.seed_given) text += ", drawn at random";
  text += ", memory ";
  text += settings_.memory_bytes > 0 ? FormatBytes(static_cast<double>(settings_.memory_bytes))
                                     : std::string("the run's share");
  text += ", spill ";
  switch (settings_.spill.compression) {
    case SpillCompression::kZstd:
      text += "zstd level " + std::to_string(settings_.spill.level);
      break;
    case SpillCompression::kNone:
      text += "uncompressed";
      break;
    case SpillCompression::kAuto:
      text += "raw unless the temp disk is tight";
      break;
  }
  return text + ")";
}

std::unique_ptr<BreakerRun> ShuffleOperator::Open(const OpenContext& ctx) const {
  return std::make_unique<ShuffleRun>(settings_, ctx.exec, ctx.stats);
}

static const OperatorRegistrar kRegisterShuffle(OperatorDef{
    .name = "shuffle",
    .role = OperatorRole::kBreaker,
    .synopsis = "shuffle [--seed N] [--memory SIZE] [--spill-compression auto|zstd|none] "
                "[--spill-level N]",
    .summary = "Shuffle all records uniformly at random (out of core, deterministic per seed)",
    .details =
        "Every permutation of the records is equally likely. The output depends only on the "
        "seed and the input, never on --threads or --memory. Records of any layout (lines, "
        "JSONL fields, token ids) are shuffled whole. When the input fits the memory budget it "
        "is shuffled in memory; otherwise records are scattered to buckets in a few spill "
        "files in the run's temp folder (checksummed blocks, raw or zstd-compressed), and each "
        "bucket is shuffled in memory in a second pass. Without --seed a random seed is drawn and "
        "reported in --stats-json.",
    .describe =
        [](OptionSet& o) {
          o.named.add_options()("seed", po::value<uint64_t>(),
                                "seed of the permutation (default: random, reported in stats)")(
              "memory", po::value<std::string>()->default_value(""),
              "memory for the shuffle, e.g. 2G (default: what the run's --memory leaves)")(
              "spill-compression", po::value<std::string>()->default_value("auto"),
              "spill blocks: auto (raw unless the temp disk is too small for them), zstd, none")(
              "spill-level", po::value<int>()->default_value(kDefaultSpillLevel),
              "zstd level of spill blocks (negative = faster)")(
              "buckets", po::value<uint32_t>()->default_value(0),
              "force the number of buckets of the first scatter (0 = automatic)");
        },
    .create = [](const OptionValues& v) -> std::unique_ptr<Operator> {
      ShuffleSettings settings;
      if (v.count("seed") > 0) {
        settings.seed = v["seed"].as<uint64_t>();
        settings.seed_given = true;
      } else {
        settings.seed = RandomSeed();
      }
      const std::string memory = v["memory"].as<std::string>();
      if (!memory.empty()) settings.memory_bytes = ParseByteSize(memory, "--memory");
      settings.buckets = v["buckets"].as<uint32_t>();
      settings.spill.compression = ParseSpillCompression(v["spill-compression"].as<std::string>());
      settings.spill.level = v["spill-level"].as<int>();
      return std::make_unique<ShuffleOperator>(settings);
    },
});

// ---------------------------------------------------------------------------------------------
// Paired inputs and line outputs for the `corpusflow shuffle` shortcut.

namespace {

class LockstepReader : public BatchReader {
 public:
  LockstepReader(const std::vector<std::string>& paths, ExecContext& ctx)
      : paths_(paths), ctx_(ctx) {
    for (const std::string& path : paths) {
      readers_.push_back(std::make_unique<LineReader>(OpenInput(path)));
      raw_seen_.push_back(0);
    }
  }

  bool Next(Batch* out) override {
    if (done_) return false;
    out->Reset();
    std::vector<StringColumn*> columns;
    for (size_t i = 0; i < readers_.size(); ++i) {
      out->AddString(LockstepLinesSource::ColumnName(i));
    }
    for (size_t i = 0; i < readers_.size(); ++i) {
      columns.push_back(&out->GetString(LockstepLinesSource::ColumnName(i)));
    }
    uint64_t bytes = 0;
    uint64_t records = 0;
    while (bytes < ctx_.batch_bytes()) {
      std::string_view line;
      const bool first = readers_[0]->Next(&line);
      if (first) {
        columns[0]->Append(line);
        bytes += line.size();
      }
      for (size_t i = 1; i < readers_.size(); ++i) {
        const bool more = readers_[i]->Next(&line);
        if (more != first) {
          const size_t longer = more ? i : 0, shorter = more ? 0 : i;
          throw DataError("paired inputs are not line-aligned: " + paths_[shorter] +
                          " ends after " + std::to_string(lines_) + " lines but " + paths_[longer] +
                          " has more (line " + std::to_string(lines_ + 1) + ")");
        }
        if (more) {
          columns[i]->Append(line);
          bytes += line.size();
        }
      }
      if (!first) {
        done_ = true;
        break;
      }
      ++lines_;
      ++records;
    }
    ReportProgress();
    return records > 0;
  }

 private:
  void ReportProgress() {
    for (size_t i = 0; i < readers_.size(); ++i) {
      const uint64_t raw = readers_[i]->input().raw_bytes_read();
      ctx_.progress().AddBytes(raw - raw_seen_[i]);
      raw_seen_[i] = raw;
    }
  }

  const std::vector<std::string>& paths_;
  ExecContext& ctx_;
  std::vector<std::unique_ptr<LineReader>> readers_;
  std::vector<uint64_t> raw_seen_;
  uint64_t lines_ = 0;
  bool done_ = false;
};

}  // namespace

LockstepLinesSource::LockstepLinesSource(std::vector<std::string> paths)
    : paths_(std::move(paths)) {
  if (paths_.size() < 2) throw InvalidArgument("paired shuffling needs at least two inputs");
}

std::string LockstepLinesSource::ColumnName(size_t i) { return "text" + std::to_string(i); }

void LockstepLinesSource::Validate(const PlanContext& /*ctx*/) const {
  size_t stdin_count = 0;
  for (const std::string& path : paths_) {
    if (path == "-") {
      ++stdin_count;
    } else {
      CheckInputReadable(path);
    }
  }
  if (stdin_count > 1) throw InvalidArgument("stdin ('-') can be only one of the paired inputs");
}

Schema LockstepLinesSource::OutputSchema(const Schema& /*input*/) const {
  Schema schema;
  for (size_t i = 0; i < paths_.size(); ++i) schema.Set(Field{ColumnName(i), FieldType::kString});
  return schema;
}

std::string LockstepLinesSource::Describe() const {
  std::string text = "read " + std::to_string(paths_.size()) + " line-aligned files in lockstep (";
  for (size_t i = 0; i < paths_.size(); ++i) {
    text += (i > 0 ? ", " : "") + paths_[i] + " -> " + ColumnName(i);
  }
  return text + ")";
}

std::optional<uint64_t> LockstepLinesSource::TotalBytes() const { return TotalFileBytes(paths_); }

std::unique_ptr<BatchReader> LockstepLinesSource::Open(const OpenContext& ctx) const {
  return std::make_unique<LockstepReader>(paths_, ctx.exec);
}

namespace {

class ShuffledLinesWriter : public BatchWriter {
 public:
  ShuffledLinesWriter(const ShuffledLinesSink& sink, std::vector<std::string> columns,
                      std::vector<std::string> outputs, uint64_t shards, uint64_t total,
                      OperatorStats& stats)
      : sink_(sink),
        columns_(std::move(columns)),
        outputs_(std::move(outputs)),
        shards_(std::max<uint64_t>(shards, 1)),
        total_(total),
        stats_(stats),
        streams_(outputs_.size()),
        buffers_(outputs_.size()) {
    Open(0);
  }

  void Write(Batch& batch, OpState* /*local*/) override {
    const size_t n = batch.num_records();
    std::vector<const StringColumn*> columns;
    for (const std::string& name : columns_) columns.push_back(&batch.GetString(name));
    size_t i = 0;
    while (i < n) {
      // Records up to the end of the current shard.
      const uint64_t end = ShardEnd(shard_);
      if (written_ >= end && shard_ + 1 < shards_) {
        Open(shard_ + 1);
        continue;
      }
      const size_t take = static_cast<size_t>(
          std::min<uint64_t>(n - i, shard_ + 1 < shards_ ? end - written_ : n - i));
      for (size_t c = 0; c < columns.size(); ++c) {
        std::string& buffer = buffers_[c];
        for (size_t r = i; r < i + take; ++r) {
          buffer.append((*columns[c])[r]);
          buffer.push_back('\n');
        }
        if (buffer.size() >= (1 << 20)) Flush(c);
      }
      i += take;
      written_ += take;
    }
  }

  void Finish() override {
    // Every shard exists, even an empty one.
    while (shard_ + 1 < shards_) Open(shard_ + 1);
    for (size_t c = 0; c < streams_.size(); ++c) {
      Flush(c);
      streams_[c].back()->Close();
    }
    for (auto& per_output : streams_) {
      for (auto& stream : per_output) stream->Commit();
    }
    stats_.SetText("output",
                   outputs_.size() == 1 ? outputs_[0] : std::to_string(outputs_.size()) + " files");
  }

 private:
  uint64_t ShardEnd(uint64_t shard) const {
    if (shards_ == 1) return UINT64_MAX;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(total_) * (shard + 1)) / shards_);
  }

  void Flush(size_t c) {
    if (buffers_[c].empty()) return;
    streams_[c].back()->Write(buffers_[c]);
    buffers_[c].clear();
  }

  void Open(uint64_t shard) {
    for (size_t c = 0; c < outputs_.size(); ++c) {
      if (!streams_[c].empty()) {
        Flush(c);
        streams_[c].back()->Close();
      }
      streams_[c].push_back(CreateOutput(sink_.ShardPath(outputs_[c], shard)));
    }
    shard_ = shard;
  }

  const ShuffledLinesSink& sink_;
  std::vector<std::string> columns_;
  std::vector<std::string> outputs_;
  uint64_t shards_;
  uint64_t total_;
  OperatorStats& stats_;
  std::vector<std::vector<std::unique_ptr<OutputStream>>> streams_;
  std::vector<std::string> buffers_;
  uint64_t shard_ = 0;
  uint64_t written_ = 0;
};

}  // namespace

ShuffledLinesSink::ShuffledLinesSink(std::vector<std::string> columns,
                                     std::vector<std::string> outputs, uint64_t shards,
                                     const ShuffleTally* tally)
    : columns_(std::move(columns)), outputs_(std::move(outputs)), shards_(shards), tally_(tally) {
  if (columns_.size() != outputs_.size() || columns_.empty()) {
    throw InvalidArgument("one output per field is needed");
  }
  if (shards_ > 1 && tally_ == nullptr) {
    throw std::logic_error("ShuffledLinesSink: contiguous shards need the shuffle's tally");
  }
  if (shards_ > 1) {
    for (const std::string& out : outputs_) {
      if (out == "-") throw InvalidArgument("--shards needs output files, not stdout");
    }
  }
}

void ShuffledLinesSink::Validate(const PlanContext& /*ctx*/) const {
  size_t stdout_count = 0;
  for (const std::string& out : outputs_) {
    if (out == "-") {
      ++stdout_count;
    } else {
      CheckOutputWritable(out);
    }
  }
  if (stdout_count > 1) throw InvalidArgument("only one output can be stdout ('-')");
}

Schema ShuffledLinesSink::OutputSchema(const Schema& input) const {
  for (const std::string& c : columns_) input.Require(c, FieldType::kString, "shuffle output");
  return input;
}

std::string ShuffledLinesSink::Describe() const {
  std::string text = "write lines to ";
  for (size_t i = 0; i < outputs_.size(); ++i) {
    text += (i > 0 ? ", " : "") + (outputs_[i] == "-" ? std::string("stdout") : outputs_[i]);
  }
  if (shards_ > 1) text += " in " + std::to_string(shards_) + " contiguous shards each";
  return text;
}

std::string ShuffledLinesSink::ShardPath(const std::string& path, uint64_t shard) const {
  return shards_ > 1 ? WriteOperator::ShardPath(path, shard, shards_) : path;
}

std::unique_ptr<BatchWriter> ShuffledLinesSink::Open(const OpenContext& ctx) const {
  uint64_t total = 0;
  if (shards_ > 1) {
    if (!tally_->finished.load()) {
      throw std::logic_error("ShuffledLinesSink opened before the shuffle finished pass 1");
    }
    total = tally_->records.load();
  }
  return std::make_unique<ShuffledLinesWriter>(*this, columns_, outputs_, shards_, total,
                                               ctx.stats);
}

}  // namespace corpusflow
