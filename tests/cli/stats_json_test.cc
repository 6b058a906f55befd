// The `--stats-json` document against its schema, docs/stats.md: real runs (a plain write with
// drops, a sharded write-megatron, a sharded shuffle, a tokenize run with drops) are parsed and
// every key is checked against the tables of the page (documented, of the documented type,
// snake_case), every documented run and operator key is present, integers are written as
// integers and no number has an exponent, and every output listed exists with the size reported.
// The tables are read from the page itself, so the documentation and the code cannot drift.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::SplitLines;
using testing::WriteFile;

/// One row of a table of docs/stats.md.
struct KeyDoc {
  std::string key;
  std::string type;
  /// "always", or when the key is present ("on error"; the operators of a counter).
  std::string present;
  /// The key as a pattern: `<field>`, `<n>` stand for any snake_case part.
  std::regex pattern;
};

/// The tables of docs/stats.md by section: "Run", "Operator", "Output file", "Drop reasons",
/// "Counters".
std::map<std::string, std::vector<KeyDoc>> ReadSchema() {
  const std::string page = ReadFile(testing::SourceDir() + "/docs/stats.md");
  std::map<std::string, std::vector<KeyDoc>> tables;
  std::string section;
  for (const std::string& line : SplitLines(page)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    size_t at = 1;
    while (at < line.size()) {
      const size_t bar = line.find(" |", at);
      if (bar == std::string::npos) break;
      std::string cell = line.substr(at, bar - at);
      while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
      cells.push_back(cell);
      at = bar + 2;
    }
    EXPECT_GE(cells.size(), 4u) << line;
    if (cells.size() < 4) continue;
    std::string key = cells[0].substr(1, cells[0].size() - 2);  // the backquotes
    const std::string pattern =
        std::regex_replace(key, std::regex("<[a-z]+>"), std::string("[a-z0-9_]+"));
    tables[section].push_back(KeyDoc{key, cells[1], cells[2], std::regex(pattern)});
  }
  return tables;
}

bool IsSnakeCase(const std::string& key) {
  return std::regex_match(key, std::regex("[a-z0-9]+(_[a-z0-9]+)*"));
}

/// Whether `value` has the documented `type`.
bool HasType(simdjson::dom::element value, const std::string& type) {
  using simdjson::dom::element_type;
  const element_type t = value.type();
  const bool integer = t == element_type::INT64 || t == element_type::UINT64;
  if (type == "string") return t == element_type::STRING;
  if (type == "integer") return integer;
  if (type == "integer or null") return integer || t == element_type::NULL_VALUE;
  if (type == "number") return integer || t == element_type::DOUBLE;
  if (type == "number or null") {
    return integer || t == element_type::DOUBLE || t == element_type::NULL_VALUE;
  }
  if (type == "array") return t == element_type::ARRAY;
  if (type == "object") return t == element_type::OBJECT;
  ADD_FAILURE() << "docs/stats.md: unknown type '" << type << "'";
  return false;
}

const KeyDoc* Find(const std::vector<KeyDoc>& docs, const std::string& key) {
  for (const KeyDoc& d : docs) {
    if (std::regex_match(key, d.pattern)) return &d;
  }
  return nullptr;
}

/// The number tokens of a JSON text (outside strings).
std::vector<std::string> NumberTokens(const std::string& json) {
  std::vector<std::string> numbers;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') ++i;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i;
      while (end < json.size() &&
             std::string("0123456789+-.eE").find(json[end]) != std::string::npos) {
        ++end;
      }
      numbers.push_back(json.substr(i, end - i));
      i = end - 1;
    }
  }
  return numbers;
}

/// Check the members of `object` against a table: each documented (matching its pattern),
/// of its type, snake_case; with `required`, every key documented as "always" present.
void CheckObject(simdjson::dom::object object, const std::vector<KeyDoc>& docs,
                 const std::string& where, bool required) {
  std::set<std::string> seen;
  for (auto [k, value] : object) {
    const std::string key(k);
    seen.insert(key);
    EXPECT_TRUE(IsSnakeCase(key)) << where << ": key '" << key << "' is not snake_case";
    const KeyDoc* doc = Find(docs, key);
    if (doc == nullptr) {
      ADD_FAILURE() << where << ": key '" << key << "' is not in docs/stats.md";
      continue;
    }
    EXPECT_TRUE(HasType(value, doc->type))
        << where << ": '" << key << "' is not of type " << doc->type << ": " << value;
  }
  if (!required) return;
  for (const KeyDoc& doc : docs) {
    if (doc.present == "always") {
      EXPECT_EQ(seen.count(doc.key), 1u) << where << ": documented key '" << doc.key << "' missing";
    }
  }
}

