#include "engine/external_sort.h"

#include <algorithm>
#include <utility>

#include "engine/coding.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/temp_dir.h"

namespace corpusflow {

/// A spilled run read back block by block; each block's disk space is given back once read.
class ExternalSorter::RunStream : public SortedEntryStream {
 public:
  RunStream(SpillFile& file, std::vector<SpillBlockHandle> blocks)
      : file_(file), blocks_(std::move(blocks)) {}

  bool Next() override {
    while (rest_.empty()) {
      if (next_block_ == blocks_.size()) return false;
      CheckInterrupt();
      const SpillBlockHandle& block = blocks_[next_block_++];
      buffer_.resize(block.raw_size);
      file_.Read(block, buffer_.data(), decoder_);
      file_.Release(block);
      rest_ = buffer_;
    }
    if (!GetLengthPrefixed(&rest_, &key_) || !GetLengthPrefixed(&rest_, &value_)) {
      throw CorruptionError("spill file " + file_.path().string() + ": block at offset " +
                            std::to_string(blocks_[next_block_ - 1].offset) +
                            ": malformed sorted-run entry");
    }
    return true;
  }

 private:
  SpillFile& file_;
  std::vector<SpillBlockHandle> blocks_;
  size_t next_block_ = 0;
  SpillBlockDecoder decoder_;
  std::string buffer_;
  std::string_view rest_;
};

/// The sorted Add buffer, served from memory.
class ExternalSorter::MemoryStream : public SortedEntryStream {
 public:
  MemoryStream(const std::string& arena, const std::vector<BufferedEntry>& entries)
      : arena_(arena), entries_(entries) {}

  bool Next() override {
    if (next_ == entries_.size()) return false;
    const BufferedEntry& e = entries_[next_++];
    key_ = std::string_view(arena_).substr(e.offset, e.key_size);
    value_ = std::string_view(arena_).substr(e.offset + e.key_size, e.value_size);
    return true;
  }

 private:
  const std::string& arena_;
  const std::vector<BufferedEntry>& entries_;
  size_t next_ = 0;
};

/// A k-way merge: a binary heap of the streams by (key, stream index), so equal keys come out
/// in stream order.
class ExternalSorter::MergingStream : public SortedEntryStream {
 public:
  explicit MergingStream(std::vector<std::unique_ptr<SortedEntryStream>> streams)
      : streams_(std::move(streams)) {}

  bool Next() override {
    if (!started_) {
      started_ = true;
      for (size_t i = 0; i < streams_.size(); ++i) {
        if (streams_[i]->Next()) heap_.push_back(i);
      }
      std::make_heap(heap_.begin(), heap_.end(), After{this});
    } else if (!heap_.empty()) {
      // Advance the stream that gave the last entry.
      std::pop_heap(heap_.begin(), heap_.end(), After{this});
      if (streams_[heap_.back()]->Next()) {
        std::push_heap(heap_.begin(), heap_.end(), After{this});
      } else {
        heap_.pop_back();
      }
    }
    if (heap_.empty()) return false;
    const SortedEntryStream& top = *streams_[heap_.front()];
    key_ = top.key();
    value_ = top.value();
    return true;
  }

 private:
  /// The heap's order: "a after b", so the front is the smallest (key, index).
  struct After {
    const MergingStream* self;
    bool operator()(size_t a, size_t b) const {
      const int c = self->streams_[a]->key().compare(self->streams_[b]->key());
      return c != 0 ? c > 0 : a > b;
    }
  };

