// Tests of the one vocabulary-file reader: line and id rules (CRLF, a final newline, empty lines,
// no final newline), the SentencePiece score column, and compressed files.
#include "operators/tokenize/vocab_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using Views = std::vector<std::string_view>;

TEST(VocabFileTest, OneTokenPerLine) {
  EXPECT_EQ(SplitVocabTokens("[PAD]\r\na\n\n##b\nlast", VocabColumns::kToken),
            (Views{"[PAD]", "a", "", "##b", "last"}));
  EXPECT_EQ(SplitVocabTokens("a\nb\n", VocabColumns::kToken), (Views{"a", "b"}));
  EXPECT_EQ(SplitVocabTokens("\n", VocabColumns::kToken), (Views{""}));
  EXPECT_EQ(SplitVocabTokens("", VocabColumns::kToken), Views{});
  // Only a '\r' right before the '\n' goes; a tab is part of a kToken token.
  EXPECT_EQ(SplitVocabTokens("a\rb\r\r\nc\td\n", VocabColumns::kToken), (Views{"a\rb\r", "c\td"}));
}

TEST(VocabFileTest, SentencePieceScoreColumn) {
  EXPECT_EQ(SplitVocabTokens("<unk>\t0\r\n▁the\t-3.2\nplain\n\t5\n", VocabColumns::kTokenThenScore),
            (Views{"<unk>", "▁the", "plain", ""}));
}

TEST(VocabFileTest, ReadsPlainAndCompressedFiles) {
  testing::ScopedTempDir dir;
  testing::WriteFile(dir.File("vocab.txt"), "[PAD]\n中\n##文\n");
  const std::vector<std::string> expected = {"[PAD]", "中", "##文"};
  EXPECT_EQ(ReadVocabTokens(dir.File("vocab.txt"), VocabColumns::kToken), expected);
  const auto gzip = testing::RunProgram({"/bin/gzip", "-k", dir.File("vocab.txt")});
  ASSERT_EQ(gzip.exit_code, 0) << gzip.err;
  EXPECT_EQ(ReadVocabTokens(dir.File("vocab.txt.gz"), VocabColumns::kToken), expected);
  EXPECT_THROW(ReadVocabTokens(dir.File("missing.txt"), VocabColumns::kToken), IoError);
}

}  // namespace
}  // namespace corpusflow
