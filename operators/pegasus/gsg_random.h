// The per-record random stream of the PEGASUS operators (`gsg`, `mlm`): the engine's SplitMix64
// started at a pure function of (seed, record ordinal, operator salt), so every draw, and so
// the output, is the same for any thread count or batch size. Different salts give independent
// streams to two operators that share a seed. A value type; each worker makes its own per record.
#pragma once

#include <cstdint>

#include "engine/random.h"

namespace corpusflow {

class RecordRandom : public SplitMix64 {
 public:
  RecordRandom(uint64_t seed, uint64_t record, uint64_t salt)
      : SplitMix64(Mix64(Mix64(seed ^ salt) + Mix64(record ^ 0x243f6a8885a308d3ULL))) {}
};

}  // namespace corpusflow
