// Tests of the `read` source: lines byte for byte, JSONL fields, globs and several files,
// compression, batch sizes, bad records (fail with FILE:LINE or drop with a reason), records
// longer than --max-record-bytes (memory bounded even for an endless line), and the command
// line end to end.
#include "operators/io/read.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/io/output_stream.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::CommandResult;
using testing::ErrorMessage;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::WriteFile;
using Strings = std::vector<std::string>;

std::unique_ptr<Operator> MakeRead(const Strings& args) {
  return OperatorRegistry::Global().Create("read", args);
}

/// Run `read ARGS | collect` and return the collected `field` of every record.
Strings RunRead(const Strings& args, RunStats* stats = nullptr, const std::string& field = "text",
                RunOptions options = testing::TestRunOptions(2, 64 << 20)) {
  CollectedOutput out;
  CollectingSinkOptions sink;
  sink.field = field;
  testing::RunChain(testing::Chain(MakeRead(args), std::make_unique<CollectingSink>(&out, sink)),
                    options, stats);
  EXPECT_TRUE(out.finished);
  return out.texts;
}

void WriteCompressed(const std::string& path, const std::string& data) {
  auto out = CreateOutput(path);
  out->Write(data);
  out->Commit();
}

TEST(ReadTest, FormatFromPath) {
  EXPECT_EQ(TextFormatFromPath("a.jsonl"), TextFormat::kJsonl);
  EXPECT_EQ(TextFormatFromPath("a.jsonl.zst"), TextFormat::kJsonl);
  EXPECT_EQ(TextFormatFromPath("a.ndjson.gz"), TextFormat::kJsonl);
  EXPECT_EQ(TextFormatFromPath("a.json"), TextFormat::kJsonl);
  EXPECT_EQ(TextFormatFromPath("a.txt.bz2"), TextFormat::kLines);
  EXPECT_EQ(TextFormatFromPath("jsonl"), TextFormat::kLines);
  EXPECT_EQ(TextFormatFromPath("-"), TextFormat::kLines);
}

TEST(ReadTest, LinesAreRecordsByteForByte) {
  ScopedTempDir dir;
  static const char kData[] = "a\r\n\0b\n\n\xFF\xFE\nlast";
  WriteFile(dir.File("a.txt"), std::string(kData, sizeof kData - 1));
  RunStats stats;
  EXPECT_EQ(RunRead({dir.File("a.txt")}, &stats),
            (Strings{"a\r", std::string("\0b", 2), "", "\xFF\xFE", "last"}));
  const OperatorStats& read = *stats.operators()[0];
  EXPECT_EQ(read.records_out.load(), 5u);
  EXPECT_EQ(read.counter("files"), 1u);
  EXPECT_EQ(read.counter("input_bytes"), sizeof kData - 1);
  EXPECT_EQ(read.dropped_total(), 0u);
}

TEST(ReadTest, EmptyFileGivesNoRecords) {
  ScopedTempDir dir;
  WriteFile(dir.File("e.txt"), "");
  WriteCompressed(dir.File("e.txt.zst"), "");
  EXPECT_EQ(RunRead({dir.File("e.txt"), dir.File("e.txt.zst")}), Strings{});
}

TEST(ReadTest, SeveralFilesAndGlobsInOrder) {
  ScopedTempDir dir;
  WriteFile(dir.File("b.txt"), "b1\nb2\n");
  WriteCompressed(dir.File("a.txt.gz"), "a1\na2");
  WriteCompressed(dir.File("c.txt.zst"), "c1\n");
  WriteCompressed(dir.File("d.txt.bz2"), "d1\n\n");
  EXPECT_EQ(RunRead({dir.File("*.txt*")}), (Strings{"a1", "a2", "b1", "b2", "c1", "d1", ""}));
  EXPECT_EQ(RunRead({dir.File("c.txt.zst"), dir.File("[ab].*")}),
            (Strings{"c1", "a1", "a2", "b1", "b2"}));
  const auto op = MakeRead({dir.File("*.txt*")});
  EXPECT_EQ(static_cast<const ReadOperator&>(*op).paths().size(), 4u);
  EXPECT_EQ(op->Describe(), "read 4 files as lines");
}

TEST(ReadTest, BatchesFollowTheBatchSize) {
  ScopedTempDir dir;
  std::string data;
  Strings expected;
  for (int i = 0; i < 20000; ++i) {
    expected.push_back("record number " + std::to_string(i) + std::string(i % 37, '.'));
    data += expected.back() + "\n";
  }
  WriteFile(dir.File("big.txt"), data);
  const uint64_t batch_bytes = 4096;
  const auto op = MakeRead({dir.File("big.txt")});
  ExecContext ctx(testing::TestRunOptions(1, 64 << 20, batch_bytes));
  OperatorStats stats("read");
  const Schema no_input;
  auto reader = static_cast<const Source&>(*op).Open({ctx, stats, no_input, {}});
  Batch batch;
  Strings got;
  size_t batches = 0;
  while (reader->Next(&batch)) {
    ++batches;
    const StringColumn& text = batch.GetString("text");
    const uint64_t cost = text.DataBytes() + 8 * text.size();
    EXPECT_LT(cost, batch_bytes + 100);  // full at the record that crosses the target
    for (size_t i = 0; i < text.size(); ++i) got.emplace_back(text[i]);
  }
  EXPECT_EQ(got, expected);
  EXPECT_GT(batches, data.size() / batch_bytes);
  EXPECT_EQ(ctx.progress().done_bytes(), data.size());
}

