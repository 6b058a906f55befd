// File I/O with transparent compression. Inputs: plain files, stdin ("-"), and `.gz`, `.bz2`
// (Boost.Iostreams) and `.zst` (libzstd streaming), chosen by extension. Outputs: the same
// codecs by extension, stdout ("-"), written to `NAME.tmp` and renamed to NAME by Commit(); an
// output destroyed without Commit() removes its temp file, so failures leave nothing behind.
// Errors name the file (and the offset for corrupt compressed data). Each stream is used by one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/file.h"

namespace corpusflow {

enum class Compression { kNone, kGzip, kBzip2, kZstd };

/// The codec implied by a file name's extension (".gz", ".bz2", ".zst"); kNone otherwise.
Compression CompressionFromPath(std::string_view path);
/// The name without its compression extension: "a.jsonl.zst" -> "a.jsonl".
std::string StripCompressionExtension(std::string_view path);
/// Parse "none", "gzip" (or "gz"), "bzip2" (or "bz2"), "zstd" (or "zst"); InvalidArgument
/// otherwise.
Compression ParseCompression(std::string_view text);
/// "none", "gzip", "bzip2" or "zstd".
std::string_view CompressionName(Compression compression);

class InputStream {
 public:
  virtual ~InputStream() = default;
  /// Read up to `n` decompressed bytes into `buf`; returns 0 only at the end of the stream.
  /// Throws IoError, or CorruptionError naming the file and offset of bad compressed data.
  virtual size_t Read(char* buf, size_t n) = 0;
  /// Bytes consumed from the underlying file so far (compressed bytes), for progress.
  virtual uint64_t raw_bytes_read() const = 0;
  /// The file name as given ("-" shown as "<stdin>").
  virtual const std::string& name() const = 0;
};

/// Open `path` ("-" for stdin), decompressing by extension. Throws IoError when it cannot be
/// opened.
std::unique_ptr<InputStream> OpenInput(const std::string& path);
/// Open `path` ("-" for stdin) with an explicit codec, whatever its extension.
std::unique_ptr<InputStream> OpenInput(const std::string& path, Compression compression);

/// The summed sizes of `paths` on disk; nullopt when one is stdin ("-") or not a regular file.
std::optional<uint64_t> TotalFileBytes(const std::vector<std::string>& paths);

struct OutputOptions {
  /// Codec level; 0 = the codec's default (zstd 3, gzip 6, bzip2 9).
  int level = 0;
  /// Compression worker threads for `.zst` (libzstd's own workers); 0 = none. The compressed
  /// bytes are the same for every value >= 1 (libzstd's guarantee), but differ from 0.
  int threads = 0;
  /// The codec; unset = by extension. The only way to compress stdout.
  std::optional<Compression> compression;
  /// fdatasync the temp file before the rename in Commit() (durable across a crash).
  bool sync = false;
};

class OutputStream {
 public:
  virtual ~OutputStream() = default;
  virtual void Write(std::string_view data) = 0;
  /// Flush, close and rename `NAME.tmp` to NAME. Throws IoError (ENOSPC, EIO, ...).
  virtual void Commit() = 0;
  /// Flush and close `NAME.tmp` now, releasing the descriptor and codec memory, but rename it
  /// only at Commit(); destroyed without Commit() it is still removed. For outputs written one
  /// after the other (shards) that must appear together. The default does nothing.
  /// REQUIRES: no Write() afterwards.
  virtual void Close() {}
  virtual const std::string& name() const = 0;
  /// Uncompressed bytes written so far.
  virtual uint64_t bytes_written() const = 0;
};

/// Create `path` ("-" for stdout), compressing by extension. The parent directory must exist.
std::unique_ptr<OutputStream> CreateOutput(const std::string& path,
                                           const OutputOptions& options = {});

/// Throw IoError unless `path`'s directory exists and is writable (plan-time check).
void CheckOutputWritable(const std::string& path);
/// Throw IoError unless `path` exists and is readable (plan-time check).
void CheckInputReadable(const std::string& path);

/// Expand one input argument: "-" and names without glob characters (`*?[`) are returned as
/// they are; a glob pattern ("data/*.jsonl.zst") becomes its matches in sorted order. Throws
/// InvalidArgument when a pattern matches nothing.
std::vector<std::string> ExpandInputPattern(const std::string& pattern);

}  // namespace corpusflow
