// Deterministic randomness derived from (seed, index). Every random draw of corpusflow is a pure
// function of a 64-bit seed and the global ordinal of the record it concerns, so results never
// depend on thread count, memory budget or the order in which workers see records. Pure functions
// and immutable objects: safe to use from any thread.
#pragma once

#include <cstdint>

namespace corpusflow {

/// Mix 64 bits into 64 bits (the SplitMix64 finaliser). A bijection with full avalanche: every
/// input bit flips each output bit with probability close to 1/2.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// A fresh seed from the operating system's entropy source (std::random_device).
uint64_t RandomSeed();

}  // namespace corpusflow
