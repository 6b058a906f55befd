// Special-token maps: parsing (presets, TOKEN=ID, errors), cutting text at the tokens, the
// WordPiece and T5 PEGASUS tokenizers with a map (a literal `[MASK]` or `<mask_1>` is one id,
// never pieces), and the checks of a map against a vocab.txt. The SentencePiece side (the PEGASUS
// layout) is in sentencepiece_test.cc.
#include "operators/tokenize/special_tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/tokenize/tokenize.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using testing::ScopedTempDir;
using testing::WriteFile;

TEST(SpecialTokensTest, PresetsAndExplicitEntries) {
  EXPECT_EQ(
      ParseSpecialTokens("pegasus"),
      (std::vector<SpecialToken>{{"<pad>", 0}, {"</s>", 1}, {"<mask_1>", 2}, {"<mask_2>", 3}}));
  EXPECT_EQ(FormatSpecialTokens(ParseSpecialTokens("bert")),
            "[PAD]=0,[UNK]=100,[CLS]=101,[SEP]=102,[MASK]=103");
  // The id follows the last '='; a preset and entries mix; a repeated entry is harmless.
  EXPECT_EQ(ParseSpecialTokens("a=b=7,pegasus,<mask_1>=2"),
            (std::vector<SpecialToken>{
                {"a=b", 7}, {"<pad>", 0}, {"</s>", 1}, {"<mask_1>", 2}, {"<mask_2>", 3}}));
  for (const char* bad : {"", "pegasus,", "t5", "<x>=", "=3", "<x>=-1", "<x>=3x", "<x>=99999999999",
                          "pegasus,<mask_1>=5"}) {
    const std::string message =
        testing::ErrorMessage<InvalidArgument>([&] { ParseSpecialTokens(bad); });
    EXPECT_NE(message.find("--special-tokens"), std::string::npos) << bad << ": " << message;
  }
}

TEST(SpecialTokensTest, TheMatcherCutsAtTheLongestTokenFromTheLeft) {
  const SpecialTokenMatcher matcher({{"<m>", 1}, {"<m>>", 2}, {"<", 3}});
  std::string cut;
  matcher.Split(
      "a<m>>b<m><<x", [&](std::string_view text) { cut += "[" + std::string(text) + "]"; },
      [&](int32_t id) { cut += std::to_string(id); });
  EXPECT_EQ(cut, "[a]2[b]133[x]");
  cut.clear();
  matcher.Split(
      "", [&](std::string_view text) { cut += "[" + std::string(text) + "]"; },
      [&](int32_t id) { cut += std::to_string(id); });
  EXPECT_EQ(cut, "");
}

const char kVocab[] =
    "[PAD]\n[unused1]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n我\n来\n到\n北京\n<\n>\nmask\n_\n1\n##1\n";

TEST(SpecialTokensTest, WordPieceAndT5PegasusKeepLiteralTokensWhole) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kVocab);
  WriteFile(tmp.File("dict.txt"), "我 100\n来到 50\n北京 80\n");
  for (const TokenizerKind kind : {TokenizerKind::kWordPiece, TokenizerKind::kT5Pegasus}) {
    SCOPED_TRACE(std::string(TokenizerKindName(kind)));
    TokenizerOptions options;
    options.kind = kind;
    options.vocab_path = tmp.File("vocab.txt");
    if (kind == TokenizerKind::kT5Pegasus) options.dict_path = tmp.File("dict.txt");
    std::vector<int32_t> ids;
    // Without a map, BERT's basic tokenizer cuts the mask token into punctuation and words.
    TextTokenizer::Create(options)->Encode("我<mask_1>来", &ids);
    EXPECT_EQ(ids, (std::vector<int32_t>{6, 10, 12, 13, 14, 11, 7}));
    // With one, the literal token is its id; [MASK] is the vocabulary's own, <mask_1> takes the
    // placeholder line [unused1].
    options.special_tokens = ParseSpecialTokens("[MASK]=5,<mask_1>=1");
    const auto tokenizer = TextTokenizer::Create(options);
    ids.clear();
    uint64_t specials = 0;
    EXPECT_EQ(tokenizer->Encode("我<mask_1>来[MASK][MASK]到", &ids, &specials), 0u);
    EXPECT_EQ(ids, (std::vector<int32_t>{6, 1, 7, 5, 5, 8}));
    EXPECT_EQ(specials, 3u);
    // Case matters: a lowercased literal is text.
    ids.clear();
    tokenizer->Encode("[mask]", &ids);
    EXPECT_EQ(ids.size(), 3u);
  }
}

TEST(SpecialTokensTest, AMapMustFitTheVocabulary) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kVocab);
  TokenizerOptions options;
  options.kind = TokenizerKind::kWordPiece;
  options.vocab_path = tmp.File("vocab.txt");
  const auto error = [&](const std::string& spec) {
    options.special_tokens = ParseSpecialTokens(spec);
    return testing::ErrorMessage<InvalidArgument>([&] { ReadTokenizerFacts(options); });
  };
  // BERT's ids do not fit a vocabulary of 16 lines.
  std::string message = error("bert");
  EXPECT_NE(
      message.find(tmp.File("vocab.txt") + ": special token '[UNK]=100' is outside its 16 ids"),
      std::string::npos)
      << message;
  // An id that is another token would stand for two things.
  message = error("<mask_1>=6");
  EXPECT_NE(message.find("special token '<mask_1>=6': id 6 is its token '我'"), std::string::npos)
      << message;
  EXPECT_THROW(TextTokenizer::Create(options), InvalidArgument);
  // Through the binary: a usage error, before any output.
  WriteFile(tmp.File("in.txt"), "我\n");
  const auto run = testing::RunCorpusflow(
      {"run",
       "read " + tmp.File("in.txt") + " | tokenize --kind wordpiece --vocab " +
           tmp.File("vocab.txt") + " --special-tokens '[MASK]=4' | write " + tmp.File("out.jsonl"),
       "--progress", "never"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("id 4 is its token '[SEP]'"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("out.jsonl")));
}

}  // namespace
}  // namespace corpusflow
