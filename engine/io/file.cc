#include "engine/io/file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/interrupt.h"

namespace corpusflow {
namespace {

/// Calls between two interrupt checks in a long loop (2 MiB of 32 KiB writes).
constexpr uint64_t kCallsPerInterruptCheck = 64;
/// Most bytes of one copy_file_range call (an interrupt is checked between calls).
constexpr uint64_t kMaxCopyCall = uint64_t{64} << 20;
/// The buffer of a copy that the kernel cannot do.
constexpr size_t kCopyBufferBytes = size_t{4} << 20;

/// How long a FIFO's open waits for the other end between two interrupt checks.
constexpr int kFifoWaitMs = 50;

/// Open the FIFO `path` as File::Open does, never blocking in open(2): a reader opens at once
/// and polls until a writer has come (Linux reports neither POLLIN nor POLLHUP on a FIFO no
/// writer has opened yet); a writer retries while open(2) says there is no reader (ENXIO).
/// Then the descriptor is made blocking again, as a plain open would have left it.
File OpenFifo(const std::string& path, int flags, const std::string& what) {
  const bool reader = (flags & O_ACCMODE) == O_RDONLY;
  for (;;) {
    CheckInterrupt();
    const int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENXIO && !reader) {
        ::poll(nullptr, 0, kFifoWaitMs);  // no reader yet
        continue;
      }
      if (errno == EINTR) continue;
      ThrowIoError(what, path, errno);
    }
    File file(fd, path);
    while (reader) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, kFifoWaitMs);
      if (ready > 0) break;
      if (ready < 0 && errno != EINTR) ThrowIoError("cannot wait for a writer of", path, errno);
      CheckInterrupt();
    }
    const int status = ::fcntl(fd, F_GETFL);
    if (status < 0 || ::fcntl(fd, F_SETFL, status & ~O_NONBLOCK) != 0) {
      ThrowIoError(what, path, errno);
    }
    return file;
  }
}

/// Whether copy_file_range failed only because it cannot copy between these files (another
/// filesystem, an old kernel, a special file): the copy goes through a buffer instead.
bool KernelCopyUnsupported(int err) {
  return err == EXDEV || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP;
}

}  // namespace

ssize_t IoCalls::Read(int fd, char* buf, size_t n) { return ::read(fd, buf, n); }

ssize_t IoCalls::PRead(int fd, char* buf, size_t n, uint64_t offset) {
  return ::pread(fd, buf, n, static_cast<off_t>(offset));
}

ssize_t IoCalls::Write(int fd, const char* data, size_t n) { return ::write(fd, data, n); }

ssize_t IoCalls::PWrite(int fd, const char* data, size_t n, uint64_t offset) {
  return ::pwrite(fd, data, n, static_cast<off_t>(offset));
}

int IoCalls::Sync(int fd) { return ::fdatasync(fd); }

ssize_t IoCalls::CopyRange(int in_fd, uint64_t in_offset, int out_fd, uint64_t out_offset,
                           size_t n) {
  auto in = static_cast<loff_t>(in_offset);
  auto out = static_cast<loff_t>(out_offset);
  return ::copy_file_range(in_fd, &in, out_fd, &out, n, 0);
}

IoCalls& IoCalls::System() {
  static IoCalls calls;
  return calls;
}

File::File(int fd, std::string name, Ownership ownership, IoCalls* calls)
    : fd_(fd), name_(std::move(name)), ownership_(ownership), calls_(calls) {}

File::~File() { Reset(); }

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      ownership_(other.ownership_),
      calls_(other.calls_),
      max_write_call_(other.max_write_call_),
      position_(other.position_),
      hash_(std::exchange(other.hash_, nullptr)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    ownership_ = other.ownership_;
    calls_ = other.calls_;
    max_write_call_ = other.max_write_call_;
    position_ = other.position_;
    hash_ = std::exchange(other.hash_, nullptr);
  }
  return *this;
}

void File::Reset() noexcept {
  if (fd_ >= 0 && ownership_ == Ownership::kOwned) ::close(fd_);
  fd_ = -1;
}

File File::Open(const std::string& path, int flags, mode_t mode, const std::string& what) {
  CheckInterrupt();
  struct stat st {};
  // O_RDWR never blocks on a FIFO; O_CREAT makes a regular file.
  if ((flags & O_CREAT) == 0 && (flags & O_ACCMODE) != O_RDWR && ::stat(path.c_str(), &st) == 0 &&
      S_ISFIFO(st.st_mode)) {
    return OpenFifo(path, flags, what);
  }
  for (;;) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0) return File(fd, path);
    if (errno != EINTR) ThrowIoError(what, path, errno);
    CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
  }
}

void File::Fail(const char* verb, uint64_t offset, int err) const {
  // EPIPE: stdout or a FIFO whose reader went away; the run ends quietly (exit 141).
  if (err == EPIPE) throw BrokenPipe(name_);
  throw IoError(std::string("cannot ") + verb + " " + name_ + " at offset " +
                std::to_string(offset) + ": " + std::strerror(err));
}

