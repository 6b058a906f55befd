// Tests of engine/random.h: SplitMix64 matches the published reference sequence, and Below(n) is
// exactly uniform where the multiply-shift draws it replaced are measurably biased (chi-square
// with fixed seeds at p < 1e-6).
#include "engine/random.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace corpusflow {
namespace {

/// Chi-square critical values at p = 1e-6 (upper tail), for 2 and 16 degrees of freedom.
constexpr double kChiSquare2 = 27.631;
constexpr double kChiSquare16 = 58.324;

/// Pearson's statistic of `draws` draws of `draw() % cells` against the uniform distribution.
double ChiSquare(const std::function<uint64_t()>& draw, uint64_t cells, int draws) {
  std::vector<uint64_t> counts(cells, 0);
  for (int i = 0; i < draws; ++i) ++counts[draw() % cells];
  const double expected = static_cast<double>(draws) / static_cast<double>(cells);
  double chi2 = 0;
  for (uint64_t c : counts) {
    const double d = static_cast<double>(c) - expected;
    chi2 += d * d / expected;
  }
  return chi2;
}

/// The draw `gen` used before the shared stream: the high 32 bits of Next() times n, shifted
/// down (no rejection).
uint32_t OldGenBelow(SplitMix64& random, uint32_t n) {
  return static_cast<uint32_t>(((random.Next() >> 32) * n) >> 32);
}

/// Lemire's multiply-shift without the rejection step, on all 64 bits.
uint64_t MultiplyShiftBelow(SplitMix64& random, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random.Next()) * n) >> 64);
}

TEST(SplitMix64Test, MatchesTheReferenceSequence) {
  // Vigna's splitmix64.c seeded with 1234567 (the sequence other ports test against).
  SplitMix64 random(1234567);
  EXPECT_EQ(random.Next(), 6457827717110365317ull);
  EXPECT_EQ(random.Next(), 3203168211198807973ull);
  EXPECT_EQ(random.Next(), 9817491932198370423ull);
  EXPECT_EQ(random.Next(), 4593380528125082431ull);
  EXPECT_EQ(random.Next(), 16408922859458223821ull);
}

TEST(SplitMix64Test, SameStateSameStream) {
  SplitMix64 a(99), b(99), c(100);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    EXPECT_NE(x, c.Next());
  }
}

TEST(SplitMix64Test, BelowPowerOfTwoIsTheTopBitsAndNeverRejects) {
  // So draws of 2^k from the old 32-bit multiply-shift (gen's) are unchanged.
  for (int bits : {1, 3, 17, 32, 63}) {
    SplitMix64 a(bits), b(bits);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Below(uint64_t{1} << bits), b.Next() >> (64 - bits));
  }
  SplitMix64 a(5), b(5);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.Below(8), OldGenBelow(b, 8));
    ASSERT_EQ(a.Below(1), 0u);
    b.Next();  // Below(1) draws once too
  }
}

TEST(SplitMix64Test, BelowStaysInRange) {
  SplitMix64 random(7);
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{1000003},
                     (uint64_t{1} << 63) + 1, ~uint64_t{0}}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(random.Below(n), n);
  }
}

TEST(SplitMix64Test, BelowIsUniformOverSmallRanges) {
  SplitMix64 random(2024);
  EXPECT_LT(ChiSquare([&] { return random.Below(17); }, 17, 170000), kChiSquare16);
}

// n = 3 * 2^62 (between 2^63 and 2^64): a plain multiply-shift maps 4 inputs onto every 3
// outputs, so results divisible by 3 come twice as often as the others (half of all draws
// instead of a third). Counting results modulo 3 shows it at once.
TEST(SplitMix64Test, BelowIsUnbiasedNearTwoToThe63) {
  constexpr uint64_t n = uint64_t{3} << 62;
  SplitMix64 random(11);
  EXPECT_LT(ChiSquare([&] { return random.Below(n); }, 3, 30000), kChiSquare2);

  SplitMix64 old(11);
  EXPECT_GT(ChiSquare([&] { return MultiplyShiftBelow(old, n); }, 3, 30000), kChiSquare2);
}

// The same bias in the 32-bit draw `gen` used, at n = 3 * 2^30.
TEST(SplitMix64Test, BelowIsUnbiasedWhereTheOldGenDrawWasNot) {
  constexpr uint32_t n = uint32_t{3} << 30;
  SplitMix64 random(13);
  EXPECT_LT(ChiSquare([&] { return random.Below(n); }, 3, 30000), kChiSquare2);

  SplitMix64 old(13);
  EXPECT_GT(ChiSquare([&] { return OldGenBelow(old, n); }, 3, 30000), kChiSquare2);
}

TEST(SplitMix64Test, Uniform01IsInTheUnitInterval) {
  SplitMix64 random(3);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = random.Uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // Mean of 10^5 uniforms: standard deviation 0.0009; 6 of them is p < 1e-8.
  EXPECT_NEAR(sum / 100000, 0.5, 0.0055);
}

}  // namespace
}  // namespace corpusflow
