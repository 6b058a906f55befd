// Tests of engine/coding.h: exact little-endian and varint bytes, round trips at every boundary,
// and bounds checks that reject truncated, overlong and overflowing input.
#include "engine/coding.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace corpusflow {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(CodingTest, FixedWidthIsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  PutFixed64(&s, 0x0c0b0a0908070605ull);
  EXPECT_EQ(s, Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(DecodeFixed32(s.data()), 0x04030201u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x0c0b0a0908070605ull);

  char buf[8];
  EncodeFixed32(buf, 0xfffffffeu);
  EXPECT_EQ(std::string(buf, 4), Bytes({0xfe, 0xff, 0xff, 0xff}));
  EncodeFixed64(buf, 0x8000000000000001ull);
  EXPECT_EQ(std::string(buf, 8), Bytes({1, 0, 0, 0, 0, 0, 0, 0x80}));
  EXPECT_EQ(DecodeFixed64(buf), 0x8000000000000001ull);
}

TEST(CodingTest, GetFixedChecksBounds) {
  const std::string s = Bytes({1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0});
  std::string_view in = s;
  uint32_t a = 0;
  uint64_t b = 0;
  ASSERT_TRUE(GetFixed32(&in, &a));
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(in.size(), 7u);
  EXPECT_FALSE(GetFixed64(&in, &b));  // 7 bytes left
  EXPECT_EQ(in.size(), 7u);           // unchanged
  ASSERT_TRUE(GetFixed32(&in, &a));
  EXPECT_EQ(a, 2u);
  EXPECT_FALSE(GetFixed32(&in, &a));
}

TEST(CodingTest, Fixed32ArraysRoundTrip) {
  const std::vector<int32_t> values = {
      0,         1, -1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
      0x01020304};
  std::string buf(values.size() * 4, '\0');
  EXPECT_EQ(EncodeFixed32Array(buf.data(), values.data(), values.size()), buf.data() + buf.size());
  EXPECT_EQ(buf.substr(4, 8), Bytes({1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(buf.substr(20, 4), Bytes({4, 3, 2, 1}));
  std::vector<int32_t> back(values.size());
  DecodeFixed32Array(buf.data(), values.size(), back.data());
  EXPECT_EQ(back, values);
  EXPECT_EQ(EncodeFixed32Array(buf.data(), nullptr, 0), buf.data());
}

TEST(CodingTest, VarintBytesAreLeb128) {
  std::string s;
  PutVarint64(&s, 0);
  PutVarint64(&s, 127);
  PutVarint64(&s, 128);
  PutVarint64(&s, 300);
  EXPECT_EQ(s, Bytes({0x00, 0x7f, 0x80, 0x01, 0xac, 0x02}));
  s.clear();
  PutVarint64(&s, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s, Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(CodingTest, VarintsRoundTripAtEveryLengthBoundary) {
  std::vector<uint64_t> values = {0, std::numeric_limits<uint64_t>::max()};
  for (int bits = 7; bits < 64; bits += 7) {
    values.push_back((uint64_t{1} << bits) - 1);
    values.push_back(uint64_t{1} << bits);
  }
  for (uint64_t v : values) {
    char buf[kMaxVarint64Bytes];
    char* end = EncodeVarint64(buf, v);
    ASSERT_EQ(static_cast<size_t>(end - buf), VarintLength(v)) << v;
    uint64_t back = 0;
    EXPECT_EQ(GetVarint64Ptr(buf, end, &back), end) << v;
    EXPECT_EQ(back, v);
    // One byte short is truncated.
    EXPECT_EQ(GetVarint64Ptr(buf, end - 1, &back), nullptr) << v;
    std::string_view in(buf, static_cast<size_t>(end - buf));
    ASSERT_TRUE(GetVarint64(&in, &back));
    EXPECT_TRUE(in.empty());
  }
  EXPECT_EQ(VarintLength(127), 1u);
  EXPECT_EQ(VarintLength(128), 2u);
  EXPECT_EQ(VarintLength(std::numeric_limits<uint64_t>::max()), 10u);
}

TEST(CodingTest, VarintDecoderRejectsOverlongAndOverflowingInput) {
  uint64_t v = 7;
  // Eleven bytes with continuation bits: longer than any 64-bit value.
  const std::string overlong(11, static_cast<char>(0x80));
  EXPECT_EQ(GetVarint64Ptr(overlong.data(), overlong.data() + overlong.size(), &v), nullptr);
  // Ten bytes whose last one carries more than the 64th bit.
  std::string overflow(9, static_cast<char>(0xff));
  overflow.push_back(0x02);
  EXPECT_EQ(GetVarint64Ptr(overflow.data(), overflow.data() + overflow.size(), &v), nullptr);
  std::string_view in = overflow;
  EXPECT_FALSE(GetVarint64(&in, &v));
  EXPECT_EQ(in.size(), overflow.size());  // unchanged
  EXPECT_EQ(v, 7u);
  // Empty input.
  EXPECT_EQ(GetVarint64Ptr(overflow.data(), overflow.data(), &v), nullptr);
}

TEST(CodingTest, LengthPrefixedStrings) {
  std::string s;
  PutLengthPrefixed(&s, "abc");
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, std::string(200, 'z'));
  EXPECT_EQ(s.substr(0, 5), Bytes({3, 'a', 'b', 'c', 0}));
  EXPECT_EQ(s.substr(5, 2), Bytes({0xc8, 0x01}));
  std::string_view in = s;
  std::string_view value;
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, "abc");
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, std::string(200, 'z'));
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(GetLengthPrefixed(&in, &value));

  // A length that runs past the end leaves the input as it was.
  const std::string bad = Bytes({5, 'a', 'b'});
  in = bad;
  EXPECT_FALSE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(in.size(), 3u);
}

}  // namespace
}  // namespace corpusflow
