// Spill files: temporary files of framed blocks that pipeline breakers (the shuffle, ...) write
// and read back. Each block is
//   magic "CFSB" | raw size u32 | stored size u32 | XXH3-64 u64 | payload (stored size bytes)
// little-endian; the payload is one zstd frame when stored size < raw size and the raw bytes
// themselves when stored size == raw size. The checksum covers both sizes and the payload, and is
// verified on every read: a mismatch is a CorruptionError naming the file and the block's offset,
// never silent loss. docs/spill_format.md has the full layout.
// Uncompressed payloads move between memory and the file without an extra copy (written from
// the caller's buffer, read into the destination).
// Thread safety: SpillFile::Append/Read/Release may be called from many threads at once (blocks
// are appended at atomically reserved offsets with pwrite and read with pread). Encoders and
// decoders hold compression contexts and scratch buffers: one per thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "engine/io/file.h"
#include "engine/io/file_system.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace corpusflow {

/// kAuto is a policy for writers that know their spill size (the shuffle): store blocks raw when
/// the temp folder has room for them, compress with zstd when it does not. A SpillBlockEncoder
/// treats kAuto as kZstd.
enum class SpillCompression { kNone, kZstd, kAuto };

/// Parse "zstd", "none" or "auto"; throws InvalidArgument.
SpillCompression ParseSpillCompression(std::string_view name);

/// The zstd level used when none is given, chosen by bench/shuffle.sh (see docs/shuffle.md).
inline constexpr int kDefaultSpillLevel = 1;

struct SpillOptions {
  SpillCompression compression = SpillCompression::kZstd;
  /// zstd level: negative levels are faster, 1..19 smaller; 0 means zstd's default (3).
  int level = kDefaultSpillLevel;
};

inline constexpr uint32_t kSpillBlockMagic = 0x42534643;  // "CFSB" in file order
inline constexpr size_t kSpillBlockHeaderBytes = 20;
/// The largest raw payload of one block (the sizes are 32-bit).
inline constexpr uint64_t kMaxSpillBlockRawBytes = 0xffffffffULL;

/// Where a block lives in its file and its sizes.
struct SpillBlockHandle {
  /// Offset of the block's header in the file.
  uint64_t offset = 0;
  uint32_t raw_size = 0;
  uint32_t stored_size = 0;

  /// Header plus payload.
  uint64_t frame_size() const { return kSpillBlockHeaderBytes + stored_size; }
};

/// The checksum stored in a block header: XXH3-64 of the payload, seeded with the two sizes.
uint64_t SpillBlockChecksum(uint32_t raw_size, uint32_t stored_size, std::string_view payload);

/// One encoded block: its header and its payload (the raw bytes themselves when stored
/// uncompressed, else the encoder's compressed buffer).
struct SpillBlock {
  char header[kSpillBlockHeaderBytes];
  std::string_view payload;

  uint64_t size() const { return kSpillBlockHeaderBytes + payload.size(); }
};

/// Compresses and frames blocks. One per thread.
class SpillBlockEncoder {
 public:
  explicit SpillBlockEncoder(SpillOptions options = {});
  ~SpillBlockEncoder();
  SpillBlockEncoder(const SpillBlockEncoder&) = delete;
  SpillBlockEncoder& operator=(const SpillBlockEncoder&) = delete;

  /// Encode `raw` as one block. The payload is compressed when that makes it smaller, else it is
  /// `raw` itself. The result refers to `raw` or to this encoder: valid until the next call and
  /// while `raw` lives. Throws InvalidArgument when `raw` is larger than kMaxSpillBlockRawBytes.
  SpillBlock Encode(std::string_view raw);

 private:
  SpillOptions options_;
  ZSTD_CCtx_s* cctx_ = nullptr;
  std::string compressed_;
};

/// Verifies and decompresses blocks. One per thread.
class SpillBlockDecoder {
 public:
  SpillBlockDecoder();
  ~SpillBlockDecoder();
  SpillBlockDecoder(const SpillBlockDecoder&) = delete;
  SpillBlockDecoder& operator=(const SpillBlockDecoder&) = delete;

  /// Check the 20-byte header at `header` (magic, sizes) and return the block's handle. `file`
  /// and `offset` name the block in errors. Throws CorruptionError.
  static SpillBlockHandle ParseHeader(const char* header, const std::string& file, uint64_t offset);
  /// Verify `frame` (a header and its whole payload) and write the raw bytes to `dst`, which has
  /// room for the header's raw size. Throws CorruptionError naming `file` and `offset`.
  void Decode(std::string_view frame, char* dst, const std::string& file, uint64_t offset);
  /// Scratch buffer for reading frames (reused across calls).
  std::string& scratch() { return scratch_; }

 private:
  ZSTD_DCtx_s* dctx_ = nullptr;
  std::string scratch_;
};

/// A spill file in the run's temp folder, written and read by block through the run's FileSystem
/// (ExecContext::file_system()). The file is removed when the SpillFile is destroyed (success,
/// error or interrupt alike).
class SpillFile {
 public:
  /// Create `path` (it must not exist yet) in `fs`. Throws IoError.
  explicit SpillFile(std::filesystem::path path, FileSystem& fs = FileSystem::Default());
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Bytes appended so far (the file's size).
  uint64_t size() const { return end_.load(std::memory_order_acquire); }

  /// Append one block made by SpillBlockEncoder::Encode. Thread-safe. Throws IoError (ENOSPC,
  /// EIO, ...) naming the file.
  SpillBlockHandle Append(const SpillBlock& block);
  /// Read the block `handle` names, verify it against the handle and its checksum and write its
  /// raw bytes to `dst` (handle.raw_size bytes). Thread-safe. Throws CorruptionError or IoError.
  void Read(const SpillBlockHandle& handle, char* dst, SpillBlockDecoder& decoder) const;
  /// Read whatever block starts at `offset` (a sequential scan: the next one starts at
  /// offset + frame_size()), append its raw bytes to `out` and return its handle.
  SpillBlockHandle ReadAt(uint64_t offset, std::string* out, SpillBlockDecoder& decoder) const;
  /// Give the block's disk space back to the filesystem (punch a hole) once it is no longer
  /// needed; its bytes read as zeros afterwards. A no-op where the filesystem cannot do it.
  void Release(const SpillBlockHandle& handle);

 private:
  void ReadExact(char* dst, size_t n, uint64_t offset) const;
  void CheckHeader(const char* header, const SpillBlockHandle& handle) const;

  std::filesystem::path path_;
  std::string name_;
  FileSystem& fs_;
  File file_;
  std::atomic<uint64_t> end_{0};
};

}  // namespace corpusflow
