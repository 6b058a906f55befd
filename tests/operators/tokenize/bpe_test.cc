// Tests of `tokenize --kind bpe` (byte-level BPE): the byte-level alphabet, the pre-tokenizer
// regexes under PCRE2, the merge (scan and heap paths against a plain reference merge written
// here), and parity id for id with OpenAI's tiktoken (the npm package, tests/oracles/
// bpe_oracle.js) for cl100k_base, o200k_base and r50k_base rank files and for GPT-2's
// vocab.json + merges.txt, on a mixed corpus: Chinese prose, English licenses, every script,
// emoji and ZWJ sequences, long digit and whitespace runs, \r\n, literal special tokens and
// invalid UTF-8 (repaired to U+FFFD before tokenizing, as the oracle's UTF-8 decoding does).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/tokenize/bpe_model.h"
#include "operators/tokenize/bpe_pattern.h"
#include "operators/tokenize/tokenize.h"
#include "tests/testing/bpe_parity.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"

namespace corpusflow {
namespace {

using namespace std::string_literals;
using testing::CommandResult;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SourceDir;
using testing::SplitLines;
using testing::WriteFile;

std::vector<std::string> Pieces(const BpePattern& pattern, std::string_view text) {
  std::vector<std::string> pieces;
  pattern.ForEachPiece(text, [&](std::string_view p) { pieces.emplace_back(p); });
  return pieces;
}

TEST(BpeTest, ByteLevelAlphabetIsGpt2s) {
  const auto& alphabet = ByteLevelAlphabet();
  EXPECT_EQ(alphabet['a'], U'a');
  EXPECT_EQ(alphabet[' '], U'\u0120');   // "Ġ"
  EXPECT_EQ(alphabet['\n'], U'\u010A');  // "Ċ"
  EXPECT_EQ(alphabet[0xAD], U'\u0143');  // the last one
  EXPECT_EQ(alphabet[0xFF], U'\u00FF');
  std::vector<char32_t> sorted(alphabet.begin(), alphabet.end());
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_EQ(DecodeByteLevel("\xC4\xA0the"), " the");
  EXPECT_EQ(DecodeByteLevel("\xC4\x8A"), "\n");
  EXPECT_EQ(DecodeByteLevel("a\xE4\xB8\xAD"), std::nullopt);  // 中 is not in the alphabet
}

TEST(BpeTest, PatternsCutAsTheReferences) {
  const BpePattern gpt2("gpt2");
  EXPECT_EQ(Pieces(gpt2, "Hello world's 12345  x\n"),
            (std::vector<std::string>{"Hello", " world", "'s", " 12345", " ", " x", "\n"}));
  const BpePattern cl100k("cl100k");
  EXPECT_EQ(Pieces(cl100k, "I'LL pay 12345!!\r\n\r\nok"),
            (std::vector<std::string>{"I", "'LL", " pay", " ", "123", "45", "!!\r\n\r\n", "ok"}));
  // \s is Unicode's White_Space as in Rust's regex and Oniguruma: U+0085 (NEL) is one.
  const BpePattern space("\\s+|\\S+");
  EXPECT_EQ(Pieces(space, "a\xC2\x85\xC2\x85z"),
            (std::vector<std::string>{"a", "\xC2\x85\xC2\x85", "z"}));
  EXPECT_EQ(Pieces(BpePattern("[^\\s]+"), "a\xC2\x85z"), (std::vector<std::string>{"a", "z"}));
  // Text between matches is skipped; an empty match moves on by one character.
  EXPECT_EQ(Pieces(BpePattern("b*"), "abba\xE4\xB8\xAD"), (std::vector<std::string>{"bb"}));
  EXPECT_EQ(testing::ErrorMessage<InvalidArgument>([] { BpePattern("(unclosed"); }),
            "the pre-tokenizer regex '(unclosed' is not valid: missing closing parenthesis (near "
            "byte 9)");
}

/// The merge as tiktoken writes it: the lowest-ranked adjacent pair (leftmost of equals) merges,
/// until none has a rank; a piece that is a token is that token.
std::vector<int32_t> ReferenceMerge(const std::map<std::string, int32_t>& ranks,
                                    const std::string& piece) {
  if (auto it = ranks.find(piece); it != ranks.end()) return {it->second};
  std::vector<std::string> parts;
  for (char c : piece) parts.emplace_back(1, c);
  for (;;) {
    int32_t best = -1;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = ranks.find(parts[i] + parts[i + 1]);
      if (it != ranks.end() && (best < 0 || it->second < best)) best = it->second, at = i;
    }
    if (best < 0) break;
    parts[at] += parts[at + 1];
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  std::vector<int32_t> ids;
  for (const std::string& p : parts) ids.push_back(ranks.at(p));
  return ids;
}

std::string Base64(std::string_view bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t w = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) w |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) w |= static_cast<unsigned char>(bytes[i + 2]);
    out += digits[w >> 18];
    out += digits[(w >> 12) & 63];
    out += i + 1 < bytes.size() ? digits[(w >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? digits[w & 63] : '=';
  }
  return out;
}

/// Ranks 0..255 for the 256 single bytes, in a random order.
std::map<std::string, int32_t> ShuffledByteRanks(std::mt19937& rng) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  std::shuffle(tokens.begin(), tokens.end(), rng);
  std::map<std::string, int32_t> ranks;
  for (size_t i = 0; i < tokens.size(); ++i) ranks[tokens[i]] = static_cast<int32_t>(i);
  return ranks;
}