/// Check an outputs array: each entry of the schema, an existing file of the size reported.
/// Returns the paths and their bytes.
std::map<std::string, uint64_t> CheckOutputs(simdjson::dom::array outputs,
                                             const std::vector<KeyDoc>& docs,
                                             const std::string& where) {
  std::map<std::string, uint64_t> files;
  for (simdjson::dom::element entry : outputs) {
    CheckObject(entry.get_object(), docs, where + " output", true);
    const std::string path(entry["path"].get_string().value());
    if (entry["bytes"].is_null()) {
      // A stream written in place: standard output, a FIFO, a device.
      EXPECT_FALSE(std::filesystem::is_regular_file(path)) << where << ": " << path;
      files[path] = 0;
      continue;
    }
    const uint64_t bytes = entry["bytes"].get_uint64().value();
    EXPECT_TRUE(std::filesystem::is_regular_file(path)) << where << ": " << path;
    if (std::filesystem::is_regular_file(path)) {
      EXPECT_EQ(std::filesystem::file_size(path), bytes) << where << ": " << path;
    }
    files[path] = bytes;
  }
  return files;
}

/// The counters table's "present" column names the operators of each counter.
std::vector<KeyDoc> ForOperator(const std::vector<KeyDoc>& docs, const std::string& op) {
  std::vector<KeyDoc> mine;
  const std::regex name("(^|[ ,])" + op + "($|[ ,])");
  for (const KeyDoc& d : docs) {
    if (std::regex_search(d.present, name)) mine.push_back(d);
  }
  return mine;
}

/// Parse a document and check it whole against the schema; returns the run's files.
std::map<std::string, uint64_t> CheckDocument(const std::string& text) {
  const auto schema = ReadSchema();
  for (const char* section : {"Run", "Operator", "Output file", "Drop reasons", "Counters"}) {
    EXPECT_FALSE(schema.count(section) == 0 || schema.at(section).empty())
        << "docs/stats.md has no table " << section;
  }
  for (const std::string& number : NumberTokens(text)) {
    EXPECT_EQ(number.find_first_of("eE"), std::string::npos) << "exponent in " << number;
  }
  simdjson::dom::parser parser;
  const simdjson::padded_string json(text);
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << text;
  EXPECT_EQ(std::string(doc["schema"].get_string().value()), "corpusflow-stats");
  EXPECT_EQ(doc["version"].get_uint64().value(), 1u);
  CheckObject(doc.get_object(), schema.at("Run"), "run", true);
  std::map<std::string, uint64_t> all =
      CheckOutputs(doc["outputs"].get_array(), schema.at("Output file"), "run");
  std::map<std::string, uint64_t> by_operators;
  for (simdjson::dom::element op : doc["operators"].get_array()) {
    std::string name(op["name"].get_string().value());
    name = name.substr(0, name.find('#'));
    CheckObject(op.get_object(), schema.at("Operator"), name, true);
    CheckObject(op["dropped"].get_object(), schema.at("Drop reasons"), name + " dropped", false);
    const std::vector<KeyDoc> counters = ForOperator(
        schema.at("Counters"), name == "tee" ? std::string("(write|write-megatron)") : name);
    CheckObject(op["counters"].get_object(), counters, name + " counters", false);
    const auto files = CheckOutputs(op["outputs"].get_array(), schema.at("Output file"), name);
    uint64_t bytes = 0;
    for (const auto& [path, n] : files) bytes += n;
    if (op["records_out"].get_uint64().value() == 0 && !files.empty()) {
      // A sink: its bytes_out are the bytes of its files.
      EXPECT_EQ(op["bytes_out"].get_uint64().value(), bytes) << name;
    }
    by_operators.insert(files.begin(), files.end());
  }
  EXPECT_EQ(all, by_operators);
  return all;
}

