// Sentence splitting: the PEGASUS reference rule, the CJK rule (terminators, closing quotes,
// line breaks, dots in numbers), losslessness on random text with invalid UTF-8, and the
// `sentences` operator in a pipeline.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "operators/pegasus/sentence_splitter.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

std::vector<std::string> Split(std::string_view text, SentenceMode mode) {
  std::vector<std::string_view> views;
  SplitSentences(text, mode, &views);
  return std::vector<std::string>(views.begin(), views.end());
}

using Strings = std::vector<std::string>;

TEST(SentenceSplitterTest, PegasusReferenceRule) {
  const SentenceMode m = SentenceMode::kPegasus;
  EXPECT_EQ(Split("The cat sat on the mat. The dog sat on the log. A bird flew. The cat and the "
                  "dog sat.",
                  m),
            (Strings{"The cat sat on the mat. ", "The dog sat on the log. ", "A bird flew. ",
                     "The cat and the dog sat."}));
  // A run of terminators, then the whole whitespace run, stays with the sentence.
  EXPECT_EQ(Split("Really?!  Yes...\n\tNo", m), (Strings{"Really?!  ", "Yes...\n\t", "No"}));
  // No whitespace after the run: no boundary.
  EXPECT_EQ(Split("3.14 is pi.e.g. x", m), (Strings{"3.14 is pi.e.g. ", "x"}));
  EXPECT_EQ(Split("a.b", m), (Strings{"a.b"}));
  // Chinese punctuation is not a boundary in the reference.
  EXPECT_EQ(Split("第一句。第二句！第三句？", m), (Strings{"第一句。第二句！第三句？"}));
  EXPECT_EQ(Split("", m), Strings{});
  EXPECT_EQ(Split("   ", m), (Strings{"   "}));
  EXPECT_EQ(Split(". x", m), (Strings{". ", "x"}));
  EXPECT_EQ(Split("End. ", m), (Strings{"End. "}));
  // Only ASCII whitespace counts (U+3000 does not).
  EXPECT_EQ(Split("A.\u3000B. C", m), (Strings{"A.\u3000B. ", "C"}));
}

TEST(SentenceSplitterTest, CjkTerminatorsAndClosers) {
  const SentenceMode m = SentenceMode::kCjk;
  EXPECT_EQ(Split("第一句话。第二句话！第三句话？", m),
            (Strings{"第一句话。", "第二句话！", "第三句话？"}));
  EXPECT_EQ(Split("他说：“你好！”然后走了。", m), (Strings{"他说：“你好！”", "然后走了。"}));
  EXPECT_EQ(Split("真的吗？！是的……好吧；再见。", m),
            (Strings{"真的吗？！", "是的……", "好吧；", "再见。"}));
  EXPECT_EQ(Split("（注意。）下一句。", m), (Strings{"（注意。）", "下一句。"}));
  EXPECT_EQ(Split("「好。」『对。』", m), (Strings{"「好。」", "『对。』"}));
  // ASCII ! and ? end a sentence anywhere; a dot only before whitespace or at the end.
  EXPECT_EQ(Split("版本1.0发布了!快来看?好", m), (Strings{"版本1.0发布了!", "快来看?", "好"}));
  EXPECT_EQ(Split("Version 3.14 is out. Try it.", m),
            (Strings{"Version 3.14 is out. ", "Try it."}));
  EXPECT_EQ(Split("He said \"stop.\" Then left.", m),
            (Strings{"He said \"stop.\" ", "Then left."}));
  // Whitespace after a boundary (full-width space included) stays with the sentence.
  EXPECT_EQ(Split("一。\u3000二。 三", m), (Strings{"一。\u3000", "二。 ", "三"}));
}

TEST(SentenceSplitterTest, CjkLineBreaks) {
  const SentenceMode m = SentenceMode::kCjk;
  EXPECT_EQ(Split("标题\n正文第一句。正文第二句\r\n最后", m),
            (Strings{"标题\n", "正文第一句。", "正文第二句\r\n", "最后"}));
  // Blank lines and indentation go with the sentence before them; leading whitespace with the
  // first sentence.
  EXPECT_EQ(Split("\n\n  开头\n\n\n  第二段。\n", m),
            (Strings{"\n\n  开头\n\n\n  ", "第二段。\n"}));
  EXPECT_EQ(Split("  \n\t ", m), Strings{});
  EXPECT_EQ(Split("", m), Strings{});
  EXPECT_EQ(Split("没有标点的一段话", m), (Strings{"没有标点的一段话"}));
  EXPECT_EQ(Split("\u2028a\u2029b", m), (Strings{"\u2028a\u2029", "b"}));
}

