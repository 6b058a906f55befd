// Tests of the file layer's streams (engine/io/input_stream.h, output_stream.h, compression.h,
// paths.h): every codec round-trips arbitrary bytes, interoperates with the gzip, bzip2 and zstd
// command-line tools, reads concatenated streams, reports truncated and corrupt data with the file
// name, and never leaves a partial output behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/compression.h"
#include "engine/io/input_stream.h"
#include "engine/io/output_stream.h"
#include "engine/io/paths.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;
using testing::ListDir;
using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Deterministic bytes: every byte value, runs of text-like data and of noise.
std::string MakeData(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data;
  data.reserve(size);
  for (int c = 0; c < 256 && data.size() < size; ++c) data.push_back(static_cast<char>(c));
  static const std::string kWords[] = {"the ", "corpus ", "flow\n", "数据", "\xFF\xFE", "\0"};
  while (data.size() < size) {
    if (rng() % 4 == 0) {
      data.push_back(static_cast<char>(rng() & 0xFF));
    } else {
      const std::string& w = kWords[rng() % 6];
      data.append(w.empty() ? std::string(1, '\0') : w);
    }
  }
  data.resize(size);
  return data;
}

/// Write `data` through CreateOutput in pieces of varying sizes and commit.
void WriteThrough(const std::string& path, const std::string& data, OutputOptions options = {}) {
  auto out = CreateOutput(path, options);
  std::mt19937 rng(7);
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % 300000);
    out->Write(std::string_view(data).substr(pos, n));
    pos += n;
  }
  EXPECT_EQ(out->bytes_written(), data.size());
  out->Commit();
}

/// Read a whole stream with reads of `chunk` bytes.
std::string ReadAll(InputStream& in, size_t chunk) {
  std::string all;
  std::vector<char> buf(chunk);
  for (;;) {
    const size_t n = in.Read(buf.data(), buf.size());
    if (n == 0) break;
    all.append(buf.data(), n);
  }
  return all;
}

std::string ReadAll(const std::string& path, size_t chunk = 65536) {
  auto in = OpenInput(path);
  return ReadAll(*in, chunk);
}

TEST(CompressionTest, FromPathAndStrip) {
  EXPECT_EQ(CompressionFromPath("a.txt"), Compression::kNone);
  EXPECT_EQ(CompressionFromPath("a.jsonl.gz"), Compression::kGzip);
  EXPECT_EQ(CompressionFromPath("dir.bz2/a.bz2"), Compression::kBzip2);
  EXPECT_EQ(CompressionFromPath("a.zst"), Compression::kZstd);
  EXPECT_EQ(CompressionFromPath("a.zstd"), Compression::kNone);
  EXPECT_EQ(CompressionFromPath("-"), Compression::kNone);
  EXPECT_EQ(StripCompressionExtension("a.jsonl.zst"), "a.jsonl");
  EXPECT_EQ(StripCompressionExtension("a.txt.gz"), "a.txt");
  EXPECT_EQ(StripCompressionExtension("b.bz2"), "b");
  EXPECT_EQ(StripCompressionExtension("c.txt"), "c.txt");
}

TEST(CompressionTest, ParseAndName) {
  EXPECT_EQ(ParseCompression("none"), Compression::kNone);
  EXPECT_EQ(ParseCompression("gz"), Compression::kGzip);
  EXPECT_EQ(ParseCompression("bzip2"), Compression::kBzip2);
  EXPECT_EQ(ParseCompression("zst"), Compression::kZstd);
  EXPECT_THROW(ParseCompression("lzma"), InvalidArgument);
  EXPECT_EQ(CompressionName(Compression::kZstd), "zstd");
  EXPECT_EQ(CompressionName(Compression::kGzip), "gzip");
}

class CodecTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Path(const std::string& stem) const { return dir_.File(stem + GetParam()); }
  ScopedTempDir dir_;
};

std::string CodecName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param.empty() ? std::string("plain") : info.param.substr(1);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, ::testing::Values("", ".gz", ".bz2", ".zst"),
                         CodecName);

/// The compressed codecs only: a command-line tool, checksums, detectable truncation.
class CompressedCodecTest : public CodecTest {};

INSTANTIATE_TEST_SUITE_P(Compressed, CompressedCodecTest, ::testing::Values(".gz", ".bz2", ".zst"),
                         CodecName);

