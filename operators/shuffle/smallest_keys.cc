#include "operators/shuffle/smallest_keys.h"

#include <algorithm>
#include <limits>

namespace corpusflow {

SmallestKeys::SmallestKeys(uint64_t n) : n_(n), ceiling_(std::numeric_limits<uint64_t>::max()) {
  if (n_ == 0) ceiling_ = 0;  // nothing is kept (keys are never below 0: see Admit)
}

void SmallestKeys::Admit(std::span<const uint64_t> keys, std::vector<bool>& keep) {
  keep.assign(keys.size(), false);
  if (n_ == 0) return;
  uint64_t ceiling = ceiling_.load(std::memory_order_relaxed);
  // The lock is taken only when a key may enter: once the heap is full and its ceiling low, most
  // batches pass with none.
  bool any = false;
  for (const uint64_t key : keys) any |= key < ceiling;
  if (!any && ceiling != std::numeric_limits<uint64_t>::max()) return;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint64_t key = keys[i];
    if (heap_.size() < n_) {
      heap_.push_back(key);
      std::push_heap(heap_.begin(), heap_.end());
      keep[i] = true;
    } else if (key < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = key;
      std::push_heap(heap_.begin(), heap_.end());
      keep[i] = true;
    }
  }
  if (heap_.size() == n_) ceiling_.store(heap_.front(), std::memory_order_relaxed);
}

}  // namespace corpusflow
