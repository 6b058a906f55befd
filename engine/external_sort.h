// An external sort of (key, value) entries: byte strings ordered by key (bytewise, as unsigned
// chars, std::string_view's order), more of them than memory holds. Entries are buffered up to a
// memory budget; a full buffer is sorted and written as one sorted run to a spill file in the
// run's temp folder; at the end the runs are merged k ways (in passes of at most max_fan_in runs
// when there are more) into one stream in key order. Callers that aggregate in memory first (a
// hash table of counts) write their sorted aggregates as runs directly (RunWriter).
//
// Order: keys ascending; entries with equal keys come out in the order of their runs (runs in
// the order they were finished, the entries still buffered at Finish last) and, inside a run, in
// the order they were added. So a single thread that only calls Add gets a stable sort.
//
// Memory: the Add buffer holds at most about memory_bytes (the entries' bytes plus 16 bytes
// each); merging holds one block per merged run (block_bytes raw plus its compressed frame), at
// most max_fan_in of them at once. Nothing else grows with the input.
//
// Run format (blocks of the engine's spill files, docs/spill_format.md): entries back to back,
// each varint(key length) key varint(value length) value; an entry never spans two blocks.
//
// Thread safety: Add and Finish belong to one thread at a time. RunWriters may be created and
// written from several threads at once (each RunWriter by one thread), also while another thread
// calls Add; spilled_runs() may be read from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/file_system.h"
#include "engine/io/spill_file.h"

namespace corpusflow {

class TempDir;

/// Entries in key order, one at a time.
class SortedEntryStream {
 public:
  virtual ~SortedEntryStream() = default;
  /// Move to the next entry; false after the last one. Invalidates the previous key and value.
  virtual bool Next() = 0;
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 protected:
  std::string_view key_;
  std::string_view value_;
};

struct ExternalSortOptions {
  /// Bytes of buffered entries that make a run.
  uint64_t memory_bytes = uint64_t{64} << 20;
  /// Most runs merged at once (each holds one block in memory while it is merged). At least 2.
  size_t max_fan_in = 64;
  /// Raw bytes of a run's blocks (a larger entry gets a block of its own).
  size_t block_bytes = size_t{64} << 10;
  SpillOptions spill;
  /// The file system the spill file is written through (the run's: ExecContext::file_system()).
  FileSystem* file_system = nullptr;
};

class ExternalSorter {
 public:
  /// The runs go to one spill file `<name>-N.spill` in `temp_dir`, created when the first run is
  /// written and removed with the sorter. REQUIRES: `temp_dir` outlives the sorter. Throws
  /// InvalidArgument for options out of range.
  ExternalSorter(TempDir& temp_dir, std::string name, ExternalSortOptions options = {});
  ~ExternalSorter();
  ExternalSorter(const ExternalSorter&) = delete;
  ExternalSorter& operator=(const ExternalSorter&) = delete;

  /// Writes one run of entries that the caller gives in key order, straight to the spill file.
  class RunWriter {
   public:
    RunWriter(RunWriter&&) noexcept;
    ~RunWriter();

    /// Append an entry. REQUIRES: `key` is not less than the previous key of this run.
    void Add(std::string_view key, std::string_view value);
    /// Write what is buffered and make the run part of the sort (a RunWriter destroyed without
    /// Finish leaves its entries out).
    void Finish();

   private:
    friend class ExternalSorter;
    explicit RunWriter(ExternalSorter* sorter);
    void Flush();

    ExternalSorter* sorter_;
    /// The run's number in the sort: the stream of its blocks' identity (docs/spill_format.md).
    uint64_t stream_;
    std::unique_ptr<SpillBlockEncoder> encoder_;
    std::string raw_;
    std::vector<SpillBlockHandle> blocks_;
  };

  /// Buffer one entry (its bytes are copied); a full buffer is sorted and spilled as a run.
  void Add(std::string_view key, std::string_view value);
  /// Start a run written by the caller in key order.
  RunWriter NewRun();

  /// Runs written so far (full Add buffers and finished RunWriters; not the merge passes).
  uint64_t spilled_runs() const;

  /// Return every entry in key order. Call once, after the last Add and RunWriter::Finish; the
  /// stream must be consumed before the sorter is destroyed. With no run spilled it is served
  /// from memory without touching the disk.
  std::unique_ptr<SortedEntryStream> Finish();

 private:
  struct Run {
    std::vector<SpillBlockHandle> blocks;
  };
  struct BufferedEntry {
    uint64_t offset;
    uint32_t key_size;
    uint32_t value_size;
  };
  class RunStream;
  class MemoryStream;
  class MergingStream;

  SpillFile& File();
  void AddRun(Run run);
  void SortBuffer();
  void SpillBuffer();
  /// Merge runs [begin, end) of `runs` into one new run.
  Run MergeRuns(std::vector<Run>& runs, size_t begin, size_t end);

  TempDir& temp_dir_;
  const std::string name_;
  const ExternalSortOptions options_;

  std::string arena_;
  std::vector<BufferedEntry> buffer_;

  mutable std::mutex mu_;
  std::unique_ptr<SpillFile> file_;
  std::vector<Run> runs_;
  uint64_t spilled_runs_ = 0;
  /// Numbers given to RunWriters (merge passes included).
  std::atomic<uint64_t> next_stream_{0};
};

}  // namespace corpusflow