TEST_P(CodecTest, RoundTripsArbitraryBytesWithAnyReadSize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100000}, size_t{3} << 20}) {
    const std::string data = MakeData(size, static_cast<uint32_t>(size));
    const std::string path = Path("data");
    WriteThrough(path, data);
    EXPECT_EQ(ListDir(dir_.path()), std::vector<std::string>{"data" + GetParam()});
    for (size_t chunk : {size_t{1} << 20, size_t{4093}}) {
      auto in = OpenInput(path);
      EXPECT_EQ(ReadAll(*in, chunk), data) << "size " << size << " chunk " << chunk;
      EXPECT_EQ(in->raw_bytes_read(), std::filesystem::file_size(path));
      EXPECT_EQ(in->name(), path);
    }
  }
}

TEST_P(CodecTest, SmallReadsOfCompressedData) {
  const std::string data = MakeData(20000, 3);
  WriteThrough(Path("small"), data);
  auto in = OpenInput(Path("small"));
  EXPECT_EQ(ReadAll(*in, 1), data);
  EXPECT_EQ(in->Read(nullptr, 0), 0u);
}

TEST_P(CompressedCodecTest, ToolReadsOurOutputAndWeReadTheTools) {
  const std::string tool = GetParam() == ".gz" ? "gzip" : GetParam() == ".bz2" ? "bzip2" : "zstd";
  const std::string data = MakeData(500000, 11);
  WriteThrough(Path("ours"), data);
  const testing::CommandResult ours = RunProgram({tool, "-dc", Path("ours")});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_EQ(ours.out, data);

  WriteFile(dir_.File("plain"), data);
  const testing::CommandResult theirs = RunProgram({tool, "-c", dir_.File("plain")});
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
  WriteFile(Path("theirs"), theirs.out);
  EXPECT_EQ(ReadAll(Path("theirs")), data);
}

TEST_P(CodecTest, ReadsConcatenatedStreams) {
  const std::string a = MakeData(70000, 1), b = MakeData(5, 2), c = MakeData(123457, 3);
  WriteThrough(Path("a"), a);
  WriteThrough(Path("b"), b);
  WriteThrough(Path("c"), c);
  WriteFile(Path("abc"), ReadFile(Path("a")) + ReadFile(Path("b")) + ReadFile(Path("c")));
  EXPECT_EQ(ReadAll(Path("abc"), 1000), a + b + c);
}

