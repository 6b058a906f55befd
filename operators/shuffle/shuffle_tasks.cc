#include "operators/shuffle/shuffle_tasks.h"

#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include "engine/batch.h"
#include "engine/coding.h"
#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/file.h"
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
constexpr uint64_t kMaxOutputTasks = uint64_t{1} << 16;
/// Input bytes per output task at most: its records then stay under the working set that the
/// shuffle holds in memory without spilling (64 MiB, shuffle_layout.cc), unless the stages
/// before the shuffle make them much larger.
constexpr uint64_t kOutputTaskInputBytes = uint64_t{32} << 20;

/// One section of a run: where it is in the file, its records and checksum.
struct Section {
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint64_t records = 0;
  uint64_t checksum = 0;
};

class ShuffleInputTask : public InputTaskWriter {
  struct Local : OpState {
    /// The sections are `spare` buffers where there are (memory already touched), else each gets
    /// its share of the worker's limit at once (and a quarter more), so that sections rarely grow
    /// by copying.
    Local(size_t tasks, uint64_t limit, std::vector<std::string>& spare)
        : sections(tasks), records(tasks, 0) {
      for (std::string& s : sections) {
        if (!spare.empty()) {
          s = std::move(spare.back());
          spare.pop_back();
        }
        s.clear();
        s.reserve(limit / tasks + limit / (4 * tasks));
      }
    }
    std::vector<std::string> sections;
    std::vector<uint64_t> records;
    uint64_t held = 0;
  };

 public:
  ShuffleInputTask(const ShuffleConfig& config, const OpenContext& ctx,
                   const std::filesystem::path& folder, uint64_t output_tasks,
                   std::vector<std::string> spare)
      : spare_(std::move(spare)),
        codec_(ctx.input_schema),
        seed_(config.seed),
        tasks_(output_tasks),
        // Every worker may hold its share of half the budget before it writes a run.
        local_limit_(std::max<uint64_t>(
            config.memory_bytes / 2 / static_cast<uint64_t>(std::max(1, ctx.exec.threads())),
            uint64_t{1} << 20)),
        path_((folder / kShuffleTaskFile).string()),
        file_(File::Open(path_, O_WRONLY | O_CREAT | O_TRUNC, 0644)),
        records_(output_tasks, 0),
        stats_(ctx.stats) {}

  bool ordered() const override { return false; }
  std::unique_ptr<OpState> MakeLocalState() override {
    std::lock_guard lock(mu_);
    return std::make_unique<Local>(static_cast<size_t>(tasks_), local_limit_, spare_);
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
    const int tasks = static_cast<int>(tasks_);
    const uint64_t first = batch.first_record();
    for (size_t i = 0; i < n; ++i) {
      const uint64_t key = keys.Key(first + i);
      const int owner = RecordExchange::Owner(key, tasks);
      // Written in place at the end of its section (reserved at once, so it rarely grows).
      state.held += AppendShuffleRecord(&state.sections[static_cast<size_t>(owner)],
                                        RecordExchange::OwnerKey(key, owner, tasks), encoder, i,
                                        encoder.EncodedSize(i));
      ++state.records[static_cast<size_t>(owner)];
    }
    if (state.held >= local_limit_) WriteRun(state);
  }

  void Combine(OpState& local) override {
    Local& state = static_cast<Local&>(local);
    if (state.held > 0) WriteRun(state);
    // The buffers stay for the next input task of the process.
    for (std::string& s : state.sections) spare_.push_back(std::move(s));
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
    PutFixed64(&index, tasks_);
    PutFixed64(&index, kTaskFileMagic);
    file_.Write(index);
    file_.Sync();
    file_.Close();
    stats_.Add("checkpoint_runs", runs_);
    stats_.Add("checkpoint_bytes", offset_ + index.size());
  }

  std::vector<uint64_t> OutputTaskRecords() const override { return records_; }
  /// The section buffers of a finished writer, emptied, for the next one.
  std::vector<std::string> TakeSpareBuffers() { return std::move(spare_); }

