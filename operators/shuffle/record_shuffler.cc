#include "operators/shuffle/record_shuffler.h"

#include <sys/resource.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <utility>

#include "engine/batch.h"
#include "engine/check.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/shuffle/shuffle_arena.h"
#include "operators/shuffle/shuffle_bounds.h"
#include "operators/shuffle/shuffle_keys.h"
#include "operators/shuffle/shuffle_record.h"

namespace corpusflow {
namespace {

[[noreturn]] void ThrowBadBlock(const SpillFile& file, uint64_t offset, const std::string& what) {
  throw CorruptionError("spill file " + file.path().string() + ": block at offset " +
                        std::to_string(offset) + ": " + what);
}

/// Slabs of 4 MiB, or a block when larger: a bucket loaded in pass 2 takes only a little more
/// than its bytes, and a few hundred mappings cover any working set.
size_t SlabBytes(uint64_t block_bytes) {
  constexpr uint64_t kPage = 4096;
  return static_cast<size_t>(
      std::max<uint64_t>(uint64_t{4} << 20, (block_bytes + kPage - 1) / kPage * kPage));
}

/// The soft limit on open descriptors (0 = unlimited or unknown).
uint64_t DescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return limit.rlim_cur;
}

}  // namespace

struct RecordShuffler::LoadedBucket {
  /// The leaf it holds (null when empty).
  const Bucket* leaf = nullptr;
  /// The bucket's blocks, copied or decompressed from its spill file into slabs of the pool
  /// (none in memory); given back once the bucket was emitted.
  std::vector<LargeBuffer> slabs;
  std::vector<IndexEntry> index;
};

struct RecordShuffler::Bucket {
  /// The bucket holds the keys [lo, lo + 2^width).
  uint64_t lo = 0;
  int width = 64;
  /// Its number in the run (first-level buckets 0..K-1 in key order, re-scattered ones from K
  /// on): the stream of its spill blocks' identity.
  uint64_t id = 0;
  /// The spill file holding its blocks, shared with the other buckets of its key range; the file
  /// is removed when the last of them is emitted (or dropped). Null for a bucket in memory.
  std::shared_ptr<SpillFile> file;
  /// In memory: the bucket's index in the arena (-1 when spilled).
  int64_t arena_bucket = -1;
  std::vector<SpillBlockHandle> blocks;
  /// Records written to the bucket in pass 1 (or by the re-scatter that made it).
  uint64_t records = 0;
  uint64_t raw_bytes = 0;
};

namespace {

[[noreturn]] void ThrowRecordCount(const SpillFile& file, uint64_t bucket, uint64_t found,
                                   uint64_t written) {
  throw CorruptionError("spill file " + file.path().string() + ": bucket " +
                        std::to_string(bucket) + " holds " + std::to_string(found) + " records, " +
                        std::to_string(written) + " were written");
}

}  // namespace

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

