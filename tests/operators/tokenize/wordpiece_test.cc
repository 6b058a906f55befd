// `tokenize --kind wordpiece` against HF tokenizers' BERT WordPiece pipeline (the npm binding of
// the Rust library, run with node: tests/oracles/wordpiece_oracle.js) on mixed English/Chinese
// text with a vocabulary the test builds, cased and uncased, with and without special tokens,
// for both word length limits; plus the vocabulary file rules and the operator's handling of
// invalid UTF-8, empty text and a 1 MB word.
#include "operators/tokenize/wordpiece.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "operators/text/unicode_text.h"
#include "operators/tokenize/bert_basic_tokenizer.h"
#include "operators/tokenize/tokenize.h"
#include "operators/tokenize/vocabulary.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
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

std::string Utf8(std::u32string_view cps) {
  std::string out;
  for (char32_t cp : cps) AppendUtf8(cp, &out);
  return out;
}

/// Hand-written lines for the corners of normalisation and splitting.
const std::vector<std::string>& TrickyLines() {
  static const std::vector<std::string> lines = {
      "Café Déjà Vu — naïve façade, ÅNGSTRÖM résumé!",
      "ＦＵＬＬ－ＷＩＤＴＨ ｔｅｘｔ １２３，测试。",
      "Hangul 한국어 텍스트 and Ελληνικά κείμενα, Русский текст Ё ё",
      "emoji 😀👍🏽 and a ZWJ family 👨\u200d👩\u200d👧 end",
      "tabs\tand\u00a0nbsp\u3000ideographic space\u2028line separator\u1680ogham",
      "control\x01"
      "chars\x7f"
      " and \u200bzero width\u00adsoft hyphen\x1c"
      "file sep",
      "combining e\u0301 vs é, A\u030A vs Å, stacked a\u0323\u0302 vs ậ",
      "İstanbul ǅemal Ǆ ﬁne straße K Ω ẞ",
      "numbers 3.14 1,000 and a_b-c@x.com https://example.org/path?q=1&r=[2]",
      "literal [UNK] [CLS] ##able tokens",
      "compatibility 豈 更 and extension B 𠀀𠀁 and radicals ⼀⼆",
      "Unaffable unaffable UNAFFABLE un-affable",
      std::string(150, 'a') + " " + std::string(99, 'b') + "c " + std::string(101, 'd'),
      "",
      "   ",
      "\t\r",
      "中文句子没有空格但是很长的一段话，其中夹杂English words和数字123以及标点！？",
  };
  return lines;
}

/// Mixed English/Chinese lines from Debian packages: fortunes-zh (Chinese prose with ASCII) and
/// the license texts of base-files, interleaved, plus the tricky lines.
std::vector<std::string> MixedCorpus() {
  std::vector<std::string> zh = SplitLines(ReadFile("/usr/share/games/fortunes/chinese"));
  std::vector<std::string> en;
  for (const char* name : {"GPL-3", "Apache-2.0", "MPL-2.0", "Artistic"}) {
    for (std::string& line :
         SplitLines(ReadFile(std::string("/usr/share/common-licenses/") + name))) {
      en.push_back(std::move(line));
    }
  }
  std::vector<std::string> lines;
  const size_t n = std::min<size_t>(zh.size(), 4000);
  for (size_t i = 0; i < n; ++i) {
    lines.push_back(zh[i]);
    if (i < en.size()) lines.push_back(en[i]);
    if (i % 3 == 0 && i + 1 < n) lines.push_back(zh[i] + " " + (i < en.size() ? en[i] : ""));
  }
  for (const std::string& line : TrickyLines()) lines.push_back(line);
  return lines;
}

