// FileSystem: the seam between corpusflow and the operating system's files, in the spirit of
// LevelDB's Env. Every file the engine writes (outputs, spill files, the disk figures cache, the
// stats document) is opened, created, renamed, removed and inspected through one, and the Files
// it hands out carry its IoCalls, so a test can inject faults (a full disk on the Nth write, EIO,
// short writes, flipped bytes on read) in-process by passing another FileSystem
// (tests/testing/fault_file_system.h). FileSystem::Default() is the POSIX implementation; a run
// reaches its FileSystem through RunOptions::file_system (PlanContext and ExecContext).
// Thread safety: implementations are thread-safe; the Default() object has no state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/file.h"

namespace corpusflow {

/// The identity of a file: its device and inode. Two paths name the same file when their
/// identities are equal (hard links, symlinks, "./a" and "a").
struct FileId {
  dev_t device = 0;
  ino_t inode = 0;

  friend bool operator==(const FileId&, const FileId&) = default;
};

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileStatus {
  /// kOther: a character or block device, a FIFO or a socket.
  FileType type = FileType::kRegular;
  FileId id;
  uint64_t size = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  /// The POSIX file system (process-wide, stateless).
  static FileSystem& Default();

  /// Open an existing file for reading. Throws IoError "`what` PATH: reason".
  virtual File OpenForRead(const std::string& path,
                           const std::string& what = "cannot open input") = 0;
  /// Open an existing file for writing where it is: no creation, no truncation (a device, a
  /// FIFO). Throws IoError.
  virtual File OpenForWrite(const std::string& path) = 0;
  /// Create `path` for reading and writing with `mode` (less the umask), only if no file of that
  /// name exists, never following a symlink (O_CREAT | O_EXCL | O_NOFOLLOW). Returns nullopt when
  /// the name exists; throws IoError for other failures.
  virtual std::optional<File> CreateExclusive(const std::string& path, mode_t mode = 0666) = 0;
  /// rename(2) `from` to `to`, replacing `to`. Throws IoError naming both.
  virtual void Rename(const std::string& from, const std::string& to) = 0;
  /// Remove `path`; false when it could not be removed (absent, or an error: cleanup paths
  /// cannot report one).
  virtual bool Unlink(const std::string& path) noexcept = 0;
  /// The status of `path`, following symlinks; nullopt when it does not exist (or a dangling
  /// symlink). Throws IoError for other failures (EACCES, ELOOP, ...).
  virtual std::optional<FileStatus> Stat(const std::string& path) = 0;
  /// The status of `path` itself (a symlink is kSymlink); nullopt when it does not exist.
  virtual std::optional<FileStatus> LinkStat(const std::string& path) = 0;
};

/// The identities of `paths` that exist (stdin "-" and missing files are left out).
std::vector<FileId> IdentifyFiles(FileSystem& fs, const std::vector<std::string>& paths);

class OutputFolders;

/// What every output of a run needs to know about the run: the FileSystem to create it in, the
/// files the run reads, which no output may replace, and where to note the folders it creates.
/// Immutable once the run started.
/// An output that a checkpointed run appends to from task to task (docs/resume.md): its temp
/// file beside it, of which the first `offset` bytes are the committed tasks', and the XXH3 of
/// what the running task writes after them (File::HashWrites).
struct AppendedOutput {
  std::string temp;
  uint64_t offset = 0;
  std::shared_ptr<XXH3_state_t> written;
};

struct RunFiles {
  /// Null: FileSystem::Default().
  FileSystem* file_system = nullptr;
  /// The identities of the run's input files (null: none known).
  std::shared_ptr<const std::vector<FileId>> inputs;
  /// The run's record of the output folders it created, which a failed run removes
  /// (engine/io/paths.h; null: missing folders are created and never removed).
  std::shared_ptr<OutputFolders> folders;
  /// Put after `.tmp-` in the temp name of every output (AtomicOutput): empty for one process;
  /// in a multi-rank run `<job>-r<rank>-`, so that the parts of every rank of a failed job can
  /// be found by its job (RemoveJobTemps).
  std::string temp_tag;
  /// The outputs a checkpointed run appends to, by target path (null: none): AtomicOutput opens
  /// their temp file cut to its offset instead of a new one, and never removes it.
  std::shared_ptr<const std::map<std::string, AppendedOutput>> appends;

  FileSystem& fs() const { return file_system != nullptr ? *file_system : FileSystem::Default(); }
  /// Whether `id` is one of the run's inputs.
  bool IsInput(const FileId& id) const;
};

}  // namespace corpusflow