TEST_P(CompressedCodecTest, TruncatedStreamIsCorruptionNamingTheFile) {
  const std::string data = MakeData(400000, 5);
  WriteThrough(Path("full"), data);
  const std::string full = ReadFile(Path("full"));
  for (size_t keep : {full.size() - 1, full.size() / 2, size_t{5}, size_t{0}}) {
    const std::string path = Path("cut" + std::to_string(keep));
    WriteFile(path, full.substr(0, keep));
    const std::string message = ErrorMessage<CorruptionError>([&] { ReadAll(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
  }
}

TEST_P(CompressedCodecTest, FlippedByteIsCorruption) {
  const std::string data = MakeData(400000, 9);
  WriteThrough(Path("good"), data);
  std::string bytes = ReadFile(Path("good"));
  for (size_t at : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 6}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    WriteFile(Path("bad"), bad);
    const std::string message = ErrorMessage<CorruptionError>([&] { ReadAll(Path("bad")); });
    EXPECT_NE(message.find(Path("bad")), std::string::npos) << message;
  }
}

TEST_P(CodecTest, OutputWithoutCommitLeavesNothing) {
  // The output lives in one hidden temp file beside it until Commit().
  const auto only_temp_of = [&](const std::string& name) {
    const std::vector<std::string> names = ListDir(dir_.path());
    return names.size() == 1 && names[0].rfind("." + name + GetParam() + ".tmp-", 0) == 0;
  };
  {
    auto out = CreateOutput(Path("partial"));
    out->Write(MakeData(3 << 20, 4));
    EXPECT_TRUE(only_temp_of("partial"));
  }
  EXPECT_TRUE(ListDir(dir_.path()).empty());
  {
    auto out = CreateOutput(Path("closed"));
    out->Write("some data\n");
    out->Close();
    EXPECT_TRUE(only_temp_of("closed"));
  }
  EXPECT_TRUE(ListDir(dir_.path()).empty());
}

TEST_P(CodecTest, CloseThenCommitRenames) {
  auto out = CreateOutput(Path("shard"));
  out->Write("one\ntwo\n");
  out->Close();
  out->Close();
  EXPECT_DEATH(out->Write("more"),
               "check failed at .*output_stream.cc:[0-9]+: !closed_: write "
               "after close to .*shard");
  out->Commit();
  EXPECT_EQ(ListDir(dir_.path()), std::vector<std::string>{"shard" + GetParam()});
  EXPECT_EQ(ReadAll(Path("shard")), "one\ntwo\n");
}

TEST_P(CodecTest, CommitReplacesAnExistingFile) {
  WriteFile(Path("out"), "old contents that are longer than the new ones");
  WriteThrough(Path("out"), "new\n");
  EXPECT_EQ(ReadAll(Path("out")), "new\n");
}

TEST_P(CodecTest, ExplicitCodecIgnoresTheExtension) {
  const Compression codec = CompressionFromPath("x" + GetParam());
  OutputOptions options;
  options.compression = codec;
  const std::string data = MakeData(50000, 12);
  WriteThrough(dir_.File("blob.dat"), data, options);
  auto in = OpenInput(dir_.File("blob.dat"), codec);
  EXPECT_EQ(ReadAll(*in, 4096), data);
}

TEST(FileIoTest, ZstdBytesAreTheSameForAnyWorkerCount) {
  ScopedTempDir dir;
  const std::string data = MakeData(12 << 20, 21);
  std::vector<std::string> outputs;
  for (int threads : {1, 2, 3}) {
    OutputOptions options;
    options.threads = threads;
    const std::string path = dir.File("t" + std::to_string(threads) + ".zst");
    WriteThrough(path, data, options);
    outputs.push_back(ReadFile(path));
    EXPECT_EQ(ReadAll(path), data);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
}

TEST(FileIoTest, LevelsChangeTheOutputAndAreChecked) {
  ScopedTempDir dir;
  const std::string data = MakeData(1 << 20, 8);
  OutputOptions fast, strong;
  fast.level = 1;
  strong.level = 19;
  WriteThrough(dir.File("fast.zst"), data, fast);
  WriteThrough(dir.File("strong.zst"), data, strong);
  EXPECT_LT(std::filesystem::file_size(dir.File("strong.zst")),
            std::filesystem::file_size(dir.File("fast.zst")));
  EXPECT_EQ(ReadAll(dir.File("strong.zst")), data);
  OutputOptions bad;
  bad.level = 10;
  EXPECT_THROW(CreateOutput(dir.File("x.gz"), bad), InvalidArgument);
  bad.level = 23;
  EXPECT_THROW(CreateOutput(dir.File("x.zst"), bad), InvalidArgument);
  EXPECT_TRUE(ListDir(dir.path()).size() == 2);
}

TEST(FileIoTest, EmptyCompressedFilesAreCorrupt) {
  ScopedTempDir dir;
  for (const char* name : {"e.gz", "e.bz2", "e.zst"}) {
    WriteFile(dir.File(name), "");
    EXPECT_THROW(ReadAll(dir.File(name)), CorruptionError) << name;
  }
  WriteFile(dir.File("e.txt"), "");
  EXPECT_EQ(ReadAll(dir.File("e.txt")), "");
}

/// `bytes` with the little-endian u32 at `at` increased by `delta`.
std::string AddToU32(std::string bytes, size_t at, uint32_t delta) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  v += delta;
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
  return bytes;
}

TEST(FileIoTest, GzipIsizeMismatchIsCorruptionNamingTheFile) {
  // A member whose ISIZE trailer (its decoded length modulo 2^32) is wrong but whose CRC-32 is
  // right: gzip -t reports "length error"; it used to be read as if nothing were wrong.
  ScopedTempDir dir;
  const std::string a = MakeData(70000, 31), b = MakeData(4097, 32);
  WriteThrough(dir.File("a.gz"), a);
  WriteThrough(dir.File("b.gz"), b);
  const std::string ga = ReadFile(dir.File("a.gz")), gb = ReadFile(dir.File("b.gz"));
  ASSERT_EQ(ReadAll(dir.File("a.gz")), a);

  const std::string one = dir.File("one.gz");
  WriteFile(one, AddToU32(ga, ga.size() - 4, 1));
  EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadAll(one); }),
            "corrupt gzip data in " + one + " at compressed byte " + std::to_string(ga.size()) +
                ": length mismatch: the member's ISIZE trailer says 70001 bytes, it decodes to "
                "70000 (modulo 2^32)");
  const testing::CommandResult tool = RunProgram({"gzip", "-t", one});
  EXPECT_NE(tool.exit_code, 0);

  // Every member of a concatenated stream is checked: the first of two, then the second.
  const std::string first = dir.File("first.gz");
  WriteFile(first, AddToU32(ga, ga.size() - 4, 0xffffffffu) + gb);
  EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadAll(first, 1000); }),
            "corrupt gzip data in " + first + " at compressed byte " + std::to_string(ga.size()) +
                ": length mismatch: the member's ISIZE trailer says 69999 bytes, it decodes to "
                "70000 (modulo 2^32)");
  const std::string second = dir.File("second.gz");
  WriteFile(second, ga + AddToU32(gb, gb.size() - 4, 1u << 31));
  EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadAll(second, 1000); }),
            "corrupt gzip data in " + second + " at compressed byte " +
                std::to_string(ga.size() + gb.size()) +
                ": length mismatch: the member's ISIZE trailer says 2147487745 bytes, it decodes "
                "to 4097 (modulo 2^32)");
  // Both right: read whole.
  WriteFile(dir.File("both.gz"), ga + gb);
  EXPECT_EQ(ReadAll(dir.File("both.gz"), 1000), a + b);
}