TEST(ReadTest, SameRecordsForAnyThreadCountAndBatchSize) {
  ScopedTempDir dir;
  std::string data;
  Strings expected;
  for (int i = 0; i < 5000; ++i) {
    expected.push_back(std::to_string(i * 7919 % 10007));
    data += expected.back() + "\n";
  }
  WriteCompressed(dir.File("n.txt.zst"), data);
  for (int threads : {1, 2, 8}) {
    for (uint64_t batch : {uint64_t{256}, uint64_t{1} << 20}) {
      EXPECT_EQ(RunRead({dir.File("n.txt.zst")}, nullptr, "text",
                        testing::TestRunOptions(threads, 64 << 20, batch)),
                expected)
          << threads << " threads, batch " << batch;
    }
  }
}

TEST(ReadTest, ReusedBatchGetsExactlyTheReadColumns) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "x\ny\n");
  const auto op = MakeRead({dir.File("a.txt")});
  ExecContext ctx(testing::TestRunOptions(1, 64 << 20));
  OperatorStats stats("read");
  const Schema no_input;
  auto reader = static_cast<const Source&>(*op).Open({ctx, stats, no_input, {}});
  Batch batch;
  batch.AddInt32List("ids").Append(std::vector<int32_t>{1, 2, 3});
  ASSERT_TRUE(reader->Next(&batch));
  EXPECT_EQ(batch.schema(), op->OutputSchema(Schema()));
  EXPECT_EQ(batch.num_records(), 2u);
  EXPECT_FALSE(reader->Next(&batch));
}

TEST(ReadTest, JsonlFieldsAreUnescaped) {
  ScopedTempDir dir;
  WriteFile(dir.File("d.jsonl"),
            "\xEF\xBB\xBF{\"text\":\"caf\\u00e9 \\ud83d\\ude00\",\"id\":\"1\",\"n\":3}\r\n"
            "\n"
            "   \n"
            "{\"id\":\"2\",\"nested\":{\"text\":\"no\"},\"text\":\"a\\\"b\\\\c\\n\\td\\u0000\"}\n");
  RunStats stats;
  EXPECT_EQ(RunRead({dir.File("d.jsonl")}, &stats),
            (Strings{"caf\xC3\xA9 \xF0\x9F\x98\x80", std::string("a\"b\\c\n\td\0", 9)}));
  EXPECT_EQ(stats.operators()[0]->counter("blank_lines"), 2u);
  EXPECT_EQ(stats.operators()[0]->dropped_total(), 0u);
  EXPECT_EQ(RunRead({dir.File("d.jsonl"), "--field", "text,id"}, nullptr, "id"),
            (Strings{"1", "2"}));
  EXPECT_EQ(RunRead({dir.File("d.jsonl"), "--field", "id", "--as", "text"}), (Strings{"1", "2"}));
  const auto op = MakeRead({dir.File("d.jsonl"), "--field", "text", "--field", "id", "--meta"});
  EXPECT_EQ(op->OutputSchema(Schema()).ToString(), "text:string, id:string, meta:string");
  EXPECT_EQ(op->Describe(), "read " + dir.File("d.jsonl") + " as jsonl");
}

/// What Python's json module reads from `path`: per line (blank lines skipped), the repr of
/// `json.loads(line)[field]` for a string, else "ERROR" (not JSON, not an object, no such key)
/// or "NOT A STRING".
Strings PythonJsonField(const std::string& path, const std::string& field) {
  const auto python =
      testing::RunProgram({"/usr/bin/python3", "-c",
                           "import json, sys\n"
                           "for line in open(sys.argv[1], encoding='utf-8'):\n"
                           "    if not line.strip():\n"
                           "        continue\n"
                           "    try:\n"
                           "        v = json.loads(line)[sys.argv[2]]\n"
                           "    except Exception:\n"
                           "        print('ERROR')\n"
                           "        continue\n"
                           "    print(v if isinstance(v, str) else 'NOT A STRING')\n",
                           path, field});
  EXPECT_EQ(python.exit_code, 0) << python.err;
  Strings out;
  std::string line;
  for (char c : python.out) {
    if (c == '\n') {
      out.push_back(line);
      line.clear();
    } else {
      line.push_back(c);
    }
  }
  return out;
}

/// Expect Python's json module and `read PATH` to read the strings `expected` from `path`.
void ExpectReadLikePython(const std::string& path, const Strings& expected) {
  EXPECT_EQ(PythonJsonField(path, "text"), expected);
  RunStats stats;
  EXPECT_EQ(RunRead({path}, &stats), expected);
  EXPECT_EQ(stats.operators()[0]->dropped_total(), 0u);
}

TEST(ReadTest, NumbersOutOfDoubleRangeAreValidJson) {
  // simdjson's DOM refuses 1e400 and integers beyond 64 bits; they are valid JSON (Python reads
  // them as inf and as big integers), so a record with one in an unrelated field is read.
  ScopedTempDir dir;
  const std::string path = dir.File("n.jsonl");
  WriteFile(path,
            "{\"n\":1e400,\"text\":\"a\"}\n"
            "{\"text\":\"b\",\"big\":123456789012345678901234567890,\"neg\":-1E+400,"
            "\"list\":[1e999,{\"x\":-0.5e-999},18446744073709551616,-9223372036854775809]}\n"
            "{\"text\":\"1e400 \\\"9e999\\\" -1\",\"n\":[2e308]}\n"
            "{\"text\":\"c\",\"tiny\":1e-400,\"n\":0.1e+0400}\n");
  ExpectReadLikePython(path, {"a", "b", "1e400 \"9e999\" -1", "c"});

  // Invalid numbers stay invalid, out of range or not.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"text\":\"x\",\"n\":01}", ":2: malformed JSON"},
      {"{\"text\":\"x\",\"n\":1.}", ":2: malformed JSON"},
      {"{\"text\":\"x\",\"n\":-}", ":2: malformed JSON"},
      {"{\"text\":\"x\",\"n\":1e400.5}", ":2: malformed JSON"},
      {"{\"text\":\"x\",\"n\":+1e400}", ":2: malformed JSON"},
      {"{\"text\":\"x\",\"n\":1e400 1}", ":2: malformed JSON"},
      {"1e400", ":2: expected a JSON object, found a number"},
  };
  const std::string good = "{\"text\":\"ok\"}\n";
  // A huge number in a field read is kept as it is written, like any number there.
  WriteFile(dir.File("huge.jsonl"),
            "{\"text\":1e400}\n{\"text\":-123456789012345678901234567890}\n");
  EXPECT_EQ(RunRead({dir.File("huge.jsonl")}),
            (Strings{"1e400", "-123456789012345678901234567890"}));
  for (const auto& [line, expected_error] : cases) {
    const std::string bad = dir.File("bad.jsonl");
    WriteFile(bad, good + line + "\n" + good);
    const Strings python = PythonJsonField(bad, "text");
    ASSERT_EQ(python.size(), 3u) << line;
    EXPECT_EQ(python[1], "ERROR") << line;  // Python refuses these lines too
    const std::string message = ErrorMessage<DataError>([&] { RunRead({bad}); });
    EXPECT_NE(message.find(bad + expected_error), std::string::npos) << line << " -> " << message;
  }
}

