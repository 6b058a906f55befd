// Tests of engine/line_reader: lines are split on '\n' only, byte for byte, whatever the buffer
// size and however the stream chops its reads, each at its offset in the stream; long lines and
// a missing final newline work; a line longer than the limit is reported and skipped, and an
// endless one costs no more than the limit.
#include "engine/io/line_reader.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/output_stream.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

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
  uint64_t next_offset = 0;
  while (reader.Next(&line)) {
    lines.emplace_back(line);
    EXPECT_EQ(reader.line_number(), lines.size());
    // The line's offset in the stream: where its bytes are, and right after the previous one.
    EXPECT_EQ(data.substr(reader.line_offset(), line.size()), line);
    EXPECT_EQ(reader.line_offset(), next_offset);
    next_offset = reader.line_offset() + line.size() + 1;
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
using testing::ErrorMessage;

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

// `-z` input: NUL ends a line, and '\n' is an ordinary byte of it; the reference split on NUL.
TEST(LineReaderTest, NulDelimitedLinesForAnyBufferAndReadSize) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::string data;
    const size_t size = rng() % 3000;
    for (size_t i = 0; i < size; ++i) {
      const uint32_t r = rng() % 100;
      data.push_back(r < 8 ? '\0' : r < 16 ? '\n' : static_cast<char>('a' + r % 26));
    }
    Lines expected;
    size_t start = 0;
    for (size_t nul; (nul = data.find('\0', start)) != std::string::npos; start = nul + 1) {
      expected.push_back(data.substr(start, nul - start));
    }
    if (start < data.size()) expected.push_back(data.substr(start));
    for (size_t buffer : {1, 3, 64, 4096}) {
      LineReader reader(std::make_unique<ChoppyInput>(data, round, 7), buffer,
                        std::numeric_limits<uint64_t>::max(), '\0');
      Lines lines;
      std::string_view line;
      while (reader.Next(&line)) lines.emplace_back(line);
      ASSERT_EQ(lines, expected) << "round " << round << " buffer " << buffer;
    }
  }
  // A too-long line is skipped up to its NUL, not its newline.
  LineReader reader(std::make_unique<ChoppyInput>(std::string("long\nline\0ok\0", 13), 1, 4), 2, 5,
                    '\0');
  std::string_view line;
  EXPECT_EQ(reader.Read(&line), LineReader::Status::kTooLong);
  EXPECT_EQ(reader.line_offset(), 0u);
  ASSERT_EQ(reader.Read(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "ok");
  EXPECT_EQ(reader.line_offset(), 10u);  // after the skipped line, whose bytes left the buffer
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

/// What Read() returns for each line of `data` with limit `max`: "LINE:text" or "LINE:too long".
Lines ReadLimited(const std::string& data, size_t buffer, size_t max_read, uint64_t max,
                  uint32_t seed) {
  LineReader reader(std::make_unique<ChoppyInput>(data, seed, max_read), buffer, max);
  Lines got;
  std::string_view line;
  for (;;) {
    const LineReader::Status status = reader.Read(&line);
    if (status == LineReader::Status::kEnd) break;
    got.push_back(std::to_string(reader.line_number()) + ":" +
                  (status == LineReader::Status::kLine ? std::string(line) : "too long"));
  }
  EXPECT_EQ(reader.Read(&line), LineReader::Status::kEnd) << "the end is sticky";
  return got;
}

TEST(LineReaderTest, LinesLongerThanTheLimitAreReportedAndSkipped) {
  const std::string data = "ab\n" + std::string(10, 'x') + "\ncd\n" + std::string(5, 'y') + "\n\n" +
                           std::string(40, 'z') + "\nlast" + std::string(12, 'w');
  const Lines expected = {"1:ab", "2:too long", "3:cd",      "4:yyyyy",
                          "5:",   "6:too long", "7:too long"};
  for (const size_t buffer : {1, 2, 3, 7, 64}) {
    for (const size_t max_read : {1, 3, 100}) {
      for (uint32_t seed = 1; seed <= 3; ++seed) {
        EXPECT_EQ(ReadLimited(data, buffer, max_read, 5, seed), expected)
            << "buffer " << buffer << ", reads of up to " << max_read;
      }
    }
  }
  EXPECT_EQ(ReadLimited("abcde\nabcdef", 4, 2, 5, 1), (Lines{"1:abcde", "2:too long"}));
}

TEST(LineReaderTest, NextThrowsForALineLongerThanTheLimit) {
  LineReader reader(std::make_unique<ChoppyInput>("ok\n" + std::string(2000, 'x') + "\n", 1, 64),
                    16, 1024);
  std::string_view line;
  ASSERT_TRUE(reader.Next(&line));
  EXPECT_EQ(ErrorMessage<DataError>([&] { reader.Next(&line); }),
            "memory:2: line longer than 1.00 KiB (1024 bytes, the --max-record-bytes limit)");
}

/// A stream of 'x' that never ends, counting what was read from it.
class EndlessInput : public InputStream {
 public:
  size_t Read(char* buf, size_t n) override {
    std::fill_n(buf, n, 'x');
    read_ += n;
    return n;
  }
  uint64_t raw_bytes_read() const override { return read_; }
  const std::string& name() const override { return name_; }

 private:
  uint64_t read_ = 0;
  std::string name_ = "endless";
};

// An endless line is reported once the limit is passed, having read (and held) no more than
// the limit and one read.
TEST(LineReaderTest, AnEndlessLineIsReportedAfterTheLimit) {
  constexpr uint64_t kLimit = 3 << 20;
  constexpr size_t kBuffer = 1 << 16;
  LineReader reader(std::make_unique<EndlessInput>(), kBuffer, kLimit);
  std::string_view line;
  EXPECT_EQ(reader.Read(&line), LineReader::Status::kTooLong);
  EXPECT_EQ(reader.line_number(), 1u);
  EXPECT_GT(reader.input().raw_bytes_read(), kLimit);
  EXPECT_LE(reader.input().raw_bytes_read(), kLimit + 1 + kBuffer);
}

}  // namespace
}  // namespace corpusflow
