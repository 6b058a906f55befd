// Tests of the `write` sink: exact lines, JSON that Python's json module reads back to the same
// strings, U+FFFD repair identical to Python's errors="replace", newline and UTF-8 policies,
// sharding by count and by size, identical bytes for any thread count, and no output left
// behind by a failed run.
#include "operators/io/write.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::VectorSource;
using testing::WriteFile;
using Strings = std::vector<std::string>;

/// Python with the standard json module; the Debian interpreter, as every oracle here.
constexpr const char* kPython = "/usr/bin/python3";

std::unique_ptr<Operator> MakeWrite(const Strings& args) {
  return OperatorRegistry::Global().Create("write", args);
}

/// Run `records | write ARGS`, `batch_records` records per batch.
void RunWrite(const Strings& records, const Strings& args, RunStats* stats = nullptr,
              size_t batch_records = 3, int threads = 2) {
  testing::RunChain(
      testing::Chain(std::make_unique<VectorSource>(records, batch_records), MakeWrite(args)),
      testing::TestRunOptions(threads, 64 << 20), stats);
}

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

/// Python decodes every line of a JSONL file and prints the UTF-8 hex of field `field`.
Strings PythonFieldHex(const std::string& path, const std::string& field) {
  const auto r = RunProgram(
      {kPython, "-c",
       "import json, sys\n"
       "for line in open(sys.argv[1], encoding='utf-8', newline='\\n'):\n"
       "    print(json.loads(line)[sys.argv[2]].encode('utf-8', 'surrogatepass').hex())\n",
       path, field});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Strings lines;
  size_t start = 0;
  while (start < r.out.size()) {
    const size_t nl = r.out.find('\n', start);
    lines.push_back(r.out.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

TEST(WriteTest, LinesAreExact) {
  ScopedTempDir dir;
  const Strings records = {"a", "", std::string("\xFF\0b", 3), "c\r", "last"};
  RunStats stats;
  RunWrite(records, {dir.File("out.txt")}, &stats);
  static const char kExpected[] = "a\n\n\xFF\0b\nc\r\nlast\n";
  EXPECT_EQ(ReadFile(dir.File("out.txt")), std::string(kExpected, sizeof kExpected - 1));
  EXPECT_EQ(ListDir(dir.path()), Strings{"out.txt"});
  const OperatorStats& write = *stats.operators()[1];
  EXPECT_EQ(write.counter("files"), 1u);
  EXPECT_EQ(write.counter("output_bytes"), sizeof kExpected - 1);
}

TEST(WriteTest, EmptyStreamGivesAnEmptyFile) {
  ScopedTempDir dir;
  RunWrite({}, {dir.File("out.txt")});
  RunWrite({}, {dir.File("out.jsonl.zst")});
  EXPECT_EQ(ReadFile(dir.File("out.txt")), "");
  const auto r = RunProgram({"zstd", "-dc", dir.File("out.jsonl.zst")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(WriteTest, NewlinePolicies) {
  ScopedTempDir dir;
  const Strings records = {"x", "a\nb\n", "y"};
  const std::string message =
      ErrorMessage<DataError>([&] { RunWrite(records, {dir.File("fail.txt")}); });
  EXPECT_NE(message.find("record 2"), std::string::npos) << message;
  EXPECT_NE(message.find("newline"), std::string::npos) << message;
  EXPECT_TRUE(ListDir(dir.path()).empty());

  RunStats space_stats;
  RunWrite(records, {dir.File("space.txt"), "--newline", "space"}, &space_stats);
  EXPECT_EQ(ReadFile(dir.File("space.txt")), "x\na b \ny\n");
  EXPECT_EQ(space_stats.operators()[1]->counter("newlines_replaced"), 1u);

  RunStats drop_stats;
  RunWrite(records, {dir.File("drop.txt"), "--newline", "drop"}, &drop_stats);
  EXPECT_EQ(ReadFile(dir.File("drop.txt")), "x\ny\n");
  EXPECT_EQ(drop_stats.operators()[1]->drops(),
            (std::map<std::string, uint64_t>{{"newline in record", 1}}));
}

TEST(WriteTest, JsonlOfEveryColumnType) {
  ScopedTempDir dir;
  Batch batch;
  batch.AddString("text").Append("hi");
  StringListColumn& tokens = batch.AddStringList("tokens");
  tokens.AppendItem("a");
  tokens.AppendItem("b\"c");
  tokens.EndRecord();
  batch.AddInt32List("ids", 100).Append(std::vector<int32_t>{1, -2, 2147483647, -2147483647 - 1});
  batch.GetString("text").Append("");
  batch.GetStringList("tokens").EndRecord();
  batch.GetInt32List("ids").Append(std::vector<int32_t>{});
  std::vector<Batch> batches;
  batches.push_back(std::move(batch));
  testing::RunChain(testing::Chain(std::make_unique<testing::BatchSource>(std::move(batches)),
                                   MakeWrite({dir.File("out.jsonl")})),
                    testing::TestRunOptions(1, 64 << 20));
  EXPECT_EQ(
      ReadFile(dir.File("out.jsonl")),
      "{\"text\":\"hi\",\"tokens\":[\"a\",\"b\\\"c\"],\"ids\":[1,-2,2147483647,-2147483648]}\n"
      "{\"text\":\"\",\"tokens\":[],\"ids\":[]}\n");
}

TEST(WriteTest, JsonlStringsReadBackByPythonAreTheSame) {
  ScopedTempDir dir;
  Strings records;
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  records.push_back(controls);
  records.push_back("quote \" backslash \\ slash / del \x7F");
  records.push_back("中文 ünïcödé \xF0\x9F\x98\x80 \xE2\x80\xA8 \xEF\xBF\xBF");
  records.push_back("");
  records.push_back(std::string(100000, 'x') + "\n" + std::string(10, '"'));
  RunWrite(records, {dir.File("out.jsonl"), "--field", "text"});
  Strings expected;
  for (const std::string& r : records) expected.push_back(Hex(r));
  EXPECT_EQ(PythonFieldHex(dir.File("out.jsonl"), "text"), expected);
}

TEST(WriteTest, ReplacedUtf8MatchesPython) {
  ScopedTempDir dir;
  std::mt19937 rng(2024);
  Strings records = {"\xC0\x80",
                     "\xED\xA0\x80",
                     "\xF4\x90\x80\x80",
                     "\xE2\x82",
                     "a\xE2\x82"
                     "b",
                     "\xF0\x9F\x98",
                     "\xFF\xFE",
                     "\xC2",
                     "ok \xC3\xA9"};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    const size_t n = rng() % 24;
    for (size_t j = 0; j < n; ++j) {
      const uint32_t r = rng() % 10;
      // Mostly bytes around UTF-8 boundaries, some ASCII.
      static const unsigned char kBytes[] = {0x80, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
                                             0xF0, 0xF4, 0xF5, 0xA0, 0x9F, 0x90, 0x8F};
      s.push_back(r < 3 ? static_cast<char>('a' + rng() % 26)
                        : static_cast<char>(kBytes[rng() % sizeof kBytes]));
    }
    records.push_back(s);
  }
  std::string hex_lines;
  for (const std::string& r : records) hex_lines += Hex(r) + "\n";
  WriteFile(dir.File("in.hex"), hex_lines);
  const auto oracle = RunProgram(
      {kPython, "-c",
       "import sys\n"
       "for line in open(sys.argv[1]):\n"
       "    print(bytes.fromhex(line.strip()).decode('utf-8', 'replace').encode('utf-8').hex())\n",
       dir.File("in.hex")});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;

  RunStats stats;
  RunWrite(records, {dir.File("out.jsonl"), "--invalid-utf8", "replace"}, &stats);
  std::string ours;
  for (const std::string& h : PythonFieldHex(dir.File("out.jsonl"), "text")) ours += h + "\n";
  EXPECT_EQ(ours, oracle.out);
  EXPECT_GT(stats.operators()[1]->counter("invalid_utf8_replaced"), 300u);

  // The function on its own, on the documented examples.
  std::string out;
  EXPECT_EQ(AppendUtf8Repaired("a\xE2\x82"
                               "b\xFF",
                               &out),
            2u);
  EXPECT_EQ(out,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(WriteTest, InvalidUtf8FailsOrDrops) {
  ScopedTempDir dir;
  const Strings records = {"good", "bad \xFF", "good again"};
  const std::string message =
      ErrorMessage<DataError>([&] { RunWrite(records, {dir.File("f.jsonl")}); });
  EXPECT_NE(message.find("record 2: field 'text' is not valid UTF-8"), std::string::npos)
      << message;
  EXPECT_TRUE(ListDir(dir.path()).empty());
  RunStats stats;
  RunWrite(records, {dir.File("d.jsonl"), "--invalid-utf8", "drop"}, &stats);
  EXPECT_EQ(ReadFile(dir.File("d.jsonl")), "{\"text\":\"good\"}\n{\"text\":\"good again\"}\n");
  EXPECT_EQ(stats.operators()[1]->drops(), (std::map<std::string, uint64_t>{{"invalid UTF-8", 1}}));
  // Lines are binary-safe: the same records are written as they are.
  RunWrite(records, {dir.File("l.txt")});
  EXPECT_EQ(ReadFile(dir.File("l.txt")), "good\nbad \xFF\ngood again\n");
}

TEST(WriteTest, ShardsDealRecordsRoundRobin) {
  ScopedTempDir dir;
  Strings records;
  for (int i = 0; i < 10; ++i) records.push_back("r" + std::to_string(i));
  RunStats stats;
  RunWrite(records, {dir.File("s.txt.gz"), "--shards", "3"}, &stats);
  EXPECT_EQ(ListDir(dir.path()), (Strings{"s-00000-of-00003.txt.gz", "s-00001-of-00003.txt.gz",
                                          "s-00002-of-00003.txt.gz"}));
  auto read = [&](const std::string& name) {
    return RunProgram({"gzip", "-dc", dir.File(name)}).out;
  };
  EXPECT_EQ(read("s-00000-of-00003.txt.gz"), "r0\nr3\nr6\nr9\n");
  EXPECT_EQ(read("s-00001-of-00003.txt.gz"), "r1\nr4\nr7\n");
  EXPECT_EQ(read("s-00002-of-00003.txt.gz"), "r2\nr5\nr8\n");
  EXPECT_EQ(stats.operators()[1]->counter("files"), 3u);
}

// Right after a shuffle the count is known: contiguous shards are pieces of the shuffled order,
// and concatenated they are the unsharded output. Dropped records keep their place.
TEST(WriteTest, ContiguousShardsAfterAShuffleAreThePiecesOfTheOrder) {
  ScopedTempDir dir;
  Strings records;
  for (int i = 0; i < 1000; ++i)
    records.push_back(i % 97 == 0 ? "bad\nline" : "r" + std::to_string(i));
  auto run = [&](const Strings& write_args, RunStats* stats) {
    testing::RunChain(testing::Chain(std::make_unique<VectorSource>(records, 64),
                                     OperatorRegistry::Global().Create("shuffle", {"--seed", "5"}),
                                     MakeWrite(write_args)),
                      testing::TestRunOptions(2, 64 << 20), stats);
  };
  RunStats whole, sharded;
  run({dir.File("all.txt"), "--newline", "drop"}, &whole);
  run({dir.File("s.txt"), "--shards", "4", "--shard-policy", "contiguous", "--newline", "drop"},
      &sharded);
  std::string joined;
  for (int k = 0; k < 4; ++k) {
    const std::string part = ReadFile(dir.File("s-0000" + std::to_string(k) + "-of-00004.txt"));
    // 1000 records in 4 pieces of 250, less the dropped ones of each piece.
    EXPECT_LE(std::count(part.begin(), part.end(), '\n'), 250);
    EXPECT_GE(std::count(part.begin(), part.end(), '\n'), 250 - 11);
    joined += part;
  }
  EXPECT_EQ(joined, ReadFile(dir.File("all.txt")));
  EXPECT_EQ(sharded.operators().back()->drops().at("newline in record"), 11u);
  EXPECT_EQ(whole.operators().back()->drops().at("newline in record"), 11u);
}

// Without a breaker right before it, the count is unknown: the run refuses before writing.
TEST(WriteTest, ContiguousShardsNeedAKnownCount) {
  ScopedTempDir dir;
  EXPECT_EQ(
      ErrorMessage<InvalidArgument>([&] {
        RunWrite({"a", "b"}, {dir.File("s.txt"), "--shards", "2", "--shard-policy", "contiguous"});
      }),
      "write: --shard-policy contiguous needs the number of records before the first one "
      "arrives, known right after a breaker such as shuffle; put it there or use "
      "--shard-policy round-robin");
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(WriteTest, ShardSizeStartsNewFiles) {
  ScopedTempDir dir;
  Strings records;
  for (int i = 0; i < 8; ++i) records.push_back("record-" + std::to_string(i));  // 9 bytes + \n
  RunWrite(records, {dir.File("z.txt"), "--shard-size", "25"});
  EXPECT_EQ(ListDir(dir.path()), (Strings{"z-00000.txt", "z-00001.txt", "z-00002.txt"}));
  EXPECT_EQ(ReadFile(dir.File("z-00000.txt")), "record-0\nrecord-1\nrecord-2\n");
  EXPECT_EQ(ReadFile(dir.File("z-00001.txt")), "record-3\nrecord-4\nrecord-5\n");
  EXPECT_EQ(ReadFile(dir.File("z-00002.txt")), "record-6\nrecord-7\n");
  // Exactly full: no empty trailing shard.
  ScopedTempDir exact;
  RunWrite(Strings(6, "123456789"), {exact.File("e.txt"), "--shard-size", "30"});
  EXPECT_EQ(ListDir(exact.path()), (Strings{"e-00000.txt", "e-00001.txt"}));
  // No records: one empty shard.
  ScopedTempDir empty;
  RunWrite({}, {empty.File("n.txt"), "--shard-size", "1K"});
  EXPECT_EQ(ListDir(empty.path()), Strings{"n-00000.txt"});
}

TEST(WriteTest, SameBytesForAnyThreadCountAndBatchSize) {
  ScopedTempDir dir;
  Strings records;
  std::mt19937 rng(5);
  for (int i = 0; i < 30000; ++i) {
    records.push_back(std::string(rng() % 200, static_cast<char>('a' + rng() % 26)) +
                      std::to_string(rng()));
  }
  std::string first;
  for (int threads : {1, 2, 8}) {
    for (size_t batch : {size_t{7}, size_t{5000}}) {
      const std::string path =
          dir.File("t" + std::to_string(threads) + "b" + std::to_string(batch) + ".jsonl.zst");
      RunWrite(records, {path}, nullptr, batch, threads);
      const std::string bytes = ReadFile(path);
      if (first.empty()) first = bytes;
      EXPECT_EQ(bytes, first) << threads << " threads, " << batch << " records per batch";
    }
  }
}

TEST(WriteTest, FailedRunLeavesNoOutput) {
  ScopedTempDir dir;
  Strings records(1000, "some record");
  for (const Strings& args : {Strings{dir.File("o.txt")}, Strings{dir.File("o.jsonl.gz")},
                              Strings{dir.File("o.txt"), "--shards", "4"},
                              Strings{dir.File("o.txt.zst"), "--shard-size", "100"}}) {
    EXPECT_THROW(testing::RunChain(testing::Chain(std::make_unique<VectorSource>(records, 10),
                                                  std::make_unique<testing::FailingTransform>(50),
                                                  MakeWrite(args)),
                                   testing::TestRunOptions(2, 64 << 20)),
                 DataError);
    EXPECT_TRUE(ListDir(dir.path()).empty()) << args[0];
  }
}

TEST(WriteTest, OptionAndPlanErrors) {
  ScopedTempDir dir;
  const std::string out = dir.File("o.txt");
  EXPECT_THROW(MakeWrite({}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out, "--shards", "2", "--shard-size", "1M"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({"-", "--shards", "2"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out, "--field", "a,b"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out + ".gz", "--level", "12"}), InvalidArgument);
  // A level for an uncompressed output would be silently meaningless.
  EXPECT_THROW(MakeWrite({out, "--level", "5"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({"-", "--level", "5"}), InvalidArgument);
  EXPECT_NO_THROW(MakeWrite({"-", "--compression", "gzip", "--level", "5"}));
  EXPECT_THROW(MakeWrite({out, "--newline", "keep"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out, "--invalid-utf8", "ignore"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out, "--shard-size", "0"}), InvalidArgument);
  EXPECT_THROW(MakeWrite({out, "--format", "csv"}), InvalidArgument);
  EXPECT_THROW(RunWrite({"x"}, {out, "--field", "body"}), InvalidArgument);
  EXPECT_THROW(RunWrite({"x"}, {dir.File("o.jsonl"), "--field", "body"}), InvalidArgument);
  EXPECT_THROW(RunWrite({"x"}, {dir.path().string()}), IoError);
  EXPECT_THROW(RunWrite({"x"}, {out, "--shards", "100000"}), InvalidArgument);
  EXPECT_TRUE(ListDir(dir.path()).empty());
  // Under a file: refused at plan time, nothing made; a missing folder is created.
  WriteFile(dir.path() / "file", "");
  EXPECT_THROW(RunWrite({"x"}, {dir.File("file/sub/o.txt")}), IoError);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"file"});
  RunWrite({"x"}, {dir.File("missing/o.txt")});
  EXPECT_EQ(ReadFile(dir.path() / "missing/o.txt"), "x\n");
  std::filesystem::remove_all(dir.path() / "missing");
  std::filesystem::remove(dir.path() / "file");
  EXPECT_EQ(MakeWrite({dir.File("a.jsonl.zst"), "--shards", "4"})->Describe(),
            "write " + dir.File("a.jsonl.zst") + " as jsonl, zstd, 4 round-robin shards");
}

TEST(WriteCliTest, JsonlRoundTripThroughReadAndWrite) {
  ScopedTempDir dir;
  std::string jsonl;
  for (int i = 0; i < 2000; ++i) {
    jsonl += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"line\\n" + std::to_string(i) +
             " \\u00e9\\t\\\"q\\\"\",\"skip\":[1,2]}\n";
  }
  WriteFile(dir.File("in.jsonl"), jsonl);
  auto r = RunCorpusflow(
      {"run",
       "read " + dir.File("in.jsonl") + " --field text,id | write " + dir.File("mid.jsonl.zst"),
       "--progress", "never"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunCorpusflow(
      {"run", "read " + dir.File("mid.jsonl.zst") + " --field id,text | write - --format jsonl"},
      "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    expected += "{\"id\":\"" + std::to_string(i) + "\",\"text\":\"line\\n" + std::to_string(i) +
                " \xC3\xA9\\t\\\"q\\\"\"}\n";
  }
  EXPECT_EQ(r.out, expected);
}

TEST(WriteCliTest, CompressedStdout) {
  const auto r = RunCorpusflow(
      {"run", "read - | write - --compression zstd --level 19", "--progress", "never"}, "a\nb\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ScopedTempDir dir;
  WriteFile(dir.File("o.zst"), r.out);
  EXPECT_EQ(RunProgram({"zstd", "-dc", dir.File("o.zst")}).out, "a\nb\n");
}

TEST(WriteCliTest, NewlineFailureExitsOneAndLeavesNothing) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"), "{\"text\":\"a\"}\n{\"text\":\"b\\nc\"}\n");
  const auto r =
      RunCorpusflow({"run", "read " + dir.File("in.jsonl") + " | write " + dir.File("out.txt.gz")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("record 2 of field 'text' contains a newline"), std::string::npos) << r.err;
  EXPECT_EQ(ListDir(dir.path()), Strings{"in.jsonl"});
  // With --meta, the message also names where the record came from.
  const auto m = RunCorpusflow({"run", "read " + dir.File("in.jsonl") + " --meta | write " +
                                           dir.File("out.txt") + " --field text"});
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_NE(m.err.find("record 2 (" + dir.File("in.jsonl") + ":2) of field 'text'"),
            std::string::npos)
      << m.err;
}

}  // namespace
}  // namespace corpusflow
