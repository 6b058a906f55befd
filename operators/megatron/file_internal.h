// Private to operators/megatron/: the few file helpers the dataset writer and reader
// share on top of engine/io/file.h. Stateless functions; safe from any thread on distinct files.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/io/file.h"

namespace corpusflow::megatron_internal {

/// Read exactly `n` bytes of `file` at `offset`. Throws IoError, or CorruptionError naming the
/// file and offset where it ends first.
void PReadExactly(const File& file, uint64_t offset, void* buf, size_t n);

}  // namespace corpusflow::megatron_internal
