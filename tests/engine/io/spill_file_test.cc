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
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;
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
  for (const std::string& b : blocks) {
    handles.push_back(file.Append(encoder.Encode(b), 3, static_cast<uint32_t>(handles.size())));
  }
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
    EXPECT_EQ(h.stream, 3u);
    EXPECT_EQ(h.sequence, i);
    EXPECT_EQ(h.offset, offset);
    offset += h.frame_size();
  }
  EXPECT_EQ(offset, file.size());
}

TEST(SpillFileTest, WritesTheDocumentedHeader) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "h.cfs", FileSystem::Default(), 0x1122334455667788, 9);
  EXPECT_EQ(file.run(), 0x1122334455667788u);
  EXPECT_EQ(file.number(), 9u);
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  const SpillBlockHandle h = file.Append(encoder.Encode("hello"), 0x0102030405060708, 0x0a0b0c0d);
  const std::string bytes = ReadFile(file.path());
  ASSERT_EQ(kSpillBlockHeaderBytes, 44u);
  ASSERT_EQ(bytes.size(), kSpillBlockHeaderBytes + 5);
  EXPECT_EQ(bytes.substr(0, 4), "CFS2");
  EXPECT_EQ(bytes.substr(4, 4), std::string("\x05\0\0\0", 4));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x05\0\0\0", 4));
  uint64_t checksum = 0;
  for (int i = 0; i < 8; ++i) {
    checksum |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[12 + i])) << (8 * i);
  }
  const SpillBlockId id{0x1122334455667788, 0x0102030405060708, 9, 0x0a0b0c0d};
  EXPECT_EQ(checksum, SpillBlockChecksum(5, 5, id, "hello"));
  // The identity: run, stream, file, sequence.
  EXPECT_EQ(bytes.substr(20, 8), "\x88\x77\x66\x55\x44\x33\x22\x11");
  EXPECT_EQ(bytes.substr(28, 8), "\x08\x07\x06\x05\x04\x03\x02\x01");
  EXPECT_EQ(bytes.substr(36, 4), std::string("\x09\0\0\0", 4));
  EXPECT_EQ(bytes.substr(40, 4), "\x0d\x0c\x0b\x0a");
  EXPECT_EQ(bytes.substr(44), "hello");
  EXPECT_EQ(h.raw_size, 5u);
  EXPECT_EQ(h.stream, 0x0102030405060708u);
  EXPECT_EQ(h.sequence, 0x0a0b0c0du);
  const SpillBlockHeader parsed = SpillBlockDecoder::ParseHeader(bytes.data(), "h.cfs", 0);
  EXPECT_EQ(parsed.id, id);
  EXPECT_EQ(parsed.checksum, checksum);
  // The checksum covers every identity byte.
  for (int byte = 0; byte < 24; ++byte) {
    SpillBlockId other = id;
    other.run ^= byte < 8 ? uint64_t{1} << (8 * byte) : 0;
    other.stream ^= byte >= 8 && byte < 16 ? uint64_t{1} << (8 * (byte - 8)) : 0;
    other.file ^= byte >= 16 && byte < 20 ? uint32_t{1} << (8 * (byte - 16)) : 0;
    other.sequence ^= byte >= 20 ? uint32_t{1} << (8 * (byte - 20)) : 0;
    EXPECT_NE(SpillBlockChecksum(5, 5, other, "hello"), checksum) << byte;
  }
}

TEST(SpillFileTest, NoneStoresRawBytes) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "n.cfs");
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  const std::string text = TextBlock(50000, 4);
  const SpillBlockHandle h = file.Append(encoder.Encode(text), 0, 0);
  EXPECT_EQ(h.stored_size, h.raw_size);
  EXPECT_EQ(ReadBlock(file, h), text);
}

TEST(SpillFileTest, EmptyBlockRoundTrips) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "e.cfs");
  SpillBlockEncoder encoder;
  const SpillBlockHandle h = file.Append(encoder.Encode(""), 0, 0);
  EXPECT_EQ(h.raw_size, 0u);
  EXPECT_EQ(h.frame_size(), kSpillBlockHeaderBytes);
  EXPECT_EQ(ReadBlock(file, h), "");
}

