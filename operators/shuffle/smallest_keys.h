// SmallestKeys: the filter behind `shuffle --head-count N`. The shuffle's output is its records in
// key order (operators/shuffle/shuffle_keys.h), so its first N records are the N with the
// smallest keys. SmallestKeys keeps the N smallest keys seen so far (8 bytes each, a max-heap):
// a record whose key is above the N-th smallest seen can never be among the first N, and is
// dropped in pass 1 before it costs memory or spill. The records kept are a superset of the first
// N (about N * (1 + ln(total / N)) of them in a random order), so the shuffle of what is kept,
// cut after N records, is byte for byte the first N records of the full shuffle.
// Thread safety: Admit may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace corpusflow {

class SmallestKeys {
 public:
  /// Memory the filter may take for `n` keys (the heap and its growth), in bytes.
  static uint64_t MemoryFor(uint64_t n) { return 16 * n; }

  explicit SmallestKeys(uint64_t n);

  /// For each key, whether it is among the `n` smallest seen so far (this batch's included):
  /// keep[i] = false only for a key that can no longer be among the `n` smallest overall.
  void Admit(std::span<const uint64_t> keys, std::vector<bool>& keep);

 private:
  const uint64_t n_;
  std::mutex mu_;
  /// A max-heap of the n smallest keys seen (fewer until n were seen).
  std::vector<uint64_t> heap_;
  /// The largest key of a full heap (UINT64_MAX until full): keys above it are dropped without
  /// taking the lock.
  std::atomic<uint64_t> ceiling_;
};

}  // namespace corpusflow
