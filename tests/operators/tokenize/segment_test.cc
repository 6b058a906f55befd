// The `segment` operator: the tokens field, options, invalid UTF-8 (replaced, dropped, error:
// counted), empty text, a 1 MB line without spaces, the same output for any thread count, user
// dictionaries, and the operator through the `corpusflow` binary against python3-jieba.
#include "operators/tokenize/segment.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/stats.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SourceDir;
using testing::WriteFile;

std::string Slashed(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i > 0 ? "/" : "") + words[i];
  return out;
}

/// Run VectorSource(records) | segment(options) | collect; returns each record's tokens joined
/// with '/'.
std::vector<std::string> Segment(const std::vector<std::string>& records, SegmentOptions options,
                                 int threads = 2, RunStats* stats = nullptr,
                                 size_t batch_records = 2) {
  testing::CollectedOutput output;
  testing::CollectingSinkOptions sink;
  sink.all_fields = true;
  const std::string field = options.output;
  testing::RunChain(testing::Chain(std::make_unique<testing::VectorSource>(records, batch_records),
                                   std::make_unique<SegmentOperator>(std::move(options)),
                                   std::make_unique<testing::CollectingSink>(&output, sink)),
                    testing::TestRunOptions(threads, 64 << 20), stats);
  std::vector<std::string> out;
  for (const auto& record : output.records) {
    out.push_back(Slashed(std::get<std::vector<std::string>>(record.Get(field))));
  }
  return out;
}

TEST(SegmentOperatorTest, WritesTokensField) {
  const std::vector<std::string> out =
      Segment({"他来到了网易杭研大厦", "", "结婚的和尚未结婚的", "c++和C#都是编程语言"}, {});
  EXPECT_EQ(out, (std::vector<std::string>{"他/来到/了/网易/杭/研/大厦", "",
                                           "结婚/的/和/尚未/结婚/的", "c++/和/C#/都/是/编程语言"}));
}

TEST(SegmentOperatorTest, InvalidUtf8IsReplacedDroppedOrAnError) {
  const std::vector<std::string> records = {"你好\xFF世界", "abc", "\xE4\xB8"};
  RunStats stats;
  SegmentOptions options;
  EXPECT_EQ(Segment(records, options, 2, &stats),
            (std::vector<std::string>{"你好/\xEF\xBF\xBD/世界", "abc", "\xEF\xBF\xBD"}));
  EXPECT_EQ(stats.operators()[1]->counter("invalid_utf8_replaced"), 2u);

  RunStats drop_stats;
  options.invalid_utf8 = BadUtf8Policy::kDrop;
  EXPECT_EQ(Segment(records, options, 2, &drop_stats), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(drop_stats.operators()[1]->drops().at("invalid UTF-8"), 2u);
  EXPECT_EQ(drop_stats.operators()[1]->records_out, 1u);

  options.invalid_utf8 = BadUtf8Policy::kError;
  const std::string message =
      testing::ErrorMessage<DataError>([&] { Segment(records, options, /*threads=*/1); });
  EXPECT_NE(message.find("segment: record 1: field 'text' is not valid UTF-8"), std::string::npos)
      << message;
}

TEST(SegmentOperatorTest, FieldOptionsAndOneMegabyteLine) {
  SegmentOptions options;
  options.field = "text";
  options.output = "words";
  std::string line;
  while (line.size() < (1 << 20)) line += "中华人民共和国成立了abc123";
  const std::vector<std::string> out = Segment({line, "ok"}, options);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].substr(0, std::string("中华人民共和国/成立/了/abc123/").size()),
            "中华人民共和国/成立/了/abc123/");
  EXPECT_EQ(out[1], "ok");
  const SegmentOperator op(options);
  EXPECT_THROW(op.OutputSchema(Schema({Field{"src", FieldType::kString, 0}})), InvalidArgument);
  const Schema schema = op.OutputSchema(Schema({Field{"text", FieldType::kString, 0}}));
  ASSERT_NE(schema.Find("words"), nullptr);
  EXPECT_EQ(schema.Find("words")->type, FieldType::kStringList);
}

TEST(SegmentOperatorTest, SameOutputForAnyThreadCount) {
  const std::vector<std::string> corpus = [] {
    std::vector<std::string> lines;
    const std::string data = ReadFile("/usr/share/games/fortunes/tang300");
    size_t pos = 0;
    while (pos < data.size()) {
      const size_t eol = std::min(data.find('\n', pos), data.size());
      lines.push_back(data.substr(pos, eol - pos));
      pos = eol + 1;
    }
    return lines;
  }();
  const std::vector<std::string> one = Segment(corpus, {}, 1, nullptr, 7);
  EXPECT_EQ(one.size(), corpus.size());
  EXPECT_EQ(Segment(corpus, {}, 2, nullptr, 7), one);
  EXPECT_EQ(Segment(corpus, {}, 8, nullptr, 7), one);
}

TEST(SegmentOperatorTest, UserDictionaryAndMissingFiles) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("user.txt"), "杭研大厦 100\n");
  SegmentOptions options;
  options.user_dict_paths = {tmp.File("user.txt")};
  EXPECT_EQ(Segment({"他来到了网易杭研大厦"}, options),
            (std::vector<std::string>{"他/来到/了/网易/杭研大厦"}));
  options.user_dict_paths = {tmp.File("missing.txt")};
  const SegmentOperator op(options);
  EXPECT_THROW(op.Validate(testing::TestPlanContext(testing::TestRunOptions(1, 64 << 20))),
               IoError);
}

TEST(SegmentOperatorTest, BinaryMatchesPythonJieba) {
  ScopedTempDir tmp;
  const std::string text =
      "我来到北京清华大学\n他说：“iPhone12售价5499元！”\n\n  空格  和\t制表符\n"
      "增长了3.14%，e-mail地址是a_b@x.com\n";
  WriteFile(tmp.File("in.txt"), text);
  const auto result = testing::RunCorpusflow({"run",
                                              "read " + tmp.File("in.txt") + " | segment | write " +
                                                  tmp.File("out.jsonl") + " --field tokens",
                                              "--threads", "2", "--progress", "never"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The oracle prints JSON arrays the way write does for string lists.
  const auto oracle = RunProgram(
      {"/usr/bin/python3", "-c",
       "import jieba, json, logging, sys\n"
       "jieba.setLogLevel(logging.ERROR)\n"
       "for line in open(sys.argv[1], encoding='utf-8').read().split('\\n')[:-1]:\n"
       "    words = list(jieba.cut(line, HMM=False))\n"
       "    print(json.dumps({'tokens': words}, ensure_ascii=False, separators=(',', ':')))\n",
       tmp.File("in.txt")},
      "", {"TMPDIR=" + tmp.path().string()});
  ASSERT_EQ(oracle.exit_code, 0) << oracle.err;
  EXPECT_EQ(ReadFile(tmp.File("out.jsonl")), oracle.out);
}

}  // namespace
}  // namespace corpusflow