/// A deterministic vocabulary for `lines`: special tokens, frequent whole words, split words
/// (a 3-character head and a "##" tail), single characters and "##" characters, with a few
/// characters deliberately missing so that [UNK] happens.
std::vector<std::string> BuildVocab(const std::vector<std::string>& lines) {
  BertBasicTokenizer basic(/*lowercase=*/true);
  BertBasicTokenizer::Scratch scratch;
  std::map<std::string, uint64_t> counts;
  for (const std::string& line : lines) {
    std::string clean;
    ReplaceInvalidUtf8(line, &clean);
    basic.Tokenize(clean, scratch,
                   [&](const char32_t* w, size_t n) { ++counts[Utf8(std::u32string_view(w, n))]; });
  }
  std::vector<std::pair<std::string, uint64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::set<std::string> seen(vocab.begin(), vocab.end());
  auto add = [&](const std::string& token) {
    if (seen.insert(token).second) vocab.push_back(token);
  };
  for (const char* suffix : {"##ing", "##ed", "##s", "##tion", "##able", "##aff", "##ly"}) {
    add(suffix);
  }
  for (char c = '!'; c <= '~'; ++c) {
    if (c == 'q' || c == 'Q') continue;  // no initial q: "quite" must become [UNK]
    add(std::string(1, c));
    if (c != 'z' && c != '7') add("##" + std::string(1, c));
  }
  size_t rank = 0;
  for (const auto& [word, count] : ranked) {
    const std::u32string cps = [&] {
      std::u32string out;
      const char* p = word.data();
      const char* end = p + word.size();
      while (p < end) {
        char32_t cp = 0;
        p += DecodeUtf8(p, end, &cp);
        out.push_back(cp);
      }
      return out;
    }();
    ++rank;
    if (cps.size() == 1) {
      if (rank % 17 != 0) add(word);  // some single characters stay unknown
      if (cps[0] < 0x3000 && rank % 5 != 0) add("##" + word);
    } else if (rank <= 1500) {
      add(word);
    } else if (rank <= 3000 && cps.size() > 4) {
      add(Utf8(cps.substr(0, 3)));
      add("##" + Utf8(cps.substr(3)));
    }
  }
  // Characters of the normalised forms of the tricky lines, so they mostly resolve.
  for (const char* token : {"cafe", "deja", "naive", "facade", "angstrom", "resume", "istanbul",
                            "豈", "更", "𠀀", "ｆｕｌｌ", "##ｔｅｘｔ", "ｔ"}) {
    add(token);
  }
  return vocab;
}

bool OracleInstalled() {
  return std::filesystem::exists(SourceDir() + "/tests/oracles/node_modules/tokenizers");
}

