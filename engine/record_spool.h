// A record spool: an ordered stream of records of one batch layout, written once and read back
// once in the same order, more of them than memory holds. Pipeline breakers that emit what they
// computed (pack's samples) write their output here and serve the next pipeline from it.
//
// Records are encoded with RecordCodec (engine/record_codec.h), each as varint(size) encoding,
// into blocks of about block_bytes; an encoding never spans two blocks. Sealed blocks stay in
// memory while the blocks held take at most memory_bytes; past that every further block is
// written to one spill file `<name>-N.spill` in the run's temp folder (checksummed blocks of the
// engine's spill format, docs/spill_format.md, stream 0, numbered from 0), so memory stays
// bounded whatever the size of the stream. Reading gives the records back in the order they
// were appended, in batches of about the requested bytes; a spilled block's disk space is given
// back once it has been read. The memory limit decides only where blocks live, never what is
// read back.
//
// Thread safety: none. Append and Finish belong to one thread at a time, then Next to one thread
// at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/io/file_system.h"
#include "engine/io/spill_file.h"
#include "engine/record_codec.h"

namespace corpusflow {

class TempDir;

struct RecordSpoolOptions {
  /// Bytes of sealed blocks held in memory before blocks go to the spill file.
  uint64_t memory_bytes = uint64_t{64} << 20;
  /// Raw bytes of a block (a larger record gets a block of its own).
  size_t block_bytes = size_t{1} << 20;
  SpillOptions spill = SpillOptions{};
  /// The file system the spill file is written through (the run's: ExecContext::file_system()).
  FileSystem* file_system = nullptr;
};

class RecordSpool {
 public:
  /// REQUIRES: `temp_dir` outlives the spool. Throws InvalidArgument for a zero block size.
  RecordSpool(TempDir& temp_dir, std::string name, RecordSpoolOptions options = {});
  ~RecordSpool();
  RecordSpool(const RecordSpool&) = delete;
  RecordSpool& operator=(const RecordSpool&) = delete;

  /// Append every record of `batch`. The first batch appended fixes the layout; a batch of
  /// another layout is a programming error (CF_CHECK). Throws IoError when a block cannot be
  /// spilled. REQUIRES: Finish not called yet.
  void Append(const Batch& batch);
  /// Seal the last block; after it only Next. Call once.
  void Finish();
  /// Fill `out` with the next records, in append order, until their data bytes reach
  /// `batch_bytes` (at least one record), and return true; false after the last record.
  /// Throws CorruptionError or IoError when a spilled block cannot be read back.
  bool Next(Batch* out, uint64_t batch_bytes);

  /// Records appended.
  uint64_t records() const { return records_; }
  /// Data bytes of the records appended (Batch::DataBytes summed).
  uint64_t data_bytes() const { return data_bytes_; }
  /// Blocks written to the spill file.
  uint64_t spilled_blocks() const { return spilled_blocks_; }

 private:
  struct Block {
    /// The raw block while it is held in memory; empty once spilled.
    std::string data;
    /// Where it lives in the spill file, when spilled.
    bool spilled = false;
    SpillBlockHandle handle;
  };

  void Seal();
  SpillFile& File();

  TempDir& temp_dir_;
  const std::string name_;
  const RecordSpoolOptions options_;
  RecordCodec codec_;
  bool has_layout_ = false;
  bool finished_ = false;

  std::string raw_;
  std::vector<Block> blocks_;
  uint64_t held_bytes_ = 0;
  uint64_t records_ = 0;
  uint64_t data_bytes_ = 0;
  uint64_t spilled_blocks_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::unique_ptr<SpillBlockEncoder> encoder_;

  // Reading.
  size_t next_block_ = 0;
  std::string read_buffer_;
  std::string_view rest_;
  std::unique_ptr<SpillBlockDecoder> decoder_;
};

}  // namespace corpusflow