// Random rank tables over a 4-letter alphabet and random pieces up to 300 bytes (the scan path
// below 48 bytes, the heap path above): the same ids as the reference merge.
TEST(BpeTest, MergeMatchesTheReferenceOnShortAndLongPieces) {
  ScopedTempDir dir;
  std::mt19937 rng(5);
  for (int round = 0; round < 8; ++round) {
    std::map<std::string, int32_t> ranks = ShuffledByteRanks(rng);
    // Merged tokens: concatenations of existing ones, over "abcd", in increasing rank.
    int32_t next = 256;
    while (ranks.size() < 700) {
      std::string a(1, "abcd"[rng() % 4]), b(1, "abcd"[rng() % 4]);
      for (const auto& [token, rank] : ranks) {
        if (token.size() > 1 && token.size() < 9 && rng() % 97 == 0) a = token;
        if (token.size() > 1 && token.size() < 9 && rng() % 89 == 0) b = token;
      }
      if (ranks.emplace(a + b, next).second) ++next;
    }
    std::string file;
    for (const auto& [token, rank] : ranks)
      file += Base64(token) + " " + std::to_string(rank) + "\n";
    WriteFile(dir.File("r.tiktoken"), file);
    const auto model = BpeModel::LoadTiktoken(dir.File("r.tiktoken"));
    EXPECT_EQ(model->vocab_size(), next);
    for (int k = 0; k < 300; ++k) {
      const size_t length = 2 + rng() % (k % 3 == 0 ? 300 : 40);
      std::string piece;
      for (size_t i = 0; i < length; ++i) piece += "abcd"[rng() % (k % 5 == 0 ? 1 : 4)];
      std::vector<int32_t> ids;
      model->Encode(piece, &ids);
      ASSERT_EQ(ids, ReferenceMerge(ranks, piece)) << "round " << round << " piece " << piece;
      // Again, from the cache.
      std::vector<int32_t> again;
      model->Encode(piece, &again);
      ASSERT_EQ(again, ids);
    }
  }
}

// Long pieces are cut at the character boundaries no merge crosses and their parts merged alone
// (BpeModel::EncodeCut). Random rank tables over CJK characters and an emoji whose tokens cross
// boundaries whole ("中文") and by parts (the last byte of one character with the first of the
// next, a whole character with the first bytes of the next), tokens no merge reaches (a part that
// is such a token is still merged, where a whole piece is the token), pieces with invalid bytes
// between characters: the same ids as the reference merge of the whole piece, cached or not.
TEST(BpeTest, CuttingLongPiecesAtUncrossedBoundariesKeepsTheIds) {
  ScopedTempDir dir;
  std::mt19937 rng(11);
  const std::vector<std::string> chars = {
      "\xE4\xB8\xAD",     "\xE6\x96\x87", "\xE5\xAD\x97", "\xE4\xB8\x80", "a",
      "\xF0\x9F\x98\x80", "\xC3\xA9"};
  for (int round = 0; round < 12; ++round) {
    std::map<std::string, int32_t> ranks = ShuffledByteRanks(rng);
    int32_t next = 256;
    const auto add = [&](const std::string& token) {
      if (ranks.emplace(token, next).second) ++next;
    };
    // Substrings of random two- and three-character strings: whole characters, a character's
    // last bytes with the next one's first bytes, and longer runs; some rounds also add whole
    // characters with no merge to reach them (their two-byte prefixes are left out).
    for (int k = 0; k < 60; ++k) {
      std::string text;
      for (int c = 0; c < 2 + k % 2; ++c) text += chars[rng() % chars.size()];
      const size_t from = rng() % text.size();
      const size_t length = 2 + rng() % (text.size() - from > 2 ? text.size() - from - 1 : 1);
      const std::string token = text.substr(from, std::min(length, text.size() - from));
      if (token.size() < 2) continue;
      // Every prefix too, so that most tokens are reachable by merges.
      if (round % 3 != 2) {
        for (size_t cut = 2; cut < token.size(); ++cut) add(token.substr(0, cut));
      }
      add(token);
    }
    std::string file;
    for (const auto& [token, rank] : ranks)
      file += Base64(token) + " " + std::to_string(rank) + "\n";
    WriteFile(dir.File("r.tiktoken"), file);
    const auto model = BpeModel::LoadTiktoken(dir.File("r.tiktoken"));
    for (int k = 0; k < 400; ++k) {
      std::string piece;
      const size_t length = 1 + rng() % (k % 4 == 0 ? 60 : 12);
      for (size_t i = 0; i < length; ++i) {
        piece += rng() % 29 == 0 ? std::string(1, static_cast<char>(0x80 + rng() % 0x7F))
                                 : chars[rng() % chars.size()];
      }
      std::vector<int32_t> ids;
      model->Encode(piece, &ids);
      ASSERT_EQ(ids, ReferenceMerge(ranks, piece)) << "round " << round << " piece " << piece;
      std::vector<int32_t> again;
      model->Encode(piece, &again);
      ASSERT_EQ(again, ids);
      // Each character alone (a whole piece: a token it is gives that token), then the piece.
      for (const std::string& c : chars) {
        std::vector<int32_t> one;
        model->Encode(c, &one);
        ASSERT_EQ(one, ReferenceMerge(ranks, c));
      }
      again.clear();
      model->Encode(piece, &again);
      ASSERT_EQ(again, ids) << "round " << round << " piece " << piece;
    }
  }
}

