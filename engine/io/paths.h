// Paths as a run sees them before any I/O: input arguments expanded from glob patterns, the
// plan-time checks that inputs are readable and outputs writable, whether two paths name the same
// file, and the total size of the inputs (for progress): pure functions of the file system state.
// And the one place that creates the missing folders of an output (OutputFolders), which a failed
// run removes again.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/file_system.h"

namespace corpusflow {

/// The summed sizes of `paths` on disk; nullopt when one is stdin ("-") or not a regular file.
std::optional<uint64_t> TotalFileBytes(const std::vector<std::string>& paths);
/// The bytes `path` takes in a run's input byte space (engine/slices.h): a regular file's size
/// (compressed bytes for a compressed file), 0 for a stream (stdin, a FIFO) or a missing file.
uint64_t InputSpaceBytes(const std::string& path);

/// Throw IoError unless `path` can be created: it is no directory, and its folder is a writable
/// folder, or is missing and its nearest existing ancestor is a writable folder (the run creates
/// the missing folders, OutputFolders). Plan-time check.
void CheckOutputWritable(const std::string& path);
/// The same check for the folder `dir` an output goes in ("" is "."); errors start with `what`
/// ("cannot write output x/y.txt").
void CheckOutputFolder(const std::filesystem::path& dir, const std::string& what);

/// The folders a run created for its outputs. AtomicOutput::Create calls Ensure() for the folder
/// of each output before it makes the temp file; a run that fails calls RemoveCreated(), which
/// removes those folders again (deepest first, each only when empty), so that a failed run leaves
/// no folder behind; a run that succeeded calls Keep(). Thread-safe.
class OutputFolders {
 public:
  /// Create `dir` and its missing ancestors (mode 0777 less the umask), remembering each one
  /// created. Throws IoError naming the folder that cannot be created.
  void Ensure(const std::filesystem::path& dir);
  /// The run succeeded: its folders stay, and RemoveCreated() does nothing from now on.
  void Keep();
  /// Remove the folders Ensure() created that are empty, deepest first. Idempotent.
  void RemoveCreated() noexcept;

 private:
  std::mutex mu_;
  std::vector<std::filesystem::path> created_;
  bool kept_ = false;
};

/// Create the missing folders of `dir` like OutputFolders::Ensure, remembering none (outputs
/// written outside a run, such as the report of a failed run).
void EnsureFolder(const std::filesystem::path& dir);
/// Throw IoError unless `path` exists and is readable (plan-time check).
void CheckInputReadable(const std::string& path);

/// What names one file, as a key to compare or sort: an existing file's device and inode, else
/// its absolute path with the folders' ".." and symlinks resolved.
struct PathIdentity {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  std::string path;

  friend auto operator<=>(const PathIdentity&, const PathIdentity&) = default;
};

/// The identity of `path`, whose FileSystem::Stat is `status`; nullopt for stdin/stdout ("-")
/// and for a path that cannot be resolved, which is the same as no other file.
std::optional<PathIdentity> IdentifyPath(const std::string& path,
                                         const std::optional<FileStatus>& status);

/// Whether `a` and `b` name the same file: the same device and inode when both exist, the same
/// absolute path (".." and symlinks of the folders resolved) when neither does. Stdin/stdout
/// ("-") is no file.
bool SameFile(FileSystem& fs, const std::string& a, const std::string& b);

/// Expand one input argument: "-" and names without glob characters (`*?[`) are returned as
/// they are; a glob pattern ("data/*.jsonl.zst") becomes its matches in sorted order. Throws
/// InvalidArgument when a pattern matches nothing.
std::vector<std::string> ExpandInputPattern(const std::string& pattern);

}  // namespace corpusflow
