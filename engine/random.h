// Deterministic randomness derived from (seed, index). Every random draw of corpusflow is a pure
// function of a 64-bit seed and the global ordinal of the record it concerns, so results never
// depend on thread count, memory budget or the order in which workers see records.
// Mix64 is a pure function; a SplitMix64 is a value type owned by one thread (each worker makes
// its own, per record or per task). RandomSeed is safe from any thread.
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

/// The one random stream of corpusflow: SplitMix64 (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", 2014), a 64-bit counter advanced by the golden-ratio gamma
/// and finalised by Mix64. Every 64-bit state is a valid start, so a stream is seeded by hashing
/// (seed, record ordinal, purpose) with Mix64.
class SplitMix64 {
 public:
  static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

  explicit constexpr SplitMix64(uint64_t state) : state_(state) {}

  /// Return the next 64 random bits.
  constexpr uint64_t Next() {
    state_ += kGamma;
    return Mix64(state_);
  }
  /// Return a double uniform in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  /// Return an integer uniform in [0, n), exactly: Lemire's multiply-shift with rejection
  /// ("Fast random integer generation in an interval", 2019). The high 64 bits of Next() * n
  /// are the draw; the few products whose low 64 bits fall below 2^64 mod n are drawn again,
  /// so every result has the same number of accepted 64-bit inputs. For n a power of two it
  /// never rejects and returns the top log2(n) bits of Next(). REQUIRES: n > 0.
  constexpr uint64_t Below(uint64_t n) {
    unsigned __int128 product = static_cast<unsigned __int128>(Next()) * n;
    auto low = static_cast<uint64_t>(product);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
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

/// A fresh seed from the operating system's entropy source (std::random_device).
uint64_t RandomSeed();

}  // namespace corpusflow