TEST(BpeTest, BadRankFilesNameFileAndLine) {
  ScopedTempDir dir;
  std::string file;
  for (int b = 0; b < 256; ++b) {
    file += Base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  }
  WriteFile(dir.File("ok.tiktoken"), file);
  EXPECT_EQ(BpeModel::LoadTiktoken(dir.File("ok.tiktoken"))->vocab_size(), 256);
  WriteFile(dir.File("bad.tiktoken"), file + "YWI= x\n");
  EXPECT_EQ(
      testing::ErrorMessage<DataError>([&] { BpeModel::LoadTiktoken(dir.File("bad.tiktoken")); }),
      dir.File("bad.tiktoken") + ":257: the rank 'x' is not a whole number below 2^31");
  WriteFile(dir.File("dup.tiktoken"), file + "YWI= 7\n");
  EXPECT_EQ(
      testing::ErrorMessage<DataError>([&] { BpeModel::LoadTiktoken(dir.File("dup.tiktoken")); }),
      dir.File("dup.tiktoken") + ":257: id 7 given to two tokens");
  // A damaged rank must not make the loader allocate for two billion ids.
  WriteFile(dir.File("huge.tiktoken"), file + "YWI= 2000000000\n");
  EXPECT_EQ(
      testing::ErrorMessage<DataError>([&] { BpeModel::LoadTiktoken(dir.File("huge.tiktoken")); }),
      dir.File("huge.tiktoken") +
          ":257: id 2000000000 is out of proportion to the file (ids must be nearly dense)");
  WriteFile(dir.File("short.tiktoken"), file.substr(file.find('\n') + 1));
  EXPECT_EQ(
      testing::ErrorMessage<DataError>([&] { BpeModel::LoadTiktoken(dir.File("short.tiktoken")); }),
      dir.File("short.tiktoken") +
          ": no token for the byte 0x00 (a byte-level BPE needs "
          "all 256)");
}

