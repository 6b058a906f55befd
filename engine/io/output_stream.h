// Output streams with transparent compression: the same codecs as the inputs, chosen by
// extension or given, written to stdout ("-") or to a file through AtomicOutput: a unique temp
// file beside the target, renamed onto it by Commit() (devices, FIFOs and stdout are written in
// place). An output destroyed without Commit() removes its temp file, so a failure leaves nothing
// behind. Outputs of a run are committed together by the run's CommitGroup (DeferOutput).
// Write errors are sticky: once a write failed, every later call rethrows it, so an error inside
// a codec library that swallows exceptions (Boost's close path does) still ends the run. Errors
// name the output as given. Each stream is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/io/commit_group.h"
#include "engine/io/compression.h"
#include "engine/io/file.h"
#include "engine/io/file_system.h"

namespace corpusflow {

struct OutputOptions {
  /// Codec level; 0 = the codec's default (zstd 3, gzip 6, bzip2 9).
  int level = 0;
  /// Compression worker threads for `.zst` (libzstd's own workers); 0 = none. The compressed
  /// bytes are the same for every value >= 1 (libzstd's guarantee), but differ from 0.
  int threads = 0;
  /// The codec; unset = by extension. The only way to compress stdout.
  std::optional<Compression> compression;
  /// fdatasync the temp file before the rename (durable across a crash).
  bool sync = false;
  /// The run's FileSystem and inputs (ExecContext::run_files()): the output is created through
  /// that FileSystem and refused when it is one of the inputs.
  RunFiles run_files;
};

class OutputStream {
 public:
  virtual ~OutputStream() = default;
  virtual void Write(std::string_view data) = 0;
  /// Close(), then rename the temp file onto the output. Throws IoError (ENOSPC, EIO, ...).
  virtual void Commit() = 0;
  /// Flush the codec and close the temp file now, releasing the descriptor and codec memory,
  /// but rename it only at Commit(); destroyed without Commit() it is still removed. Every
  /// write error has surfaced once Close() returned. Idempotent.
  /// REQUIRES: no Write() afterwards.
  virtual void Close() = 0;
  /// The output as given ("<stdout>" for "-").
  virtual const std::string& name() const = 0;
  /// Uncompressed bytes written so far.
  virtual uint64_t bytes_written() const = 0;
  /// After Close(): the rename Commit() will do (none when written in place), for the run's
  /// commit journal.
  virtual std::vector<PendingRename> Renames() const = 0;
};

/// Create `path` ("-" for stdout), compressing by extension; missing folders are created
/// (AtomicOutput::Create).
/// Throws IoError, or InvalidArgument for a bad level or an output that is an input of the run.
std::unique_ptr<OutputStream> CreateOutput(const std::string& path,
                                           const OutputOptions& options = {});

/// Hold `output` for a CommitGroup: Prepare() closes it, Commit() renames it, and destroyed
/// uncommitted it removes its temp file.
std::unique_ptr<DeferredCommit> DeferOutput(std::unique_ptr<OutputStream> output);

}  // namespace corpusflow
