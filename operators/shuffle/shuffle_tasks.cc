#include "operators/shuffle/shuffle_tasks.h"

#include <fcntl.h>
#include <tbb/task_group.h>
#include <xxhash.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/batch.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/interrupt.h"
#include "engine/io/file.h"
#include "engine/progress.h"
#include "engine/record_codec.h"
#include "engine/stats.h"
#include "engine/units.h"
#include "operators/shuffle/record_exchange.h"
#include "operators/shuffle/shuffle_arena.h"
#include "operators/shuffle/shuffle_keys.h"
#include "operators/shuffle/shuffle_record.h"

namespace corpusflow {
namespace {

constexpr uint64_t kTaskFileMagic = 0x6b736174666663ull;  // "cfftask"
constexpr size_t kRowWords = 4;
constexpr size_t kTrailerBytes = 3 * 8;
constexpr uint64_t kMaxKeyRanges = uint64_t{1} << 16;
/// The memory of an output task's records and index at most.
constexpr uint64_t kOutputTaskBytes = uint64_t{64} << 20;
/// Key ranges per output task's worth of input: pass 1's records are grouped into tasks by what
/// it wrote, so ranges several times smaller than a task keep tasks near their size however
/// much the stages before the shuffle make records grow.
constexpr uint64_t kRangesPerTask = 8;

/// One section of a run: where it is in the file, its records and checksum.
struct Section {
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
  uint64_t checksum = 0;
};

/// The records a pass-1 worker holds before it writes them as a run: enough for sections of
/// 64 KiB on average (reads of them stay efficient), 4 MiB at least (memory used again and again
/// stays in the caches, where a larger share of the budget would be fresh pages first), at most
/// the worker's share of half the budget.
uint64_t LocalLimit(uint64_t memory_bytes, int threads, uint64_t ranges) {
  const uint64_t share =
      std::max<uint64_t>(memory_bytes / 2 / static_cast<uint64_t>(std::max(1, threads)), 1 << 20);
  return std::min(share, std::max<uint64_t>(ranges * (64 << 10), 4 << 20));
}

/// The memory of an output task at most, for a shuffle budget of `memory_bytes`: a sixteenth of
/// it. Small tasks stay in the caches and reuse their memory, where a task of a quarter of the
/// budget was fresh pages first (bench/resume.sh: its shuffle took +30% against +8% with a
/// sixteenth, and +20% with a thirty-second, where the tasks' fixed costs take over).
uint64_t OutputTaskBytes(uint64_t memory_bytes) {
  return std::clamp<uint64_t>(memory_bytes / 16, 1, kOutputTaskBytes);
}

/// The records of one key range that a pass-1 worker collected: the first `used` bytes of
/// `bytes`, which grows ahead of them (its zeroes written once, when it grows, not per record).
struct SectionBuffer {
  std::string bytes;
  size_t used = 0;

  /// Room for `n` more bytes after the used ones.
  char* Room(size_t n) {
    if (used + n > bytes.size()) bytes.resize(std::max(used + n, 2 * bytes.size()));
    return bytes.data() + used;
  }
};

class ShuffleInputTask : public InputTaskWriter {
  struct Local : OpState {
    /// The sections are `spare` buffers where there are (memory already touched), else each gets
    /// its share of the worker's limit at once (and a quarter more), so that sections rarely grow
    /// by copying.
    Local(size_t ranges, uint64_t limit, std::vector<SectionBuffer>& spare)
        : sections(ranges), records(ranges, 0) {
      for (SectionBuffer& s : sections) {
        if (!spare.empty()) {
          s = std::move(spare.back());
          spare.pop_back();
        }
        s.used = 0;
        s.bytes.resize(std::max<size_t>(s.bytes.size(), limit / ranges + limit / (4 * ranges)));
      }
    }
    std::vector<SectionBuffer> sections;
    std::vector<uint64_t> records;
    uint64_t held = 0;
  };

