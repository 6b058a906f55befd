// Private to operators/megatron/: the few file helpers the dataset writer, reader and merge
// share on top of engine/io/file.h. Stateless functions; safe from any thread on distinct files.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "engine/interrupt.h"
#include "engine/io/file.h"

namespace corpusflow::megatron_internal {

/// Read exactly `n` bytes of `file` at `offset`. Throws IoError, or CorruptionError naming the
/// file and offset where it ends first.
void PReadExactly(const File& file, uint64_t offset, void* buf, size_t n);

/// Retry a system call that File does not wrap (copy_file_range) while it fails with EINTR,
/// unless the signal asks the run to stop.
template <typename Call>
ssize_t RetryOnEintr(Call call) {
  for (;;) {
    const ssize_t r = call();
    if (r >= 0 || errno != EINTR) return r;
    CheckInterrupt();
  }
}

}  // namespace corpusflow::megatron_internal