TEST(ReadTest, ADuplicateKeyTakesItsLastValueLikePythonAndJq) {
  ScopedTempDir dir;
  const std::string path = dir.File("d.jsonl");
  WriteFile(path,
            "{\"text\":\"first\",\"text\":\"last\"}\n"
            "{\"text\":\"a\",\"id\":\"1\",\"text\":\"b\",\"te\\u0078t\":\"c\",\"id\":\"2\"}\n"
            "{\"text\":1,\"text\":\"a number, then a string\"}\n"
            "{\"nested\":{\"text\":\"no\",\"text\":\"no\"},\"text\":\"yes\"}\n");
  ExpectReadLikePython(path, {"last", "c", "a number, then a string", "yes"});
  EXPECT_EQ(RunRead({path, "--on-error", "skip", "--field", "text,id"}, nullptr, "id"),
            (Strings{"2"}));
  // The last value decides whether the record is good.
  const std::string bad = dir.File("bad.jsonl");
  WriteFile(bad, "{\"text\":\"a string\",\"text\":null}\n");
  EXPECT_EQ(PythonJsonField(bad, "text"), Strings{"NOT A STRING"});
  EXPECT_EQ(ErrorMessage<DataError>([&] { RunRead({bad}); }),
            bad +
                ":1: field 'text' is null, not a string or number (--all-fields carries any JSON "
                "value) (use --on-error skip to drop bad records)");
}

TEST(ReadTest, MetaNamesFileAndLine) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "x\ny\n");
  WriteCompressed(dir.File("b.jsonl.gz"), "{\"text\":\"z\"}\n\n{\"text\":\"w\"}\n");
  EXPECT_EQ(RunRead({dir.File("a.txt"), dir.File("b.jsonl.gz"), "--meta"}, nullptr, "meta"),
            (Strings{dir.File("a.txt") + ":1", dir.File("a.txt") + ":2",
                     dir.File("b.jsonl.gz") + ":1", dir.File("b.jsonl.gz") + ":3"}));
  EXPECT_EQ(RunRead({dir.File("a.txt"), "--field", "src"}, nullptr, "src"), (Strings{"x", "y"}));
}

TEST(ReadTest, BadJsonlRecordsNameFileAndLine) {
  ScopedTempDir dir;
  const std::string good = "{\"text\":\"ok\"}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"text\": \"x\"", ":2: malformed JSON"},
      {"{\"text\": \"x\"} {}", ":2: malformed JSON"},
      {"{\"text\": \"\xFF\"}", ":2: malformed JSON"},
      {"[1, 2]", ":2: expected a JSON object, found an array"},
      {"{\"title\": \"x\"}", ":2: no field 'text'; the record has title"},
      {"{\"text\": true}", ":2: field 'text' is a boolean, not a string or number"},
      {"{\"text\": null}", ":2: field 'text' is null, not a string or number"},
      {"{\"text\": [\"a\"]}", ":2: field 'text' is an array, not a string or number"},
  };
  for (const auto& [line, expected] : cases) {
    const std::string path = dir.File("bad.jsonl");
    WriteFile(path, good + line + "\n" + good);
    const std::string message = ErrorMessage<DataError>([&] { RunRead({path}); });
    EXPECT_NE(message.find(path + expected), std::string::npos) << line << " -> " << message;
  }
}

TEST(ReadTest, SkipModeDropsBadRecordsByReason) {
  ScopedTempDir dir;
  WriteFile(dir.File("mixed.jsonl"),
            "{\"text\":\"a\"}\n{bad\n{\"x\":1}\n{\"text\":false}\n{\"text\":null}\n[]\n"
            "{\"text\":\"b\"}\n");
  RunStats stats;
  EXPECT_EQ(RunRead({dir.File("mixed.jsonl"), "--on-error", "skip"}, &stats), (Strings{"a", "b"}));
  const OperatorStats& read = *stats.operators()[0];
  EXPECT_EQ(read.drops(), (std::map<std::string, uint64_t>{{"field 'text' not a string", 2},
                                                           {"malformed JSON", 1},
                                                           {"missing field 'text'", 1},
                                                           {"not a JSON object", 1}}));
  EXPECT_EQ(read.records_out.load() + read.dropped_total(), 7u);
}

