// AtomicOutput: the one way corpusflow replaces a file. An output NAME is written to a new temp
// file `.NAME.tmp-XXXXXX` beside it (created with O_CREAT | O_EXCL | O_NOFOLLOW, so it can never
// be an existing file, a symlink planted there or another run's temp file; mode 0666 less the
// umask, as a plain create gives; in a multi-rank run the name carries the job and the rank,
// `.NAME.tmp-<job>-r<rank>-XXXXXX`: RunFiles::temp_tag), and renamed onto NAME by Commit().
// Destroyed without Commit() (any failure, an interrupt) it removes the temp file, and NAME is
// left as it was.
//   - A target that is one of the run's inputs (same device and inode) is refused.
//   - A target that exists and is not a regular file (a character or block device, a FIFO, a
//     socket, a terminal, or a symlink to one, such as /dev/stdout on a pipe) is written in
//     place, never replaced; so is stdout ("-").
//   - A symlink to a regular file is followed: the temp file goes beside the file it points to,
//     which is replaced, and the link stays.
// docs/io.md describes the naming and the commit order of a run (CommitGroup).
// The missing folders of NAME are created before the temp file (RunFiles::folders records them,
// for a failed run to remove).
// Thread safety: one thread at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/io/file.h"
#include "engine/io/file_system.h"

namespace corpusflow {

/// A fresh job name for the temp tags of a multi-rank run (RunFiles::temp_tag): 16 random hex
/// digits, drawn by rank 0 and shared with every rank.
std::string NewJobName();

/// Remove the temp files of every rank of the job `job` (named `.NAME.tmp-<job>-r...`, with
/// whatever follows: a `.join` too) in `folders`: what a failed job's ranks wrote beside their
/// outputs, a killed rank's parts included. Returns the files removed; errors skip a file or a
/// folder (a clean-up path cannot report them).
uint64_t RemoveJobTemps(FileSystem& fs, const std::vector<std::string>& folders,
                        std::string_view job) noexcept;

class AtomicOutput {
 public:
  /// Open the output `path` ("-": stdout). `sync`: fdatasync the temp file before the rename.
  /// Creates the missing folders of `path` (noted in `run.folders`). Throws InvalidArgument when
  /// `path` is an input of the run, IoError when it cannot be created (a directory of that name,
  /// a file where a folder should be, no permission). An output that `run` appends to
  /// (RunFiles::appends) is its temp file cut to its offset, written after it and kept when the
  /// output is abandoned (a CorruptionError when it is shorter than the offset).
  static AtomicOutput Create(const std::string& path, const RunFiles& run = {}, bool sync = false);

  AtomicOutput(AtomicOutput&& other) noexcept;
  AtomicOutput& operator=(AtomicOutput&& other) noexcept;
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  /// Remove the temp file unless committed.
  ~AtomicOutput();

  /// The file to write (errors name the output, "<stdout>" for stdout).
  File& file() { return file_; }
  /// The output as given ("-" for stdout).
  const std::string& path() const { return path_; }
  /// The file written: path(), or the regular file a symlink points to.
  const std::string& target() const { return target_; }
  /// The temp file; empty when written in place, committed or abandoned.
  const std::string& temp_path() const { return temp_path_; }
  /// Written in place (stdout, a device, a FIFO, ...): no temp file, no rename.
  bool in_place() const { return in_place_; }

  /// Write all of `data`. Throws IoError naming the output and the offset.
  void Write(std::string_view data) { file_.Write(data); }
  /// Sync (when asked for) and close the temp file, so that every write error has surfaced.
  /// Idempotent. Throws IoError.
  void Close();
  /// Close(), then rename the temp file onto the target. Throws IoError.
  void Commit();
  /// Close and remove the temp file now; Commit() is no longer possible.
  void Abandon() noexcept;

  /// The temp name for `path`: `.NAME.tmp-` plus `suffix`, in the folder of `path`.
  static std::string TempPathFor(const std::string& path, std::string_view suffix);

 private:
  AtomicOutput() = default;

  FileSystem* fs_ = nullptr;
  File file_;
  std::string path_;
  std::string target_;
  std::string temp_path_;
  bool in_place_ = false;
  bool sync_ = false;
  bool committed_ = false;
  /// An appended output's temp file (RunFiles::appends): kept when abandoned.
  bool kept_ = false;
};

}  // namespace corpusflow
