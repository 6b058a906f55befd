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

uint64_t InputSpaceBytes(const std::string& path) {
  if (path == "-") return 0;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return 0;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

void CheckOutputWritable(const std::string& path) {
  if (path == "-") return;
  if (path.empty()) throw InvalidArgument("empty output path");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw IoError("cannot write output " + path + ": it is a directory");
  }
  CheckOutputFolder(fs::path(path).parent_path(), "cannot write output " + path);
}

void CheckOutputFolder(const std::filesystem::path& folder, const std::string& what) {
  // The nearest existing ancestor decides: the folders below it are created by the run.
  std::filesystem::path dir = folder.empty() ? std::filesystem::path(".") : folder;
  struct stat st {};
  while (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    const std::filesystem::path parent =
        dir.parent_path().empty() ? std::filesystem::path(".") : dir.parent_path();
    if ((err != ENOENT && err != ENOTDIR) || parent == dir) {
      ThrowIoError(what + ": folder", dir.string(), err);
    }
    dir = parent;
  }
  if (!S_ISDIR(st.st_mode)) throw IoError(what + ": " + dir.string() + " is not a folder");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) ThrowIoError(what + ": folder", dir.string(), errno);
}

namespace {

/// Create the missing folders of `dir`, shallowest first; append each one created to `created`.
void CreateMissingFolders(const std::filesystem::path& dir,
                          std::vector<std::filesystem::path>* created) {
  std::vector<std::filesystem::path> missing;
  struct stat st {};
  for (std::filesystem::path p = dir; !p.empty() && ::stat(p.c_str(), &st) != 0;
       p = p.parent_path()) {
    if (errno != ENOENT) break;  // mkdir below names the problem
    missing.push_back(p);
    if (p.parent_path() == p) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0777) == 0) {
      if (created != nullptr) created->push_back(*it);
    } else if (errno != EEXIST) {
      ThrowIoError("cannot create output folder", it->string(), errno);
    }
  }
}

}  // namespace

void OutputFolders::Ensure(const std::filesystem::path& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  CreateMissingFolders(dir, &created_);
}

void OutputFolders::Keep() {
  std::lock_guard<std::mutex> lock(mu_);
  kept_ = true;
}

void OutputFolders::RemoveCreated() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (kept_) return;
  // Created shallowest first: remove in reverse, so a folder's subfolders go before it. One that
  // still holds something (a temp file not yet removed) stays listed for a later call.
  std::vector<std::filesystem::path> left;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (::rmdir(it->c_str()) != 0 && errno != ENOENT) left.push_back(*it);
  }
  created_.assign(left.rbegin(), left.rend());
}

void EnsureFolder(const std::filesystem::path& dir) { CreateMissingFolders(dir, nullptr); }

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