TEST(FileIoTest, GzipCrcAndTrailingGarbageAreCorruption) {
  ScopedTempDir dir;
  const std::string data = MakeData(20000, 33);
  WriteThrough(dir.File("g.gz"), data);
  const std::string g = ReadFile(dir.File("g.gz"));
  const std::string crc = dir.File("crc.gz");
  WriteFile(crc, AddToU32(g, g.size() - 8, 1));
  EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadAll(crc); }),
            "corrupt gzip data in " + crc + " at compressed byte " + std::to_string(g.size() - 4) +
                ": CRC mismatch");
  const std::string garbage = dir.File("garbage.gz");
  WriteFile(garbage, g + "not gzip");
  EXPECT_EQ(ErrorMessage<CorruptionError>([&] { ReadAll(garbage); }),
            "corrupt gzip data in " + garbage + " at compressed byte " +
                std::to_string(g.size() + 2) + ": bad gzip header (incorrect header check)");
}

TEST(FileIoTest, ZstdCorruptionNamesTheOffset) {
  ScopedTempDir dir;
  WriteFile(dir.File("junk.zst"), std::string(100, 'x'));
  const std::string message = ErrorMessage<CorruptionError>([&] { ReadAll(dir.File("junk.zst")); });
  EXPECT_NE(message.find("corrupt zstd data in " + dir.File("junk.zst") + " at compressed byte"),
            std::string::npos)
      << message;
}

TEST(FileIoDeathTest, AnUnknownCodecIsABug) {
  ScopedTempDir dir;
  const Compression unknown = static_cast<Compression>(99);
  EXPECT_DEATH(OpenInput(dir.File("in.txt"), unknown),
               "check failed at .*input_stream.cc:[0-9]+: .*unknown compression 99");
  OutputOptions options;
  options.compression = unknown;
  EXPECT_DEATH(CreateOutput(dir.File("out.txt"), options),
               "check failed at .*output_stream.cc:[0-9]+: .*unknown compression 99");
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(FileIoTest, MissingInputAndDirectoriesAreIoErrors) {
  ScopedTempDir dir;
  std::string message = ErrorMessage<IoError>([&] { OpenInput(dir.File("nope.txt")); });
  EXPECT_NE(message.find(dir.File("nope.txt")), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  EXPECT_THROW(OpenInput(dir.path().string()), IoError);
  EXPECT_THROW(CheckInputReadable(dir.File("nope.txt")), IoError);
  EXPECT_THROW(CheckInputReadable(dir.path().string()), IoError);
  WriteFile(dir.File("ok.txt"), "x");
  EXPECT_NO_THROW(CheckInputReadable(dir.File("ok.txt")));
  EXPECT_NO_THROW(CheckInputReadable("-"));
}

TEST(FileIoTest, OutputChecks) {
  ScopedTempDir dir;
  EXPECT_NO_THROW(CheckOutputWritable(dir.File("new.txt")));
  EXPECT_NO_THROW(CheckOutputWritable("-"));
  EXPECT_THROW(CheckOutputWritable(dir.path().string()), IoError);
  // A missing folder is fine when its nearest existing ancestor is a writable folder: the
  // output creates it.
  EXPECT_NO_THROW(CheckOutputWritable(dir.File("missing/deeper/out.txt")));
  EXPECT_TRUE(ListDir(dir.path()).empty());
  WriteFile(dir.File("file"), "x");
  EXPECT_EQ(ErrorMessage<IoError>([&] { CheckOutputWritable(dir.File("file/out.txt")); }),
            "cannot write output " + dir.File("file/out.txt") + ": " + dir.File("file") +
                " is not a folder");
  EXPECT_EQ(ErrorMessage<IoError>([&] { CheckOutputWritable(dir.File("file/sub/out.txt")); }),
            "cannot write output " + dir.File("file/sub/out.txt") + ": " + dir.File("file") +
                " is not a folder");
  EXPECT_THROW(CreateOutput(dir.File("file/sub/out.txt")), IoError);
  {
    std::unique_ptr<OutputStream> out = CreateOutput(dir.File("missing/deeper/out.txt"));
    out->Write("x\n");
    out->Commit();
  }
  EXPECT_EQ(ReadFile(dir.File("missing/deeper/out.txt")), "x\n");
}

// The folders a run created go again when it fails (only the empty ones), and stay when it
// succeeded.
TEST(FileIoTest, OutputFoldersOfAFailedRunAreRemoved) {
  ScopedTempDir dir;
  std::filesystem::create_directory(dir.path() / "old");
  OutputFolders failed;
  failed.Ensure(dir.path() / "old/a/b");
  failed.Ensure(dir.path() / "c");
  failed.Ensure(dir.path() / "old/a/d");
  WriteFile(dir.path() / "c/someone-elses.txt", "x");
  EXPECT_EQ(ListDir(dir.path() / "old/a"), (std::vector<std::string>{"b", "d"}));
  failed.RemoveCreated();
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"c", "old"}));
  EXPECT_TRUE(ListDir(dir.path() / "old").empty());
  // What was left because it was not empty goes on a later call, once it is.
  std::filesystem::remove(dir.path() / "c/someone-elses.txt");
  failed.RemoveCreated();
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"old"});

  OutputFolders succeeded;
  succeeded.Ensure(dir.path() / "new/x");
  succeeded.Keep();
  succeeded.RemoveCreated();
  EXPECT_EQ(ListDir(dir.path() / "new"), std::vector<std::string>{"x"});
}