RecordShuffler::RecordShuffler(const ShuffleConfig& config, const Schema& layout, TempDir& temp_dir,
                               OperatorStats* stats, Progress* progress)
    : config_(config),
      temp_dir_(temp_dir),
      stats_(stats),
      progress_(progress),
      codec_(layout),
      run_id_(NewSpillRunId()) {
  layout_ = PlanLayout(0, 0);
  pool_ = std::make_unique<SlabPool>(SlabBytes(layout_.block_bytes));
  workers_ = std::make_unique<Workers>(config_.spill);
  prefetch_group_ = std::make_unique<tbb::task_group>();
  current_ = std::make_unique<LoadedBucket>();
  prefetched_ = std::make_unique<LoadedBucket>();
  pass1_start_ = MonotonicSeconds();
  cpu_pass1_start_ = ProcessCpuSeconds();
  if (stats_ != nullptr) {
    stats_->SetInteger("seed", config_.seed);
    stats_->SetInteger("memory_budget_bytes", config_.memory_bytes);
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

void RecordShuffler::AdoptSlabPool(std::unique_ptr<SlabPool> pool) {
  CF_CHECK(arena_ == nullptr && records_ == 0, "AdoptSlabPool after the first Add");
  if (pool != nullptr && pool->slab_bytes() == pool_->slab_bytes()) pool_ = std::move(pool);
}

std::unique_ptr<SlabPool> RecordShuffler::ReleaseSlabPool() {
  if (!emitted_all_) return nullptr;
  // Whatever still holds slabs gives them back first.
  current_.reset();
  prefetched_.reset();
  arena_.reset();
  return std::move(pool_);
}

uint64_t RecordShuffler::slab_bytes_mapped() const {
  return pool_->slabs_mapped() * pool_->slab_bytes();
}

void RecordShuffler::SetExpectedInputBytes(uint64_t bytes) { config_.expected_input_bytes = bytes; }

ShuffleLayout RecordShuffler::PlanLayout(uint64_t records, uint64_t data) const {
  ShuffleLayoutInput in;
  in.memory_bytes = config_.memory_bytes;
  in.expected_input_bytes = config_.expected_input_bytes;
  in.sample_records = records;
  in.sample_bytes = data;
  in.threads = static_cast<uint64_t>(tbb::this_task_arena::max_concurrency());
  in.may_compress = config_.spill.compression != SpillCompression::kNone;
  in.descriptor_limit = DescriptorLimit();
  in.forced_buckets = config_.buckets;
  in.forced_block_bytes = config_.block_bytes;
  in.forced_spill_files = config_.max_spill_files;
  // in.writers stays 1: pass-1 threads share one arena, so K chunks are open whatever their number.
  return PlanShuffleLayout(in);
}

std::unique_ptr<RecordShuffler::Writer> RecordShuffler::NewWriter() {
  auto writer = std::make_unique<Writer>();
  writer->id = writers_made_.fetch_add(1);
  return writer;
}

void RecordShuffler::Add(const Batch& batch, uint64_t first_record) {
  if (own_writer_ == nullptr) own_writer_ = NewWriter();
  Add(*own_writer_, batch, first_record);
}

void RecordShuffler::AwaitLayout(uint64_t first_record, uint64_t records, uint64_t data) {
  if (layout_set_.load(std::memory_order_acquire)) return;
  std::unique_lock lock(layout_mu_);
  if (first_record == 0 && !layout_set_.load(std::memory_order_relaxed)) {
    // The batch holding record 0 (the first non-empty one) tells the size of a record: it sets
    // the first split, whichever thread adds it.
    layout_ = PlanLayout(records, data);
    sample_records_ = records;
    sample_bytes_ = data;
    first_buckets_ = SplitRange(Bucket{}, layout_.buckets);
    for (size_t b = 0; b < first_buckets_.size(); ++b) first_buckets_[b].id = b;
    next_bucket_id_ = first_buckets_.size();
    arena_ = std::make_unique<ScatterArena>(first_buckets_.size(), layout_.chunk_bytes, *pool_);
    bucket_mu_ = std::make_unique<std::mutex[]>(first_buckets_.size());
    layout_set_.store(true, std::memory_order_release);
    lock.unlock();
    layout_cv_.notify_all();
    return;
  }
  // Another thread is adding the batch of record 0 (the executor numbered it before this one).
  while (!layout_set_.load(std::memory_order_relaxed)) {
    layout_cv_.wait_for(lock, std::chrono::milliseconds(20));
    if (tbb::is_current_task_group_canceling()) {
      throw Error("shuffle: the run stopped before its first batch was added");
    }
    CheckInterrupt();
  }
}

size_t RecordShuffler::Reserve(const Writer& writer, size_t begin, size_t end) {
  const uint64_t limit = layout_.record_memory;
  uint64_t held = held_.load(std::memory_order_relaxed);
  for (;;) {
    // The rule of a single writer: a record goes in unless it overflows what is already held.
    uint64_t total = held;
    size_t i = begin;
    for (; i < end; ++i) {
      const size_t size = writer.sizes[i];
      const uint64_t charge = 8 + VarintLength(size) + size + kShuffleIndexEntryBytes;
      if (total + charge > limit && total > 0) break;
      total += charge;
    }
    if (i == begin) return begin;
    if (held_.compare_exchange_weak(held, total, std::memory_order_relaxed)) return i;
  }
}

void RecordShuffler::Place(Writer& writer, size_t end) {
  const size_t buckets = first_buckets_.size();
  // Writers start at different buckets, so that they seldom wait for one another's lock.
  const size_t first = (size_t{writer.id} * 0x9e3779b9u) % buckets;
  for (size_t k = 0; k < buckets; ++k) {
    const size_t b = first + k < buckets ? first + k : first + k - buckets;
    uint32_t next = writer.next[b];
    const uint32_t stop = writer.start[b + 1];
    if (next == stop || writer.order[next] >= end) continue;
    std::lock_guard lock(bucket_mu_[b]);
    for (; next < stop && writer.order[next] < end; ++next) {
      const uint32_t i = writer.order[next];
      const size_t size = writer.sizes[i];
      writer.dest[i] = arena_->AppendShared(b, 8 + VarintLength(size) + size);
    }
    writer.next[b] = next;
  }
}

void RecordShuffler::SpillHeld(uint64_t need) {
  CheckInterrupt();
  std::unique_lock lock(spill_mu_);
  const uint64_t held = held_.load(std::memory_order_relaxed);
  // Another thread spilled meanwhile: the record fits now.
  if (held == 0 || held + need <= layout_.record_memory) return;
  if (!spilled_) {
    spilled_ = true;
    PrepareSpill();
    AssignSpillFiles(first_buckets_);
  }
  // Isolated: while it waits inside the spill's parallel loop, this thread must not pick up
  // another Add, which would wait for the lock it holds.
  tbb::this_task_arena::isolate([&] { SpillArena(*arena_, first_buckets_); });
  held_.store(0, std::memory_order_relaxed);
}

void RecordShuffler::Add(Writer& writer, const Batch& batch, uint64_t first_record,
                         std::span<const uint64_t> ordinals) {
  CF_CHECK(!finished_, "RecordShuffler::Add after Finish");
  const size_t n = batch.num_records();
  if (n == 0) return;
  CF_CHECK(ordinals.empty() || ordinals.size() == n, "shuffle: one ordinal per record");
  CF_CHECK(ordinals.empty() || first_record != 0 || ordinals[0] == 0,
           "shuffle: the batch of record 0 lost record 0");
  if (!codec_.Matches(batch)) {
    throw Error("shuffle: a batch has the fields " + batch.schema().ToString() +
                " but the plan gave it " + codec_.layout().ToString());
  }
  CF_CHECK(n < (uint64_t{1} << 32), "shuffle: a batch of 2^32 records or more");
  const ShuffleKeys keys(config_.seed);
  const RecordEncoder encoder(batch);
  writer.keys.resize(n);
  writer.sizes.resize(n);
  uint64_t data = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t size = encoder.EncodedSize(i);
    writer.sizes[i] = size;
    writer.keys[i] = keys.Key(ordinals.empty() ? first_record + i : ordinals[i]);
    data += VarintLength(size) + size;
  }
  AwaitLayout(first_record, n, data);
  Scatter(writer, n, data, [&](size_t i, char* p) { encoder.Encode(i, p); });
  input_bytes_ += batch.DataBytes();
}

void RecordShuffler::AddKeyed(std::string_view records) {
  CF_CHECK(!finished_, "RecordShuffler::AddKeyed after Finish");
  if (own_writer_ == nullptr) own_writer_ = NewWriter();
  Writer& writer = *own_writer_;
  writer.keys.clear();
  writer.sizes.clear();
  keyed_.clear();
  const char* p = records.data();
  const char* const end = p + records.size();
  while (p < end) {
    const char* next = ShuffleRecordEnd(p, end);
    if (next == nullptr)
      throw CorruptionError("shuffle: a malformed keyed record from the exchange");
    writer.keys.push_back(GetShuffleKey(p));
    // The varint and the encoding after the key are copied as they are.
    keyed_.push_back(p + 8);
    writer.sizes.push_back(static_cast<size_t>(next - p - 8));
    p = next;
  }
  const size_t n = writer.keys.size();
  if (n == 0) return;
  CF_CHECK(n < (uint64_t{1} << 32), "shuffle: 2^32 keyed records at once");
  const uint64_t data = records.size() - 8 * n;
  // This thread is the only one adding: its first call sets the layout.
  AwaitLayout(0, n, data);
  // Scatter places varint(size) + size bytes per record: hand it the encoding's size.
  for (size_t i = 0; i < n; ++i) {
    uint64_t size = 0;
    GetVarint64Ptr(keyed_[i], keyed_[i] + writer.sizes[i], &size);
    writer.sizes[i] = static_cast<size_t>(size);
  }
  Scatter(writer, n, data, [&](size_t i, char* q) {
    std::memcpy(q, keyed_[i] + VarintLength(writer.sizes[i]), writer.sizes[i]);
  });
}

template <typename Fill>
void RecordShuffler::Scatter(Writer& writer, size_t n, uint64_t data, const Fill& fill) {
  encoded_bytes_ += data;

  // Group the records by bucket (a counting sort of their indices).
  const size_t buckets = first_buckets_.size();
  const int shift = first_buckets_.front().width;
  writer.start.assign(buckets + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const size_t b = shift >= 64 ? 0 : static_cast<size_t>(writer.keys[i] >> shift);
    ++writer.start[b + 1];
  }
  for (size_t b = 0; b < buckets; ++b) writer.start[b + 1] += writer.start[b];
  writer.next.assign(writer.start.begin(), writer.start.end() - 1);
  writer.order.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t b = shift >= 64 ? 0 : static_cast<size_t>(writer.keys[i] >> shift);
    writer.order[writer.next[b]++] = static_cast<uint32_t>(i);
  }
  writer.next.assign(writer.start.begin(), writer.start.end() - 1);
  writer.dest.resize(n);

  // Reserve, place and copy the longest run of records that fits, spilling everything held in
  // between: with one thread, spills fall exactly where a record would overflow the memory.
  size_t i = 0;
  while (i < n) {
    {
      std::shared_lock lock(spill_mu_);
      const size_t end = Reserve(writer, i, n);
      if (end > i) {
        Place(writer, end);
        for (; i < end; ++i) {
          char* p = writer.dest[i];
          PutShuffleKey(p, writer.keys[i]);
          fill(i, EncodeVarint64(p + 8, writer.sizes[i]));
        }
        continue;
      }
    }
    const size_t size = writer.sizes[i];
    SpillHeld(8 + VarintLength(size) + size + kShuffleIndexEntryBytes);
  }
  records_ += n;
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

void RecordShuffler::PrepareSpill() {
  // The layout's sample (not what is held: that depends on which threads added what).
  const uint64_t n = sample_records_;
  const uint64_t data = sample_bytes_;
  SpillCompression chosen = config_.spill.compression;
  if (config_.expected_input_bytes > 0 && n > 0 && data > 0) {
    const uint64_t expected = std::max(config_.expected_input_bytes, encoded_bytes_.load());
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

void RecordShuffler::AssignSpillFiles(std::vector<Bucket>& buckets) {
  // The layout's count for the first-level buckets.
  const size_t count = std::min<size_t>(buckets.size(), layout_.spill_files);
  std::vector<std::shared_ptr<SpillFile>> files(count);
  for (size_t f = 0; f < count; ++f) {
    files[f] = std::make_shared<SpillFile>(
        temp_dir_.NewFilePath("shuffle-spill", ".cfs"),
        config_.file_system != nullptr ? *config_.file_system : FileSystem::Default(), run_id_,
        static_cast<uint32_t>(f));
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
        // Each block is numbered in its bucket: pass 2 reads it back only as that block.
        CF_CHECK(bucket.blocks.size() < UINT32_MAX, "shuffle: a bucket of 2^32 spill blocks");
        bucket.blocks.push_back(
            bucket.file->Append(block, bucket.id, static_cast<uint32_t>(bucket.blocks.size())));
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
  return bucket.raw_bytes + bucket.records * kShuffleIndexEntryBytes;
}

void RecordShuffler::Finish() {
  if (finished_) return;
  finished_ = true;
  const double pass1_end = MonotonicSeconds();
  pass1_end_ = pass1_end;
  cpu_pass1_end_ = ProcessCpuSeconds();
  if (stats_ != nullptr) {
    stats_->Set("pass1_seconds", pass1_end - pass1_start_);
    stats_->SetInteger("record_memory_bytes", layout_.record_memory);
    stats_->SetText("mode", spilled_ ? "external" : "in memory");
    stats_->SetText("spill_compression", !spilled_ ? std::string("nothing spilled")
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
  held_ = 0;
  arena_.reset();
  uint64_t oversized = 0;
  for (const Bucket& b : first_buckets_) {
    if (BucketMemory(b) > layout_.record_memory && b.records > 1) oversized += b.raw_bytes;
  }
  if (oversized > 0 && progress_ != nullptr) {
    progress_->StartStep("shuffle: re-scatter buckets larger than the memory budget", oversized);
  }
  std::vector<Bucket> first = std::move(first_buckets_);
  first_buckets_.clear();
  uint64_t written = 0;
  for (const Bucket& b : first) written += b.records;
  CF_CHECK(written == records_.load(), "shuffle: " + std::to_string(written) +
                                           " records spilled of " +
                                           std::to_string(records_.load()) + " added");
  for (Bucket& b : first) Resolve(std::move(b));
  const double rescatter_seconds = MonotonicSeconds() - pass1_end;
  uint64_t largest_bytes = 0;
  uint64_t largest_records = 0;
  for (const Bucket& b : leaves_) {
    unloaded_bytes_ += b.raw_bytes;
    largest_bytes = std::max(largest_bytes, b.raw_bytes);
    largest_records = std::max(largest_records, b.records);
  }
  if (2 * (largest_bytes + largest_records * kShuffleIndexEntryBytes) <= layout_.record_memory) {
    reserve_leaf_records_ = largest_records;
  }
  // Pass 2 copies blocks into slabs of the pool, which pass 1's chunks gave back. (Reading raw
  // blocks in place from a mapping of the spill file saved a copy but left the peak RSS far above
  // the budget with many buckets: 463 MB for a 64 MB budget, against 88 MB copying.)
  if (stats_ != nullptr) {
    stats_->Add("buckets", leaves_.size());
    stats_->Add("rescatters", rescatters_);
    stats_->Add("spill_blocks", spill_blocks_.load());
    stats_->Add("spill_files", spill_files_);
    stats_->Add("spill_bytes_raw", spill_raw_bytes_.load());
    stats_->Add("spill_bytes_stored", spill_stored_bytes_.load());
    stats_->Set("rescatter_seconds", rescatter_seconds);
  }
}

void RecordShuffler::Resolve(Bucket bucket) {
  if (bucket.records == 0) return;
  if (BucketMemory(bucket) <= layout_.record_memory || bucket.records <= 1 || bucket.width == 0) {
    leaves_.push_back(std::move(bucket));
    return;
  }
  std::vector<Bucket> children;
  Rescatter(bucket, children);
  ++rescatters_;
  for (Bucket& child : children) Resolve(std::move(child));
}

void RecordShuffler::Rescatter(const Bucket& bucket, std::vector<Bucket>& children) {
  children = SplitRange(bucket, RescatterBucketCount(BucketMemory(bucket), layout_.record_memory,
                                                     config_.rescatter_buckets));
  for (Bucket& child : children) child.id = next_bucket_id_++;
  const int shift = children.front().width;
  ScatterArena arena(children.size(),
                     ScatterChunkBytes(layout_.record_memory, layout_.block_bytes, children.size()),
                     *pool_);
  SpillBlockDecoder& decoder = workers_->decoder();
  std::string block;
  uint64_t records = 0;
  for (const SpillBlockHandle& h : bucket.blocks) {
    CheckInterrupt();
    block.resize(h.raw_size);
    bucket.file->Read(h, block.data(), decoder);
    const char* p = block.data();
    const char* const end = p + block.size();
    while (p < end) {
      const char* next = ShuffleRecordEnd(p, end);
      if (next == nullptr) ThrowBadBlock(*bucket.file, h.offset, "malformed record");
      const uint64_t key = GetShuffleKey(p);
      if (bucket.width < 64 && ((key - bucket.lo) >> bucket.width) != 0) {
        ThrowBadBlock(*bucket.file, h.offset, "record key outside its bucket");
      }
      const auto need = static_cast<size_t>(next - p);  // key, length, encoding
      if (arena.used() + need + kShuffleIndexEntryBytes > layout_.record_memory &&
          arena.records() > 0) {
        SpillArena(arena, children);
      }
      const size_t child = shift >= 64 ? 0 : static_cast<size_t>((key - bucket.lo) >> shift);
      std::memcpy(arena.Append(child, need), p, need);
      p += need;
      ++records;
    }
    if (progress_ != nullptr) progress_->AddBytes(h.raw_size);
  }
  // Every block passed its checksum and identity; the count catches a block that lost or gained
  // records since pass 1 in any other way.
  if (records != bucket.records) ThrowRecordCount(*bucket.file, bucket.id, records, bucket.records);
  SpillArena(arena, children);
  ReleaseIfTight(bucket, spill_raw_bytes_.load());
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
      const bool parsed = IndexShuffleRecords(c.data, c.data + c.size, index);
      CF_CHECK(parsed, "shuffle: malformed record in memory");
    }
  } else {
    const SpillFile& file = *bucket.file;
    // Blocks are laid out in slabs (a block never spans two; one larger than a slab gets a
    // buffer of its own), then read and decoded in parallel.
    const std::vector<SpillBlockHandle>& blocks = bucket.blocks;
    std::vector<char*> place(blocks.size());
    char* next = nullptr;
    size_t left = 0;
    for (size_t i = 0; i < blocks.size(); ++i) {
      const size_t size = blocks[i].raw_size;
      if (size > left || next == nullptr) {
        into->slabs.push_back(size > pool_->slab_bytes() ? LargeBuffer(size) : pool_->Take());
        next = into->slabs.back().get();
        left = into->slabs.back().size();
      }
      place[i] = next;
      next += size;
      left -= size;
    }
    tbb::parallel_for(tbb::blocked_range<size_t>(0, blocks.size(), 1), [&](const auto& r) {
      SpillBlockDecoder& decoder = workers_->decoder();
      for (size_t i = r.begin(); i != r.end(); ++i) {
        CheckInterrupt();
        file.Read(blocks[i], place[i], decoder);
      }
    });
    // Records never span blocks: parse each block's raw bytes into the index.
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (!IndexShuffleRecords(place[i], place[i] + blocks[i].raw_size, index)) {
        ThrowBadBlock(file, blocks[i].offset, "malformed record");
      }
    }
    if (index.size() != bucket.records) {
      ThrowRecordCount(file, bucket.id, index.size(), bucket.records);
    }
    unloaded_bytes_ -= bucket.raw_bytes;
  }
  SortShuffleIndex(index.begin(), index.end());
  if (progress_ != nullptr) progress_->AddBytes(bucket.raw_bytes);
}

void RecordShuffler::DoneWithLeaf(LoadedBucket* loaded) {
  if (loaded->leaf == nullptr) return;
  Bucket& leaf = leaves_[static_cast<size_t>(loaded->leaf - leaves_.data())];
  loaded->leaf = nullptr;
  loaded->index.clear();
  for (LargeBuffer& slab : loaded->slabs) pool_->Give(std::move(slab));
  loaded->slabs.clear();
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
      (!spilled_ || BucketMemory(leaves_[next_leaf_ - 1]) + BucketMemory(leaves_[next_leaf_]) <=
                        layout_.record_memory)) {
    prefetching_ = true;
    ++prefetched_buckets_;
    const Bucket* next = &leaves_[next_leaf_++];
    prefetch_group_->run([this, next] { LoadLeaf(*next, prefetched_.get()); });
  }
  return true;
}

void RecordShuffler::ReportPass2() {
  const double pass2_end = MonotonicSeconds();
  stats_->Set("pass2_seconds", pass2_end - pass2_start_);
  // Achieved time next to the I/O and CPU lower bounds (docs/disk.md). Inside a pipeline the
  // input and output files are other stages' business: the I/O bound covers the spill, measured
  // by `corpusflow bench disk` on the temp folder.
  ShuffleRunFigures run;
  run.input_bytes = input_bytes_.load();
  run.output_bytes = input_bytes_.load();  // every record in is a record out
  run.spill_raw_bytes = spilled_ ? spill_raw_bytes_.load() : 0;
  run.spill_stored_bytes = spilled_ ? spill_stored_bytes_.load() : 0;
  run.pass1 = {pass1_end_ - pass1_start_, cpu_pass1_end_ - cpu_pass1_start_, 0};
  run.pass2 = {pass2_end - pass1_end_, ProcessCpuSeconds() - cpu_pass1_end_, 0};
  run.threads = static_cast<int>(tbb::this_task_arena::max_concurrency());
  // A run that reads no file (a generator, stdin) or writes none (stdout) moves those bytes
  // through a stream, outside the I/O bound: "-" says so, where an empty path would be noted as
  // a location not known.
  const std::vector<std::string> inputs =
      config_.input_paths.empty() ? std::vector<std::string>{"-"} : config_.input_paths;
  const std::string output = config_.output_path.empty() ? "-" : config_.output_path;
  RecordShuffleBounds(
      ComputeShuffleBounds(run, LocateShuffleStorage(inputs, temp_dir_.parent(), output)), *stats_);
  stats_->Add("buckets_prefetched", prefetched_buckets_);
  stats_->Add("slab_bytes_mapped", slab_bytes_mapped());
  stats_->Add("spill_bytes_released_early", released_bytes_.load());
}

bool RecordShuffler::Next(Batch* out) {
  CF_CHECK(finished_, "RecordShuffler::Next before Finish");
  if (!pass2_started_) {
    pass2_started_ = true;
    pass2_start_ = MonotonicSeconds();
    if (progress_ != nullptr) {
      uint64_t total = 0;
      for (const Bucket& b : leaves_) total += b.raw_bytes;
      // A step of the phase whose stages the executor named: the stages after the shuffle
      // (tokenize, write-megatron) stay on the line.
      progress_->StartStep(spilled_ ? "shuffle pass 2: buckets" : "shuffle pass 2: in memory",
                           total);
    }
  }
  if (records_.load() == 0) return false;
  codec_.PrepareBatch(out);
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
        if (stats_ != nullptr) ReportPass2();
      }
      return false;
    }
    DecodeShuffleIndex(index, &cursor_, config_.batch_bytes, decoder, *out);
    if (out->DataBytes() >= config_.batch_bytes) return true;
  }
}

}  // namespace corpusflow
