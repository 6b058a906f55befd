#include "operators/megatron/file_internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"

namespace corpusflow::megatron_internal {

void PReadExactly(int fd, const std::string& path, uint64_t offset, void* buf, size_t n) {
  char* out = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = RetryOnEintr([&] { return ::pread(fd, out, n, static_cast<off_t>(offset)); });
    if (r < 0) ThrowIoError("cannot read", path, errno);
    if (r == 0) {
      throw CorruptionError(path + ": unexpected end of file at offset " + std::to_string(offset));
    }
    out += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
}

void PWriteExactly(int fd, const std::string& path, uint64_t offset, const void* buf, size_t n) {
  const char* in = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = RetryOnEintr([&] { return ::pwrite(fd, in, n, static_cast<off_t>(offset)); });
    if (r < 0) ThrowIoError("cannot write", path, errno);
    in += r;
    offset += static_cast<uint64_t>(r);
    n -= static_cast<size_t>(r);
  }
}

uint64_t FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) ThrowIoError("cannot stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

int OpenForReading(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowIoError("cannot open", path, errno);
  return fd;
}

}  // namespace corpusflow::megatron_internal
