// The per-record random stream of the PEGASUS operators (`gsg`, `mlm`): a SplitMix64 sequence
// whose start is a pure function of (seed, record ordinal, operator salt), so every draw, and so
// the output, is the same for any thread count or batch size. Different salts give independent
// streams to two operators that share a seed. A value type; each worker makes its own per record.
#pragma once

#include <cstdint>

#include "engine/random.h"

namespace corpusflow {

class RecordRandom {
 public:
  RecordRandom(uint64_t seed, uint64_t record, uint64_t salt)
      : state_(Mix64(Mix64(seed ^ salt) + Mix64(record ^ 0x243f6a8885a308d3ULL))) {}

  /// The next 64 random bits.
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  /// Uniform in [0, n), unbiased (Lemire's multiply-and-reject). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    unsigned __int128 product = static_cast<unsigned __int128>(Next()) * n;
    auto low = static_cast<uint64_t>(product);
    if (low < n) {
      const uint64_t threshold = -n % n;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace corpusflow