std::string NumberedLines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += std::to_string(i) + " " + std::to_string(i % 97) + "\n";
  return text;
}

// A plain write with drops (a filter), a 64-bit seed of gen, and a timing below a microsecond:
// all integers are integers, no exponent anywhere.
TEST(StatsJsonTest, PlainWriteWithDropsMatchesTheSchema) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), NumberedLines(5000));
  const auto r = RunCorpusflow(
      {"run",
       "read " + dir.File("in.txt") + " | filter --min-chars 6 | write " + dir.File("out.txt.zst"),
       "--progress", "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(dir.File("s.json"));
  const auto files = CheckDocument(text);
  EXPECT_EQ(files.size(), 1u);
  EXPECT_EQ(files.count(dir.File("out.txt.zst")), 1u) << text;
  EXPECT_NE(text.find("\"dropped\": {\"shorter_than_6_chars\": "), std::string::npos) << text;
  EXPECT_NE(text.find("\"records_in\": 5000, \"records_out\": "), std::string::npos) << text;

  const auto gen =
      RunCorpusflow({"run",
                     "gen --bytes 2K --seed 12345678901234 | shuffle --seed 12345678901234567 | "
                     "write " +
                         dir.File("g.txt"),
                     "--progress", "never", "--stats-json", dir.File("g.json")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string gen_text = ReadFile(dir.File("g.json"));
  CheckDocument(gen_text);
  EXPECT_NE(gen_text.find("\"seed\": 12345678901234,"), std::string::npos) << gen_text;
  EXPECT_NE(gen_text.find("\"seed\": 12345678901234567"), std::string::npos) << gen_text;
}

// A sharded write-megatron listed a path that does not exist (the prefix) with bytes_out 0:
// now every shard's .bin and .idx, each with its size.
TEST(StatsJsonTest, ShardedWriteMegatronListsEveryShardFile) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), NumberedLines(20000));
  const auto r = RunCorpusflow({"run",
                                "read " + dir.File("in.txt") +
                                    " | shuffle --seed 1 | parse-ids --vocab-size 30000 | "
                                    "write-megatron " +
                                    dir.File("m") + " --shards 2",
                                "--progress", "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(dir.File("s.json"));
  const auto files = CheckDocument(text);
  std::set<std::string> names;
  for (const auto& [path, bytes] : files) {
    names.insert(std::filesystem::path(path).filename().string());
    EXPECT_GT(bytes, 0u) << path;
  }
  EXPECT_EQ(names, (std::set<std::string>{"m-00000-of-00002_text_ids_document.bin",
                                          "m-00000-of-00002_text_ids_document.idx",
                                          "m-00001-of-00002_text_ids_document.bin",
                                          "m-00001-of-00002_text_ids_document.idx"}))
      << text;
  // The inputs and output are regular files: the I/O bound names their devices, never "location
  // not known".
  EXPECT_EQ(text.find("location not known"), std::string::npos) << text;
}

// The sharded shuffle command: every shard with its size; the sink's bytes_out their sum.
TEST(StatsJsonTest, ShardedShuffleListsEveryShard) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), NumberedLines(30000));
  const auto r =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt"), "--shards", "3",
                     "--seed", "5", "--progress", "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(dir.File("s.json"));
  const auto files = CheckDocument(text);
  ASSERT_EQ(files.size(), 3u) << text;
  uint64_t total = 0;
  for (const auto& [path, bytes] : files) total += bytes;
  EXPECT_EQ(total, ReadFile(dir.File("in.txt")).size());
  EXPECT_EQ(text.find("location not known"), std::string::npos) << text;
}

