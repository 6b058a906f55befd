// The sort keys of the global shuffle: a seeded bijection of the 64-bit record ordinals.
// Immutable and pure: safe to use from any thread.
#pragma once

#include <cstdint>

#include "engine/random.h"

namespace corpusflow {

/// The sort keys of a global shuffle: a pseudo-random permutation of the 64-bit record ordinals,
/// chosen by the seed. Key(i) is a bijection of i for a fixed seed, so keys never collide: sorting
/// records by key gives one well-defined order, and that order is a uniformly random permutation
/// of the records (up to the quality of the mixer). Seeds s and s+1 give unrelated permutations.
class ShuffleKeys {
 public:
  explicit constexpr ShuffleKeys(uint64_t seed)
      : pre_(Mix64(seed ^ 0x6a09e667f3bcc909ULL)),
        mid_(Mix64(seed + 0xbb67ae8584caa73bULL) | 1),
        post_(Mix64(~seed ^ 0x3c6ef372fe94f82bULL)) {}

  /// The key of the record with global ordinal `index`.
  constexpr uint64_t Key(uint64_t index) const {
    // Each step is invertible (xor, odd multiply, Mix64), so the composition is a bijection.
    return Mix64((Mix64(index ^ pre_) * mid_) ^ post_);
  }

 private:
  uint64_t pre_;
  uint64_t mid_;
  uint64_t post_;
};

}  // namespace corpusflow
