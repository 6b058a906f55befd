#include "engine/io/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {
namespace {

FileStatus StatusFrom(const struct stat& st) {
  FileStatus status;
  if (S_ISREG(st.st_mode)) {
    status.type = FileType::kRegular;
  } else if (S_ISDIR(st.st_mode)) {
    status.type = FileType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    status.type = FileType::kSymlink;
  } else {
    status.type = FileType::kOther;
  }
  status.id = FileId{st.st_dev, st.st_ino};
  status.size = static_cast<uint64_t>(st.st_size);
  return status;
}

class PosixFileSystem : public FileSystem {
 public:
  File OpenForRead(const std::string& path, const std::string& what) override {
    return File::Open(path, O_RDONLY, 0, what);
  }

  File OpenForWrite(const std::string& path) override {
    return File::Open(path, O_WRONLY | O_NOCTTY, 0, "cannot open output");
  }

  std::optional<File> CreateExclusive(const std::string& path, mode_t mode) override {
    for (;;) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd >= 0) return File(fd, path);
      if (errno == EEXIST) return std::nullopt;
      if (errno != EINTR) ThrowIoError("cannot create", path, errno);
      CheckInterrupt();
    }
  }

  void Rename(const std::string& from, const std::string& to) override {
    if (std::rename(from.c_str(), to.c_str()) != 0) {
      ThrowIoError("cannot rename " + from + " to", to, errno);
    }
  }

  bool Unlink(const std::string& path) noexcept override { return ::unlink(path.c_str()) == 0; }

  std::optional<FileStatus> Stat(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return StatusFrom(st);
    if (errno == ENOENT) return std::nullopt;
    ThrowIoError("cannot stat", path, errno);
  }

  std::optional<FileStatus> LinkStat(const std::string& path) override {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return StatusFrom(st);
    if (errno == ENOENT) return std::nullopt;
    ThrowIoError("cannot stat", path, errno);
  }
};

}  // namespace

FileSystem& FileSystem::Default() {
  static PosixFileSystem fs;
  return fs;
}

std::vector<FileId> IdentifyFiles(FileSystem& fs, const std::vector<std::string>& paths) {
  std::vector<FileId> ids;
  for (const std::string& path : paths) {
    if (path == "-") continue;
    if (std::optional<FileStatus> status = fs.Stat(path)) ids.push_back(status->id);
  }
  return ids;
}

bool RunFiles::IsInput(const FileId& id) const {
  if (inputs == nullptr) return false;
  for (const FileId& input : *inputs) {
    if (input == id) return true;
  }
  return false;
}

}  // namespace corpusflow