/// Compare tokenize --kind wordpiece with the HF oracle on every line; returns differences.
int CompareWithHf(const std::vector<std::string>& lines, bool lowercase, bool add_special,
                  size_t max_chars) {
  ScopedTempDir tmp;
  const std::vector<std::string> vocab = BuildVocab(lines);
  WriteFile(tmp.File("vocab.txt"), testing::JoinLines(vocab));
  WriteFile(tmp.File("input.txt"), testing::JoinLines(lines));

  std::vector<std::string> argv = {"node",
                                   SourceDir() + "/tests/oracles/wordpiece_oracle.js",
                                   tmp.File("vocab.txt"),
                                   tmp.File("input.txt"),
                                   tmp.File("hf.txt"),
                                   "--max-chars-per-word",
                                   std::to_string(max_chars)};
  if (lowercase) argv.push_back("--lowercase");
  if (add_special) argv.push_back("--add-special");
  const auto result = RunProgram(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> expected = SplitLines(ReadFile(tmp.File("hf.txt")));
  EXPECT_EQ(expected.size(), lines.size());

  TokenizerOptions options;
  options.kind = TokenizerKind::kWordPiece;
  options.vocab_path = tmp.File("vocab.txt");
  options.lowercase = lowercase;
  options.max_chars_per_word = max_chars;
  const auto tokenizer = TextTokenizer::Create(options);
  EXPECT_EQ(tokenizer->vocab_size(), static_cast<int64_t>(vocab.size()));
  int differences = 0;
  size_t unknown = 0;
  for (size_t i = 0; i < lines.size() && i < expected.size(); ++i) {
    std::vector<int32_t> ids;
    if (add_special) ids.push_back(*tokenizer->start_id());
    unknown += tokenizer->Encode(lines[i], &ids);
    if (add_special) ids.push_back(*tokenizer->end_id());
    if (JoinIds(ids) != expected[i] && ++differences <= 5) {
      ADD_FAILURE() << "line " << i + 1 << ": '" << lines[i] << "'\n  corpusflow: " << JoinIds(ids)
                    << "\n  HF:         " << expected[i];
    }
  }
  EXPECT_GT(unknown, 0u);  // the vocabulary leaves some characters out on purpose
  return differences;
}

#define REQUIRE_ORACLE()                                                                        \
  if (!OracleInstalled()) {                                                                     \
    GTEST_SKIP() << "\n*** HF tokenizers oracle NOT INSTALLED: run `npm ci --prefix "           \
                    "tests/oracles` (the project's setup does); WordPiece parity UNTESTED ***"; \
  }

TEST(WordPieceParityTest, UncasedWithSpecialTokensMatchesHfTokenizers) {
  REQUIRE_ORACLE();
  EXPECT_EQ(CompareWithHf(MixedCorpus(), /*lowercase=*/true, /*add_special=*/true, 100), 0);
}

TEST(WordPieceParityTest, CasedMatchesHfTokenizers) {
  REQUIRE_ORACLE();
  EXPECT_EQ(CompareWithHf(MixedCorpus(), /*lowercase=*/false, /*add_special=*/false, 100), 0);
}

TEST(WordPieceParityTest, GoogleBertWordLimitMatchesHfTokenizers) {
  REQUIRE_ORACLE();
  EXPECT_EQ(CompareWithHf(TrickyLines(), /*lowercase=*/true, /*add_special=*/false, 200), 0);
}

TEST(WordPieceTest, GreedyLongestMatchFirst) {
  const auto vocab = Vocabulary::FromTokens(
      {"[UNK]", "un", "una", "##ff", "##aff", "##able", "##a", "##b", "a", "b"}, "test");
  WordPiece wp(*vocab, 0, 100);
  auto encode = [&](std::u32string_view word) {
    std::vector<int32_t> ids;
    const bool unk = wp.Encode(word.data(), word.size(), &ids);
    return JoinIds(ids) + (unk ? " unk" : "");
  };
  EXPECT_EQ(encode(U"unaffable"), "2 3 5");  // una ##ff ##able, not un ##aff ##able
  EXPECT_EQ(encode(U"unable"), "0 unk");     // greedy: una ##b, then no ##l (no backtracking)
  EXPECT_EQ(encode(U"ab"), "8 7");
  EXPECT_EQ(encode(U"unx"), "0 unk");  // one [UNK] for the whole word
  EXPECT_EQ(encode(U"x"), "0 unk");
  EXPECT_EQ(encode(std::u32string(101, U'a')), "0 unk");
  EXPECT_EQ(encode(std::u32string(100, U'a')).size(), std::string("8").size() + 99 * 2);
}

TEST(VocabularyTest, RejectsMalformedFilesWithFileAndLine) {
  ScopedTempDir tmp;
  struct Case {
    std::string content;
    std::string where;
  };
  const std::vector<Case> cases = {
      {"[PAD]\n[UNK]\n\nfoo\n", ":3: empty token"},
      {"[PAD]\nfoo\nbar\nfoo\n", ":4: duplicate token 'foo' (first on line 2)"},
      {"[PAD]\nfoo bar\n", ":2: token contains whitespace"},
      {"[PAD]\nfo\xC3\n", ":2: token is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.content);
    const std::string path = tmp.File("vocab.txt");
    WriteFile(path, c.content);
    const std::string message = testing::ErrorMessage<DataError>([&] { Vocabulary::Load(path); });
    EXPECT_NE(message.find(path + c.where), std::string::npos) << message;
  }
  EXPECT_THROW(Vocabulary::Load(tmp.File("missing.txt")), IoError);
  WriteFile(tmp.File("crlf.txt"), "[UNK]\r\nfoo\r\n");
  const auto vocab = Vocabulary::Load(tmp.File("crlf.txt"));
  EXPECT_EQ(vocab->size(), 2u);
  EXPECT_EQ(vocab->Find("foo"), 1);
  WriteFile(tmp.File("nounk.txt"), "[PAD]\nfoo\n");
  TokenizerOptions options;
  options.vocab_path = tmp.File("nounk.txt");
  EXPECT_THROW(TextTokenizer::Create(options), DataError);
}

TEST(TokenizeOperatorTest, InvalidUtf8EmptyTextAndLongWord) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n##c\n");
  const std::string long_word(1 << 20, 'a');
  const std::vector<std::string> records = {"ab abc", "",
                                            "ab\xFF"
                                            "c",
                                            long_word, "abc ab ab"};
  auto run = [&](BadUtf8Policy policy, size_t max_len, RunStats* stats) {
    TokenizeOptions options;
    options.tokenizer.kind = TokenizerKind::kWordPiece;
    options.tokenizer.vocab_path = tmp.File("vocab.txt");
    options.add_special = true;
    options.max_len = max_len;
    options.invalid_utf8 = policy;
    auto output = std::make_shared<testing::CollectedOutput>();
    testing::CollectingSinkOptions sink;
    sink.all_fields = true;
    testing::RunChain(testing::Chain(std::make_unique<testing::VectorSource>(records, 2),
                                     std::make_unique<TokenizeOperator>(std::move(options)),
                                     std::make_unique<testing::CollectingSink>(output.get(), sink)),
                      testing::TestRunOptions(2, 64 << 20), stats);
    std::vector<std::string> out;
    for (const auto& record : output->records) {
      out.push_back(JoinIds(std::get<std::vector<int32_t>>(record.Get("text_ids"))));
    }
    return out;
  };
  RunStats replace_stats;
  EXPECT_EQ(run(BadUtf8Policy::kReplace, 0, &replace_stats),
            (std::vector<std::string>{"2 4 4 5 3", "2 3", "2 4 5 3", "2 1 3", "2 4 5 4 4 3"}));
  const OperatorStats& tokenize_stats = *replace_stats.operators()[1];
  EXPECT_EQ(tokenize_stats.counter("invalid_utf8_replaced"), 1u);
  // U+FFFD is removed like a control character ("abc"); the 1 MB word is one [UNK].
  EXPECT_EQ(tokenize_stats.counter("unknown_tokens"), 1u);
  RunStats drop_stats;
  EXPECT_EQ(run(BadUtf8Policy::kDrop, 4, &drop_stats),
            (std::vector<std::string>{"2 4 4 3", "2 3", "2 1 3", "2 4 5 3"}));
  EXPECT_EQ(drop_stats.operators()[1]->drops().at("invalid UTF-8"), 1u);
  EXPECT_EQ(drop_stats.operators()[1]->counter("truncated_records"), 2u);
  EXPECT_THROW(run(BadUtf8Policy::kError, 0, nullptr), DataError);
}

TEST(TokenizeOperatorTest, SentencesAreTokenizedOneByOneIntoOneIdListEach) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n##c\n.\n");
  const std::vector<std::string> records = {"ab. abc. ab", "", "ab.   ", "abc. a\xFF."};
  auto run = [&](BadUtf8Policy policy, RunStats* stats) {
    TokenizeOptions options;
    options.tokenizer.kind = TokenizerKind::kWordPiece;
    options.tokenizer.vocab_path = tmp.File("vocab.txt");
    options.field = "sentences";
    options.invalid_utf8 = policy;
    auto output = std::make_shared<testing::CollectedOutput>();
    testing::CollectingSinkOptions sink;
    sink.all_fields = true;
    testing::RunChain(
        testing::Chain(std::make_unique<testing::VectorSource>(records, 2),
                       OperatorRegistry::Global().Create("sentences", {"--mode", "pegasus"}),
                       std::make_unique<TokenizeOperator>(std::move(options)),
                       std::make_unique<testing::CollectingSink>(output.get(), sink)),
        testing::TestRunOptions(2, 64 << 20), stats);
    std::vector<std::vector<std::vector<int32_t>>> out;
    for (const auto& record : output->records) {
      out.push_back(std::get<std::vector<std::vector<int32_t>>>(record.Get("sentences_ids")));
    }
    return out;
  };
  using Lists = std::vector<std::vector<std::vector<int32_t>>>;
  RunStats stats;
  // "ab. " "abc. " "ab"; no sentence; "ab.   "; "abc. " and the repaired "a\uFFFD." ([UNK] .).
  EXPECT_EQ(run(BadUtf8Policy::kReplace, &stats),
            (Lists{{{4, 6}, {4, 5, 6}, {4}}, {}, {{4, 6}}, {{4, 5, 6}, {1, 6}}}));
  EXPECT_EQ(stats.operators()[2]->counter("tokens"), 13u);
  EXPECT_EQ(stats.operators()[2]->counter("invalid_utf8_replaced"), 1u);
  // A sentence dropped for invalid UTF-8 drops its whole record.
  RunStats drop_stats;
  EXPECT_EQ(run(BadUtf8Policy::kDrop, &drop_stats),
            (Lists{{{4, 6}, {4, 5, 6}, {4}}, {}, {{4, 6}}}));
  EXPECT_EQ(drop_stats.operators()[2]->drops().at("invalid UTF-8"), 1u);
}