  std::vector<std::unique_ptr<SortedEntryStream>> streams_;
  std::vector<size_t> heap_;
  bool started_ = false;
};

ExternalSorter::RunWriter::RunWriter(ExternalSorter* sorter)
    : sorter_(sorter),
      stream_(sorter->next_stream_.fetch_add(1)),
      encoder_(std::make_unique<SpillBlockEncoder>(sorter->options_.spill)) {}

ExternalSorter::RunWriter::RunWriter(RunWriter&&) noexcept = default;
ExternalSorter::RunWriter::~RunWriter() = default;

void ExternalSorter::RunWriter::Add(std::string_view key, std::string_view value) {
  const size_t size =
      VarintLength(key.size()) + key.size() + VarintLength(value.size()) + value.size();
  if (!raw_.empty() && raw_.size() + size > sorter_->options_.block_bytes) Flush();
  PutLengthPrefixed(&raw_, key);
  PutLengthPrefixed(&raw_, value);
}

void ExternalSorter::RunWriter::Flush() {
  if (raw_.empty()) return;
  if (blocks_.size() == UINT32_MAX) {
    throw InvalidArgument("external sort: a run of 2^32 blocks (raise the block size)");
  }
  blocks_.push_back(sorter_->File().Append(encoder_->Encode(raw_), stream_,
                                           static_cast<uint32_t>(blocks_.size())));
  raw_.clear();
}

void ExternalSorter::RunWriter::Finish() {
  Flush();
  sorter_->AddRun(Run{std::move(blocks_)});
  blocks_.clear();
}

ExternalSorter::ExternalSorter(TempDir& temp_dir, std::string name, ExternalSortOptions options)
    : temp_dir_(temp_dir), name_(std::move(name)), options_(options) {
  if (options_.max_fan_in < 2) throw InvalidArgument("external sort: max_fan_in must be >= 2");
  if (options_.block_bytes == 0) throw InvalidArgument("external sort: block_bytes must be > 0");
}

ExternalSorter::~ExternalSorter() = default;

SpillFile& ExternalSorter::File() {
  std::lock_guard lock(mu_);
  if (!file_) {
    file_ = std::make_unique<SpillFile>(
        temp_dir_.NewFilePath(name_, ".spill"),
        options_.file_system != nullptr ? *options_.file_system : FileSystem::Default());
  }
  return *file_;
}

void ExternalSorter::AddRun(Run run) {
  std::lock_guard lock(mu_);
  runs_.push_back(std::move(run));
  ++spilled_runs_;
}

uint64_t ExternalSorter::spilled_runs() const {
  std::lock_guard lock(mu_);
  return spilled_runs_;
}

ExternalSorter::RunWriter ExternalSorter::NewRun() { return RunWriter(this); }

void ExternalSorter::Add(std::string_view key, std::string_view value) {
  if (key.size() > UINT32_MAX || value.size() > UINT32_MAX) {
    throw InvalidArgument("external sort: an entry larger than 4 GiB");
  }
  buffer_.push_back(BufferedEntry{arena_.size(), static_cast<uint32_t>(key.size()),
                                  static_cast<uint32_t>(value.size())});
  arena_.append(key);
  arena_.append(value);
  if (arena_.size() + buffer_.size() * sizeof(BufferedEntry) >= options_.memory_bytes) {
    SpillBuffer();
  }
}

void ExternalSorter::SortBuffer() {
  const std::string_view arena = arena_;
  std::stable_sort(buffer_.begin(), buffer_.end(),
                   [arena](const BufferedEntry& a, const BufferedEntry& b) {
                     return arena.substr(a.offset, a.key_size) < arena.substr(b.offset, b.key_size);
                   });
}

void ExternalSorter::SpillBuffer() {
  if (buffer_.empty()) return;
  SortBuffer();
  RunWriter writer = NewRun();
  MemoryStream entries(arena_, buffer_);
  while (entries.Next()) writer.Add(entries.key(), entries.value());
  writer.Finish();
  buffer_.clear();
  arena_.clear();
}

ExternalSorter::Run ExternalSorter::MergeRuns(std::vector<Run>& runs, size_t begin, size_t end) {
  std::vector<std::unique_ptr<SortedEntryStream>> streams;
  for (size_t i = begin; i < end; ++i) {
    streams.push_back(std::make_unique<RunStream>(File(), std::move(runs[i].blocks)));
  }
  MergingStream merged(std::move(streams));
  RunWriter writer(this);
  while (merged.Next()) writer.Add(merged.key(), merged.value());
  writer.Flush();
  return Run{std::move(writer.blocks_)};
}

std::unique_ptr<SortedEntryStream> ExternalSorter::Finish() {
  SortBuffer();
  std::vector<Run> runs;
  {
    std::lock_guard lock(mu_);
    runs = std::move(runs_);
    runs_.clear();
  }
  if (runs.empty()) return std::make_unique<MemoryStream>(arena_, buffer_);

  // Merge passes over consecutive runs (which keeps equal keys in run order) until one final
  // merge of at most max_fan_in runs remains; each pass merges just enough groups.
  const size_t fan_in = options_.max_fan_in;
  while (runs.size() > fan_in) {
    std::vector<Run> next;
    size_t i = 0;
    while (i < runs.size()) {
      const size_t left = next.size() + (runs.size() - i);
      if (left <= fan_in) break;
      const size_t group = std::min({fan_in, runs.size() - i, left - fan_in + 1});
      next.push_back(MergeRuns(runs, i, i + group));
      i += group;
    }
    for (; i < runs.size(); ++i) next.push_back(std::move(runs[i]));
    runs = std::move(next);
  }
  std::vector<std::unique_ptr<SortedEntryStream>> streams;
  for (Run& run : runs)
    streams.push_back(std::make_unique<RunStream>(File(), std::move(run.blocks)));
  if (!buffer_.empty()) streams.push_back(std::make_unique<MemoryStream>(arena_, buffer_));
  return std::make_unique<MergingStream>(std::move(streams));
}

}  // namespace corpusflow
