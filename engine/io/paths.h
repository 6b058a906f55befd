// Paths as a run sees them before any I/O: input arguments expanded from glob patterns, the
// plan-time checks that inputs are readable and outputs writable, whether two paths name the same
// file, and the total size of the inputs (for progress). Pure functions of the file system state.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/file_system.h"

namespace corpusflow {

/// The summed sizes of `paths` on disk; nullopt when one is stdin ("-") or not a regular file.
std::optional<uint64_t> TotalFileBytes(const std::vector<std::string>& paths);

/// Throw IoError unless `path`'s directory exists and is writable (plan-time check).
void CheckOutputWritable(const std::string& path);
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