// A tokenize run with drops (a filter before it) and a write-megatron of its ids.
TEST(StatsJsonTest, TokenizeWithDropsMatchesTheSchema) {
  ScopedTempDir dir;
  WriteFile(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n");
  std::string input;
  for (int i = 0; i < 3000; ++i) input += (i % 3 == 0 ? "hi\n" : "hello world again\n");
  WriteFile(dir.File("in.txt"), input);
  const auto r = RunCorpusflow({"run",
                                "read " + dir.File("in.txt") +
                                    " | filter --min-chars 3 | tokenize --kind wordpiece "
                                    "--vocab " +
                                    dir.File("vocab.txt") + " | write-megatron " + dir.File("ds"),
                                "--progress", "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = ReadFile(dir.File("s.json"));
  const auto files = CheckDocument(text);
  EXPECT_EQ(files.size(), 2u) << text;
  EXPECT_NE(text.find("\"records_in\": 3000, \"records_out\": 2000, \"records_dropped\": 1000"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"unknown_tokens\": 2000"), std::string::npos) << text;
}

TEST(StatsJsonTest, PackMatchesTheSchema) {
  ScopedTempDir dir;
  std::string input;
  for (int i = 0; i < 500; ++i) input += (i % 50 == 0 ? "\n" : "1 2 3 4 5 6 7\n");
  WriteFile(dir.File("in.txt"), input);
  for (const std::string mode : {"concat", "best-fit"}) {
    const auto r =
        RunCorpusflow({"run",
                       "read " + dir.File("in.txt") + " | parse-ids | pack --mode " + mode +
                           " --length 64 --eod 0 | write " + dir.File(mode + ".jsonl"),
                       "--progress", "never", "--stats-json", dir.File("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = ReadFile(dir.File("s.json"));
    CheckDocument(text);
    EXPECT_NE(text.find("\"empty_document\": 10"), std::string::npos) << text;
    EXPECT_NE(text.find("\"documents\": 490"), std::string::npos) << text;
    // 490 documents of 8 ids: 3920 ids, 61 full windows of 64 and 16 ids left (concat drops
    // them with the 2 documents only there); best-fit puts 8 documents in each of 62 samples,
    // the last one with 2.
    EXPECT_NE(text.find(mode == "concat" ? "\"only_in_the_dropped_last_window\": 2"
                                         : "\"padding_tokens\": 48"),
              std::string::npos)
        << text;
  }
}

// Standard output is listed as "<stdout>" without a size, and adds nothing to bytes_out.
TEST(StatsJsonTest, StdoutIsListedWithoutASize) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), NumberedLines(10));
  const auto r = RunCorpusflow({"run", "read " + dir.File("in.txt") + " | write -", "--progress",
                                "never", "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, NumberedLines(10));
  const std::string text = ReadFile(dir.File("s.json"));
  CheckDocument(text);
  EXPECT_NE(text.find("\"outputs\": [{\"path\": \"<stdout>\", \"bytes\": null}]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"name\": \"write\", \"records_in\": 10, \"records_out\": 0, "
                      "\"bytes_in\": 30, \"bytes_out\": 0,"),
            std::string::npos)
      << text;
}

// The trainer-format sinks: every counter documented for its operator, every file listed with
// its size.
TEST(StatsJsonTest, TrainerFormatSinksMatchTheSchema) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 2 9 0\", \"mask\": \"0 1 1 0\", \"bounds\": \"0 3\"}\n"
            "{\"ids\": \"3 9 4 9\", \"mask\": \"1 1 1 1\", \"bounds\": \"0 2 4\"}\n");
  const std::string read = "read " + dir.File("in.jsonl") +
                           " --field ids,mask,bounds | parse-ids --field ids --output input_ids "
                           "--vocab-size 10 | parse-ids --field mask --output loss_mask | "
                           "parse-ids --field bounds --output cu_seqlens | ";
  for (const std::string& sink :
       {"write-datatrove " + dir.File("dt") + " --shards 2", "write-mds " + dir.File("mds"),
        "write-olmo " + dir.File("ol") + " --eos 9", "write-megatron " + dir.File("mg")}) {
    const auto r = RunCorpusflow(
        {"run", read + sink, "--progress", "never", "--stats-json", dir.File("s.json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = ReadFile(dir.File("s.json"));
    const auto files = CheckDocument(text);
    EXPECT_GE(files.size(), 2u) << text;
    if (!sink.starts_with("write-megatron")) {
      EXPECT_NE(text.find("\"padding_tokens\": 1, \"samples\": 2"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace corpusflow