 public:
  ShuffleInputTask(const ShuffleConfig& config, const OpenContext& ctx,
                   const std::filesystem::path& folder, uint64_t ranges,
                   std::vector<SectionBuffer> spare)
      : spare_(std::move(spare)),
        codec_(ctx.input_schema),
        seed_(config.seed),
        ranges_(ranges),
        local_limit_(LocalLimit(config.memory_bytes, ctx.exec.threads(), ranges)),
        path_((folder / kShuffleTaskFile).string()),
        file_(File::Open(path_, O_WRONLY | O_CREAT | O_TRUNC, 0644)),
        records_(ranges, 0),
        bytes_(ranges, 0),
        stats_(ctx.stats) {}

  bool ordered() const override { return false; }
  std::unique_ptr<OpState> MakeLocalState() override {
    std::lock_guard lock(mu_);
    return std::make_unique<Local>(static_cast<size_t>(ranges_), local_limit_, spare_);
  }

  void Write(Batch& batch, OpState* local) override {
    Local& state = *static_cast<Local*>(local);
    const size_t n = batch.num_records();
    if (n == 0) return;
    if (!codec_.Matches(batch)) {
      throw Error("shuffle: a batch has the fields " + batch.schema().ToString() +
                  " but the plan gave it " + codec_.layout().ToString());
    }
    const ShuffleKeys keys(seed_);
    const RecordEncoder encoder(batch);
    const int ranges = static_cast<int>(ranges_);
    const uint64_t first = batch.first_record();
    for (size_t i = 0; i < n; ++i) {
      const uint64_t key = keys.Key(first + i);
      const int owner = RecordExchange::Owner(key, ranges);
      // Written in place at the end of its section (sized at once, so it rarely grows).
      SectionBuffer& section = state.sections[static_cast<size_t>(owner)];
      const size_t size = encoder.EncodedSize(i);
      const size_t whole = ShuffleRecordBytes(size);
      PutShuffleRecord(section.Room(whole), RecordExchange::OwnerKey(key, owner, ranges), encoder,
                       i, size);
      section.used += whole;
      state.held += whole;
      ++state.records[static_cast<size_t>(owner)];
    }
    if (state.held >= local_limit_) WriteRun(state);
  }

  void Combine(OpState& local) override {
    Local& state = static_cast<Local&>(local);
    if (state.held > 0) WriteRun(state);
    // The buffers stay for the next input task of the process.
    for (SectionBuffer& s : state.sections) spare_.push_back(std::move(s));
  }

  void Finish() override {
    std::string index;
    for (const Section& s : sections_) {
      PutFixed64(&index, s.offset);
      PutFixed64(&index, s.bytes);
      PutFixed64(&index, s.records);
      PutFixed64(&index, s.checksum);
    }
    PutFixed64(&index, runs_);
    PutFixed64(&index, ranges_);
    PutFixed64(&index, kTaskFileMagic);
    file_.Write(index);
    file_.Close();
    stats_.Add("checkpoint_runs", runs_);
    stats_.Add("checkpoint_bytes", offset_ + index.size());
  }

  std::vector<uint64_t> RangeRecords() const override { return records_; }
  std::vector<uint64_t> RangeBytes() const override { return bytes_; }
  /// The section buffers of a finished writer, emptied, for the next one.
  std::vector<SectionBuffer> TakeSpareBuffers() { return std::move(spare_); }

 private:
  /// Write the local state's records as one run, and empty it.
  void WriteRun(Local& state) {
    std::lock_guard lock(mu_);
    for (size_t o = 0; o < state.sections.size(); ++o) {
      SectionBuffer& section = state.sections[o];
      const std::string_view held(section.bytes.data(), section.used);
      sections_.push_back(
          Section{offset_, held.size(), state.records[o], XXH3_64bits(held.data(), held.size())});
      if (!held.empty()) file_.Write(held);
      offset_ += held.size();
      records_[o] += state.records[o];
      bytes_[o] += held.size();
      state.records[o] = 0;
      section.used = 0;
    }
    ++runs_;
    state.held = 0;
  }

