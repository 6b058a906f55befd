// The run-specific temp folder: `<tmp-dir>/corpusflow-<pid>-<random>/`, created on first use and
// removed with everything in it when the TempDir is destroyed (success, error, interrupt, broken
// pipe). Only SIGKILL (or a power loss) leaves one behind, so every run folder carries a lock: the
// run holds flock(LOCK_EX) on `corpusflow.lock` inside it for its whole life, and a run creating
// its folder removes the `corpusflow-<digits>-<digits>` folders beside it whose lock it can take
// (their owner is gone). Folders without the lock file, of another user, or whose lock is held are
// never touched. Thread-safe: Path() and NewFilePath() may be called from any worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace corpusflow {

/// The lock file inside every run folder, held locked by the run that owns the folder.
inline constexpr char kRunFolderLockName[] = "corpusflow.lock";

/// What a sweep of stale run folders removed.
struct StaleSweep {
  /// Run folders removed.
  uint64_t folders = 0;
  /// Bytes of the regular files in them.
  uint64_t bytes = 0;
  /// Outputs whose commit a killed run left half done, finished from its journal
  /// (engine/io/commit_journal.h), and those left as they were because they were replaced since.
  std::vector<std::string> completed;
  std::vector<std::string> superseded;
};

/// Remove the run folders in `parent` whose owner is gone: named `corpusflow-<digits>-<digits>`,
/// a directory (not a symlink) of this user holding a regular `corpusflow.lock` of this user
/// whose flock can be taken. A commit journal in one is carried out first (the dead run's
/// outputs all get their new version). Errors skip a folder, they never end the run.
StaleSweep SweepStaleRunFolders(const std::filesystem::path& parent) noexcept;

/// Whether `name` has the form of a run folder's name, `corpusflow-<digits>-<digits>`.
bool IsRunFolderName(const std::string& name);

class TempDir {
 public:
  /// `parent` is the --tmp-dir (default: $TMPDIR or /tmp).
  explicit TempDir(std::filesystem::path parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& parent() const { return parent_; }
  /// The run folder, created and locked on first call; that call also sweeps stale run folders
  /// from `parent` and reports what it removed in one line on stderr.
  std::filesystem::path Path();
  /// A fresh file name inside the run folder: `<prefix>-<n><suffix>`.
  std::filesystem::path NewFilePath(const std::string& prefix, const std::string& suffix = "");
  /// Remove the folder now and release its lock (also done by the destructor).
  void Remove() noexcept;
  /// What the sweep at folder creation removed (zero before Path()).
  StaleSweep swept() const;

  /// The default parent: $TMPDIR if set, else /tmp.
  static std::filesystem::path DefaultParent();

 private:
  std::filesystem::path parent_;
  std::filesystem::path path_;
  mutable std::mutex mu_;
  std::atomic<bool> created_{false};
  std::atomic<uint64_t> counter_{0};
  int lock_fd_ = -1;
  StaleSweep swept_;
};

/// Free bytes available to an unprivileged writer on the filesystem of `path`.
uint64_t FreeDiskBytes(const std::filesystem::path& path);

}  // namespace corpusflow
