// The `vocab` sink: a hand-checked small corpus, --size and --min-frequency, identical output for
// every thread count and memory budget (tiny budgets force spilled runs and multi-pass merges),
// a vocabulary the t5pegasus tokenizer loads, and the `corpusflow vocab` shortcut.
#include "operators/tokenize/vocab.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/stats.h"
#include "operators/tokenize/tokenize.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::SplitLines;

using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Build a vocabulary of `records` in-process; returns the file's lines.
std::vector<std::string> BuildVocab(const std::vector<std::string>& records, VocabOptions options,
                                    int threads = 2, uint64_t memory = 256 << 20,
                                    RunStats* stats = nullptr, size_t batch_records = 2) {
  testing::RunChain(testing::Chain(std::make_unique<testing::VectorSource>(records, batch_records),
                                   std::make_unique<VocabOperator>(options)),
                    testing::TestRunOptions(threads, memory), stats);
  return SplitLines(ReadFile(options.output));
}

const std::vector<std::string> kSmallCorpus = {"我爱北京天安门",          "北京欢迎你",
                                               "Hello hello HELLO world", "Café naïve CAFÉ",
                                               "你好，世界！\r\n",        ""};

// Counted by hand (normalised text, jieba words, characters; see vocab.h):
//   ##l 7, ##e 6, ##o 4, ##a 3, h 3, hello 3, ##f 2, c 2, cafe 2, 京 2, 你 2, 北 2, 北京 2, and
//   once each: ##d ##i ##r ##v n naive w world 世 世界 你好 天 天安门 好 安 我 欢 欢迎 爱 界 迎
//   门 ！ ， -- ties in UTF-8 byte order.
const std::vector<std::string> kSmallCorpusVocab = {
    "##l",   "##e", "##o",  "##a",  "h",   "hello",  "##f", "c",  "cafe",  "京",
    "你",    "北",  "北京", "##d",  "##i", "##r",    "##v", "n",  "naive", "w",
    "world", "世",  "世界", "你好", "天",  "天安门", "好",  "安", "我",    "欢",
    "欢迎",  "爱",  "界",   "迎",   "门",  "！",     "，"};

TEST(VocabTest, HandCheckedSmallCorpus) {
  ScopedTempDir tmp;
  VocabOptions options;
  options.output = tmp.File("vocab.txt");
  options.size = 1000;
  const std::vector<std::string> lines = BuildVocab(kSmallCorpus, options);
  const std::vector<std::string>& specials = VocabSpecialTokens();
  ASSERT_EQ(specials.size(), 104u);
  EXPECT_EQ(specials[0], "[PAD]");
  EXPECT_EQ(specials[1], "[unused1]");
  EXPECT_EQ(specials[99], "[unused99]");
  EXPECT_EQ(specials[100], "[UNK]");
  EXPECT_EQ(specials[101], "[CLS]");
  EXPECT_EQ(specials[102], "[SEP]");
  EXPECT_EQ(specials[103], "[MASK]");
  std::vector<std::string> expected = specials;
  expected.insert(expected.end(), kSmallCorpusVocab.begin(), kSmallCorpusVocab.end());
  EXPECT_EQ(lines, expected);
}

TEST(VocabTest, SizeAndMinimumFrequency) {
  ScopedTempDir tmp;
  VocabOptions options;
  options.output = tmp.File("vocab.txt");
  options.size = 104 + 6;
  std::vector<std::string> lines = BuildVocab(kSmallCorpus, options);
  ASSERT_EQ(lines.size(), 110u);
  EXPECT_EQ(std::vector<std::string>(lines.begin() + 104, lines.end()),
            std::vector<std::string>(kSmallCorpusVocab.begin(), kSmallCorpusVocab.begin() + 6));
  options.size = 1000;
  options.min_frequency = 2;
  lines = BuildVocab(kSmallCorpus, options);
  EXPECT_EQ(std::vector<std::string>(lines.begin() + 104, lines.end()),
            std::vector<std::string>(kSmallCorpusVocab.begin(), kSmallCorpusVocab.begin() + 13));
  options.size = 104;
  EXPECT_THROW(VocabOperator{options}, InvalidArgument);
}

TEST(VocabTest, SameResultForAnyThreadsAndBudget) {
  ScopedTempDir tmp;
  const std::vector<std::string> corpus = SplitLines(ReadFile("/usr/share/games/fortunes/chinese"));
  VocabOptions options;
  options.output = tmp.File("reference.txt");
  options.size = 3000;
  const std::vector<std::string> reference =
      BuildVocab(corpus, options, 1, 512 << 20, nullptr, 500);
  ASSERT_EQ(reference.size(), 3000u);
  for (int threads : {1, 2, 8}) {
    for (uint64_t memory : {uint64_t{64} << 10, uint64_t{256} << 20}) {
      RunStats stats;
      options.output =
          tmp.File("vocab-" + std::to_string(threads) + "-" + std::to_string(memory) + ".txt");
      EXPECT_EQ(BuildVocab(corpus, options, threads, memory, &stats, 97), reference)
          << threads << " threads, " << memory << " bytes";
      const uint64_t spilled = stats.operators()[1]->counter("spilled_runs");
      if (memory < (1 << 20)) {
        EXPECT_GT(spilled, 64u) << "a tiny budget must spill (and merge in several passes)";
      } else {
        EXPECT_EQ(spilled, 0u);
      }
    }
  }
}

TEST(VocabTest, TheVocabularyLoadsAndTokenizes) {
  ScopedTempDir tmp;
  VocabOptions options;
  options.output = tmp.File("vocab.txt");
  options.size = 1000;
  BuildVocab(kSmallCorpus, options);
  TokenizerOptions t;
  t.kind = TokenizerKind::kT5Pegasus;
  t.vocab_path = options.output;
  const auto tokenizer = TextTokenizer::Create(t);
  EXPECT_EQ(tokenizer->start_id(), 101);
  EXPECT_EQ(tokenizer->end_id(), 102);
  std::vector<int32_t> ids;
  EXPECT_EQ(tokenizer->Encode("北京欢迎你 Hello CAFE, qux", &ids), 2u);  // "," and "qux"
  const auto index = [](const std::string& token) {
    for (size_t i = 0; i < kSmallCorpusVocab.size(); ++i) {
      if (kSmallCorpusVocab[i] == token) return static_cast<int32_t>(104 + i);
    }
    return -1;
  };
  EXPECT_EQ(ids, (std::vector<int32_t>{index("北京"), index("欢迎"), index("你"), index("hello"),
                                       index("cafe"), 100, 100}));
}

TEST(VocabTest, CommandLineShortcut) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("corpus.txt"), testing::JoinLines(kSmallCorpus));
  const auto result =
      testing::RunCorpusflow({"vocab", tmp.File("corpus.txt"), "-o", tmp.File("vocab.txt"),
                              "--size", "1000", "--threads", "2", "--progress", "never"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> expected = VocabSpecialTokens();
  expected.insert(expected.end(), kSmallCorpusVocab.begin(), kSmallCorpusVocab.end());
  EXPECT_EQ(SplitLines(ReadFile(tmp.File("vocab.txt"))), expected);

  const auto bad = testing::RunCorpusflow(
      {"vocab", tmp.File("corpus.txt"), "-o", tmp.File("v2.txt"), "--size", "10"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--size"), std::string::npos) << bad.err;
  const auto missing =
      testing::RunCorpusflow({"vocab", tmp.File("nope.txt"), "-o", tmp.File("v3.txt")});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(tmp.File("v3.txt")));
}

}  // namespace
}  // namespace corpusflow
