#include "operators/io/filter.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::BatchSource;
using testing::Chain;
using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::RunChain;
using testing::TestRunOptions;
using testing::VectorSource;

struct FilterResult {
  std::vector<std::string> kept;
  std::map<std::string, uint64_t> drops;
};

/// Run `records | filter ARGS | collect` with `threads` workers and small batches.
FilterResult RunFilter(const std::vector<std::string>& records,
                       const std::vector<std::string>& args, int threads = 2) {
  CollectedOutput out;
  RunStats stats;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<VectorSource>(records, 3));
  chain.push_back(OperatorRegistry::Global().Create("filter", args));
  chain.push_back(std::make_unique<CollectingSink>(&out));
  RunChain(std::move(chain), TestRunOptions(threads, 1 << 20), &stats);
  EXPECT_EQ(stats.operators()[1]->records_in, records.size());
  EXPECT_EQ(stats.operators()[1]->records_out + stats.operators()[1]->dropped_total(),
            records.size());
  return {out.texts, stats.operators()[1]->drops()};
}

TEST(FilterTest, EmptyOrWhitespace) {
  EXPECT_TRUE(IsEmptyOrWhitespace(""));
  EXPECT_TRUE(IsEmptyOrWhitespace(" \t\r\n\v\f"));
  EXPECT_TRUE(IsEmptyOrWhitespace("\u3000\u00a0\u2003\u2028\u0085"));
  EXPECT_FALSE(IsEmptyOrWhitespace(" a "));
  EXPECT_FALSE(IsEmptyOrWhitespace("\u200b"));  // zero width space is not White_Space
  EXPECT_FALSE(IsEmptyOrWhitespace(" \xff "));  // an invalid byte is content
  EXPECT_FALSE(IsEmptyOrWhitespace(std::string(1, '\0')));
}

TEST(FilterTest, MinAndMaxCharsCountCodePoints) {
  // 5 code points / 15 bytes; 2 code points / 6 bytes (4-byte emoji + 2-byte é); 4 ASCII.
  const std::vector<std::string> records = {"你好世界啊", "😀é", "abcd", "", "x"};
  auto result = RunFilter(records, {"--min-chars", "2"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"你好世界啊", "😀é", "abcd"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"shorter than 2 chars", 2}}));

  result = RunFilter(records, {"--max-chars", "4"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"😀é", "abcd", "", "x"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"longer than 4 chars", 1}}));

  result = RunFilter(records, {"--min-chars", "1", "--max-chars", "1"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"x"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"shorter than 1 char", 1},
                                                           {"longer than 1 char", 3}}));
}

TEST(FilterTest, MinAndMaxBytes) {
  const std::vector<std::string> records = {"你好世界啊", "😀é", "abcd", "", "x"};
  auto result = RunFilter(records, {"--min-bytes", "6"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"你好世界啊", "😀é"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"shorter than 6 bytes", 3}}));
  result = RunFilter(records, {"--max-bytes", "6"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"😀é", "abcd", "", "x"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"longer than 6 bytes", 1}}));
  // Sizes take the K/M/G suffixes.
  result = RunFilter({std::string(1024, 'a'), std::string(1025, 'a')}, {"--max-bytes", "1K"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{std::string(1024, 'a')}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"longer than 1024 bytes", 1}}));
}

TEST(FilterTest, DropInvalidUtf8) {
  const std::vector<std::string> records = {"fine",
                                            "bad \xff byte",
                                            "\xe4\xbd",          // truncated sequence
                                            "\xed\xa0\x80",      // a surrogate
                                            "\xc0\xaf",          // an overlong '/'
                                            "\xf4\x90\x80\x80",  // above U+10FFFF
                                            "中文",
                                            "\xf0\x9f\x98\x80",
                                            std::string("nul\0ok", 6)};
  const auto result = RunFilter(records, {"--drop-invalid-utf8"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"fine", "中文", "\xf0\x9f\x98\x80",
                                                   std::string("nul\0ok", 6)}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"invalid utf-8", 5}}));
}