 private:
  /// Write the local state's records as one run, and empty it.
  void WriteRun(Local& state) {
    std::lock_guard lock(mu_);
    for (size_t o = 0; o < state.sections.size(); ++o) {
      std::string& section = state.sections[o];
      sections_.push_back(Section{offset_, section.size(), state.records[o],
                                  XXH3_64bits(section.data(), section.size())});
      if (!section.empty()) file_.Write(section);
      offset_ += section.size();
      records_[o] += state.records[o];
      state.records[o] = 0;
      section.clear();
    }
    ++runs_;
    state.held = 0;
  }

  /// Section buffers not in use: a previous writer's, and those of combined local states.
  std::vector<std::string> spare_;
  const RecordCodec codec_;
  const uint64_t seed_;
  const uint64_t tasks_;
  const uint64_t local_limit_;
  const std::string path_;
  std::mutex mu_;
  File file_;
  uint64_t offset_ = 0;
  uint64_t runs_ = 0;
  std::vector<Section> sections_;
  std::vector<uint64_t> records_;
  OperatorStats& stats_;
};

/// The sections of output task `task` in an input task's file, checked against its index.
std::vector<Section> ReadSections(const File& file, const std::string& path, uint64_t task,
                                  uint64_t tasks) {
  const uint64_t size = file.Size();
  char trailer[kTrailerBytes];
  if (size < kTrailerBytes ||
      file.PRead(size - kTrailerBytes, trailer, kTrailerBytes) != kTrailerBytes) {
    throw CorruptionError(path + ": a shuffle task file shorter than its trailer");
  }
  const uint64_t runs = DecodeFixed64(trailer);
  const uint64_t file_tasks = DecodeFixed64(trailer + 8);
  if (DecodeFixed64(trailer + 16) != kTaskFileMagic || file_tasks != tasks ||
      runs > size / (tasks * kRowWords * 8)) {
    throw CorruptionError(path + ": not a shuffle task file of " + std::to_string(tasks) +
                          " output tasks");
  }
  const uint64_t index_bytes = runs * tasks * kRowWords * 8;
  if (size < kTrailerBytes + index_bytes) {
    throw CorruptionError(path + ": a shuffle task file shorter than its index");
  }
  const uint64_t index_start = size - kTrailerBytes - index_bytes;
  std::vector<Section> sections;
  for (uint64_t r = 0; r < runs; ++r) {
    char row[kRowWords * 8];
    file.PRead(index_start + (r * tasks + task) * sizeof row, row, sizeof row);
    Section s{DecodeFixed64(row), DecodeFixed64(row + 8), DecodeFixed64(row + 16),
              DecodeFixed64(row + 24)};
    if (s.offset > index_start || s.bytes > index_start - s.offset) {
      throw CorruptionError(path + ": a section of run " + std::to_string(r) +
                            " lies outside the file's records");
    }
    sections.push_back(s);
  }
  return sections;
}

class ShuffleOutputTask : public BatchReader {
 public:
  /// The memory a finished reader leaves to the next one.
  struct Spare {
    std::unique_ptr<char[]> buffer;
    uint64_t capacity = 0;
    std::unique_ptr<SlabPool> slabs;
  };

