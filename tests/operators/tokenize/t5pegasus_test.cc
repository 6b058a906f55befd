// `tokenize --kind t5pegasus`: the REFERENCE.md vectors, the reference truncation, parity with a
// Python oracle of bert4keras' semantics (tests/operators/tokenize/t5pegasus_oracle.py, real
// python3-jieba) on every line of Debian's fortunes-zh with a vocabulary built by `vocab`, and
// the operator end to end through the `corpusflow` binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "operators/tokenize/tokenize.h"
#include "operators/tokenize/vocab.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::JoinIds;
using testing::SplitLines;

using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SourceDir;
using testing::WriteFile;

/// The vocabulary of REFERENCE.md section 4 (ids by line).
const char kReferenceVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n我\n来\n到\n北京\n清华大学\n，\n。\nhello\nun\n##aff\n"
    "##able\niphone\n##12\n预\n训练\n模型\n北\n京\n";

std::string EncodeWithSpecials(const TextTokenizer& tokenizer, std::string_view text,
                               size_t max_len = 0) {
  std::vector<int32_t> ids = {*tokenizer.start_id()};
  tokenizer.Encode(text, &ids);
  ids.push_back(*tokenizer.end_id());
  TruncateIds(&ids, true, max_len);
  return JoinIds(ids);
}

TEST(T5PegasusTokenizerTest, ReferenceVectors) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kReferenceVocab);
  TokenizerOptions options;
  options.kind = TokenizerKind::kT5Pegasus;
  options.vocab_path = tmp.File("vocab.txt");
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(tokenizer->vocab_size(), 23);
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "我来到北京清华大学。"), "2 5 6 7 8 9 11 3");
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "Hello, unaffable iPhone12!"),
            "2 12 1 13 14 15 16 17 1 3");
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "预训练模型"), "2 18 19 20 3");
  // Accents and case go before jieba; "北京" is a vocabulary word, "北京市" is not: its
  // characters go through WordPiece (市 is unknown).
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "HÉLLO北京市"), "2 12 21 22 1 3");
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, ""), "2 3");
  // Reference truncation (bert4keras encode(maxlen)): the first N-1 tokens and [SEP].
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "我来到北京清华大学。", 4), "2 5 6 3");
  EXPECT_EQ(EncodeWithSpecials(*tokenizer, "我来到北京清华大学。", 8), "2 5 6 7 8 9 11 3");
  // A 1 MB line without spaces: one jieba word, longer than 200 characters, one [UNK].
  std::vector<int32_t> ids;
  EXPECT_EQ(tokenizer->Encode(std::string(1 << 20, 'a'), &ids), 1u);
  EXPECT_EQ(ids, std::vector<int32_t>{1});
  std::string chinese;
  while (chinese.size() < (1 << 20)) chinese += "我来到北京清华大学";
  ids.clear();
  EXPECT_EQ(tokenizer->Encode(chinese, &ids), 0u);
  EXPECT_EQ(ids.size(), chinese.size() / std::string("我来到北京清华大学").size() * 5);
}

/// Lines beyond the fortunes: mixed scripts, accents, full-width forms, long words.
std::vector<std::string> ExtraLines() {
  return {
      "Café Déjà Vu — naïve façade, ÅNGSTRÖM résumé! 我们在北京开会。",
      "ＦＵＬＬ－ＷＩＤＴＨ ｔｅｘｔ １２３，测试iPhone12和c++以及C#。",
      "tabs\tand\u00a0nbsp\u3000ideographic space\r CR 结束\x1c"
      "\xC2\x85 end",
      "emoji 😀 中文 Hangul 한국어 Русский Ё",
      std::string(250, 'x') + " 长单词 " + std::string(150, 'y'),
      "增长了3.14%，e-mail地址是a_b@x.com",
      "",
  };
}

TEST(T5PegasusTokenizerTest, ParityWithBert4kerasSemanticsOnFortunesZh) {
  ScopedTempDir tmp;
  std::vector<std::string> lines;
  for (const char* name : {"chinese", "tang300", "song100"}) {
    const std::string path = std::string("/usr/share/games/fortunes/") + name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path << ": install Debian's fortunes-zh";
    for (std::string& line : SplitLines(ReadFile(path))) lines.push_back(std::move(line));
  }
  for (std::string& line : ExtraLines()) lines.push_back(std::move(line));

  // A vocabulary of the corpus itself, small enough that many jieba words are not in it.
  VocabOptions vocab;
  vocab.output = tmp.File("vocab.txt");
  vocab.size = 6000;
  testing::RunChain(testing::Chain(std::make_unique<testing::VectorSource>(lines, 1000),
                                   std::make_unique<VocabOperator>(vocab)),
                    testing::TestRunOptions(2, 256 << 20));

  WriteFile(tmp.File("input.txt"), testing::JoinLines(lines));
  const auto result =
      RunProgram({"/usr/bin/python3", SourceDir() + "/tests/operators/tokenize/t5pegasus_oracle.py",
                  tmp.File("vocab.txt"), tmp.File("input.txt"), tmp.File("oracle.txt")},
                 "", {"TMPDIR=" + tmp.path().string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> expected = SplitLines(ReadFile(tmp.File("oracle.txt")));
  ASSERT_EQ(expected.size(), lines.size());

  TokenizerOptions options;
  options.kind = TokenizerKind::kT5Pegasus;
  options.vocab_path = tmp.File("vocab.txt");
  const auto tokenizer = TextTokenizer::Create(options);
  int differences = 0;
  size_t unknown = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<int32_t> ids = {*tokenizer->start_id()};
    unknown += tokenizer->Encode(lines[i], &ids);
    ids.push_back(*tokenizer->end_id());
    if (JoinIds(ids) != expected[i] && ++differences <= 5) {
      ADD_FAILURE() << "line " << i + 1 << ": '" << lines[i] << "'\n  corpusflow: " << JoinIds(ids)
                    << "\n  oracle:     " << expected[i];
    }
  }
  EXPECT_EQ(differences, 0);
  EXPECT_GT(unknown, 0u);
}

TEST(T5PegasusTokenizerTest, EndToEndThroughTheBinary) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kReferenceVocab);
  WriteFile(tmp.File("in.txt"), "我来到北京清华大学。\nHello, unaffable iPhone12!\n预训练模型\n");
  const auto result = testing::RunCorpusflow(
      {"run",
       "read " + tmp.File("in.txt") + " | tokenize --kind t5pegasus --vocab " +
           tmp.File("vocab.txt") + " --add-special --max-len 6 --output src_ids | write " +
           tmp.File("out.jsonl") + " --field src_ids",
       "--threads", "2", "--progress", "never", "--stats-json", tmp.File("stats.json")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(ReadFile(tmp.File("out.jsonl")),
            "{\"src_ids\":[2,5,6,7,8,3]}\n{\"src_ids\":[2,12,1,13,14,3]}\n"
            "{\"src_ids\":[2,18,19,20,3]}\n");
  const std::string stats = ReadFile(tmp.File("stats.json"));
  EXPECT_NE(stats.find("\"unknown_tokens\": 2"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"truncated_records\": 2"), std::string::npos) << stats;
}

}  // namespace
}  // namespace corpusflow
