// Private to operators/megatron/: the positioned POSIX reads and writes that the dataset writer,
// reader and merge share (full transfers, EINTR retried unless the run is interrupted, errors
// naming the file). Stateless functions; safe from any thread on distinct descriptors.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/interrupt.h"

namespace corpusflow::megatron_internal {

/// Retry a system call interrupted by a signal, unless the signal asks the run to stop.
template <typename Call>
ssize_t RetryOnEintr(Call call) {
  for (;;) {
    const ssize_t r = call();
    if (r >= 0 || errno != EINTR) return r;
    CheckInterrupt();
  }
}

/// Read exactly `n` bytes at `offset`. Throws IoError, or CorruptionError at the end of file.
void PReadExactly(int fd, const std::string& path, uint64_t offset, void* buf, size_t n);
/// Write exactly `n` bytes at `offset`. Throws IoError.
void PWriteExactly(int fd, const std::string& path, uint64_t offset, const void* buf, size_t n);
/// The size of the open file. Throws IoError.
uint64_t FileSize(int fd, const std::string& path);
/// Open `path` read-only. Throws IoError.
int OpenForReading(const std::string& path);

}  // namespace corpusflow::megatron_internal