TEST(SentenceSplitterTest, InvalidUtf8IsAnOrdinaryCharacter) {
  const std::string text = "坏\xff\xfe字。好\xe4\xb8字";
  EXPECT_EQ(Split(text, SentenceMode::kCjk), (Strings{"坏\xff\xfe字。", "好\xe4\xb8字"}));
  EXPECT_EQ(Split(text, SentenceMode::kPegasus), (Strings{text}));
}

TEST(SentenceSplitterTest, SentencesConcatenateBackToTheText) {
  std::mt19937_64 rng(12345);
  const std::vector<std::string> pieces = {
      "a",  "Z",      "3",  ".",    "!",    "?",    " ",        "\n",    "\t", "。",
      "！", "？",     "；", "…",    "”",    "」",   "）",       ")",     "\"", "汉",
      "字", "\u3000", "\r", "\xff", "\xe4", "\xb8", "\xc3\xa9", "\u2028"};
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 60);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const size_t n = length(rng);
    for (size_t i = 0; i < n; ++i) text += pieces[pick(rng)];
    for (const SentenceMode mode : {SentenceMode::kPegasus, SentenceMode::kCjk}) {
      const Strings sentences = Split(text, mode);
      std::string joined;
      for (const std::string& s : sentences) {
        ASSERT_FALSE(s.empty());
        joined += s;
      }
      if (mode == SentenceMode::kCjk && sentences.empty()) {
        // Only a text without content has no sentence.
        ASSERT_TRUE(SplitSentenceParts(text).content.empty()) << text;
      } else {
        ASSERT_EQ(joined, text) << "mode " << SentenceModeName(mode);
      }
    }
  }
}

TEST(SentenceSplitterTest, SentenceParts) {
  const SentenceParts p = SplitSentenceParts(" \n 你好。\u3000 \n");
  EXPECT_EQ(p.leading, " \n ");
  EXPECT_EQ(p.content, "你好。");
  EXPECT_EQ(p.trailing, "\u3000 \n");
  const SentenceParts q = SplitSentenceParts("   ");
  EXPECT_EQ(q.leading, "   ");
  EXPECT_EQ(q.content, "");
  EXPECT_EQ(q.trailing, "");
}

TEST(SentenceSplitterTest, ModeNames) {
  EXPECT_EQ(ParseSentenceMode("cjk"), SentenceMode::kCjk);
  EXPECT_EQ(ParseSentenceMode("pegasus"), SentenceMode::kPegasus);
  EXPECT_THROW(ParseSentenceMode("english"), InvalidArgument);
}

TEST(SentencesOperatorTest, WritesAStringListFieldForAnyThreadCount) {
  std::vector<std::string> docs;
  for (int i = 0; i < 500; ++i) {
    docs.push_back("文档" + std::to_string(i) + "的第一句。第二句！\n第三行" +
                   std::string(i % 3 == 0 ? "" : "。Last one. Done"));
  }
  std::vector<std::vector<std::string>> expected;
  for (const std::string& d : docs) expected.push_back(Split(d, SentenceMode::kCjk));
  for (const int threads : {1, 2, 8}) {
    testing::CollectedOutput output;
    testing::CollectingSinkOptions sink;
    sink.all_fields = true;
    sink.field = "";
    RunStats stats;
    testing::RunChain(
        testing::Chain(std::make_unique<testing::VectorSource>(docs, 37),
                       OperatorRegistry::Global().Create("sentences", {"--mode", "cjk"}),
                       std::make_unique<testing::CollectingSink>(&output, sink)),
        testing::TestRunOptions(threads, 64 << 20), &stats);
    ASSERT_EQ(output.records.size(), docs.size());
    uint64_t total = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      EXPECT_EQ(std::get<std::string>(output.records[i].Get("text")), docs[i]);
      EXPECT_EQ(std::get<std::vector<std::string>>(output.records[i].Get("sentences")),
                expected[i]);
      total += expected[i].size();
    }
    EXPECT_EQ(stats.operators()[1]->counter("sentences"), total);
  }
}

TEST(SentencesOperatorTest, SchemaErrors) {
  auto op = OperatorRegistry::Global().Create("sentences", {"--field", "body"});
  EXPECT_THROW(op->OutputSchema(Schema({Field{"text", FieldType::kString, 0}})), InvalidArgument);
  EXPECT_THROW(OperatorRegistry::Global().Create("sentences", {"--mode", "latin"}),
               InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
