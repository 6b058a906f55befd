// The packed windows of `pack` (concat, best-fit, first-fit), kept from packing until the next
// pipeline reads their samples: a window holds the documents' ids once (PackedWindow), so the
// samples are built only as they are read (PackedWindow::EmitBin), never copied into a spool
// and out of it again.
//
// Windows stay in memory while the windows held take at most memory_bytes; past that a window
// is written to one spill file `<name>-N.spill` in the run's temp folder, as consecutive
// checksummed blocks of the engine's spill format (docs/spill_format.md, stream 0, numbered from
// 0, at most block_bytes raw each) holding, in host byte order: the number of ids in emission
// order, of pieces and of bins, and the bytes of an id (2 for a narrow window, else 4; uint64
// each), the ids in emission order (bin after bin, piece after piece: an id two pieces share is
// written twice, an id of no piece not at all), the pieces' sizes (uint32) and the bins' ends
// (uint32). A window read back is the window appended
// (its ids reordered, offsets rebuilt, the same samples); a spilled block's disk space is given
// back once it has been read. Memory while spilling: one block of block_bytes each way. The memory
// limit decides only where windows live, never what is read back.
//
// Thread safety: none. Append and Finish belong to one thread at a time, then Next to one thread
// at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/file_system.h"
#include "engine/io/spill_file.h"
#include "operators/pack/packer.h"

namespace corpusflow {

class TempDir;

struct WindowSpoolOptions {
  /// Bytes of windows (PackedWindow::MemoryBytes) held in memory before windows are spilled.
  uint64_t memory_bytes = uint64_t{64} << 20;
  /// Raw bytes of a spill block. REQUIRES: >= 64.
  size_t block_bytes = size_t{1} << 20;
  SpillOptions spill = SpillOptions{};
  /// The file system the spill file is written through (the run's: ExecContext::file_system()).
  FileSystem* file_system = nullptr;
};

class WindowSpool {
 public:
  /// REQUIRES: `temp_dir` outlives the spool. Throws InvalidArgument for a block size under 64.
  WindowSpool(TempDir& temp_dir, std::string name, WindowSpoolOptions options = {});
  ~WindowSpool();
  WindowSpool(const WindowSpool&) = delete;
  WindowSpool& operator=(const WindowSpool&) = delete;

  /// Keep `window` (moved) after the ones appended before. Throws IoError when it cannot be
  /// spilled. REQUIRES: Finish not called yet.
  void Append(PackedWindow&& window);
  /// No more windows; after it only Next. Call once.
  void Finish();
  /// Move the next window, in append order, to `out` and return true; false after the last.
  /// Throws CorruptionError or IoError when a spilled window cannot be read back.
  bool Next(PackedWindow* out);

  /// Windows appended, their bins (samples) and pieces.
  uint64_t windows() const { return windows_; }
  uint64_t bins() const { return bins_; }
  uint64_t pieces() const { return pieces_; }
  /// Blocks written to the spill file.
  uint64_t spilled_blocks() const { return spilled_blocks_; }

 private:
  /// A window appended: in memory, or its blocks [first_block, first_block + blocks).
  struct Entry {
    PackedWindow window;
    bool spilled = false;
    size_t first_block = 0;
    size_t blocks = 0;
  };

  void Spill(const PackedWindow& window, Entry& entry);
  /// Append `n` bytes to the block being written, writing out each block that fills.
  void Put(const void* data, size_t n);
  void WriteBlock();
  /// Read `n` bytes of the spilled window being read, block after block.
  void Get(void* data, size_t n);
  void ReadBack(PackedWindow* out);

  TempDir& temp_dir_;
  const std::string name_;
  const WindowSpoolOptions options_;
  bool finished_ = false;

  std::deque<Entry> entries_;
  uint64_t held_bytes_ = 0;
  uint64_t windows_ = 0;
  uint64_t bins_ = 0;
  uint64_t pieces_ = 0;
  uint64_t spilled_blocks_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::unique_ptr<SpillBlockEncoder> encoder_;
  std::vector<SpillBlockHandle> handles_;
  std::string block_;

  // Reading: the next block of the spilled window being read, and the end of its blocks.
  size_t next_block_ = 0;
  size_t block_end_ = 0;
  std::string read_buffer_;
  size_t read_at_ = 0;
  std::unique_ptr<SpillBlockDecoder> decoder_;
};

}  // namespace corpusflow