TEST(FilterTest, DropEmpty) {
  const std::vector<std::string> records = {"", " ", "a", "\t\u3000\n", " b ", "\u00a0"};
  const auto result = RunFilter(records, {"--drop-empty"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"a", " b "}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"empty", 4}}));
}

TEST(FilterTest, FirstFailingCheckNamesTheReason) {
  // Order: invalid utf-8, empty, min/max bytes, min/max chars.
  const std::vector<std::string> records = {"\xff", "  ", "ab", "abcdefghijk", "你好", "keep me"};
  const auto result = RunFilter(records, {"--drop-invalid-utf8", "--drop-empty", "--min-bytes", "3",
                                          "--max-bytes", "10", "--min-chars", "3"});
  EXPECT_EQ(result.kept, (std::vector<std::string>{"keep me"}));
  EXPECT_EQ(result.drops, (std::map<std::string, uint64_t>{{"invalid utf-8", 1},
                                                           {"empty", 1},
                                                           {"shorter than 3 bytes", 1},
                                                           {"longer than 10 bytes", 1},
                                                           {"shorter than 3 chars", 1}}));
}

TEST(FilterTest, SameResultForEveryThreadCount) {
  std::vector<std::string> records;
  for (int i = 0; i < 3000; ++i) records.push_back(std::string(static_cast<size_t>(i % 37), 'z'));
  const auto reference = RunFilter(records, {"--min-chars", "10", "--max-bytes", "30"}, 1);
  EXPECT_EQ(
      reference.drops.at("shorter than 10 chars") + reference.drops.at("longer than 30 bytes"),
      3000u - reference.kept.size());
  for (int threads : {2, 8}) {
    const auto result = RunFilter(records, {"--min-chars", "10", "--max-bytes", "30"}, threads);
    EXPECT_EQ(result.kept, reference.kept);
    EXPECT_EQ(result.drops, reference.drops);
  }
}

TEST(FilterTest, CharCountsMatchPythonOnRandomBytes) {
  // Random strings mixing ASCII, valid multi-byte characters and arbitrary bytes; Python's
  // len(bytes.decode("utf-8", errors="replace")) is the oracle for the code point count.
  std::mt19937_64 rng(20240601);
  const std::vector<std::string> pieces = {
      "a",    " ",        "é",        "中",           "😀",        "\xff",
      "\x80", "\xe4\xbd", "\xf0\x9f", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90"};
  std::vector<std::string> records;
  std::string hex_lines;
  for (int i = 0; i < 400; ++i) {
    std::string r;
    const size_t n = rng() % 12;
    for (size_t k = 0; k < n; ++k) {
      if (rng() % 4 == 0) {
        r.push_back(static_cast<char>(rng() % 256));
      } else {
        r += pieces[rng() % pieces.size()];
      }
    }
    records.push_back(r);
    static const char* kHex = "0123456789abcdef";
    for (unsigned char c : r) {
      hex_lines.push_back(kHex[c >> 4]);
      hex_lines.push_back(kHex[c & 15]);
    }
    hex_lines.push_back('\n');
  }
  const auto python = testing::RunProgram(
      {"/usr/bin/python3", "-c",
       "import sys\n"
       "for line in sys.stdin:\n"
       "    print(len(bytes.fromhex(line.strip()).decode('utf-8', errors='replace')))\n"},
      hex_lines);
  ASSERT_EQ(python.exit_code, 0) << python.err;
  std::istringstream lengths(python.out);
  std::vector<uint64_t> expected_chars;
  for (uint64_t n; lengths >> n;) expected_chars.push_back(n);
  ASSERT_EQ(expected_chars.size(), records.size());

  for (uint64_t threshold : {1, 3, 6}) {
    SCOPED_TRACE(threshold);
    std::vector<std::string> expected;
    for (size_t i = 0; i < records.size(); ++i) {
      if (expected_chars[i] >= threshold) expected.push_back(records[i]);
    }
    EXPECT_EQ(RunFilter(records, {"--min-chars", std::to_string(threshold)}).kept, expected);
  }
}

TEST(FilterTest, FiltersOnTheChosenFieldAndKeepsOtherColumns) {
  Batch batch;
  batch.AddString("title");
  batch.AddString("text");
  for (const auto& [title, text] : std::vector<std::pair<std::string, std::string>>{
           {"", "body one"}, {"t2", "body two"}, {"  ", "body three"}, {"t4", ""}}) {
    batch.GetString("title").Append(title);
    batch.GetString("text").Append(text);
  }
  CollectedOutput out;
  CollectingSinkOptions options;
  options.all_fields = true;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<BatchSource>(std::vector<Batch>{batch, batch}));
  chain.push_back(
      OperatorRegistry::Global().Create("filter", {"--drop-empty", "--field", "title"}));
  chain.push_back(std::make_unique<CollectingSink>(&out, options));
  RunChain(std::move(chain), TestRunOptions(2, 1 << 20));
  EXPECT_EQ(out.texts, (std::vector<std::string>{"body two", "", "body two", ""}));
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_EQ(std::get<std::string>(out.records[1].Get("title")), "t4");
}

