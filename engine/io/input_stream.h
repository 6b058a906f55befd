// Input streams with transparent decompression: plain files, stdin ("-"), and `.gz` (zlib's
// inflate: every member's CRC-32 and ISIZE checked), `.bz2` (Boost.Iostreams) and `.zst` (libzstd
// streaming), chosen by extension or given. Files are read through a FileSystem (the default
// POSIX one unless a test injects faults). Errors name the file (and the offset for corrupt
// compressed data). Each stream is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/io/compression.h"
#include "engine/io/file_system.h"

namespace corpusflow {

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
/// Open `path` with an explicit codec through `fs`.
std::unique_ptr<InputStream> OpenInput(const std::string& path, Compression compression,
                                       FileSystem& fs);
/// Open the plain (uncompressed) file `path` through `fs` to read from byte `offset` on
/// (raw_bytes_read counts from the file's start). Throws IoError.
std::unique_ptr<InputStream> OpenPlainInputAt(const std::string& path, uint64_t offset,
                                              FileSystem& fs);

}  // namespace corpusflow