  ShuffleOutputTask(const ShuffleConfig& config, const OpenContext& ctx, uint64_t task,
                    uint64_t output_tasks, const std::vector<std::filesystem::path>& inputs,
                    uint64_t records, uint64_t origin, Spare spare)
      : shuffler_(config, ctx.input_schema, ctx.exec.temp_dir(), &ctx.stats, &ctx.exec.progress()),
        origin_(origin),
        buffer_(std::move(spare.buffer)),
        capacity_(spare.capacity) {
    if (spare.slabs != nullptr) shuffler_.AdoptSlabPool(std::move(spare.slabs));
    struct Input {
      File file;
      std::string path;
      std::vector<Section> sections;
    };
    std::vector<Input> files;
    uint64_t bytes = 0;
    for (const std::filesystem::path& folder : inputs) {
      Input in;
      in.path = (folder / kShuffleTaskFile).string();
      in.file = File::Open(in.path, O_RDONLY);
      in.sections = ReadSections(in.file, in.path, task, output_tasks);
      for (const Section& s : in.sections) bytes += s.bytes;
      files.push_back(std::move(in));
    }
    shuffler_.SetExpectedInputBytes(bytes);
    // One buffer for every section, grown without being filled first.
    uint64_t added = 0;
    for (const Input& in : files) {
      for (const Section& s : in.sections) {
        if (s.bytes == 0) continue;
        if (s.bytes > capacity_) {
          capacity_ = std::max(s.bytes, 2 * capacity_);
          buffer_.reset(new char[capacity_]);
        }
        if (in.file.PRead(s.offset, buffer_.get(), s.bytes) != s.bytes ||
            XXH3_64bits(buffer_.get(), s.bytes) != s.checksum) {
          throw CorruptionError(in.path + ": the section of output task " + std::to_string(task) +
                                " at byte " + std::to_string(s.offset) +
                                " does not match its checksum; give --restart");
        }
        shuffler_.AddKeyed(std::string_view(buffer_.get(), s.bytes));
        shuffler_.AddInputBytes(s.bytes);
        added += s.records;
      }
    }
    shuffler_.Finish();
    if (added != records || shuffler_.records() != records) {
      throw CorruptionError("shuffle: output task " + std::to_string(task) + " found " +
                            std::to_string(shuffler_.records()) +
                            " records in the checkpoint where its input tasks' entries give " +
                            std::to_string(records) + "; give --restart");
    }
  }

  bool Next(Batch* out) override {
    if (!shuffler_.Next(out)) return false;
    out->set_origin(origin_);
    return true;
  }

  /// After the last Next: the memory for the next output task.
  Spare TakeSpare() { return Spare{std::move(buffer_), capacity_, shuffler_.ReleaseSlabPool()}; }

 private:
  RecordShuffler shuffler_;
  const uint64_t origin_;
  std::unique_ptr<char[]> buffer_;
  uint64_t capacity_ = 0;
};

}  // namespace

uint64_t ShuffleOutputTasks(uint64_t memory_bytes, uint64_t input_bytes) {
  const uint64_t per_task = std::clamp<uint64_t>(memory_bytes / 2, 1, kOutputTaskInputBytes);
  const uint64_t tasks = (input_bytes + per_task - 1) / per_task;
  return std::clamp<uint64_t>(tasks, 1, kMaxOutputTasks);
}

std::unique_ptr<InputTaskWriter> OpenShuffleInputTask(const ShuffleConfig& config,
                                                      const OpenContext& ctx,
                                                      const std::filesystem::path& folder,
                                                      uint64_t output_tasks,
                                                      std::unique_ptr<InputTaskWriter> previous) {
  std::vector<std::string> spare;
  if (auto* writer = dynamic_cast<ShuffleInputTask*>(previous.get())) {
    spare = writer->TakeSpareBuffers();
  }
  return std::make_unique<ShuffleInputTask>(config, ctx, folder, output_tasks, std::move(spare));
}

std::unique_ptr<BatchReader> OpenShuffleOutputTask(const ShuffleConfig& config,
                                                   const OpenContext& ctx, uint64_t task,
                                                   uint64_t output_tasks,
                                                   const std::vector<std::filesystem::path>& inputs,
                                                   uint64_t records, uint64_t origin,
                                                   std::unique_ptr<BatchReader> previous) {
  ShuffleOutputTask::Spare spare;
  if (auto* reader = dynamic_cast<ShuffleOutputTask*>(previous.get())) {
    spare = reader->TakeSpare();
  }
  previous.reset();
  return std::make_unique<ShuffleOutputTask>(config, ctx, task, output_tasks, inputs, records,
                                             origin, std::move(spare));
}

}  // namespace corpusflow