TEST(FilterTest, OptionErrorsAndSchema) {
  const OperatorRegistry& registry = OperatorRegistry::Global();
  EXPECT_THROW(registry.Create("filter", {}), InvalidArgument);
  EXPECT_THROW(registry.Create("filter", {"--min-chars", "5", "--max-chars", "4"}),
               InvalidArgument);
  EXPECT_THROW(registry.Create("filter", {"--min-bytes", "2K", "--max-bytes", "1K"}),
               InvalidArgument);
  EXPECT_THROW(registry.Create("filter", {"--min-chars", "-3"}), InvalidArgument);
  EXPECT_THROW(registry.Create("filter", {"--min-chars", "ten"}), InvalidArgument);
  EXPECT_THROW(registry.Create("filter", {"--min-char", "3"}), InvalidArgument);
  EXPECT_EQ(testing::ErrorMessage<InvalidArgument>([&] {
              registry.Create("filter", {"--min-chars", "5", "--max-chars", "4"});
            }),
            "filter: --min-chars 5 is above --max-chars 4");

  const auto op = registry.Create("filter", {"--min-chars", "20", "--drop-empty"});
  EXPECT_EQ(op->Describe(), "drop records whose 'text' is empty, shorter than 20 chars");
  const Schema text({Field{"text", FieldType::kString}});
  EXPECT_EQ(op->OutputSchema(text), text);
  EXPECT_THROW(op->OutputSchema(Schema({Field{"src", FieldType::kString}})), InvalidArgument);
}

TEST(FilterCliTest, DropsAreCountedInStatsJson) {
  testing::ScopedTempDir dir;
  const std::string input = dir.File("in.txt");
  const std::string output = dir.File("out.txt");
  const std::string stats = dir.File("stats.json");
  testing::WriteFile(input, "hello world\n\n   \nhi\nok then\n\xff\xfe bad\n");
  const auto result = testing::RunCorpusflow(
      {"run",
       "read " + input + " | filter --drop-empty --drop-invalid-utf8 --min-chars 3 | write " +
           output,
       "--stats-json", stats});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(testing::ReadFile(output), "hello world\nok then\n");

  simdjson::dom::parser parser;
  const simdjson::padded_string json(testing::ReadFile(stats));
  simdjson::dom::element doc = parser.parse(json);
  bool found = false;
  for (simdjson::dom::element op : doc["operators"].get_array()) {
    if (std::string_view(op["name"].get_string()) != "filter") continue;
    found = true;
    EXPECT_EQ(uint64_t(op["records_in"].get_uint64()), 6u);
    EXPECT_EQ(uint64_t(op["records_out"].get_uint64()), 2u);
    std::map<std::string, uint64_t> drops;
    for (auto [reason, n] : op["dropped"].get_object()) {
      drops[std::string(reason)] = uint64_t(n.get_uint64());
    }
    EXPECT_EQ(drops, (std::map<std::string, uint64_t>{
                         {"empty", 2}, {"invalid_utf_8", 1}, {"shorter_than_3_chars", 1}}));
  }
  EXPECT_TRUE(found) << testing::ReadFile(stats);
}

}  // namespace
}  // namespace corpusflow
