// Tests of SmallestKeys, the pass-1 filter of `shuffle --head-count N`: whatever the order and the
// threads the keys come in, every one of the N smallest is kept, a key is dropped only when N
// smaller ones were already seen, and the number kept stays near N * (1 + ln(total / N)).
#include "operators/shuffle/smallest_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>
#include <vector>

#include "engine/random.h"

namespace corpusflow {
namespace {

std::vector<uint64_t> Keys(size_t n, uint64_t seed) {
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = Mix64(seed * 1000003 + i);
  return keys;
}

TEST(SmallestKeysTest, KeepsEveryOneOfTheNSmallestAndDropsOnlyWhatCannotBe) {
  const std::vector<uint64_t> keys = Keys(100000, 1);
  std::vector<uint64_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (const uint64_t n :
       {uint64_t{1}, uint64_t{10}, uint64_t{1000}, uint64_t{100000}, uint64_t{200000}}) {
    SmallestKeys filter(n);
    std::vector<bool> keep;
    std::set<uint64_t> kept;
    std::vector<uint64_t> seen;
    for (size_t begin = 0; begin < keys.size(); begin += 977) {
      const size_t end = std::min(keys.size(), begin + 977);
      filter.Admit({keys.data() + begin, end - begin}, keep);
      ASSERT_EQ(keep.size(), end - begin);
      for (size_t i = begin; i < end; ++i) {
        seen.push_back(keys[i]);
        if (keep[i - begin]) {
          kept.insert(keys[i]);
        } else if (i % 53 == 0) {
          // Dropped (checked for a sample of them): at least n keys seen so far are smaller.
          const size_t smaller = static_cast<size_t>(
              std::count_if(seen.begin(), seen.end(), [&](uint64_t k) { return k < keys[i]; }));
          ASSERT_GE(smaller, n) << "key " << i << " of n " << n;
        }
      }
    }
    for (size_t i = 0; i < std::min<uint64_t>(n, keys.size()); ++i) {
      ASSERT_EQ(kept.count(sorted[i]), 1u) << "the " << i << "th smallest, n " << n;
    }
    // In a random order about n * (1 + ln(total / n)) keys pass; a generous bound.
    if (n < keys.size()) {
      const double expected = n * (1 + std::log(static_cast<double>(keys.size()) / n));
      EXPECT_LT(kept.size(), 3 * expected + 1000) << "n " << n;
    }
  }
}

TEST(SmallestKeysTest, ZeroKeepsNothing) {
  SmallestKeys filter(0);
  std::vector<bool> keep;
  filter.Admit(Keys(10, 2), keep);
  EXPECT_EQ(keep, std::vector<bool>(10, false));
}

TEST(SmallestKeysTest, ManyThreadsKeepTheNSmallest) {
  const std::vector<uint64_t> keys = Keys(200000, 3);
  std::vector<uint64_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  const uint64_t n = 500;
  SmallestKeys filter(n);
  std::vector<std::vector<uint64_t>> kept(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<bool> keep;
      for (size_t begin = t * 1000; begin < keys.size(); begin += 4000) {
        const size_t end = std::min(keys.size(), begin + 1000);
        filter.Admit({keys.data() + begin, end - begin}, keep);
        for (size_t i = begin; i < end; ++i) {
          if (keep[i - begin]) kept[t].push_back(keys[i]);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& part : kept) all.insert(part.begin(), part.end());
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(all.count(sorted[i]), 1u) << i;
}

}  // namespace
}  // namespace corpusflow
