#include "operators/megatron/file_internal.h"

#include <string>

#include "engine/error.h"

namespace corpusflow::megatron_internal {

void PReadExactly(const File& file, uint64_t offset, void* buf, size_t n) {
  const size_t got = file.PRead(offset, static_cast<char*>(buf), n);
  if (got < n) {
    throw CorruptionError(file.name() + ": unexpected end of file at offset " +
                          std::to_string(offset + got));
  }
}

}  // namespace corpusflow::megatron_internal