  /// Section buffers not in use: a previous writer's, and those of combined local states.
  std::vector<SectionBuffer> spare_;
  const RecordCodec codec_;
  const uint64_t seed_;
  const uint64_t ranges_;
  const uint64_t local_limit_;
  const std::string path_;
  std::mutex mu_;
  File file_;
  uint64_t offset_ = 0;
  uint64_t runs_ = 0;
  std::vector<Section> sections_;
  std::vector<uint64_t> records_;
  std::vector<uint64_t> bytes_;
  OperatorStats& stats_;
};

/// The sections of the key ranges [first, end) in an input task's file, per run, checked
/// against its index: sections[run][range - first].
std::vector<std::vector<Section>> ReadSections(const File& file, const std::string& path,
                                               uint64_t first, uint64_t end, uint64_t ranges) {
  const uint64_t size = file.Size();
  char trailer[kTrailerBytes];
  if (size < kTrailerBytes ||
      file.PRead(size - kTrailerBytes, trailer, kTrailerBytes) != kTrailerBytes) {
    throw CorruptionError(path + ": a shuffle task file shorter than its trailer");
  }
  const uint64_t runs = DecodeFixed64(trailer);
  const uint64_t file_ranges = DecodeFixed64(trailer + 8);
  if (DecodeFixed64(trailer + 16) != kTaskFileMagic || file_ranges != ranges ||
      runs > size / (ranges * kRowWords * 8)) {
    throw CorruptionError(path + ": not a shuffle task file of " + std::to_string(ranges) +
                          " key ranges");
  }
  const uint64_t index_bytes = runs * ranges * kRowWords * 8;
  if (size < kTrailerBytes + index_bytes) {
    throw CorruptionError(path + ": a shuffle task file shorter than its index");
  }
  const uint64_t index_start = size - kTrailerBytes - index_bytes;
  constexpr size_t kRowBytes = kRowWords * 8;
  std::vector<std::vector<Section>> sections(runs);
  std::string rows((end - first) * kRowBytes, '\0');
  for (uint64_t r = 0; r < runs; ++r) {
    file.PRead(index_start + (r * ranges + first) * kRowBytes, rows.data(), rows.size());
    for (uint64_t k = 0; k < end - first; ++k) {
      const char* row = rows.data() + k * kRowBytes;
      Section s{DecodeFixed64(row), DecodeFixed64(row + 8), DecodeFixed64(row + 16),
                DecodeFixed64(row + 24)};
      if (s.offset > index_start || s.bytes > index_start - s.offset) {
        throw CorruptionError(path + ": a section of run " + std::to_string(r) +
                              " lies outside the file's records");
      }
      sections[r].push_back(s);
    }
  }
  return sections;
}

/// Read section `s` of key range `range` from `file` into `into` and check its checksum. Throws
/// CorruptionError naming the file.
void ReadSection(const File& file, const std::string& path, uint64_t range, const Section& s,
                 char* into) {
  if (file.PRead(s.offset, into, s.bytes) != s.bytes || XXH3_64bits(into, s.bytes) != s.checksum) {
    throw CorruptionError(path + ": the section of key range " + std::to_string(range) +
                          " at byte " + std::to_string(s.offset) +
                          " does not match its checksum; give --restart");
  }
}

/// The records of one output task (a span of key ranges), loaded whole: every section of its
/// ranges from every input task's file, read into one buffer (checked against its checksum),
/// indexed, and sorted by key within each range (the ranges are in key order). The buffer and
/// the index keep their memory for the next task loaded into them.
class TaskRecords {
 public:
  /// Find the sections of `span`'s key ranges (of `ranges`) in `inputs`, kept for Load or
  /// ReadRange: bytes() and records() say how large the task is.
  void Locate(const std::vector<std::filesystem::path>& inputs, const OutputTaskSpan& span,
              uint64_t ranges) {
    span_ = span;
    files_.clear();
    bytes_ = 0;
    records_ = 0;
    for (const std::filesystem::path& folder : inputs) {
      Input in;
      in.path = (folder / kShuffleTaskFile).string();
      in.file = File::Open(in.path, O_RDONLY);
      in.sections = ReadSections(in.file, in.path, span.first_range, span.end_range, ranges);
      for (const std::vector<Section>& run : in.sections) {
        for (const Section& s : run) {
          bytes_ += s.bytes;
          records_ += s.records;
        }
      }
      files_.push_back(std::move(in));
    }
  }

