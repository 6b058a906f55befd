#include "engine/io/temp_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string_view>

#include "engine/error.h"
#include "engine/io/commit_journal.h"
#include "engine/units.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Whether the file open as `fd` is still the one named `path` (not unlinked, not replaced).
bool IsFileAt(int fd, const fs::path& path) {
  struct stat held {};
  struct stat named {};
  return ::fstat(fd, &held) == 0 && ::lstat(path.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

/// Create the lock file of the new run folder `dir` and lock it; its descriptor, or -1 when a
/// concurrent sweep took the lock first (it then removes `dir`: the caller takes another name).
/// On a filesystem without flock the folder stays unlocked, and no sweep can remove it either.
int CreateRunFolderLock(const fs::path& dir) {
  const fs::path lock_path = dir / kRunFolderLockName;
  const int fd =
      ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    ::rmdir(dir.c_str());
    ThrowIoError("cannot create temp folder lock", lock_path.string(), err);
  }
  const bool lost =
      ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? !IsFileAt(fd, lock_path) : errno == EWOULDBLOCK;
  if (lost) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Bytes of the regular files under `dir` (symlinks not followed).
uint64_t RegularFileBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_size);
    }
  }
  return total;
}

/// Remove the run folder `dir` if it is one of this user's whose owner is gone, after finishing
/// the commit it journaled (into `sweep`); the bytes removed, or nullopt when `dir` was left
/// alone.
std::optional<uint64_t> RemoveIfStale(const fs::path& dir, uid_t uid, StaleSweep& sweep) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid) {
    return std::nullopt;
  }
  const fs::path lock_path = dir / kRunFolderLockName;
  const int fd = ::open(lock_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // not a run folder, or one still being created
  std::optional<uint64_t> removed;
  struct stat lock_st {};
  // The lock is taken, then checked to still be the folder's: a concurrent sweep that removed
  // the folder first leaves this one holding an unlinked file.
  if (::fstat(fd, &lock_st) == 0 && S_ISREG(lock_st.st_mode) && lock_st.st_uid == uid &&
      ::flock(fd, LOCK_EX | LOCK_NB) == 0 && IsFileAt(fd, lock_path)) {
    JournalRecovery recovery = RecoverCommitJournal(dir);
    for (std::string& target : recovery.completed) sweep.completed.push_back(std::move(target));
    for (std::string& target : recovery.superseded) sweep.superseded.push_back(std::move(target));
    const uint64_t bytes = RegularFileBytes(dir);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!ec) removed = bytes;
  }
  ::close(fd);
  return removed;
}

/// One line on stderr (clearing a progress line being drawn on a terminal).
void ReportSweep(const StaleSweep& sweep, const fs::path& parent) {
  const char* clear = ::isatty(STDERR_FILENO) == 1 ? "\r\033[K" : "";
  std::fprintf(stderr,
               "%scorpusflow: removed %llu stale temp folder%s of killed runs from %s (%s)\n",
               clear, static_cast<unsigned long long>(sweep.folders), sweep.folders == 1 ? "" : "s",
               parent.c_str(), FormatBytes(static_cast<double>(sweep.bytes)).c_str());
  for (const std::string& target : sweep.completed) {
    std::fprintf(stderr, "corpusflow: finished the commit of a killed run: %s\n", target.c_str());
  }
  for (const std::string& target : sweep.superseded) {
    std::fprintf(stderr, "corpusflow: a killed run's output %s was replaced since; kept as it is\n",
                 target.c_str());
  }
}

}  // namespace

bool IsRunFolderName(const std::string& name) {
  constexpr std::string_view kPrefix = "corpusflow-";
  if (name.rfind(kPrefix, 0) != 0) return false;
  const std::string_view rest = std::string_view(name).substr(kPrefix.size());
  const size_t dash = rest.find('-');
  return dash != std::string_view::npos && AllDigits(rest.substr(0, dash)) &&
         AllDigits(rest.substr(dash + 1));
}

StaleSweep SweepStaleRunFolders(const fs::path& parent) noexcept {
  StaleSweep sweep;
  try {
    const uid_t uid = ::geteuid();
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
      if (!IsRunFolderName(it->path().filename().string())) continue;
      if (const std::optional<uint64_t> bytes = RemoveIfStale(it->path(), uid, sweep)) {
        ++sweep.folders;
        sweep.bytes += *bytes;
      }
    }
  } catch (...) {
    // Out of memory while listing: the sweep is a courtesy, the run goes on.
  }
  return sweep;
}

TempDir::TempDir(fs::path parent) : parent_(std::move(parent)) {}

TempDir::~TempDir() { Remove(); }

fs::path TempDir::DefaultParent() {
  const char* env = std::getenv("TMPDIR");
  if (env != nullptr && *env != '\0') return env;
  return "/tmp";
}

fs::path TempDir::Path() {
  std::lock_guard lock(mu_);
  if (created_) return path_;
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path candidate =
        parent_ / ("corpusflow-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000));
    if (::mkdir(candidate.c_str(), 0777) != 0) {
      if (errno == EEXIST) continue;
      ThrowIoError("cannot create temp folder in", parent_.string(), errno);
    }
    const int fd = CreateRunFolderLock(candidate);
    if (fd < 0) continue;
    path_ = candidate;
    lock_fd_ = fd;
    created_ = true;
    swept_ = SweepStaleRunFolders(parent_);
    if (swept_.folders > 0) ReportSweep(swept_, parent_);
    return path_;
  }
  throw IoError("cannot create a unique temp folder in " + parent_.string());
}

fs::path TempDir::NewFilePath(const std::string& prefix, const std::string& suffix) {
  const fs::path dir = Path();
  return dir / (prefix + "-" + std::to_string(counter_.fetch_add(1)) + suffix);
}

void TempDir::Remove() noexcept {
  std::lock_guard lock(mu_);
  if (!created_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  // The lock goes last: until the folder is gone, no sweep may take it.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
  created_ = false;
}

StaleSweep TempDir::swept() const {
  std::lock_guard lock(mu_);
  return swept_;
}

uint64_t FreeDiskBytes(const fs::path& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) ThrowIoError("cannot stat filesystem of", path, errno);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace corpusflow