TEST(ReadTest, NumbersInFieldsAreKeptAsTheirJsonText) {
  ScopedTempDir dir;
  WriteFile(dir.File("ids.jsonl"),
            "{\"text\":\"a\",\"id\":7}\n{\"text\":\"b\",\"id\": 1.50 }\n"
            "{\"id\":-2e3,\"text\":\"c\"}\n{\"text\":\"d\",\"id\":\"s-4\"}\n"
            "{\"text\":\"e\",\"id\":18446744073709551615}\n");
  RunStats stats;
  EXPECT_EQ(RunRead({dir.File("ids.jsonl"), "--field", "text,id"}, &stats, "id"),
            (Strings{"7", "1.50", "-2e3", "s-4", "18446744073709551615"}));
  EXPECT_EQ(stats.operators()[0]->counter("numbers_as_text"), 4u);
  EXPECT_EQ(stats.operators()[0]->dropped_total(), 0u);
}

TEST(ReadTest, MissingFieldNamesTheRecordsFieldsTheNearestAndItsProducers) {
  ScopedTempDir dir;
  const std::string path = dir.File("in.jsonl");
  WriteFile(path, "{\"txt\":\"a\",\"id\":1,\"txt\":\"again\"}\n");
  EXPECT_EQ(ErrorMessage<DataError>([&] { RunRead({path}); }),
            path +
                ":1: no field 'text' (did you mean 'txt'?); the record has txt, id (use "
                "--on-error skip to drop bad records)");
  EXPECT_EQ(ErrorMessage<DataError>([&] {
              RunRead({path, "--field", "src"}, nullptr, "src");
            }),
            path +
                ":1: no field 'src'; the record has txt, id; 'src' comes from gsg or "
                "pseudo-summary (use --on-error skip to drop bad records)");
  WriteFile(path, "{}\n");
  EXPECT_EQ(ErrorMessage<DataError>([&] { RunRead({path}); }),
            path +
                ":1: no field 'text'; the record is empty (use --on-error skip to drop bad "
                "records)");
  std::string wide = "{";
  for (int i = 0; i < 10; ++i) wide += (i > 0 ? ",\"f" : "\"f") + std::to_string(i) + "\":0";
  WriteFile(path, wide + "}\n");
  EXPECT_EQ(ErrorMessage<DataError>([&] { RunRead({path}); }),
            path +
                ":1: no field 'text'; the record has f0, f1, f2, f3, f4, f5, f6, f7, ... (10 "
                "fields) (use --on-error skip to drop bad records)");
}

TEST(ReadTest, AFieldThatNoRecordHasFailsAlsoWhenSkipping) {
  ScopedTempDir dir;
  const std::string path = dir.File("in.jsonl");
  WriteFile(path, "{\"text\":\"a\",\"id\":1}\n\n{\"text\":\"b\"}\n");
  EXPECT_EQ(ErrorMessage<DataError>([&] {
              RunRead({path, "--field", "txt", "--on-error", "skip"}, nullptr, "txt");
            }),
            "read: no record has field 'txt', so --on-error skip dropped all 2 records; the "
            "first: " +
                path + ":1: no field 'txt' (did you mean 'text'?); the record has text, id");
  // A field that some records have: the others are dropped and counted, as before.
  RunStats stats;
  EXPECT_EQ(RunRead({path, "--field", "id", "--on-error", "skip"}, &stats, "id"), Strings{"1"});
  EXPECT_EQ(stats.operators()[0]->drops(),
            (std::map<std::string, uint64_t>{{"missing field 'id'", 1}}));
}

TEST(ReadTest, AllFieldsKeepsEveryOtherMemberAsWritten) {
  ScopedTempDir dir;
  WriteFile(dir.File("all.jsonl"),
            "{\"id\":7,\"text\":\"a\",\"ok\":true,\"none\":null,\"score\": 1.50 ,"
            "\"tags\":[\"x\", {\"y\":\"}\\\"]\"}],\"esc\":\"\\u00e9\",\"id\":8}\n"
            "{\"text\":\"b\"}\n");
  const auto op = MakeRead({dir.File("all.jsonl"), "--all-fields", "--meta"});
  EXPECT_EQ(op->OutputSchema(Schema()).ToString(), "text:string, *:json-members, meta:string");
  CollectedOutput out;
  testing::RunChain(
      testing::Chain(MakeRead({dir.File("all.jsonl"), "--all-fields"}),
                     std::make_unique<CollectingSink>(
                         &out, CollectingSinkOptions{.field = "", .all_fields = true})),
      testing::TestRunOptions(2, 64 << 20));
  Strings others;
  for (const auto& record : out.records) others.push_back(std::get<std::string>(record.Get("*")));
  // "id" given twice keeps its first place and its last value, as Python's json and jq do.
  EXPECT_EQ(others, (Strings{"{\"id\":8,\"ok\":true,\"none\":null,\"score\":1.50,"
                             "\"tags\":[\"x\", {\"y\":\"}\\\"]\"}],\"esc\":\"\\u00e9\"}",
                             "{}"}));
  EXPECT_EQ(RunRead({dir.File("all.jsonl"), "--all-fields"}), (Strings{"a", "b"}));
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              MakeRead({dir.File("a.txt"), "--all-fields"});
            }),
            "read: --all-fields keeps the fields of JSONL records, but " + dir.File("a.txt") +
                " is read as lines (use --format jsonl?)");
  WriteFile(dir.File("meta.jsonl"), "{\"text\":\"a\",\"meta\":\"mine\"}\n");
  EXPECT_EQ(ErrorMessage<DataError>([&] {
              RunRead({dir.File("meta.jsonl"), "--all-fields", "--meta"});
            }),
            dir.File("meta.jsonl") +
                ":1: field 'meta' would be overwritten by --meta; name the column otherwise");
}

TEST(ReadTest, SkipEmptyCountsDrops) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "a\n\nb\n\n");
  RunStats stats;
  EXPECT_EQ(RunRead({dir.File("a.txt"), "--skip-empty"}, &stats), (Strings{"a", "b"}));
  EXPECT_EQ(stats.operators()[0]->drops(), (std::map<std::string, uint64_t>{{"empty line", 2}}));
  WriteFile(dir.File("b.jsonl"), "{\"text\":\"\"}\n{\"text\":\"c\"}\n");
  RunStats json_stats;
  EXPECT_EQ(RunRead({dir.File("b.jsonl"), "--skip-empty"}, &json_stats), (Strings{"c"}));
  EXPECT_EQ(json_stats.operators()[0]->drops(),
            (std::map<std::string, uint64_t>{{"empty text", 1}}));
}