  /// Read, check, index and sort the located sections. Throws CorruptionError naming the file.
  void Load(Progress* progress) {
    if (bytes_ > capacity_) {
      // With room for the tasks after it, a little larger or smaller: allocated (and its pages
      // faulted in) once.
      capacity_ = std::max(bytes_ + bytes_ / 8, capacity_ + capacity_ / 4);
      buffer_.reset();
      buffer_.reset(new char[capacity_]);
    }
    index_.clear();
    index_.reserve(records_);
    char* at = buffer_.get();
    for (uint64_t k = 0; k < span_.end_range - span_.first_range; ++k) {
      const size_t first = index_.size();
      ReadRange(
          k, [&](uint64_t) { return at; },
          [&](const std::string& path, const Section& s) {
            const size_t before = index_.size();
            if (!IndexShuffleRecords(at, at + s.bytes, index_) ||
                index_.size() - before != s.records) {
              throw CorruptionError(path + ": the section of key range " +
                                    std::to_string(span_.first_range + k) + " at byte " +
                                    std::to_string(s.offset) + " holds malformed records");
            }
            at += s.bytes;
            if (progress != nullptr) progress->AddBytes(s.bytes);
          });
      SortShuffleIndex(index_.begin() + static_cast<std::ptrdiff_t>(first), index_.end());
    }
    files_.clear();
  }

  /// For each located section of the span's `k`-th range, in input and run order: read it where
  /// `place(bytes)` says, check its checksum, then `done(path, section)`.
  template <typename Place, typename Done>
  void ReadRange(uint64_t k, const Place& place, const Done& done) const {
    for (const Input& in : files_) {
      for (const std::vector<Section>& run : in.sections) {
        const Section& s = run[k];
        if (s.bytes == 0) continue;
        CheckInterrupt();
        ReadSection(in.file, in.path, span_.first_range + k, s, place(s.bytes));
        done(in.path, s);
      }
    }
  }

  /// The bytes of the located sections of the span's `k`-th range.
  uint64_t RangeBytes(uint64_t k) const {
    uint64_t bytes = 0;
    for (const Input& in : files_) {
      for (const std::vector<Section>& run : in.sections) bytes += run[k].bytes;
    }
    return bytes;
  }

  const OutputTaskSpan& span() const { return span_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t records() const { return records_; }
  /// The memory that loading the located task takes: its bytes and its index.
  uint64_t memory() const { return bytes_ + records_ * kShuffleIndexEntryBytes; }
  const std::vector<ShuffleIndexEntry>& index() const { return index_; }

 private:
  struct Input {
    File file;
    std::string path;
    /// sections[run][range - first range]
    std::vector<std::vector<Section>> sections;
  };

  OutputTaskSpan span_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
  std::vector<Input> files_;
  std::unique_ptr<char[]> buffer_;
  uint64_t capacity_ = 0;
  std::vector<ShuffleIndexEntry> index_;
};

/// The memory one output task's reader leaves to the next: two task loads (one possibly the next
/// task's, loading in the background), and a RecordShuffler's slabs.
struct OutputTaskMemory {
  ~OutputTaskMemory() { WaitForPrefetch(); }

  /// Wait for a background load; its error is dropped (the task loads again where it is run).
  void WaitForPrefetch() {
    if (!prefetching) return;
    prefetching = false;
    try {
      group.wait();
    } catch (...) {
    }
  }