size_t File::Read(char* buf, size_t n) {
  for (;;) {
    const ssize_t r = calls_->Read(fd_, buf, n);
    if (r >= 0) {
      position_ += static_cast<uint64_t>(r);
      return static_cast<size_t>(r);
    }
    if (errno != EINTR) Fail("read", position_, errno);
    CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
  }
}

size_t File::PRead(uint64_t offset, char* buf, size_t n) const {
  size_t done = 0;
  uint64_t calls = 0;
  while (done < n) {
    const ssize_t r = calls_->PRead(fd_, buf + done, n - done, offset + done);
    if (r < 0) {
      if (errno != EINTR) Fail("read", offset + done, errno);
      CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
      continue;
    }
    if (r == 0) break;  // the end of the file
    done += static_cast<size_t>(r);
    if (++calls % kCallsPerInterruptCheck == 0) CheckInterrupt();
  }
  return done;
}

void File::Write(std::string_view data) {
  if (hash_ != nullptr) XXH3_64bits_update(hash_, data.data(), data.size());
  uint64_t calls = 0;
  while (!data.empty()) {
    const size_t n = max_write_call_ > 0 ? std::min(data.size(), max_write_call_) : data.size();
    const ssize_t w = calls_->Write(fd_, data.data(), n);
    if (w < 0) {
      if (errno != EINTR) Fail("write", position_, errno);
      CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
      continue;
    }
    // write(2) returns 0 only when it cannot make progress: report it as the full disk it is.
    if (w == 0) Fail("write", position_, ENOSPC);
    data.remove_prefix(static_cast<size_t>(w));
    position_ += static_cast<uint64_t>(w);
    if (++calls % kCallsPerInterruptCheck == 0) CheckInterrupt();
  }
}

void File::PWrite(uint64_t offset, std::string_view data) const {
  uint64_t calls = 0;
  while (!data.empty()) {
    const size_t n = max_write_call_ > 0 ? std::min(data.size(), max_write_call_) : data.size();
    const ssize_t w = calls_->PWrite(fd_, data.data(), n, offset);
    if (w < 0) {
      if (errno != EINTR) Fail("write", offset, errno);
      CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
      continue;
    }
    if (w == 0) Fail("write", offset, ENOSPC);
    data.remove_prefix(static_cast<size_t>(w));
    offset += static_cast<uint64_t>(w);
    if (++calls % kCallsPerInterruptCheck == 0) CheckInterrupt();
  }
}

void File::CopyFrom(const File& from, uint64_t from_offset, uint64_t offset, uint64_t n) const {
  const auto ended = [&](uint64_t done) {
    throw CorruptionError(from.name() + ": file ended at byte " +
                          std::to_string(from_offset + done) + " while being copied");
  };
  uint64_t done = 0;
  while (done < n) {
    CheckInterrupt();
    const size_t want = static_cast<size_t>(std::min(n - done, kMaxCopyCall));
    const ssize_t r = calls_->CopyRange(from.fd_, from_offset + done, fd_, offset + done, want);
    if (r > 0) {
      done += static_cast<uint64_t>(r);
      continue;
    }
    if (r == 0) ended(done);
    const int err = errno;
    if (err == EINTR) continue;  // CheckInterrupt() above stops on SIGINT/SIGTERM
    if (KernelCopyUnsupported(err)) break;
    throw IoError("cannot copy " + from.name() + " at offset " +
                  std::to_string(from_offset + done) + " to " + name_ + " at offset " +
                  std::to_string(offset + done) + ": " + std::strerror(err));
  }
  if (done == n) return;
  std::vector<char> buffer(static_cast<size_t>(std::min<uint64_t>(n - done, kCopyBufferBytes)));
  while (done < n) {
    CheckInterrupt();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, buffer.size()));
    const size_t got = from.PRead(from_offset + done, buffer.data(), want);
    if (got < want) ended(done + got);
    PWrite(offset + done, std::string_view(buffer.data(), want));
    done += want;
  }
}

void File::Sync() {
  while (calls_->Sync(fd_) != 0) {
    if (errno != EINTR) ThrowIoError("cannot sync", name_, errno);
    CheckInterrupt();  // EINTR: retry unless SIGINT/SIGTERM arrived
  }
}

uint64_t File::Size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) ThrowIoError("cannot stat", name_, errno);
  return static_cast<uint64_t>(st.st_size);
}

void File::Close() {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  if (ownership_ != Ownership::kOwned) return;
  // Linux releases the descriptor even when close(2) fails, so it is never retried; EINTR means
  // the data was handed over and only the wait was cut short.
  if (::close(fd) != 0 && errno != EINTR) ThrowIoError("cannot close", name_, errno);
}

}  // namespace corpusflow
