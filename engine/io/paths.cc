#include "engine/io/paths.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "engine/error.h"

namespace corpusflow {

std::optional<uint64_t> TotalFileBytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const std::string& path : paths) {
    if (path == "-") return std::nullopt;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) return std::nullopt;
    total += size;
  }
  return total;
}

void CheckOutputWritable(const std::string& path) {
  if (path == "-") return;
  if (path.empty()) throw InvalidArgument("empty output path");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw IoError("cannot write output " + path + ": it is a directory");
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    ThrowIoError("cannot write output " + path + ": no folder", dir.string(), errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw IoError("cannot write output " + path + ": " + dir.string() + " is not a folder");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    ThrowIoError("cannot write output " + path + ": folder", dir.string(), errno);
  }
}

void CheckInputReadable(const std::string& path) {
  if (path == "-") return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ThrowIoError("cannot open input", path, errno);
  if (S_ISDIR(st.st_mode)) throw IoError("cannot read input " + path + ": it is a directory");
  if (::access(path.c_str(), R_OK) != 0) ThrowIoError("cannot read input", path, errno);
}

std::optional<PathIdentity> IdentifyPath(const std::string& path,
                                         const std::optional<FileStatus>& status) {
  if (path == "-") return std::nullopt;
  if (status) {
    return PathIdentity{
        .exists = true, .device = status->id.device, .inode = status->id.inode, .path = {}};
  }
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) return std::nullopt;
  return PathIdentity{.exists = false, .device = 0, .inode = 0, .path = canonical.string()};
}

bool SameFile(FileSystem& fs, const std::string& a, const std::string& b) {
  if (a == "-" || b == "-") return false;
  const std::optional<PathIdentity> ia = IdentifyPath(a, fs.Stat(a));
  const std::optional<PathIdentity> ib = IdentifyPath(b, fs.Stat(b));
  return ia && ib && *ia == *ib;
}

std::vector<std::string> ExpandInputPattern(const std::string& pattern) {
  if (pattern == "-" || pattern.find_first_of("*?[") == std::string::npos) return {pattern};
  std::error_code ec;
  if (std::filesystem::exists(pattern, ec)) return {pattern};  // a name with a literal '*'
  glob_t matches{};
  const int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
  std::vector<std::string> paths;
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  if (rc == GLOB_NOSPACE) throw std::bad_alloc();
  if (rc == GLOB_ABORTED) throw IoError("cannot read a folder while expanding " + pattern);
  if (paths.empty()) throw InvalidArgument("no file matches '" + pattern + "'");
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace corpusflow
