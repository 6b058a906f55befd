// Spill files: temporary files of framed blocks that pipeline breakers (the shuffle, ...) write
// and read back. Each block is
//   magic "CFS2" | raw size u32 | stored size u32 | XXH3-64 u64 |
//   run u64 | stream u64 | file u32 | sequence u32 | payload (stored size bytes)
// little-endian; the payload is one zstd frame when stored size < raw size and the raw bytes
// themselves when stored size == raw size. The identity (run, file, stream, sequence) says who
// wrote the block and where it belongs: the run that created the file, the file's number in that
// run, the stream of blocks it is part of (the shuffle's bucket, the external sort's run) and its
// number in that stream. The checksum covers the sizes, the identity and the payload. Every read
// verifies it, and a read by handle also checks that the block is the one the handle names: a
// corrupt, misplaced (a block copied over another of the same size) or stale block (left by
// another run) is a CorruptionError naming the file and the block's offset, never silent loss.
// docs/spill_format.md has the full layout (format version 2).
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

/// "CFS2" in file order: the magic of format version 2 (version 1, "CFSB", had no identity).
inline constexpr uint32_t kSpillBlockMagic = 0x32534643;
inline constexpr size_t kSpillBlockHeaderBytes = 44;
/// Where the identity starts in the header (it runs to the end of the header).
inline constexpr size_t kSpillBlockIdentityOffset = 20;
/// The largest raw payload of one block (the sizes are 32-bit).
inline constexpr uint64_t kMaxSpillBlockRawBytes = 0xffffffffULL;

/// Who wrote a block and where it belongs; stored in its header.
struct SpillBlockId {
  /// The run that created the file (a random number per run of a breaker, NewSpillRunId()).
  uint64_t run = 0;
  /// The stream of blocks it belongs to: the shuffle's bucket, the external sort's run.
  uint64_t stream = 0;
  /// The file's number in its run.
  uint32_t file = 0;
  /// The block's number in its stream, from 0.
  uint32_t sequence = 0;

  bool operator==(const SpillBlockId&) const = default;
};

/// A fresh run number for SpillFile: random, so that blocks of another run never pass for ours.
uint64_t NewSpillRunId();

/// Where a block lives in its file, its sizes and its place in its stream (the run and file of
/// its identity are the SpillFile's).
struct SpillBlockHandle {
  /// Offset of the block's header in the file.
  uint64_t offset = 0;
  uint32_t raw_size = 0;
  uint32_t stored_size = 0;
  uint64_t stream = 0;
  uint32_t sequence = 0;

  /// Header plus payload.
  uint64_t frame_size() const { return kSpillBlockHeaderBytes + stored_size; }
};

/// A block header as stored in a file.
struct SpillBlockHeader {
  uint32_t raw_size = 0;
  uint32_t stored_size = 0;
  uint64_t checksum = 0;
  SpillBlockId id;

  /// Header plus payload.
  uint64_t frame_size() const { return kSpillBlockHeaderBytes + stored_size; }
};

/// The checksum stored in a block header: XXH3-64 of the 24 identity bytes of the header, seeded
/// with the XXH3-64 of the payload seeded with the two sizes (raw << 32 | stored).
uint64_t SpillBlockChecksum(uint32_t raw_size, uint32_t stored_size, const SpillBlockId& id,
                            std::string_view payload);

/// One encoded block: its magic and sizes, the checksum of its payload and the payload itself
/// (the raw bytes when stored uncompressed, else the encoder's compressed buffer). SpillFile::
/// Append gives it its identity and final checksum.
struct SpillBlock {
  char header[kSpillBlockHeaderBytes];
  std::string_view payload;
  /// XXH3-64 of the payload seeded with the two sizes (the seed of the block's checksum).
  uint64_t payload_checksum = 0;

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

  /// Check the magic and sizes of the kSpillBlockHeaderBytes at `header` and return its fields.
  /// `file` and `offset` name the block in errors. Throws CorruptionError.
  static SpillBlockHeader ParseHeader(const char* header, const std::string& file, uint64_t offset);
  /// Verify `frame` (a header and its whole payload, checksum included) and write the raw bytes
  /// to `dst`, which has room for the header's raw size. The identity is not compared with
  /// anything (SpillFile does that). Throws CorruptionError naming `file` and `offset`.
  void Decode(std::string_view frame, char* dst, const std::string& file, uint64_t offset);
  /// Scratch buffer for reading frames (reused across calls).
  std::string& scratch() { return scratch_; }

 private:
  ZSTD_DCtx_s* dctx_ = nullptr;
  std::string scratch_;
};

/// A spill file in the run's temp folder, written and read by block through the run's FileSystem
/// (ExecContext::file_system()). The file is removed when the SpillFile is destroyed (success,
/// error or interrupt alike). Its blocks carry its run and number.
class SpillFile {
 public:
  /// Create `path` (it must not exist yet) in `fs`, as file `number` of run `run`. Throws
  /// IoError.
  explicit SpillFile(std::filesystem::path path, FileSystem& fs = FileSystem::Default(),
                     uint64_t run = NewSpillRunId(), uint32_t number = 0);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint64_t run() const { return run_; }
  uint32_t number() const { return number_; }
  /// Bytes appended so far (the file's size).
  uint64_t size() const { return end_.load(std::memory_order_acquire); }

  /// Append one block made by SpillBlockEncoder::Encode as block `sequence` of `stream`.
  /// Thread-safe. Throws IoError (ENOSPC, EIO, ...) naming the file.
  SpillBlockHandle Append(const SpillBlock& block, uint64_t stream, uint32_t sequence);
  /// Read the block `handle` names, verify its checksum and that it is the block the handle
  /// names (sizes, and the identity: this file's run and number, the handle's stream and
  /// sequence), and write its raw bytes to `dst` (handle.raw_size bytes). Thread-safe. Throws
  /// CorruptionError or IoError.
  void Read(const SpillBlockHandle& handle, char* dst, SpillBlockDecoder& decoder) const;
  /// Read whatever block starts at `offset` (a sequential scan: the next one starts at
  /// offset + frame_size()), check that it belongs to this file (run and number), append its raw
  /// bytes to `out` and return its handle (stream and sequence from its header).
  SpillBlockHandle ReadAt(uint64_t offset, std::string* out, SpillBlockDecoder& decoder) const;
  /// Give the block's disk space back to the filesystem (punch a hole) once it is no longer
  /// needed; its bytes read as zeros afterwards. A no-op where the filesystem cannot do it.
  void Release(const SpillBlockHandle& handle);

 private:
  void ReadExact(char* dst, size_t n, uint64_t offset) const;
  /// Check that the header read for `handle` has the handle's sizes (else: misplaced or corrupt).
  void CheckSizes(const SpillBlockHeader& found, const SpillBlockHandle& handle) const;
  /// Check that a verified header has the identity `handle` names.
  void CheckIdentity(const SpillBlockHeader& found, const SpillBlockHandle& handle) const;

  std::filesystem::path path_;
  std::string name_;
  FileSystem& fs_;
  const uint64_t run_;
  const uint32_t number_;
  File file_;
  std::atomic<uint64_t> end_{0};
};

}  // namespace corpusflow