TEST(SpillFileTest, DetectsFlippedPayloadByteNamingFileAndOffset) {
  for (SpillCompression compression : {SpillCompression::kZstd, SpillCompression::kNone}) {
    ScopedTempDir dir;
    SpillFile file(dir.path() / "c.cfs");
    SpillBlockEncoder encoder(SpillOptions{compression, 1});
    const SpillBlockHandle first = file.Append(encoder.Encode(TextBlock(20000, 5)), 0, 0);
    const SpillBlockHandle second = file.Append(encoder.Encode(TextBlock(20000, 6)), 0, 1);
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
  const SpillBlockHandle h = file.Append(encoder.Encode(TextBlock(3000, 7)), 0, 0);
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

/// Copy `frame_size` bytes at `from` over the bytes at `to` in `path`.
void CopyFrame(const std::string& path, uint64_t from, uint64_t to, uint64_t frame_size) {
  std::string bytes = ReadFile(path);
  bytes.replace(to, frame_size, bytes.substr(from, frame_size));
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(SpillFileTest, DetectsABlockCopiedOverAnotherOfTheSameSize) {
  // Valid blocks with valid checksums, but not the ones the handles name: another stream's, the
  // same stream's next one. Each is an error naming the file, the block and both identities.
  for (SpillCompression compression : {SpillCompression::kZstd, SpillCompression::kNone}) {
    ScopedTempDir dir;
    SpillFile file(dir.path() / "m.cfs", FileSystem::Default(), 0xabcdef0123456789, 2);
    SpillBlockEncoder encoder(SpillOptions{compression, 1});
    // Equal sizes: the same text, with one byte changed where it is stored raw.
    std::string a = TextBlock(20000, 9), b = a, c = a;
    if (compression == SpillCompression::kNone) {
      b[100] = 'x';
      c[200] = 'y';
    }
    const SpillBlockHandle ha = file.Append(encoder.Encode(a), 5, 0);
    const SpillBlockHandle hb = file.Append(encoder.Encode(b), 7, 0);
    const SpillBlockHandle hc = file.Append(encoder.Encode(c), 7, 1);
    ASSERT_EQ(ha.stored_size, hb.stored_size);
    ASSERT_EQ(hb.stored_size, hc.stored_size);
    const std::string path = file.path().string();
    CopyFrame(path, ha.offset, hb.offset, ha.frame_size());
    EXPECT_EQ(ReadBlock(file, ha), a);
    EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadBlock(file, hb); }),
              "spill file " + path + ": block at offset " + std::to_string(hb.offset) +
                  ": it holds block 0 of stream 5 (file 2 of run abcdef0123456789), not block 0 "
                  "of stream 7 (file 2 of run abcdef0123456789) (a block copied over another, or "
                  "left by another run)");
    CopyFrame(path, hc.offset, ha.offset, ha.frame_size());
    const std::string message = ErrorMessage<CorruptionError>([&] { ReadBlock(file, ha); });
    EXPECT_NE(message.find("block at offset 0: it holds block 1 of stream 7"), std::string::npos)
        << message;
    // A sequential scan takes whatever block it finds: it belongs to this file.
    SpillBlockDecoder decoder;
    std::string raw;
    const SpillBlockHandle found = file.ReadAt(0, &raw, decoder);
    EXPECT_EQ(raw, c);
    EXPECT_EQ(found.stream, 7u);
    EXPECT_EQ(found.sequence, 1u);
  }
}

TEST(SpillFileTest, DetectsAStaleBlockOfAnotherRunOrFile) {
  ScopedTempDir dir;
  const std::string text = TextBlock(5000, 10);
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone, 0});
  SpillFile ours(dir.path() / "ours.cfs", FileSystem::Default(), 1, 0);
  const SpillBlockHandle h = ours.Append(encoder.Encode(text), 4, 0);
  const std::vector<std::pair<uint64_t, uint32_t>> others = {{2, 0}, {1, 1}};
  for (const auto& [run, number] : others) {
    // The same block, written by another run or as another file of this run, then put in place.
    const std::filesystem::path other_path =
        dir.path() / ("other-" + std::to_string(run) + "-" + std::to_string(number) + ".cfs");
    SpillFile other(other_path, FileSystem::Default(), run, number);
    other.Append(encoder.Encode(text), 4, 0);
    std::string bytes = ReadFile(other_path);
    std::fstream f(ours.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    const std::string message = ErrorMessage<CorruptionError>([&] { ReadBlock(ours, h); });
    EXPECT_NE(message.find("spill file " + ours.path().string() +
                           ": block at offset 0: it holds "
                           "block 0 of stream 4 (file " +
                           std::to_string(number) + " of run 000000000000000" +
                           std::to_string(run) + ")"),
              std::string::npos)
        << message;
    SpillBlockDecoder decoder;
    std::string raw;
    EXPECT_THROW(ours.ReadAt(0, &raw, decoder), CorruptionError);
  }
}

TEST(SpillFileTest, DetectsTruncatedFile) {
  ScopedTempDir dir;
  SpillFile file(dir.path() / "t.cfs");
  SpillBlockEncoder encoder;
  const SpillBlockHandle h = file.Append(encoder.Encode(TextBlock(3000, 8)), 0, 0);
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
    handles[i] =
        file.Append(encoder.Encode(TextBlock(1000 + i * 37, i)), i % 3, static_cast<uint32_t>(i));
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
  for (uint32_t i = 0; i < 5; ++i) {
    handles.push_back(file.Append(encoder.Encode(TextBlock(70000, i)), 0, i));
  }
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
    file.Append(encoder.Encode("abc"), 0, 0);
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
  uint32_t h_count = 0;
  for (int level : {-7, -1, 1, 3, 9}) {
    SpillBlockEncoder encoder(SpillOptions{SpillCompression::kZstd, level});
    const std::string text = TextBlock(30000, static_cast<uint64_t>(level + 100));
    const SpillBlockHandle h = file.Append(encoder.Encode(text), 0, h_count++);
    EXPECT_LT(h.stored_size, h.raw_size);
    EXPECT_EQ(ReadBlock(file, h), text);
  }
}

}  // namespace
}  // namespace corpusflow
