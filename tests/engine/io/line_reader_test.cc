// Tests of engine/line_reader: lines are split on '\n' only, byte for byte, whatever the buffer
// size and however the stream chops its reads; long lines and a missing final newline work.
#include "engine/io/line_reader.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/io/output_stream.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

/// An in-memory stream whose reads return pseudo-random short counts.
class ChoppyInput : public InputStream {
 public:
  ChoppyInput(std::string data, uint32_t seed, size_t max_read)
      : data_(std::move(data)), rng_(seed), max_read_(max_read) {}
  size_t Read(char* buf, size_t n) override {
    const size_t limit = std::min({n, data_.size() - pos_, 1 + rng_() % max_read_});
    std::copy_n(data_.data() + pos_, limit, buf);
    pos_ += limit;
    return limit;
  }
  uint64_t raw_bytes_read() const override { return pos_; }
  const std::string& name() const override { return name_; }

 private:
  std::string data_;
  std::mt19937 rng_;
  size_t max_read_;
  size_t pos_ = 0;
  std::string name_ = "memory";
};

std::vector<std::string> SplitWith(const std::string& data, size_t buffer, size_t max_read,
                                   uint32_t seed = 1) {
  LineReader reader(std::make_unique<ChoppyInput>(data, seed, max_read), buffer);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.Next(&line)) {
    lines.emplace_back(line);
    EXPECT_EQ(reader.line_number(), lines.size());
  }
  EXPECT_FALSE(reader.Next(&line)) << "the end is sticky";
  return lines;
}

/// The oracle: split on '\n'; a final piece after the last '\n' is a line when non-empty.
std::vector<std::string> Reference(const std::string& data) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (;;) {
    const size_t nl = data.find('\n', start);
    if (nl == std::string::npos) break;
    lines.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  if (start < data.size()) lines.push_back(data.substr(start));
  return lines;
}

using Lines = std::vector<std::string>;

TEST(LineReaderTest, ExactSplits) {
  EXPECT_EQ(SplitWith("", 16, 16), Lines{});
  EXPECT_EQ(SplitWith("\n", 16, 16), Lines{""});
  EXPECT_EQ(SplitWith("\n\n", 16, 16), (Lines{"", ""}));
  EXPECT_EQ(SplitWith("a", 16, 16), Lines{"a"});
  EXPECT_EQ(SplitWith("a\n", 16, 16), Lines{"a"});
  EXPECT_EQ(SplitWith("a\nb\n\nc", 16, 16), (Lines{"a", "b", "", "c"}));
  EXPECT_EQ(SplitWith("x\r\ny\r\n", 16, 16), (Lines{"x\r", "y\r"}));
  EXPECT_EQ(SplitWith("\r\r\n", 16, 16), (Lines{"\r\r"}));
}

TEST(LineReaderTest, KeepsNulAndHighBytes) {
  const std::string data("a\0b\n\xFF\xFF\n\xFE\0\n\0", 11);
  EXPECT_EQ(SplitWith(data, 4, 3), (Lines{std::string("a\0b", 3), "\xFF\xFF",
                                          std::string("\xFE\0", 2), std::string("\0", 1)}));
}

TEST(LineReaderTest, MatchesReferenceForAnyBufferAndReadSize) {
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    // Random bytes biased towards newlines, short and long lines, 0xFF and NUL.
    std::string data;
    const size_t size = rng() % 5000;
    for (size_t i = 0; i < size; ++i) {
      const uint32_t r = rng() % 100;
      data.push_back(r < 8    ? '\n'
                     : r < 10 ? '\0'
                     : r < 12 ? '\xFF'
                     : r < 14 ? '\r'
                              : static_cast<char>('a' + r % 26));
    }
    if (round % 5 == 0) data.append(std::string(3000 + rng() % 3000, 'L'));  // one long line
    if (round % 3 == 0) data.push_back('\n');
    const Lines expected = Reference(data);
    for (size_t buffer : {1, 2, 3, 7, 64, 4096}) {
      for (size_t max_read : {1, 5, 1000}) {
        ASSERT_EQ(SplitWith(data, buffer, max_read, static_cast<uint32_t>(round)), expected)
            << "round " << round << " buffer " << buffer << " max_read " << max_read;
      }
    }
  }
}

TEST(LineReaderTest, LineMuchLongerThanTheBuffer) {
  const std::string longline(8 << 20, 'x');
  const std::string data = "first\n" + longline + "\nlast";
  EXPECT_EQ(SplitWith(data, 16, 1 << 20), (Lines{"first", longline, "last"}));
  EXPECT_EQ(SplitWith(data, 1 << 20, 4096), (Lines{"first", longline, "last"}));
}

TEST(LineReaderTest, ReadsCompressedFiles) {
  testing::ScopedTempDir dir;
  std::string data;
  for (int i = 0; i < 100000; ++i) data += "line " + std::to_string(i) + "\n";
  for (const char* name : {"a.txt", "a.txt.gz", "a.txt.bz2", "a.txt.zst"}) {
    auto out = CreateOutput(dir.File(name));
    out->Write(data);
    out->Commit();
    LineReader reader(OpenInput(dir.File(name)), 4096);
    std::string_view line;
    uint64_t n = 0;
    while (reader.Next(&line)) {
      ASSERT_EQ(line, "line " + std::to_string(n)) << name;
      ++n;
    }
    EXPECT_EQ(n, 100000u) << name;
    EXPECT_EQ(reader.line_number(), 100000u);
    EXPECT_EQ(reader.input().name(), dir.File(name));
  }
}

}  // namespace
}  // namespace corpusflow
