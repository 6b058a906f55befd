// Tests of spill files: framing, compression choice, checksums, corruption reports naming the
// file and offset, concurrent appends, hole punching and removal.
#include "engine/io/spill_file.h"

#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

std::string TextBlock(size_t bytes, uint64_t seed) {
  static const char* kWords[] = {"the ", "shuffle ", "bucket ", "語料 ", "spill ", "\n", "zstd "};
  std::mt19937_64 rng(seed);
  std::string out;
  while (out.size() < bytes) out += kWords[rng() % 7];
  out.resize(bytes);
  return out;
}

std::string RandomBytes(size_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(bytes, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::string ReadBlock(const SpillFile& file, const SpillBlockHandle& h) {
  SpillBlockDecoder decoder;
  std::string out(h.raw_size, '\0');
  file.Read(h, out.data(), decoder);
  return out;
}

TEST(SpillFileTest, RoundTripsCompressedAndIncompressibleBlocks) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "a.cfs");
  SpillBlockEncoder encoder;
  const std::vector<std::string> blocks = {TextBlock(100000, 1), RandomBytes(5000, 2),
                                           std::string(1, '\xff'), TextBlock(1 << 20, 3),
                                           std::string("\0\r\n\xff", 4)};
  std::vector<SpillBlockHandle> handles;
  for (const std::string& b : blocks) handles.push_back(file.Append(encoder.Encode(b)));
  // Text compresses (stored < raw); random bytes do not and are stored as they are.
  EXPECT_LT(handles[0].stored_size, handles[0].raw_size / 2);
  EXPECT_EQ(handles[1].stored_size, handles[1].raw_size);
  EXPECT_EQ(handles[0].offset, 0u);
  EXPECT_EQ(handles[1].offset, handles[0].frame_size());
  uint64_t total = 0;
  for (const auto& h : handles) total += h.frame_size();
  EXPECT_EQ(file.size(), total);
  EXPECT_EQ(std::filesystem::file_size(file.path()), total);
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(ReadBlock(file, handles[i]), blocks[i]);

  // A sequential scan finds the same blocks from the headers alone.
  SpillBlockDecoder decoder;
  uint64_t offset = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    std::string raw;
    const SpillBlockHandle h = file.ReadAt(offset, &raw, decoder);
    EXPECT_EQ(raw, blocks[i]);
    EXPECT_EQ(h.offset, offset);
    offset += h.frame_size();
  }
  EXPECT_EQ(offset, file.size());
}

TEST(SpillFileTest, WritesTheDocumentedHeader) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "h.cfs");
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  const SpillBlockHandle h = file.Append(encoder.Encode("hello"));
  const std::string bytes = ReadFile(file.path());
  ASSERT_EQ(bytes.size(), kSpillBlockHeaderBytes + 5);
  EXPECT_EQ(bytes.substr(0, 4), "CFSB");
  EXPECT_EQ(bytes.substr(4, 4), std::string("\x05\0\0\0", 4));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x05\0\0\0", 4));
  uint64_t checksum = 0;
  for (int i = 0; i < 8; ++i) {
    checksum |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[12 + i])) << (8 * i);
  }
  EXPECT_EQ(checksum, SpillBlockChecksum(5, 5, "hello"));
  EXPECT_EQ(bytes.substr(20), "hello");
  EXPECT_EQ(h.raw_size, 5u);
}

TEST(SpillFileTest, NoneStoresRawBytes) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "n.cfs");
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  const std::string text = TextBlock(50000, 4);
  const SpillBlockHandle h = file.Append(encoder.Encode(text));
  EXPECT_EQ(h.stored_size, h.raw_size);
  EXPECT_EQ(ReadBlock(file, h), text);
}

TEST(SpillFileTest, EmptyBlockRoundTrips) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "e.cfs");
  SpillBlockEncoder encoder;
  const SpillBlockHandle h = file.Append(encoder.Encode(""));
  EXPECT_EQ(h.raw_size, 0u);
  EXPECT_EQ(h.frame_size(), kSpillBlockHeaderBytes);
  EXPECT_EQ(ReadBlock(file, h), "");
}

TEST(SpillFileTest, DetectsFlippedPayloadByteNamingFileAndOffset) {
  for (SpillCompression compression : {SpillCompression::kZstd, SpillCompression::kNone}) {
    ScopedTempDir dir;
    SpillFile file(dir.path() / "c.cfs");
    SpillBlockEncoder encoder(SpillOptions{compression, 1});
    const SpillBlockHandle first = file.Append(encoder.Encode(TextBlock(20000, 5)));
    const SpillBlockHandle second = file.Append(encoder.Encode(TextBlock(20000, 6)));
    FlipByte(file.path().string(), second.offset + kSpillBlockHeaderBytes + second.stored_size / 2);
    EXPECT_EQ(ReadBlock(file, first), TextBlock(20000, 5));
    try {
      ReadBlock(file, second);
      FAIL() << "no error for a flipped byte";
    } catch (const CorruptionError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(file.path().string()), std::string::npos) << message;
      EXPECT_NE(message.find("offset " + std::to_string(second.offset)), std::string::npos)
          << message;
      EXPECT_NE(message.find("checksum"), std::string::npos) << message;
    }
  }
}