  TaskRecords current;
  TaskRecords next;
  tbb::task_group group;
  bool prefetching = false;
  std::unique_ptr<SlabPool> slabs;
};

class ShuffleOutputTask : public BatchReader {
 public:
  ShuffleOutputTask(const ShuffleConfig& config, const OpenContext& ctx, const OutputTaskSpan& task,
                    uint64_t ranges, const std::vector<std::filesystem::path>& inputs,
                    const std::optional<OutputTaskSpan>& next,
                    std::unique_ptr<OutputTaskMemory> memory)
      : config_(config),
        ctx_(ctx),
        task_(task),
        memory_(memory != nullptr ? std::move(memory) : std::make_unique<OutputTaskMemory>()) {
    OutputTaskMemory& m = *memory_;
    Progress* progress = &ctx.exec.progress();
    // The task the previous reader loaded in the background, or a load here.
    bool loaded = false;
    if (m.prefetching && m.next.span().task == task.task) {
      m.prefetching = false;
      m.group.wait();  // rethrows the load's error
      std::swap(m.current, m.next);
      loaded = true;
      ctx.stats.Add("output_tasks_prefetched", 1);
    }
    m.WaitForPrefetch();
    if (!loaded) {
      m.current.Locate(inputs, task, ranges);
      if (m.current.memory() > config_.memory_bytes) {
        // Too large for the budget (a smaller --memory than the run that grouped the ranges, or
        // one range whose records the stages before the shuffle made far larger than their
        // input): each range through a RecordShuffler, which spills.
        out_of_core_ = true;
        ctx.stats.Add("output_tasks_out_of_core", 1);
        return;
      }
      m.current.Load(progress);
    }
    CheckRecords(m.current.index().size());
    // The next task of this process loads while this one is emitted, when both fit.
    if (next) {
      m.next.Locate(inputs, *next, ranges);
      if (m.current.memory() + m.next.memory() <= config_.memory_bytes) {
        m.prefetching = true;
        m.group.run([&m, progress] { m.next.Load(progress); });
      }
    }
  }

  ~ShuffleOutputTask() override {
    if (memory_ != nullptr) memory_->WaitForPrefetch();
  }

  bool Next(Batch* out) override {
    if (out_of_core_) return NextOutOfCore(out);
    const std::vector<ShuffleIndexEntry>& index = memory_->current.index();
    if (cursor_ >= index.size()) return false;
    codec_.PrepareBatch(out);
    RecordDecoder decoder(out);
    DecodeShuffleIndex(index, &cursor_, config_.batch_bytes, decoder, *out);
    out->set_origin(task_.origin);
    return true;
  }

  /// After the last Next: the memory for the next output task (with the next task's load, when
  /// one runs in the background).
  std::unique_ptr<OutputTaskMemory> TakeMemory() {
    if (large_ != nullptr) memory_->slabs = large_->ReleaseSlabPool();
    return std::move(memory_);
  }

 private:
  void CheckRecords(uint64_t found) const {
    if (found != task_.records) {
      throw CorruptionError("shuffle: output task " + std::to_string(task_.task) + " found " +
                            std::to_string(found) +
                            " records in the checkpoint where its input tasks' entries give " +
                            std::to_string(task_.records) + "; give --restart");
    }
  }

  /// Out of core: the task's ranges one after the other, each shuffled by a RecordShuffler of
  /// the budget (which spills what does not fit to --tmp-dir) when the one before is emitted.
  bool NextOutOfCore(Batch* out) {
    const TaskRecords& located = memory_->current;
    for (;;) {
      if (large_ != nullptr && large_->Next(out)) {
        out->set_origin(task_.origin);
        return true;
      }
      if (next_range_ == task_.end_range - task_.first_range) {
        CheckRecords(emitted_);
        return false;
      }
      std::unique_ptr<SlabPool> slabs =
          large_ != nullptr ? large_->ReleaseSlabPool() : std::move(memory_->slabs);
      large_ = std::make_unique<RecordShuffler>(config_, ctx_.input_schema, ctx_.exec.temp_dir(),
                                                &ctx_.stats, &ctx_.exec.progress());
      if (slabs != nullptr) large_->AdoptSlabPool(std::move(slabs));
      large_->SetExpectedInputBytes(located.RangeBytes(next_range_));
      std::string section;
      located.ReadRange(
          next_range_,
          [&](uint64_t n) {
            section.resize(n);
            return section.data();
          },
          [&](const std::string&, const Section&) {
            large_->AddKeyed(section);
            large_->AddInputBytes(section.size());
          });
      large_->Finish();
      emitted_ += large_->records();
      ++next_range_;
    }
  }