// A pre-token of more than a megabyte (a run of letters without a break) would hold about 50
// bytes of merge scratch per byte: it is an error naming the record, not gigabytes of memory.
TEST(BpeTest, AHugePreTokenIsAnErrorNamingTheRecord) {
  ScopedTempDir dir;
  std::string file;
  for (int b = 0; b < 256; ++b) {
    file += Base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  }
  WriteFile(dir.File("bytes.tiktoken"), file);
  WriteFile(dir.File("in.txt"),
            "short words\n" + std::string(BpeModel::kMaxPieceBytes + 1, 'q') + " tail\n");
  const CommandResult r =
      RunCorpusflow({"run",
                     "read " + dir.File("in.txt") + " | tokenize --kind bpe --tiktoken " +
                         dir.File("bytes.tiktoken") +
                         " --pattern '\\p{L}+|\\s+' | write-megatron " + dir.File("m"),
                     "--progress", "never"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenize: record 2, field 'text': a pre-token of 1048577 bytes"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(testing::ListDir(dir.path()), (std::vector<std::string>{"bytes.tiktoken", "in.txt"}));
}

// ---------------------------------------------------------------------------------------------
// Parity with tiktoken.

#define REQUIRE_ORACLE()                                                                        \
  if (!testing::BpeOraclesInstalled()) {                                                        \
    GTEST_SKIP() << "\n*** tiktoken oracle NOT INSTALLED: run `npm ci --prefix tests/oracles` " \
                    "(the project's setup does); BPE parity UNTESTED ***";                      \
  }

std::string Oracle() { return testing::BpeOracle(); }
std::vector<std::string> ParityCorpus() { return testing::BpeParityCorpus(); }

/// Run `tokenize TOKENIZE_ARGS` over the documents and compare with the oracle's encoding
/// `encoding`; returns the number of documents that differ.
int CompareWithTiktoken(const std::vector<std::string>& docs, const std::string& encoding,
                        const std::string& tokenize_args, bool allow_special) {
  std::vector<std::string> flags;
  if (allow_special) flags.push_back("--allow-special");
  return testing::CompareBpeWithOracle(
      docs, {"encode", encoding}, flags,
      tokenize_args + (allow_special ? " --allow-special all" : ""), encoding);
}

class TiktokenParityTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TiktokenParityTest, RankFileMatchesTiktoken) {
  REQUIRE_ORACLE();
  const std::string encoding = GetParam();
  ScopedTempDir dir;
  const std::string file = dir.File(encoding + ".tiktoken");
  ASSERT_EQ(RunProgram({"node", Oracle(), "export", encoding, file}).exit_code, 0);
  const std::vector<std::string> docs = ParityCorpus();
  EXPECT_EQ(CompareWithTiktoken(docs, encoding, "--tiktoken " + file, false), 0);
  EXPECT_EQ(CompareWithTiktoken(docs, encoding, "--tiktoken " + file, true), 0);
}

INSTANTIATE_TEST_SUITE_P(Encodings, TiktokenParityTest,
                         ::testing::Values("cl100k_base", "o200k_base", "r50k_base"));

TEST(TiktokenParityTest, Gpt2VocabAndMergesMatchTiktoken) {
  REQUIRE_ORACLE();
  ScopedTempDir dir;
  ASSERT_EQ(RunProgram({"node", Oracle(), "export-gpt2", "gpt2", dir.File("vocab.json"),
                        dir.File("merges.txt")})
                .exit_code,
            0);
  const std::string args =
      "--vocab " + dir.File("vocab.json") + " --merges " + dir.File("merges.txt");
  const std::vector<std::string> docs = ParityCorpus();
  EXPECT_EQ(CompareWithTiktoken(docs, "gpt2", args, false), 0);
  EXPECT_EQ(CompareWithTiktoken(docs, "gpt2", args, true), 0);
}

// ---------------------------------------------------------------------------------------------
// The operator's options and plan.

TEST(BpeTest, PlanTimeErrorsAndFacts) {
  ScopedTempDir dir;
  std::string file;
  for (int b = 0; b < 256; ++b) {
    file += Base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  }
  WriteFile(dir.File("cl100k_base.tiktoken"), file);
  WriteFile(dir.File("mine.tiktoken"), file);
  WriteFile(dir.File("in.txt"), "a\n");
  auto plan = [&](const std::string& tokenize) {
    return RunCorpusflow({"run", "--dry-run",
                          "read " + dir.File("in.txt") + " | tokenize --kind bpe " + tokenize +
                              " | write-megatron " + dir.File("m")});
  };
  // The encoding follows the file's name; its special tokens count in the ids (n_vocab).
  CommandResult r = plan("--tiktoken " + dir.File("cl100k_base.tiktoken"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(100277 ids)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("as int32 (vocabulary 100277)"), std::string::npos) << r.out;
  r = plan("--tiktoken " + dir.File("mine.tiktoken"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give --pattern"), std::string::npos) << r.err;
  r = plan("--tiktoken " + dir.File("mine.tiktoken") + " --pattern '\\p{L}+|\\s+'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(256 ids)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("as uint16"), std::string::npos) << r.out;
  r = plan("--tiktoken " + dir.File("mine.tiktoken") + " --pattern '(a'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("is not valid: missing closing parenthesis"), std::string::npos) << r.err;
  r = plan("--tiktoken " + dir.File("cl100k_base.tiktoken") + " --allow-special '<|eot|>'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no special token '<|eot|>' (it has: <|endoftext|>, <|fim_prefix|>"),
            std::string::npos)
      << r.err;
  r = plan("--tiktoken " + dir.File("cl100k_base.tiktoken") + " --add-special");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--append-eod"), std::string::npos) << r.err;
  EXPECT_EQ(plan("").exit_code, 2);
  EXPECT_EQ(plan("--vocab " + dir.File("v.json")).exit_code, 2);  // no --merges
  EXPECT_EQ(
      plan("--tiktoken " + dir.File("mine.tiktoken") + " --pattern gpt2 --lowercase").exit_code, 2);
  r = RunCorpusflow({"run", "read " + dir.File("in.txt") + " | tokenize --kind wordpiece --vocab " +
                                dir.File("mine.tiktoken") + " --pattern gpt2 | write -"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("are for --kind bpe"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace corpusflow