TEST(SpillFileTest, DetectsDamagedHeader) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "d.cfs");
  SpillBlockEncoder encoder;
  const SpillBlockHandle h = file.Append(encoder.Encode(TextBlock(3000, 7)));
  SpillBlockDecoder decoder;
  std::string raw;
  // A changed size is caught by the checksum (it covers both sizes) or the handle check.
  FlipByte(file.path().string(), 8);
  EXPECT_THROW(ReadBlock(file, h), CorruptionError);
  EXPECT_THROW(file.ReadAt(0, &raw, decoder), CorruptionError);
  FlipByte(file.path().string(), 8);
  EXPECT_EQ(ReadBlock(file, h), TextBlock(3000, 7));
  FlipByte(file.path().string(), 0);
  try {
    ReadBlock(file, h);
    FAIL() << "no error for a bad magic";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos) << e.what();
  }
  // The checksum itself damaged.
  FlipByte(file.path().string(), 0);
  FlipByte(file.path().string(), 15);
  EXPECT_THROW(ReadBlock(file, h), CorruptionError);
}

TEST(SpillFileTest, DetectsTruncatedFile) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "t.cfs");
  SpillBlockEncoder encoder;
  const SpillBlockHandle h = file.Append(encoder.Encode(TextBlock(3000, 8)));
  ASSERT_EQ(truncate(file.path().c_str(), static_cast<off_t>(h.frame_size() - 10)), 0);
  try {
    ReadBlock(file, h);
    FAIL() << "no error for a truncated block";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(SpillFileTest, ConcurrentAppendsKeepEveryBlock) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "p.cfs");
  constexpr size_t kBlocks = 400;
  std::vector<SpillBlockHandle> handles(kBlocks);
  tbb::parallel_for(size_t{0}, kBlocks, [&](size_t i) {
    SpillBlockEncoder encoder;
    handles[i] = file.Append(encoder.Encode(TextBlock(1000 + i * 37, i)));
  });
  uint64_t total = 0;
  for (size_t i = 0; i < kBlocks; ++i) {
    total += handles[i].frame_size();
    EXPECT_EQ(ReadBlock(file, handles[i]), TextBlock(1000 + i * 37, i));
  }
  EXPECT_EQ(file.size(), total);
}

TEST(SpillFileTest, ReleaseLeavesOtherBlocksIntact) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "r.cfs");
  SpillBlockEncoder encoder;
  std::vector<SpillBlockHandle> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(file.Append(encoder.Encode(TextBlock(70000, i))));
  file.Release(handles[1]);
  file.Release(handles[3]);
  EXPECT_EQ(ReadBlock(file, handles[0]), TextBlock(70000, 0));
  EXPECT_EQ(ReadBlock(file, handles[2]), TextBlock(70000, 2));
  EXPECT_EQ(ReadBlock(file, handles[4]), TextBlock(70000, 4));
}

TEST(SpillFileTest, RemovesItsFileAndRefusesToOverwrite) {
  ScopedTempDir dir;
  const auto path = dir.path() / "x.cfs";
  {
    SpillFile file(path);
    SpillBlockEncoder encoder;
    file.Append(encoder.Encode("abc"));
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_THROW(SpillFile again(path), IoError);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THROW(SpillFile missing(dir.path() / "no-such-dir" / "y.cfs"), IoError);
}

TEST(SpillFileTest, RejectsLevelsOutsideZstdRange) {
  EXPECT_THROW(SpillBlockEncoder(SpillOptions{SpillCompression::kZstd, 1000}), InvalidArgument);
  EXPECT_NO_THROW(SpillBlockEncoder(SpillOptions{SpillCompression::kZstd, -5}));
  EXPECT_EQ(ParseSpillCompression("none"), SpillCompression::kNone);
  EXPECT_EQ(ParseSpillCompression("zstd"), SpillCompression::kZstd);
  EXPECT_THROW(ParseSpillCompression("lz4"), InvalidArgument);
}

TEST(SpillFileTest, NegativeAndHighLevelsRoundTrip) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "l.cfs");
  for (int level : {-7, -1, 1, 3, 9}) {
    SpillBlockEncoder encoder(SpillOptions{SpillCompression::kZstd, level});
    const std::string text = TextBlock(30000, static_cast<uint64_t>(level + 100));
    const SpillBlockHandle h = file.Append(encoder.Encode(text));
    EXPECT_LT(h.stored_size, h.raw_size);
    EXPECT_EQ(ReadBlock(file, h), text);
  }
}

}  // namespace
}  // namespace corpusflow