  const ShuffleConfig config_;
  const OpenContext& ctx_;
  const OutputTaskSpan task_;
  const RecordCodec codec_{ctx_.input_schema};
  std::unique_ptr<OutputTaskMemory> memory_;
  size_t cursor_ = 0;
  bool out_of_core_ = false;
  std::unique_ptr<RecordShuffler> large_;
  uint64_t next_range_ = 0;
  uint64_t emitted_ = 0;
};

}  // namespace

uint64_t ShuffleKeyRanges(uint64_t memory_bytes, uint64_t input_bytes) {
  const uint64_t per_range = std::max<uint64_t>(1, OutputTaskBytes(memory_bytes) / kRangesPerTask);
  return std::clamp<uint64_t>((input_bytes + per_range - 1) / per_range, 1, kMaxKeyRanges);
}

std::vector<uint64_t> GroupShuffleRanges(uint64_t memory_bytes,
                                         const std::vector<uint64_t>& records,
                                         const std::vector<uint64_t>& bytes) {
  const uint64_t limit = OutputTaskBytes(memory_bytes);
  std::vector<uint64_t> starts;
  uint64_t held = 0;
  for (size_t r = 0; r < records.size(); ++r) {
    const uint64_t memory = bytes[r] + records[r] * kShuffleIndexEntryBytes;
    if (starts.empty() || (held > 0 && held + memory > limit)) {
      starts.push_back(r);
      held = 0;
    }
    held += memory;
  }
  return starts;
}

std::unique_ptr<InputTaskWriter> OpenShuffleInputTask(const ShuffleConfig& config,
                                                      const OpenContext& ctx,
                                                      const std::filesystem::path& folder,
                                                      uint64_t ranges,
                                                      std::unique_ptr<InputTaskWriter> previous) {
  std::vector<SectionBuffer> spare;
  if (auto* writer = dynamic_cast<ShuffleInputTask*>(previous.get())) {
    spare = writer->TakeSpareBuffers();
  }
  return std::make_unique<ShuffleInputTask>(config, ctx, folder, ranges, std::move(spare));
}

void CheckShuffleInputTask(const std::filesystem::path& folder, uint64_t ranges) {
  const std::string path = (folder / kShuffleTaskFile).string();
  const File file = File::Open(path, O_RDONLY);
  std::string buffer;
  for (const std::vector<Section>& run : ReadSections(file, path, 0, ranges, ranges)) {
    for (uint64_t r = 0; r < ranges; ++r) {
      buffer.resize(run[r].bytes);
      ReadSection(file, path, r, run[r], buffer.data());
    }
  }
}

std::unique_ptr<BatchReader> OpenShuffleOutputTask(const ShuffleConfig& config,
                                                   const OpenContext& ctx,
                                                   const OutputTaskSpan& task, uint64_t ranges,
                                                   const std::vector<std::filesystem::path>& inputs,
                                                   const std::optional<OutputTaskSpan>& next,
                                                   std::unique_ptr<BatchReader> previous) {
  std::unique_ptr<OutputTaskMemory> memory;
  if (auto* reader = dynamic_cast<ShuffleOutputTask*>(previous.get())) {
    memory = reader->TakeMemory();
  }
  previous.reset();
  return std::make_unique<ShuffleOutputTask>(config, ctx, task, ranges, inputs, next,
                                             std::move(memory));
}

}  // namespace corpusflow