TEST(TokenizeOperatorTest, RecordsVocabularySizeInTheSchema) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n");
  TokenizeOptions options;
  options.tokenizer.kind = TokenizerKind::kWordPiece;
  options.tokenizer.vocab_path = tmp.File("vocab.txt");
  options.field = "tgt";
  TokenizeOperator op(options);
  op.set_name("tokenize");
  EXPECT_EQ(op.output(), "tgt_ids");
  const Schema out = op.OutputSchema(Schema({Field{"tgt", FieldType::kString, 0}}));
  ASSERT_NE(out.Find("tgt_ids"), nullptr);
  EXPECT_EQ(out.Find("tgt_ids")->vocab_size, 5);
  EXPECT_EQ(out.Find("tgt_ids")->type, FieldType::kInt32List);
  EXPECT_THROW(op.OutputSchema(Schema({Field{"text", FieldType::kString, 0}})), InvalidArgument);
  // The ids name their tokens (the vocab.txt lines), for write-megatron --append-eod '[SEP]'.
  ASSERT_NE(out.Find("tgt_ids")->token_names, nullptr);
  EXPECT_EQ(out.Find("tgt_ids")->token_names->Find("[SEP]"), 3);
  EXPECT_EQ(out.Find("tgt_ids")->token_names->Find("[sep]"), std::nullopt);
  // A string-list gives an int32-list-list; any other type is refused by name.
  EXPECT_EQ(
      op.OutputSchema(Schema({Field{"tgt", FieldType::kStringList, 0}})).Find("tgt_ids")->type,
      FieldType::kInt32ListList);
  EXPECT_EQ(testing::ErrorMessage<InvalidArgument>([&] {
              op.OutputSchema(Schema({Field{"tgt", FieldType::kInt32List, 0}}));
            }),
            "tokenize needs field 'tgt' as a string (or a string-list of sentences) but upstream "
            "'tgt' is int32-list");
  options.tokenizer.model_path = "x.model";
  EXPECT_THROW(TokenizeOperator{options}, InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
