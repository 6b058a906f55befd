// Tests of `parse-ids`: whitespace-separated integers into an int32-list field.
#include "operators/tokenize/parse_ids.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::CollectedOutput;
using testing::CollectingSink;
using testing::CollectingSinkOptions;
using testing::VectorSource;

/// Run VectorSource(records) | parse-ids ARGS | collect everything.
std::vector<testing::CollectedRecord> Parse(const std::vector<std::string>& records,
                                            const std::vector<std::string>& args, int threads = 2) {
  CollectedOutput output;
  CollectingSinkOptions options;
  options.field = "";
  options.all_fields = true;
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<VectorSource>(records, 2));
  chain.push_back(OperatorRegistry::Global().Create("parse-ids", args));
  chain.push_back(std::make_unique<CollectingSink>(&output, options));
  testing::RunChain(std::move(chain), testing::TestRunOptions(threads, 64 << 20));
  return std::move(output.records);
}

std::vector<int32_t> Ids(const testing::CollectedRecord& r, const std::string& field) {
  return std::get<std::vector<int32_t>>(r.Get(field));
}

TEST(ParseIdsTest, ParsesAnyAsciiWhitespace) {
  const auto records = Parse({"101 2769 102", "", "  7\t8\r\n9  ", "0", "2147483647", " \t "}, {});
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(Ids(records[0], "text_ids"), (std::vector<int32_t>{101, 2769, 102}));
  EXPECT_EQ(Ids(records[1], "text_ids"), (std::vector<int32_t>{}));
  EXPECT_EQ(Ids(records[2], "text_ids"), (std::vector<int32_t>{7, 8, 9}));
  EXPECT_EQ(Ids(records[3], "text_ids"), (std::vector<int32_t>{0}));
  EXPECT_EQ(Ids(records[4], "text_ids"), (std::vector<int32_t>{2147483647}));
  EXPECT_EQ(Ids(records[5], "text_ids"), (std::vector<int32_t>{}));
  // The input field is kept.
  EXPECT_EQ(std::get<std::string>(records[0].Get("text")), "101 2769 102");
}

TEST(ParseIdsTest, OutputMayReplaceTheInputField) {
  const auto records = Parse({"1 2", "3"}, {"--output", "text"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(Ids(records[1], "text"), (std::vector<int32_t>{3}));
  EXPECT_EQ(records[0].fields.size(), 1u);
}

TEST(ParseIdsTest, SchemaRecordsVocabularySize) {
  auto op = OperatorRegistry::Global().Create("parse-ids",
                                              {"--output", "src_ids", "--vocab-size", "21128"});
  const Schema out = op->OutputSchema(Schema({Field{"text", FieldType::kString, 0}}));
  ASSERT_NE(out.Find("src_ids"), nullptr);
  EXPECT_EQ(out.Find("src_ids")->type, FieldType::kInt32List);
  EXPECT_EQ(out.Find("src_ids")->vocab_size, 21128);
  EXPECT_THROW(op->OutputSchema(Schema({Field{"src", FieldType::kString, 0}})), InvalidArgument);
}

/// The DataError message of parsing `records` with `args`.
std::string ParseError(const std::vector<std::string>& records,
                       const std::vector<std::string>& args = {}) {
  try {
    Parse(records, args);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ParseIdsTest, ErrorsNameTheRecord) {
  EXPECT_EQ(ParseError({"1", "2", "3", "4 x5 6"}),
            "parse-ids: record 4, field 'text': 'x5' is not an integer");
  EXPECT_EQ(ParseError({"1 2abc"}), "parse-ids: record 1, field 'text': '2abc' is not an integer");
  EXPECT_EQ(ParseError({"1", "+3"}), "parse-ids: record 2, field 'text': '+3' is not an integer");
  EXPECT_EQ(ParseError({"1.5"}), "parse-ids: record 1, field 'text': '1.5' is not an integer");
  EXPECT_EQ(ParseError({"0", "0", "0", "0", "0", "2147483648"}),
            "parse-ids: record 6, field 'text': id 2147483648 does not fit int32");
  EXPECT_EQ(ParseError({"99999999999999999999999"}),
            "parse-ids: record 1, field 'text': id 99999999999999999999999 does not fit int32");
  EXPECT_EQ(ParseError({"-1"}), "parse-ids: record 1, field 'text': id -1 is negative");
  EXPECT_EQ(ParseError({"5 100"}, {"--vocab-size", "100"}),
            "parse-ids: record 1, field 'text': id 100 is not below --vocab-size 100");
  EXPECT_EQ(ParseError({"5 99"}, {"--vocab-size", "100"}), "(no error)");
}

TEST(ParseIdsTest, ResultDoesNotDependOnThreads) {
  std::vector<std::string> lines;
  for (int i = 0; i < 500; ++i) lines.push_back(std::to_string(i) + " " + std::to_string(i * 7));
  const auto one = Parse(lines, {}, 1);
  const auto eight = Parse(lines, {}, 8);
  ASSERT_EQ(one.size(), 500u);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(Ids(one[i], "text_ids"), Ids(eight[i], "text_ids"));
    EXPECT_EQ(Ids(one[i], "text_ids"),
              (std::vector<int32_t>{static_cast<int32_t>(i), static_cast<int32_t>(i * 7)}));
  }
}

TEST(ParseIdsTest, BadOptions) {
  EXPECT_THROW(OperatorRegistry::Global().Create("parse-ids", {"--vocab-size", "-3"}),
               InvalidArgument);
  EXPECT_THROW(OperatorRegistry::Global().Create("parse-ids", {"--output", ""}), InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
