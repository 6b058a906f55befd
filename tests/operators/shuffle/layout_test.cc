// Exact tests of the shuffle's sizing policy (operators/shuffle/shuffle_layout.h): block and chunk
// sizes, record memory, buckets for unknown, fitting and spilling inputs, forced values, spill
// files under descriptor limits, re-scatter fan-out.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

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
  // Over 8 GiB: a 8192th of the budget, so that chunks stay few mappings.
  EXPECT_EQ(PlanShuffleLayout(Input(16 * kGiB)).block_bytes, 2 * kMiB);
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
  // record memory / 256 KiB, rounded down to a power of two, within [2, 1024].
  ShuffleLayoutInput large = Input(4 * kGiB);
  EXPECT_EQ(PlanShuffleLayout(large).buckets, 1024u);
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

TEST(ShuffleLayoutTest, AnInputThatFitsGetsBucketsOfAbout16MiB) {
  // Records of 1000 bytes need 1024 bytes each: 1 GiB of input needs 1.024 GiB.
  const ShuffleLayout l = PlanShuffleLayout(Sized(Input(2 * kGiB), kGiB));
  EXPECT_TRUE(l.in_memory);
  EXPECT_EQ(l.buckets, 128u);  // 65.5 + 1 -> 128
  // 100 MB: 6.1 + 1 -> 8.
  EXPECT_EQ(PlanShuffleLayout(Sized(Input(2 * kGiB), 100'000'000)).buckets, 8u);
  // A small input still gets two buckets.
  const ShuffleLayout small = PlanShuffleLayout(Sized(Input(2 * kGiB), 1000));
  EXPECT_TRUE(small.in_memory);
  EXPECT_EQ(small.buckets, 2u);
}

TEST(ShuffleLayoutTest, AnInputThatSpillsGetsBucketsOfAtMost40PercentOfTheRecordMemory) {
  // 2 GiB of 1000-byte records need 2.048 GiB; the record memory is 252 MiB; a bucket at most
  // 100.8 MiB: 20.8 + 1 -> 32 buckets.
  const ShuffleLayout l = PlanShuffleLayout(Sized(Input(256 * kMiB), 2 * kGiB));
  EXPECT_FALSE(l.in_memory);
  EXPECT_EQ(l.buckets, 32u);
  EXPECT_EQ(l.chunk_bytes, 252 * kMiB / 256);  // an eighth of the record memory over 32 chunks
  EXPECT_EQ(l.spill_files, 32u);
  // Tiny records cost more per byte: 2 GiB of 40-byte records need 3.2 GiB -> 64 buckets.
  EXPECT_EQ(PlanShuffleLayout(Sized(Input(256 * kMiB), 2 * kGiB, 40)).buckets, 64u);
  // The sample is the floor of the expected size (compressed inputs underestimate their data).
  ShuffleLayoutInput under = Sized(Input(256 * kMiB), 1);
  under.sample_records = 1'000'000;
  under.sample_bytes = 1000 * under.sample_records;
  EXPECT_EQ(PlanShuffleLayout(under).buckets, 16u);  // 1.024e9 / 105.7e6 = 9.7 + 1 -> 16
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
  const ShuffleLayout l = PlanShuffleLayout(Input(64 * kMiB));
  EXPECT_EQ(l.chunk_bytes, ScatterChunkBytes(l.record_memory, l.block_bytes, l.buckets));
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
