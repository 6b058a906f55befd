// Exact tests of the shuffle's sizing policy (operators/shuffle/shuffle_layout.h): block and chunk
// sizes, record memory, the spill route's working set and the cap it puts on larger budgets,
// buckets for unknown, small and spilling inputs, forced values, spill files under descriptor
// limits, re-scatter fan-out.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "operators/shuffle/shuffle_layout.h"

namespace corpusflow {
namespace {

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

/// A budget, two threads, raw spill, 1024 descriptors, no input seen yet.
ShuffleLayoutInput Input(uint64_t memory) {
  ShuffleLayoutInput in;
  in.memory_bytes = memory;
  in.threads = 2;
  in.may_compress = false;
  in.descriptor_limit = 1024;
  return in;
}

/// `in` with a known input of `bytes`, sampled as records of `record_bytes` encoded bytes.
ShuffleLayoutInput Sized(ShuffleLayoutInput in, uint64_t bytes, uint64_t record_bytes = 1000) {
  in.expected_input_bytes = bytes;
  in.sample_records = 100;
  in.sample_bytes = 100 * record_bytes;
  return in;
}

TEST(ShuffleLayoutTest, BucketCountsArePowersOfTwoWithinBounds) {
  EXPECT_EQ(ShuffleBucketCountAtLeast(0), 2u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(1), 2u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(2), 2u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(3), 4u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(1024), 1024u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(1025), 2048u);
  EXPECT_EQ(ShuffleBucketCountAtLeast(kMaxShuffleBuckets - 1), kMaxShuffleBuckets);
  EXPECT_EQ(ShuffleBucketCountAtLeast(uint64_t{1} << 40), kMaxShuffleBuckets);
}

TEST(ShuffleLayoutTest, BlocksAreAThirtySecondOfTheBudgetWithinBounds) {
  EXPECT_EQ(PlanShuffleLayout(Input(0)).block_bytes, 4 * kKiB);
  EXPECT_EQ(PlanShuffleLayout(Input(64 * kKiB)).block_bytes, 4 * kKiB);
  EXPECT_EQ(PlanShuffleLayout(Input(1 * kMiB)).block_bytes, 32 * kKiB);
  EXPECT_EQ(PlanShuffleLayout(Input(32 * kMiB)).block_bytes, 1 * kMiB);
  EXPECT_EQ(PlanShuffleLayout(Input(4 * kGiB)).block_bytes, 1 * kMiB);
  EXPECT_EQ(PlanShuffleLayout(Input(1024 * kGiB)).block_bytes, 1 * kMiB);
  ShuffleLayoutInput forced = Input(16 * kGiB);
  forced.forced_block_bytes = 300;
  EXPECT_EQ(PlanShuffleLayout(forced).block_bytes, 300u);
}

TEST(ShuffleLayoutTest, RecordMemoryLeavesCompressionScratchPerThread) {
  // Raw: two threads x two blocks of 1 MiB.
  EXPECT_EQ(PlanShuffleLayout(Input(256 * kMiB)).record_memory, 256 * kMiB - 4 * kMiB);
  // Compressed: plus a 1 MiB zstd context per thread.
  ShuffleLayoutInput zstd = Input(256 * kMiB);
  zstd.may_compress = true;
  EXPECT_EQ(PlanShuffleLayout(zstd).record_memory, 256 * kMiB - 6 * kMiB);
  zstd.threads = 8;
  EXPECT_EQ(PlanShuffleLayout(zstd).record_memory, 256 * kMiB - 24 * kMiB);
  // The scratch takes at most a quarter of the budget.
  zstd.memory_bytes = 8 * kMiB;
  EXPECT_EQ(PlanShuffleLayout(zstd).record_memory, 6 * kMiB);
  // Never zero.
  EXPECT_EQ(PlanShuffleLayout(Input(0)).record_memory, 1u);
  EXPECT_EQ(PlanShuffleLayout(Input(1)).record_memory, 1u);
  // Threads of 0 count as one.
  ShuffleLayoutInput none = Input(256 * kMiB);
  none.threads = 0;
  EXPECT_EQ(PlanShuffleLayout(none).record_memory, 256 * kMiB - 2 * kMiB);
}

TEST(ShuffleLayoutTest, UnknownInputSizeKeepsEachBucketsShareOfASpillLarge) {
  // record memory / 256 KiB, rounded down to a power of two, within [2, 1024]; the record memory
  // is at most 256 MiB.
  const ShuffleLayout large = PlanShuffleLayout(Input(4 * kGiB));
  EXPECT_EQ(large.record_memory, 256 * kMiB);
  EXPECT_EQ(large.buckets, 1024u);
  EXPECT_EQ(PlanShuffleLayout(Input(1024 * kGiB)), large);
  const ShuffleLayout l = PlanShuffleLayout(Input(256 * kMiB));
  EXPECT_EQ(l.record_memory, 252 * kMiB);
  EXPECT_EQ(l.buckets, 512u);  // 1008 -> 512
  EXPECT_FALSE(l.in_memory);
  EXPECT_EQ(PlanShuffleLayout(Input(64 * kMiB)).buckets, 128u);  // 60 MiB / 256 KiB = 240
  EXPECT_EQ(PlanShuffleLayout(Input(1 * kMiB)).buckets, 2u);
  EXPECT_EQ(PlanShuffleLayout(Input(4000)).buckets, 2u);
  // A known size without a sample, or a sample without a size, is still unknown.
  ShuffleLayoutInput size_only = Input(64 * kMiB);
  size_only.expected_input_bytes = kGiB;
  EXPECT_EQ(PlanShuffleLayout(size_only).buckets, 128u);
  ShuffleLayoutInput sample_only = Sized(Input(64 * kMiB), 0);
  EXPECT_EQ(PlanShuffleLayout(sample_only).buckets, 128u);
}

TEST(ShuffleLayoutTest, TheSpillRoutesWorkingSetGrowsWithTheSquareRootOfTheInput) {
  // At least 64 MiB.
  EXPECT_EQ(SpillWorkingSet(0, 1), 64 * kMiB);
  EXPECT_EQ(SpillWorkingSet(1 * kGiB, 1), 64 * kMiB);
  EXPECT_EQ(SpillWorkingSet(1 * kGiB, 2), 64 * kMiB);
  // 2.2 GB, one writer: 128 buckets of at most 40% of 64 MiB (2.2e9 / 26.8e6 = 82 < 128) with
  // 128 open chunks of 64 KiB (an eighth of 64 MiB).
  EXPECT_EQ(SpillWorkingSet(2'200'000'000, 1), 64 * kMiB);
  // Two writers double the open chunks: 64 buckets of 2.2e9 / 63 / 0.4 = 87.3 MB each.
  EXPECT_NEAR(static_cast<double>(SpillWorkingSet(2'200'000'000, 2)), 2.2e9 / 63 / 0.4, 1);
  // 100 times the input, 10 times the working set, give or take the rounding of K.
  const uint64_t big = SpillWorkingSet(220'000'000'000, 2);
  EXPECT_GT(big, 7 * SpillWorkingSet(2'200'000'000, 2));
  EXPECT_LT(big, 14 * SpillWorkingSet(2'200'000'000, 2));
  // Whatever the input, the layout of the working set needs no re-scatter and keeps open chunks
  // of 64 KiB or more.
  for (uint64_t need : {uint64_t{100} << 20, 3 * kGiB, 50 * kGiB, 2000 * kGiB}) {
    for (uint64_t writers : {1u, 2u, 8u}) {
      ShuffleLayoutInput in = Sized(Input(4096 * kGiB), need * 1000 / 1024);
      in.writers = writers;
      const ShuffleLayout l = PlanShuffleLayout(in);
      SCOPED_TRACE("need " + std::to_string(need) + " writers " + std::to_string(writers));
      EXPECT_NEAR(static_cast<double>(l.record_memory),
                  static_cast<double>(SpillWorkingSet(need, writers)), 2);
      EXPECT_FALSE(l.in_memory);
      EXPECT_LE(static_cast<double>(need) / l.buckets, 0.4 * static_cast<double>(l.record_memory));
      EXPECT_GE(l.chunk_bytes, std::min<uint64_t>(64 * kKiB, l.block_bytes));
    }
  }
}

TEST(ShuffleLayoutTest, ABudgetBeyondTheWorkingSetChangesNothing) {
  // More memory never gives a layout that touches more memory than the spill route needs, so it
  // is never slower than a smaller budget (fresh pages cost more than spilling through the page
  // cache): from the budget that reaches the working set on, the layout is the same.
  for (uint64_t bytes : {uint64_t{1000}, 50 * kMiB, 100 * kMiB, 2 * kGiB, 26 * kGiB, 1024 * kGiB}) {
    for (uint64_t writers : {1u, 2u}) {
      for (bool compress : {false, true}) {
        ShuffleLayoutInput in = Sized(Input(0), bytes);
        in.writers = writers;
        in.may_compress = compress;
        std::vector<ShuffleLayout> layouts;
        for (uint64_t memory = 1 * kMiB; memory <= 8192 * kGiB; memory *= 2) {
          in.memory_bytes = memory;
          layouts.push_back(PlanShuffleLayout(in));
        }
        in.memory_bytes = 8192 * kGiB;
        const ShuffleLayout largest = PlanShuffleLayout(in);
        SCOPED_TRACE("bytes " + std::to_string(bytes) + " writers " + std::to_string(writers));
        for (size_t i = 1; i < layouts.size(); ++i) {
          EXPECT_GE(layouts[i].record_memory, layouts[i - 1].record_memory);
          EXPECT_LE(layouts[i].record_memory, largest.record_memory);
          if (layouts[i - 1].record_memory == largest.record_memory) {
            EXPECT_EQ(layouts[i], layouts[i - 1]);
          }
        }
        EXPECT_EQ(layouts.back(), largest);
        // The working set is reached by a budget a little above it (scratch).
        in.memory_bytes = largest.record_memory + largest.record_memory / 3 + 8 * kMiB;
        EXPECT_EQ(PlanShuffleLayout(in), largest);
      }
    }
  }
}

TEST(ShuffleLayoutTest, TheTwoGigabyteShuffleGetsOneLayoutAt256MAndAtABudgetThatFits) {
  // The case of the benchmark (bench/shuffle.sh): 2 GiB of lines of 750 bytes, the shortcut's
  // `--memory 256M` against one that fits (2832M), each less the in-flight batches.
  ShuffleLayoutInput in = Sized(Input(0), 2 * kGiB, 750);
  in.memory_bytes = 205 * kMiB;
  const ShuffleLayout small = PlanShuffleLayout(in);
  in.memory_bytes = 2265 * kMiB;
  const ShuffleLayout fits = PlanShuffleLayout(in);
  EXPECT_EQ(small, fits);
  EXPECT_FALSE(fits.in_memory);
  EXPECT_EQ(fits.record_memory, 64 * kMiB);
  EXPECT_EQ(fits.buckets, 128u);
  EXPECT_EQ(fits.chunk_bytes, 64 * kKiB);
}

TEST(ShuffleLayoutTest, SmallInputsStayInMemoryInBucketsOfAbout16MiB) {
  // Records of 1000 bytes need 1024 bytes each: 60 MB need 61.4 MB, less than 64 MiB.
  const ShuffleLayout l = PlanShuffleLayout(Sized(Input(2 * kGiB), 60'000'000));
  EXPECT_TRUE(l.in_memory);
  EXPECT_EQ(l.record_memory, 64 * kMiB);
  EXPECT_EQ(l.buckets, 4u);  // 3.7 + 1 -> 4
  // A small input still gets two buckets.
  const ShuffleLayout tiny = PlanShuffleLayout(Sized(Input(2 * kGiB), 1000));
  EXPECT_TRUE(tiny.in_memory);
  EXPECT_EQ(tiny.buckets, 2u);
  // Under a smaller budget, the budget decides.
  const ShuffleLayout under = PlanShuffleLayout(Sized(Input(48 * kMiB), 40'000'000));
  EXPECT_TRUE(under.in_memory);
  EXPECT_EQ(under.record_memory, 44 * kMiB);
  EXPECT_FALSE(PlanShuffleLayout(Sized(Input(48 * kMiB), 50'000'000)).in_memory);
  // 100 MB spill, even with gigabytes to spare: 4 buckets of at most 40% of 64 MiB.
  const ShuffleLayout spill = PlanShuffleLayout(Sized(Input(2 * kGiB), 100'000'000));
  EXPECT_FALSE(spill.in_memory);
  EXPECT_EQ(spill.record_memory, 64 * kMiB);
  EXPECT_EQ(spill.buckets, 4u);  // 102.4e6 / 26.8e6 = 3.8 + 1 -> 4
}

TEST(ShuffleLayoutTest, AnInputThatSpillsGetsBucketsOfAtMost40PercentOfTheRecordMemory) {
  // Under 48 MiB (44 MiB of records, less than the working set): 2 GiB of 1000-byte records
  // need 2.048 GiB; a bucket at most 17.6 MiB: 119.2 + 1 -> 128 buckets.
  const ShuffleLayout l = PlanShuffleLayout(Sized(Input(48 * kMiB), 2 * kGiB));
  EXPECT_EQ(l.record_memory, 44 * kMiB);
  EXPECT_FALSE(l.in_memory);
  EXPECT_EQ(l.buckets, 128u);
  EXPECT_EQ(l.chunk_bytes, 44 * kKiB);  // an eighth of the record memory over 128 chunks
  EXPECT_EQ(l.spill_files, 64u);
  // Tiny records cost more per byte: 2 GiB of 40-byte records need 3.2 GiB -> 256 buckets.
  EXPECT_EQ(PlanShuffleLayout(Sized(Input(48 * kMiB), 2 * kGiB, 40)).buckets, 256u);
  // The sample is the floor of the expected size (compressed inputs underestimate their data).
  ShuffleLayoutInput under = Sized(Input(48 * kMiB), 1);
  under.sample_records = 1'000'000;
  under.sample_bytes = 1000 * under.sample_records;
  EXPECT_EQ(PlanShuffleLayout(under).buckets, 64u);  // 1.024e9 / 18.5e6 = 55.5 + 1 -> 64
}

TEST(ShuffleLayoutTest, ForcedBucketsAreRoundedUpToAPowerOfTwo) {
  ShuffleLayoutInput in = Sized(Input(256 * kMiB), 2 * kGiB);
  in.forced_buckets = 3000;
  EXPECT_EQ(PlanShuffleLayout(in).buckets, 4096u);
  in.forced_buckets = 1;
  EXPECT_EQ(PlanShuffleLayout(in).buckets, 2u);
  in = Input(64 * kMiB);
  in.forced_buckets = 100000;
  EXPECT_EQ(PlanShuffleLayout(in).buckets, kMaxShuffleBuckets);
}

TEST(ShuffleLayoutTest, OpenChunksHoldAtMostAnEighthOfTheRecordMemory) {
  EXPECT_EQ(ScatterChunkBytes(64 * kMiB, 1 * kMiB, 4), 1 * kMiB);
  EXPECT_EQ(ScatterChunkBytes(64 * kMiB, 1 * kMiB, 64), 128 * kKiB);
  EXPECT_EQ(ScatterChunkBytes(64 * kMiB, 1 * kMiB, 1024), 8 * kKiB);
  // At least 4 KiB, whatever the count.
  EXPECT_EQ(ScatterChunkBytes(64 * kMiB, 1 * kMiB, 65536), 4 * kKiB);
  EXPECT_EQ(ScatterChunkBytes(1000, 1 * kMiB, 2), 4 * kKiB);
  // At most a block.
  EXPECT_EQ(ScatterChunkBytes(1000, 300, 2), 300u);
  EXPECT_EQ(ScatterChunkBytes(64 * kMiB, 1 * kMiB, 0), 1 * kMiB);
  ShuffleLayoutInput in = Input(64 * kMiB);
  const ShuffleLayout l = PlanShuffleLayout(in);
  EXPECT_EQ(l.chunk_bytes, ScatterChunkBytes(l.record_memory, l.block_bytes, l.buckets));
  // Each writer of pass 1 keeps a chunk open per bucket.
  in.writers = 2;
  const ShuffleLayout two = PlanShuffleLayout(in);
  EXPECT_EQ(two.chunk_bytes, ScatterChunkBytes(l.record_memory, l.block_bytes, 2 * l.buckets));
  EXPECT_EQ(two.chunk_bytes, l.chunk_bytes / 2);
}

TEST(ShuffleLayoutTest, SpillFilesAreASixteenthOfTheDescriptorsAtMost64) {
  ShuffleLayoutInput in = Input(64 * kMiB);
  in.forced_buckets = 4096;
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 64u);
  in.descriptor_limit = 24;
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 1u);
  in.descriptor_limit = 160;
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 10u);
  in.descriptor_limit = 5;  // never none
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 1u);
  in.descriptor_limit = 0;  // unknown or unlimited: 1024 assumed
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 64u);
  in.forced_spill_files = 4;
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 4u);
  // Never more files than buckets.
  in.forced_spill_files = 0;
  in.forced_buckets = 8;
  EXPECT_EQ(PlanShuffleLayout(in).spill_files, 8u);
}

TEST(ShuffleLayoutTest, RescattersAimAtBucketsOf40PercentOfTheRecordMemory) {
  EXPECT_EQ(RescatterBucketCount(100 * kMiB, 100 * kMiB, 0), 4u);  // 2.5 + 1 -> 4
  EXPECT_EQ(RescatterBucketCount(101 * kMiB, 100 * kMiB, 0), 4u);
  EXPECT_EQ(RescatterBucketCount(1 * kGiB, 100 * kMiB, 0), 32u);  // 25.6 + 1 -> 32
  EXPECT_EQ(RescatterBucketCount(uint64_t{1} << 50, 1000, 0), kMaxShuffleBuckets);
  EXPECT_EQ(RescatterBucketCount(1 * kGiB, 0, 0), kMaxShuffleBuckets);
  EXPECT_EQ(RescatterBucketCount(1 * kGiB, 100 * kMiB, 3), 4u);
  EXPECT_EQ(RescatterBucketCount(1 * kGiB, 100 * kMiB, 1), 2u);
}

}  // namespace
}  // namespace corpusflow