TEST(ReadTest, ExplicitFormatAndCompression) {
  ScopedTempDir dir;
  WriteCompressed(dir.File("blob.gz"), "{\"text\":\"j\"}\n");
  std::filesystem::rename(dir.File("blob.gz"), dir.File("blob.dat"));
  EXPECT_EQ(RunRead({dir.File("blob.dat"), "--compression", "gzip", "--format", "jsonl"}),
            Strings{"j"});
  EXPECT_EQ(RunRead({dir.File("blob.dat"), "--compression", "gzip"}), Strings{"{\"text\":\"j\"}"});
}

TEST(ReadTest, OptionErrorsAreUsageErrors) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "x\n");
  const std::string a = dir.File("a.txt");
  EXPECT_THROW(MakeRead({}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--field", "a,b"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--format", "jsonl", "--field", "a,b", "--as", "c"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--format", "xml"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--on-error", "ignore"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--compression", "lz4"}), InvalidArgument);
  EXPECT_THROW(MakeRead({"-", "-"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--format", "jsonl", "--field", "meta", "--meta"}), InvalidArgument);
  EXPECT_THROW(MakeRead({a, "--format", "jsonl", "--field", "x,x"}), InvalidArgument);
  const std::string message =
      ErrorMessage<InvalidArgument>([&] { MakeRead({dir.File("*.jsonl")}); });
  EXPECT_NE(message.find("no file matches"), std::string::npos) << message;
}

TEST(ReadTest, MissingFileFailsAtPlanTime) {
  ScopedTempDir dir;
  CollectedOutput out;
  const std::string message = ErrorMessage<IoError>([&] {
    testing::RunChain(
        testing::Chain(MakeRead({dir.File("nope.txt")}), std::make_unique<CollectingSink>(&out)),
        testing::TestRunOptions(1, 64 << 20));
  });
  EXPECT_NE(message.find(dir.File("nope.txt")), std::string::npos) << message;
  EXPECT_FALSE(out.finished);
}

TEST(ReadTest, TotalBytesIsTheSumOfFileSizes) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "12345\n");
  WriteFile(dir.File("b.txt"), "123\n");
  const auto op = MakeRead({dir.File("a.txt"), dir.File("b.txt")});
  EXPECT_EQ(static_cast<const Source&>(*op).TotalBytes(), std::optional<uint64_t>(10));
  const auto with_stdin = MakeRead({dir.File("a.txt"), "-"});
  EXPECT_EQ(static_cast<const Source&>(*with_stdin).TotalBytes(), std::nullopt);
}

TEST(ReadCliTest, StdinToStdoutIsExact) {
  static const char kData[] = "one\r\n\xFF\0two\n\n\nno newline at end";
  const std::string data(kData, sizeof kData - 1);
  const auto r = RunCorpusflow({"run", "read - | write -", "--progress", "never"}, data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, data + "\n");
}

TEST(ReadCliTest, BadRecordExitsOneWithFileAndLine) {
  ScopedTempDir dir;
  WriteFile(dir.File("bad.jsonl"), "{\"text\":\"a\"}\n{\"text\":\n");
  const auto r =
      RunCorpusflow({"run", "read " + dir.File("bad.jsonl") + " | write " + dir.File("out.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.File("bad.jsonl") + ":2: malformed JSON"), std::string::npos) << r.err;
  EXPECT_EQ(testing::ListDir(dir.path()), Strings{"bad.jsonl"});
}

TEST(ReadCliTest, CorruptInputExitsOneAndLeavesNoOutput) {
  ScopedTempDir dir;
  std::string data;
  for (int i = 0; i < 50000; ++i) data += "line " + std::to_string(i) + "\n";
  WriteCompressed(dir.File("in.txt.zst"), data);
  const std::string bytes = ReadFile(dir.File("in.txt.zst"));
  WriteFile(dir.File("cut.txt.zst"), bytes.substr(0, bytes.size() / 2));
  const auto r =
      RunCorpusflow({"run", "read " + dir.File("cut.txt.zst") + " | write " + dir.File("out.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corrupt zstd data in " + dir.File("cut.txt.zst")), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt.tmp")));
}

TEST(ReadCliTest, UsageErrorsExitTwo) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "x\n");
  auto r = RunCorpusflow({"run", "read " + dir.File("a.txt") + " --format xml | write -"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("read: unknown --format 'xml'"), std::string::npos) << r.err;
  r = RunCorpusflow({"run", "read " + dir.File("a.txt") + " --feild x | write -"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean '--field'"), std::string::npos) << r.err;
  r = RunCorpusflow({"run", "read " + dir.File("missing.txt") + " | write -"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(dir.File("missing.txt")), std::string::npos) << r.err;
}

/// `corpusflow run "read IN --all-fields | STAGES | write OUT"` without a progress line.
testing::CommandResult RunAllFields(const std::string& in, const std::string& stages,
                                    const std::string& out) {
  return RunCorpusflow({"run", "read " + in + " --all-fields | " + stages + " | write " + out,
                        "--progress", "never"});
}

TEST(ReadCliTest, AllFieldsComeBackAsTheSameJsonValues) {
  ScopedTempDir dir;
  const std::string in = dir.File("in.jsonl");
  WriteFile(in,
            "{\"id\":7,\"text\":\"Alpha.\",\"meta\":{\"a\": [1, 2.50, null]},\"ok\":false}\n"
            "{\"text\":\"Beta. Gamma.\",\"id\":\"s2\",\"n\":-1e-3}\n"
            "{\"text\":\"Delta.\"}\n");
  auto r = RunAllFields(in, "sentences", dir.File("out.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("out.jsonl")),
            "{\"text\":\"Alpha.\",\"id\":7,\"meta\":{\"a\": [1, 2.50, null]},\"ok\":false,"
            "\"sentences\":[\"Alpha.\"]}\n"
            "{\"text\":\"Beta. Gamma.\",\"id\":\"s2\",\"n\":-1e-3,"
            "\"sentences\":[\"Beta. \",\"Gamma.\"]}\n"
            "{\"text\":\"Delta.\",\"sentences\":[\"Delta.\"]}\n");
  // Through the shuffle (records encoded by RecordCodec), with the members written first.
  r = RunAllFields(in, "shuffle --seed 3", dir.File("shuffled.jsonl") + " --field *,text");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Strings lines = testing::SplitLines(ReadFile(dir.File("shuffled.jsonl")));
  Strings expected = {
      "{\"id\":7,\"meta\":{\"a\": [1, 2.50, null]},\"ok\":false,"
      "\"text\":\"Alpha.\"}",
      "{\"id\":\"s2\",\"n\":-1e-3,\"text\":\"Beta. Gamma.\"}", "{\"text\":\"Delta.\"}"};
  std::sort(lines.begin(), lines.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);
}

TEST(ReadCliTest, AllFieldsRefusesAMemberThatALaterStageWouldOverwrite) {
  ScopedTempDir dir;
  const std::string in = dir.File("in.jsonl");
  WriteFile(in, "{\"text\":\"A. B.\",\"id\":1}\n{\"text\":\"C.\",\"sentences\":\"mine\"}\n");
  auto r = RunAllFields(in, "sentences", dir.File("out.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "corpusflow: error: " + in +
                       ":2: field 'sentences' would be overwritten by sentences (pass "
                       "--overwrite to sentences to replace it, or --output NAME to keep both)\n");
  EXPECT_EQ(testing::ListDir(dir.path()), Strings{"in.jsonl"});
  // Asked for: the stage's field replaces the member; or the stage names its field otherwise.
  r = RunAllFields(in, "sentences --overwrite", dir.File("out.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("out.jsonl")),
            "{\"text\":\"A. B.\",\"id\":1,\"sentences\":[\"A. \",\"B.\"]}\n"
            "{\"text\":\"C.\",\"sentences\":[\"C.\"]}\n");
  r = RunAllFields(in, "sentences --output split", dir.File("kept.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("kept.jsonl")),
            "{\"text\":\"A. B.\",\"id\":1,\"split\":[\"A. \",\"B.\"]}\n"
            "{\"text\":\"C.\",\"sentences\":\"mine\",\"split\":[\"C.\"]}\n");
}

TEST(ReadCliTest, HelpDescribesTheOperator) {
  const auto r = RunCorpusflow({"help", "read"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: read PATH... [options]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--on-error"), std::string::npos) << r.out;
}

/// Run options with a record limit of `max_record_bytes` (0: the default, an eighth of
/// `memory_bytes`).
RunOptions LimitOptions(uint64_t max_record_bytes, uint64_t memory_bytes = 64 << 20) {
  RunOptions options = testing::TestRunOptions(2, memory_bytes);
  options.max_record_bytes = max_record_bytes;
  return options;
}

constexpr const char* kTooLongMessage =
    ": record longer than 100 KiB, the --max-record-bytes limit (default: an eighth of --memory) "
    "(use --on-error skip to drop bad records)";

// A 280 MB line used to be held whole several times over (1.1 GB at --memory 64M), an endless
// one until std::bad_alloc. A line longer than the limit names its file and line.
TEST(ReadTest, RecordLongerThanTheLimitNamesFileAndLine) {
  ScopedTempDir dir;
  const std::string limit_line(100 << 10, 'x');  // exactly the limit: kept
  WriteFile(dir.File("a.txt"),
            "short\n" + limit_line + "\n" + std::string((100 << 10) + 1, 'y') + "\nafter\n");
  WriteFile(dir.File("b.jsonl"),
            "{\"text\":\"ok\"}\n\n{\"text\":\"" + std::string(200 << 10, 'z') + "\"}\n");
  WriteFile(dir.File("c.txt"), "a\n" + std::string(300 << 10, 'w'));  // no final newline
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.File("a.txt"), ":3"}, {dir.File("b.jsonl"), ":3"}, {dir.File("c.txt"), ":2"}};
  for (const auto& [path, line] : cases) {
    EXPECT_EQ(
        ErrorMessage<DataError>([&] { RunRead({path}, nullptr, "text", LimitOptions(100 << 10)); }),
        path + line + kTooLongMessage);
  }
}

TEST(ReadTest, RecordsLongerThanTheLimitAreDroppedAndCountedWithOnErrorSkip) {
  ScopedTempDir dir;
  const std::string at_limit(100 << 10, 'x');
  WriteFile(dir.File("a.txt"), "a\n" + std::string(150 << 10, 'y') + "\n" + at_limit + "\nb\n" +
                                   std::string(3 << 20, 'z'));  // the last line has no '\n'
  RunStats stats;
  EXPECT_EQ(
      RunRead({dir.File("a.txt"), "--on-error", "skip"}, &stats, "text", LimitOptions(100 << 10)),
      (Strings{"a", at_limit, "b"}));
  const OperatorStats& read = *stats.operators()[0];
  EXPECT_EQ(read.drops(), (std::map<std::string, uint64_t>{{"longer than --max-record-bytes", 2}}));
  EXPECT_EQ(read.records_out.load() + read.dropped_total(), 5u);
  // --meta still numbers the lines after a skipped one.
  EXPECT_EQ(
      RunRead({dir.File("a.txt"), "--on-error", "skip", "--meta"}, nullptr, "meta",
              LimitOptions(100 << 10)),
      (Strings{dir.File("a.txt") + ":1", dir.File("a.txt") + ":3", dir.File("a.txt") + ":4"}));
}

TEST(ReadTest, DefaultLimitIsAnEighthOfTheBudget) {
  ScopedTempDir dir;
  WriteFile(dir.File("ok.txt"), std::string(128 << 10, 'x') + "\n");
  WriteFile(dir.File("long.txt"), std::string((128 << 10) + 1, 'x') + "\n");
  EXPECT_EQ(RunRead({dir.File("ok.txt")}, nullptr, "text", LimitOptions(0, 1 << 20)).size(), 1u);
  EXPECT_EQ(ErrorMessage<DataError>([&] {
              RunRead({dir.File("long.txt")}, nullptr, "text", LimitOptions(0, 1 << 20));
            }),
            dir.File("long.txt") +
                ":1: record longer than 128 KiB, the --max-record-bytes limit (default: an eighth "
                "of --memory) (use --on-error skip to drop bad records)");
  EXPECT_EQ(ExecContext(LimitOptions(0, 1 << 20)).max_record_bytes(), uint64_t{128} << 10);
  EXPECT_EQ(ExecContext(LimitOptions(5000, 1 << 20)).max_record_bytes(), 5000u);
}

// The CLI reports the drop with its reason in --stats-json, and the error on stderr.
TEST(ReadCliTest, TooLongRecordIsAnErrorOrACountedDrop) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "a\n" + std::string(5000, 'x') + "\nb\n");
  const CommandResult fail =
      RunCorpusflow({"run", "read " + dir.File("in.txt") + " | write " + dir.File("out.txt"),
                     "--max-record-bytes", "4K", "--progress", "never"});
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(fail.err, "corpusflow: error: " + dir.File("in.txt") +
                          ":2: record longer than 4.00 KiB, the --max-record-bytes limit (default: "
                          "an eighth of --memory) (use --on-error skip to drop bad records)\n");
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt")));
  const CommandResult skip = RunCorpusflow(
      {"run", "read " + dir.File("in.txt") + " --on-error skip | write " + dir.File("out.txt"),
       "--max-record-bytes", "4K", "--progress", "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_EQ(ReadFile(dir.File("out.txt")), "a\nb\n");
  const std::string stats = ReadFile(dir.File("s.json"));
  EXPECT_NE(stats.find("\"dropped\": {\"longer_than_max_record_bytes\": 1}"), std::string::npos)
      << stats;
  const CommandResult bad = RunCorpusflow(
      {"run", "read " + dir.File("in.txt") + " | write -", "--max-record-bytes", "-4K"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "corpusflow: run: --max-record-bytes: '-4K' is not a size of at least 1 B (a number "
            "with an optional K, M, G or T suffix, e.g. 256M)\n");
}

/// The peak resident memory in a --stats-json document.
uint64_t PeakRss(const std::string& stats) {
  const std::string key = "\"peak_rss_bytes\": ";
  const size_t at = stats.find(key);
  EXPECT_NE(at, std::string::npos) << stats;
  return at == std::string::npos ? 0 : std::stoull(stats.substr(at + key.size()));
}

// An endless line (a FIFO that never sends '\n', like /proc/self/pagemap read as text) grew
// until std::bad_alloc with no file or line. It stops at the limit, naming the FIFO and line 1,
// with memory near the budget. The writer stops after 256 MiB or when the run closes the FIFO.
TEST(ReadCliTest, EndlessLineStopsAtTheLimitWithBoundedMemory) {
  ScopedTempDir dir;
  const std::string fifo = dir.File("endless");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);  // the writer learns of the reader's end by EPIPE
  std::thread writer([&] {
    // Wait (up to 30 s) for the run to open the FIFO, without blocking for good if it never does.
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 3000; ++tries) {
      fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (fd < 0) return;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 256; ++i) {
      if (write(fd, chunk.data(), chunk.size()) < 0) break;
    }
    close(fd);
  });
  const CommandResult r =
      RunCorpusflow({"run", "read " + fifo + " | write " + dir.File("out.txt"), "--memory", "16M",
                     "--progress", "never", "--stats-json", dir.File("s.json")});
  writer.join();
  sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "corpusflow: error: " + fifo +
                       ":1: record longer than 2.00 MiB, the --max-record-bytes limit (default: "
                       "an eighth of --memory) (use --on-error skip to drop bad records)\n");
  // The budget plus a few times the 2 MiB limit: the line was never held whole.
  EXPECT_LT(PeakRss(ReadFile(dir.File("s.json"))), uint64_t{(16 + 8 * 2)} << 20);
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.txt")));
}

// A record longer than the budget passes when --max-record-bytes allows it, and the run peaks
// at the budget plus a small multiple of it (the reader's buffer, the batch, the writer's or the
// shuffle's copy), whatever the budget.
TEST(ReadCliTest, AllowedLongRecordPeaksWithinTheBudgetPlusAFewRecords) {
  ScopedTempDir dir;
  std::string data;
  for (int i = 0; i < 20000; ++i) data += "line " + std::to_string(i) + "\n";
  data += std::string(16 << 20, 'x') + "\n";
  for (int i = 0; i < 20000; ++i) data += "tail " + std::to_string(i) + "\n";
  WriteFile(dir.File("in.txt"), data);
  for (const std::string pipeline : {"write ", "shuffle --seed 1 | write "}) {
    SCOPED_TRACE(pipeline);
    const CommandResult r =
        RunCorpusflow({"run", "read " + dir.File("in.txt") + " | " + pipeline + dir.File("out.txt"),
                       "--memory", "16M", "--max-record-bytes", "16M", "--progress", "never",
                       "--stats-json", dir.File("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::filesystem::file_size(dir.File("out.txt")), data.size());
    EXPECT_LT(PeakRss(ReadFile(dir.File("s.json"))), uint64_t{16 + 4 * 16} << 20);
  }
}

}  // namespace
}  // namespace corpusflow

namespace corpusflow {
namespace {

// Record identities by input slice (engine/slices.h): a plain file's record is of the slice where
// its first byte lies, in the byte space of all inputs in order; a compressed file's records are
// all of the slice where it starts; the ordinal counts the records that reach the numbered stage
// (after a filter), restarting at each slice; batches never mix slices; none of it depends on
// threads or batch sizes.
TEST(ReadSlicesTest, RecordIdentityIsTheSliceOfItsFirstByteAndItsOrdinalInTheSlice) {
  ScopedTempDir dir;
  constexpr uint64_t kSlice = 4096;
  // Input byte space: a.txt (plain), b.txt.gz (compressed, one unit), c.txt (plain).
  struct Line {
    std::string text;
    uint64_t offset;  // in the input byte space
  };
  std::vector<Line> lines;
  std::string a, c;
  for (int i = 0; i < 700; ++i) {
    const std::string text = "a" + std::to_string(i) + std::string(i % 23, '.');
    lines.push_back({text, a.size()});
    a += text + "\n";
  }
  WriteFile(dir.File("a.txt"), a);
  std::string b;
  for (int i = 0; i < 300; ++i) b += "b" + std::to_string(i) + "\n";
  WriteCompressed(dir.File("b.txt.gz"), b);
  const uint64_t b_base = a.size();
  const uint64_t b_size = std::filesystem::file_size(dir.File("b.txt.gz"));
  for (int i = 0; i < 300; ++i) lines.push_back({"b" + std::to_string(i), b_base});
  for (int i = 0; i < 900; ++i) {
    const std::string text = "c" + std::to_string(i) + std::string(i % 31, ',');
    lines.push_back({text, b_base + b_size + c.size()});
    c += text + "\n";
  }
  WriteFile(dir.File("c.txt"), c);
  ASSERT_GT(a.size(), 2 * kSlice);
  // Every fifth record is filtered out before the numbered stage.
  const auto kept = [](std::string_view text) {
    return std::stoi(std::string(text.substr(1, text.find_first_of(".,") - 1))) % 5 != 0;
  };
  std::vector<std::string> expected_texts;
  std::vector<std::string> expected_identity;
  std::map<uint64_t, uint64_t> ordinals;
  for (const Line& line : lines) {
    if (!kept(line.text)) continue;
    const uint64_t slice = line.offset / kSlice;
    expected_texts.push_back(line.text);
    expected_identity.push_back(std::to_string((slice << 40) | ordinals[slice]++));
  }
  ASSERT_GT(ordinals.size(), 5u);
  for (const int threads : {1, 2}) {
    for (const uint64_t batch_bytes : {uint64_t{512}, uint64_t{1} << 20}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, batches of " + std::to_string(batch_bytes));
      RunOptions options = testing::TestRunOptions(threads, 64 << 20, batch_bytes);
      options.slice_bytes = kSlice;
      CollectedOutput out;
      CollectingSinkOptions sink;
      sink.all_fields = true;
      testing::RunChain(
          testing::Chain(MakeRead({dir.File("a.txt"), dir.File("b.txt.gz"), dir.File("c.txt")}),
                         std::make_unique<testing::PredicateFilter>(kept),
                         std::make_unique<testing::RecordIndexTransform>(),
                         std::make_unique<CollectingSink>(&out, sink)),
          options);
      ASSERT_EQ(out.texts, expected_texts);
      std::vector<std::string> identity;
      for (const auto& record : out.records) {
        identity.push_back(std::get<std::string>(record.Get("record_index")));
      }
      EXPECT_EQ(identity, expected_identity);
    }
  }
  // One slice (the default 64 MiB): records are numbered 0, 1, 2, ... as before slices.
  CollectedOutput out;
  CollectingSinkOptions sink;
  sink.all_fields = true;
  testing::RunChain(testing::Chain(MakeRead({dir.File("a.txt"), dir.File("c.txt")}),
                                   std::make_unique<testing::RecordIndexTransform>(),
                                   std::make_unique<CollectingSink>(&out, sink)),
                    testing::TestRunOptions(2, 64 << 20, 512));
  ASSERT_EQ(out.records.size(), 1600u);
  for (size_t i = 0; i < out.records.size(); ++i) {
    ASSERT_EQ(std::get<std::string>(out.records[i].Get("record_index")), std::to_string(i));
  }
}

// A record of a later slice is named in messages by its ordinal and slice.
TEST(ReadSlicesTest, ErrorsNameARecordOfALaterSliceByItsSlice) {
  ScopedTempDir dir;
  std::string text;
  uint64_t slice_start_line = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string line = std::to_string(i * 7) + " " + std::to_string(i) + "\n";
    if (text.size() / 4096 != (text.size() + line.size()) / 4096) slice_start_line = i + 1;
    text += line;
  }
  const uint64_t slice = text.size() / 4096;
  // The bad record is the (3000 - slice_start_line + 1)th of its slice (when the slice starts
  // with a whole line, as here: checked below).
  ASSERT_EQ(text.size() % 4096 == 0 ? 0u : 1u, 1u);
  text += "12 x\n";
  WriteFile(dir.File("in.txt"), text);
  const CommandResult r = RunCorpusflow(
      {"run", "read " + dir.File("in.txt") + " | parse-ids | write " + dir.File("out.jsonl"),
       "--slice-bytes", "4K", "--progress", "never"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("parse-ids: record " + std::to_string(3000 - slice_start_line + 1) +
                       " of input slice " + std::to_string(slice) +
                       ", field 'text': 'x' is not "
                       "an integer"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("out.jsonl")));
}

}  // namespace
}  // namespace corpusflow
