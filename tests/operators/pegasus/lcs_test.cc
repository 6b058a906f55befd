// The bit-parallel LCS against the textbook table: known values, thousands of random strings
// (small and large alphabets, CJK, long runs of one character, empty strings, lengths around the
// 64-bit word and 1024-bit stripe boundaries) and sequences given in parts.
#include "operators/pegasus/lcs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace corpusflow {
namespace {

std::vector<uint32_t> Ids(const std::u32string& s) {
  return std::vector<uint32_t>(s.begin(), s.end());
}

size_t Quadratic(const std::u32string& a, const std::u32string& b) {
  return LcsLengthQuadratic(Ids(a), Ids(b));
}

TEST(LcsTest, KnownValues) {
  EXPECT_EQ(Quadratic(U"ABCBDAB", U"BDCABA"), 4u);
  EXPECT_EQ(LcsLength(std::u32string_view(U"ABCBDAB"), std::u32string_view(U"BDCABA")), 4u);
  EXPECT_EQ(LcsLength(std::u32string_view(U""), std::u32string_view(U"abc")), 0u);
  EXPECT_EQ(LcsLength(std::u32string_view(U"abc"), std::u32string_view(U"")), 0u);
  EXPECT_EQ(LcsLength(std::u32string_view(U""), std::u32string_view(U"")), 0u);
  EXPECT_EQ(LcsLength(std::u32string_view(U"abc"), std::u32string_view(U"abc")), 3u);
  EXPECT_EQ(LcsLength(std::u32string_view(U"abc"), std::u32string_view(U"xyz")), 0u);
  // The REFERENCE example, round 1: candidate i=1 against the rest.
  const std::u32string chunk0 = U"甲乙丙丁戊己庚辛壬癸。";
  const std::u32string chunk1 = U"甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥。子丑寅卯。";
  const std::u32string chunk2 = U"天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏。甲乙丙丁。";
  EXPECT_EQ(LcsLength(std::u32string_view(chunk1 + chunk2), std::u32string_view(chunk0)), 11u);
  EXPECT_EQ(LcsLength(std::u32string_view(chunk0 + chunk2), std::u32string_view(chunk1)), 13u);
  EXPECT_EQ(LcsLength(std::u32string_view(chunk0 + chunk1), std::u32string_view(chunk2)), 6u);
}

TEST(LcsTest, PatternOfExactly64And65Symbols) {
  for (const size_t n : {63u, 64u, 65u, 127u, 128u, 129u, 1023u, 1024u, 1025u, 2048u, 2049u}) {
    std::u32string a(n, U'x');
    std::u32string b(n + 7, U'x');
    EXPECT_EQ(LcsLength(std::u32string_view(a), std::u32string_view(b)), n) << n;
    b[3] = U'y';
    EXPECT_EQ(LcsLength(std::u32string_view(a), std::u32string_view(b)), n) << n;
    std::u32string c(n, U'y');
    EXPECT_EQ(LcsLength(std::u32string_view(a), std::u32string_view(c)), 0u) << n;
  }
}

std::u32string RandomString(std::mt19937_64& rng, const std::u32string& alphabet, size_t max_len) {
  std::uniform_int_distribution<size_t> length(0, max_len);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::u32string s(length(rng), U' ');
  for (char32_t& c : s) c = alphabet[pick(rng)];
  return s;
}

TEST(LcsTest, RandomStringsMatchTheQuadraticTable) {
  std::mt19937_64 rng(20240611);
  std::u32string cjk;
  for (char32_t c = 0x4E00; c < 0x4E00 + 40; ++c) cjk.push_back(c);
  const std::vector<std::u32string> alphabets = {
      U"ab", U"abcd", U"abcdefghijklmnopqrstuvwxyz0123456789 .,", cjk, U"a", U"。甲乙\n"};
  BitParallelLcs lcs;
  size_t cases = 0;
  for (int round = 0; round < 700; ++round) {
    for (const std::u32string& alphabet : alphabets) {
      const size_t max_len = round % 10 == 0 ? 400 : 150;
      const std::u32string a = RandomString(rng, alphabet, max_len);
      const std::u32string b = RandomString(rng, alphabet, max_len);
      const size_t expected = Quadratic(a, b);
      ASSERT_EQ(LcsLength(std::u32string_view(a), std::u32string_view(b)), expected)
          << "alphabet size " << alphabet.size() << ", lengths " << a.size() << " " << b.size();
      // Code points as ids directly, through one reused object.
      const uint32_t alphabet_size = *std::max_element(alphabet.begin(), alphabet.end()) + 1;
      ASSERT_EQ(lcs.Length(Ids(a), Ids(b), alphabet_size), expected);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 4200u);
}

TEST(LcsTest, LongPatternsAcrossStripes) {
  std::mt19937_64 rng(7);
  BitParallelLcs lcs;
  for (int round = 0; round < 12; ++round) {
    const std::u32string alphabet = round % 2 == 0 ? U"abc" : U"abcdefghijklmnopqrst";
    std::u32string a = RandomString(rng, alphabet, 3000);
    std::u32string b = RandomString(rng, alphabet, 3000);
    if (a.size() < 1100) a += std::u32string(1100, U'a');
    if (b.size() < 1100) b += std::u32string(1100, U'b');
    EXPECT_EQ(LcsLength(std::u32string_view(a), std::u32string_view(b)), Quadratic(a, b))
        << a.size() << " " << b.size();
  }
}

TEST(LcsTest, PartsEqualTheConcatenation) {
  std::mt19937_64 rng(99);
  BitParallelLcs lcs;
  for (int round = 0; round < 500; ++round) {
    const std::u32string a = RandomString(rng, U"abcde", 200);
    const std::u32string b = RandomString(rng, U"abcde", 200);
    const std::vector<uint32_t> ia = Ids(a), ib = Ids(b);
    // Cut each side into up to three parts (some possibly empty).
    std::uniform_int_distribution<size_t> cut_a(0, ia.size()), cut_b(0, ib.size());
    size_t x = cut_a(rng), y = cut_a(rng);
    if (x > y) std::swap(x, y);
    const size_t z = cut_b(rng);
    const std::span<const uint32_t> sa(ia), sb(ib);
    const std::span<const uint32_t> a_parts[3] = {sa.subspan(0, x), sa.subspan(x, y - x),
                                                  sa.subspan(y)};
    const std::span<const uint32_t> b_parts[2] = {sb.subspan(0, z), sb.subspan(z)};
    ASSERT_EQ(lcs.Length(SymbolParts(a_parts), SymbolParts(b_parts), 128),
              LcsLengthQuadratic(ia, ib));
  }
}

}  // namespace
}  // namespace corpusflow