TEST(FileIoTest, ExpandInputPattern) {
  ScopedTempDir dir;
  for (const char* name : {"b.txt", "a.txt", "c.jsonl", "a10.txt"}) WriteFile(dir.File(name), "");
  EXPECT_EQ(ExpandInputPattern(dir.File("*.txt")),
            (std::vector<std::string>{dir.File("a.txt"), dir.File("a10.txt"), dir.File("b.txt")}));
  EXPECT_EQ(ExpandInputPattern(dir.File("?.txt")),
            (std::vector<std::string>{dir.File("a.txt"), dir.File("b.txt")}));
  EXPECT_EQ(ExpandInputPattern(dir.File("[bc].*")),
            (std::vector<std::string>{dir.File("b.txt"), dir.File("c.jsonl")}));
  EXPECT_THROW(ExpandInputPattern(dir.File("*.zst")), InvalidArgument);
  // Plain names are returned as they are, existing or not (Validate reports missing ones).
  EXPECT_EQ(ExpandInputPattern(dir.File("zzz.txt")), std::vector<std::string>{dir.File("zzz.txt")});
  EXPECT_EQ(ExpandInputPattern("-"), std::vector<std::string>{"-"});
  WriteFile(dir.File("star*.txt"), "");
  EXPECT_EQ(ExpandInputPattern(dir.File("star*.txt")),
            std::vector<std::string>{dir.File("star*.txt")});
}

/// Redirects stdout to /dev/full for the lifetime of the object.
class StdoutToDevFull {
 public:
  StdoutToDevFull() : saved_(dup(STDOUT_FILENO)) {
    std::fflush(stdout);
    const int full = open("/dev/full", O_WRONLY);
    dup2(full, STDOUT_FILENO);
    close(full);
  }
  ~StdoutToDevFull() {
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
  }

 private:
  int saved_;
};

TEST(FileIoTest, FullDiskIsAnIoErrorForEveryCodec) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  for (Compression codec :
       {Compression::kNone, Compression::kGzip, Compression::kBzip2, Compression::kZstd}) {
    // A small write fails only when the stream is flushed at the end, inside the codec's close
    // path, which Boost runs with exceptions swallowed: the error must still come out.
    for (size_t size : {size_t{10}, size_t{5} << 20}) {
      StdoutToDevFull redirect;
      OutputOptions options;
      options.compression = codec;
      std::string message = ErrorMessage<IoError>([&] {
        auto out = CreateOutput("-", options);
        out->Write(MakeData(size, 1));
        out->Commit();
      });
      EXPECT_NE(message.find("No space left"), std::string::npos)
          << CompressionName(codec) << " " << size << ": " << message;
      EXPECT_NE(message.find("<stdout>"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace corpusflow
