// Tests of `tokenize --kind bpe --tokenizer tokenizer.json`: parity id for id with HF tokenizers
// (the npm `tokenizers` package loading the same file, tests/oracles/bpe_oracle.js) on files built
// in the oracle from tiktoken's ranks (GPT-2, RoBERTa-like, Llama 3, Qwen2 and a file mixing every
// normalizer and Split behavior, and files of the other pre-tokenizers), on character-level BPEs
// trained there (subword prefix, word suffix, fused unknown tokens, byte fallback), on
// Mistral-style files (Metaspace, byte fallback) on BERT-style files (BertNormalizer,
// BertPreTokenizer, WordPiece, BertProcessing) and on Unigram files (with and without byte
// fallback), with special tokens allowed (HF's behaviour), ordinary (HF never matching them) and
// added by the post-processor; and the plan-time refusals that name the part of a file corpusflow
// does not implement.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operators/tokenize/bpe_model.h"
#include "operators/tokenize/hf_added_tokens.h"
#include "tests/testing/bpe_parity.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::BpeOracle;
using testing::CommandResult;
using testing::CompareBpeWithOracle;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

#define REQUIRE_ORACLE()                                                                          \
  if (!testing::BpeOraclesInstalled()) {                                                          \
    GTEST_SKIP() << "\n*** tokenizers oracle NOT INSTALLED: run `npm ci --prefix tests/oracles` " \
                    "(the project's setup does); tokenizer.json parity UNTESTED ***";             \
  }

/// The BPE parity corpus and documents aimed at the added tokens of the oracle's files.
std::vector<std::string> HfCorpus() {
  std::vector<std::string> docs = testing::BpeParityCorpus();
  docs.insert(docs.end(),
              {
                  "<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n",
                  "the worldwide world_x world. world's (world) 'world' worlds 2world world2",
                  " you  you,you yours  you\t\nyou",
                  "e\u0301t\u00e9 caf\u00e9 cafe\u0301 \u00c9COLE",
                  "License   License\nLicense\u00a0License\u3000 License",
                  "Hello  Hello\tHello\u3000x HelloHello Hello",
                  "<|fim_prefix|><|fim <|fim_suffix|> <|endoftext|><|endoftext|>",
                  "\u4e2d\u6587\u4e2d\u6587 \u4e2d\u6587, \u4e2d\u6587\u3002",
                  "``quoted'' THE Th\u00e9 12345678 \ufb01 \u00bd \u216b \u0130stanbul",
                  "  \n\n  ",
                  " leading space <s> and </s> in the middle, <unk> too",
                  "<s>starts with a special token",
                  "[CLS] Th\u00c9 [MASK] caf\u00e9\u0001x\ufffdy\u200bz na\u00efve "
                  "Supercalifragilisticexpialidocious!!",
              });
  return docs;
}

class HfParityTest : public ::testing::TestWithParam<const char*> {};

TEST_P(HfParityTest, TokenizerJsonMatchesHfTokenizers) {
  REQUIRE_ORACLE();
  const std::string style = GetParam();
  ScopedTempDir dir;
  const std::string file = dir.File(style + ".json");
  const CommandResult made = RunProgram({"node", BpeOracle(), "make-tokenizer-json", style, file});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::vector<std::string> docs = HfCorpus();
  const std::string args = "--tokenizer " + file;
  // HF cuts every added token out of the text: --allow-special all.
  EXPECT_EQ(CompareBpeWithOracle(docs, {"encode-hf", file}, {}, args + " --allow-special all",
                                 style + " --allow-special all"),
            0);
  // By default the special ones are ordinary text: HF with the file's special tokens removed.
  EXPECT_EQ(CompareBpeWithOracle(docs, {"encode-hf", file}, {"--ordinary-special"}, args, style),
            0);
  // --add-special is encode(text, addSpecialTokens = true).
  const bool has_template = style == "roberta" || style == "llama3" || style == "qwen2" ||
                            style == "mixed" || style == "mistral" || style == "metaspace" ||
                            style == "bert" || style == "bert-cased" || style == "unigram" ||
                            style == "unigram-fallback";
  if (has_template) {
    EXPECT_EQ(
        CompareBpeWithOracle(docs, {"encode-hf", file}, {"--add-special"},
                             args + " --add-special --allow-special all", style + " --add-special"),
        0);
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, HfParityTest,
                         ::testing::Values("gpt2", "roberta", "llama3", "qwen2", "mixed", "chars",
                                           "chars-fallback", "mistral", "metaspace", "bert",
                                           "bert-cased", "unigram", "unigram-fallback", "splitters",
                                           "splitters2"));

// One special token allowed, the others ordinary text; the id count of a Llama-3-style file
// (over 65,500 ids) makes write-megatron store int32.
TEST(HfParityTest, AllowedSpecialTokensAndMegatronWidth) {
  REQUIRE_ORACLE();
  ScopedTempDir dir;
  const std::string file = dir.File("qwen2.json");
  ASSERT_EQ(RunProgram({"node", BpeOracle(), "make-tokenizer-json", "qwen2", file}).exit_code, 0);
  WriteFile(dir.File("in.txt"), "<|im_start|>x<|endoftext|>\n<|im_start|>x\n");
  const CommandResult r =
      RunCorpusflow({"run", "read " + dir.File("in.txt") + " | tokenize --kind bpe --tokenizer " +
                                file + " --allow-special '<|endoftext|>' | write " +
                                dir.File("ids.jsonl") + " --field text_ids"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines =
      testing::SplitLines(testing::ReadFile(dir.File("ids.jsonl")));
  ASSERT_EQ(lines.size(), 2u);
  // <|im_start|> is ordinary text (the ids of the second line), <|endoftext|> its id (100257).
  const std::string ordinary = lines[1].substr(0, lines[1].rfind(']'));
  EXPECT_EQ(lines[0], ordinary + ",100257]}");
  CommandResult plan =
      RunCorpusflow({"run", "--dry-run",
                     "read " + dir.File("in.txt") + " | tokenize --kind bpe --tokenizer " + file +
                         " --allow-special '<|nope|>' | write -"});
  EXPECT_EQ(plan.exit_code, 2);
  EXPECT_NE(plan.err.find("--allow-special: " + file +
                          " has no special token '<|nope|>' (it has: <|endoftext|>, <|im_start|>, "
                          "<|fim_prefix|>)"),
            std::string::npos)
      << plan.err;
  // The vocabulary has 100,261 tokens (cl100k's ranks and special tokens, the largest id 100276):
  // HF numbers the new added tokens from 100261 (<|im_start|> .. <|fim: 100261..100268), and the
  // id count is the largest id's plus one.
  plan = RunCorpusflow({"run", "--dry-run",
                        "read " + dir.File("in.txt") + " | tokenize --kind bpe --tokenizer " +
                            file + " | write-megatron " + dir.File("m")});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("(100277 ids)"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("as int32 (vocabulary 100277)"), std::string::npos) << plan.out;
  // An added token names its id for write-megatron (HF's id, not the file's).
  plan =
      RunCorpusflow({"run", "--dry-run",
                     "read " + dir.File("in.txt") + " | tokenize --kind bpe --tokenizer " + file +
                         " | write-megatron " + dir.File("m") + " --append-eod '<|im_start|>'"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("EOD 100261"), std::string::npos) << plan.out;
}

// ---------------------------------------------------------------------------------------------
// Plan-time checks.

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// A byte-level tokenizer.json of the 256 byte tokens, "ab" (256) and the merge "a b", with
/// `pre_tokenizer`, `post_processor` and `extra` (more top-level members) as given.
std::string SmallTokenizerJson(const std::string& pre_tokenizer,
                               const std::string& post_processor = "null",
                               const std::string& extra = "", const std::string& model_extra = "") {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string token;
    const char32_t cp = ByteLevelAlphabet()[b];
    if (cp < 0x80) {
      token.push_back(static_cast<char>(cp));
    } else {
      token.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      token.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab += JsonString(token) + ":" + std::to_string(b) + ",";
  }
  vocab += "\"ab\":256";
  return "{" + extra + "\"added_tokens\":[{\"id\":9,\"content\":\"<|x|>\",\"special\":true}]," +
         "\"normalizer\":null,\"pre_tokenizer\":" + pre_tokenizer +
         ",\"post_processor\":" + post_processor + ",\"model\":{\"type\":\"BPE\"," + model_extra +
         "\"vocab\":{" + vocab + "},\"merges\":[\"a b\"]}}";
}

constexpr const char* kByteLevel =
    R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})";

class HfPlanTest : public ::testing::Test {
 protected:
  /// Plan (--dry-run) `tokenize --kind bpe --tokenizer FILE OPTIONS | write-megatron` on
  /// `json`.
  CommandResult Plan(const std::string& json, const std::string& options = "") {
    WriteFile(dir_.File("t.json"), json);
    WriteFile(dir_.File("in.txt"), "ab\n");
    return RunCorpusflow({"run", "--dry-run",
                          "read " + dir_.File("in.txt") + " | tokenize --kind bpe --tokenizer " +
                              dir_.File("t.json") + " " + options + " | write-megatron " +
                              dir_.File("m")});
  }
  std::string File() const { return dir_.File("t.json"); }
  ScopedTempDir dir_;
};

TEST_F(HfPlanTest, FactsWithoutTheModel) {
  // 258 ids (the added token <|x|> is new: HF gives it 257, not the file's 9); uint16.
  CommandResult r = Plan(SmallTokenizerJson(kByteLevel));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(258 ids)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("as uint16"), std::string::npos) << r.out;
  // A template with one id on each side.
  r = Plan(
      SmallTokenizerJson(kByteLevel, R"({"type":"BertProcessing","sep":["b",98],"cls":["a",97]})"),
      "--add-special");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("the post-processor's tokens added"), std::string::npos) << r.out;
}

TEST_F(HfPlanTest, RefusesWhatItDoesNotImplementNamingThePart) {
  const auto refusal = [&](const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    return r.err;
  };
  const std::string f = File();
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(R"({"type":"UnicodeScripts"})")))
                .find(f + ": pre_tokenizer type 'UnicodeScripts' is not supported"),
            std::string::npos);
  EXPECT_NE(
      refusal(
          Plan(SmallTokenizerJson(
              std::string(R"({"type":"Sequence","pretokenizers":[{"type":"CharDelimiterSplit"},)") +
              kByteLevel + "]}")))
          .find(f + ": pre_tokenizer.pretokenizers[0] type 'CharDelimiterSplit' is not supported"),
      std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(
                        std::string(R"({"type":"Sequence","pretokenizers":[)") + kByteLevel +
                        R"(,{"type":"Split","pattern":{"String":" "},"behavior":"Isolated"}]})")))
                .find(f + ": pre_tokenizer.pretokenizers[1]: a pre-tokenizer after ByteLevel is "
                          "not supported"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(
                        R"({"type":"Split","pattern":{"Regex":"a*"},"behavior":"Isolated"})")))
                .find(f + ": pre_tokenizer.pattern.Regex: the regex 'a*' can match the empty "
                          "string, which is not supported"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(
                        R"({"type":"Split","pattern":{"Regex":"a"},"behavior":"Spread"})")))
                .find(f + ": pre_tokenizer.behavior: Split behavior 'Spread' is not supported"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(kByteLevel, R"({"type":"Other"})")))
                .find(f + ": post_processor type 'Other' is not supported"),
            std::string::npos);
  EXPECT_NE(
      refusal(Plan(SmallTokenizerJson(kByteLevel, "null", R"("truncation":{"max_length":8},)")))
          .find(f + ": truncation is set; HF's truncation is not supported"),
      std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(kByteLevel, "null",
                                            R"("normalizer":{"type":"Precompiled"},)")))
                .find(f + ": normalizer type 'Precompiled' is not supported"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(kByteLevel, "null", "", R"("dropout":0.1,)")))
                .find(f + ": model.dropout: a BPE dropout is not supported"),
            std::string::npos);
  std::string word_level = SmallTokenizerJson(kByteLevel);
  word_level.replace(word_level.find("\"BPE\""), 5, "\"WordLevel\"");
  EXPECT_NE(refusal(Plan(word_level)).find(f + ": model type 'WordLevel' is not supported"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(kByteLevel), "--add-special"))
                .find("--add-special: the post_processor of " + f + " adds no token"),
            std::string::npos);
  EXPECT_NE(refusal(Plan(SmallTokenizerJson(kByteLevel), "--pattern gpt2"))
                .find("--pattern is not an option of --tokenizer"),
            std::string::npos);
  // A merge naming a token the vocabulary lacks fails when the model loads, naming it.
  std::string bad_merge = SmallTokenizerJson(kByteLevel);
  bad_merge.replace(bad_merge.find("\"a b\""), 5, "\"a zz\"");
  WriteFile(dir_.File("t.json"), bad_merge);
  const CommandResult run =
      RunCorpusflow({"run", "read " + dir_.File("in.txt") + " | tokenize --kind bpe --tokenizer " +
                                f + " | write -"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find(f + ": model.merges[0] 'a zz': the vocabulary has no token 'zz'"),
            std::string::npos)
      << run.err;
}

// HF's AddedVocabulary::find_matches on the cases of single_word, lstrip and rstrip.
TEST(HfAddedTokensTest, SplitsAsHfFindMatches) {
  const HfAddedTokenSplitter splitter({{"<s>", 1, false, true, true},
                                       {"ab", 2, true, false, false},
                                       {"abc", 3, false, false, false},
                                       {"x", 4, false, true, false}});
  std::vector<HfAddedTokenSplitter::Segment> segments;
  const auto cut = [&](std::string_view text) {
    splitter.Split(text, &segments);
    std::string out;
    for (const auto& s : segments) {
      out += "[" + (s.id >= 0 ? std::to_string(s.id) + ":" : std::string()) +
             std::string(text.substr(s.begin, s.end - s.begin)) + "]";
    }
    return out;
  };
  // lstrip and rstrip take the whitespace around (U+3000 is whitespace).
  EXPECT_EQ(cut("a  <s> \u3000b"), "[a][1:  <s> \u3000][b]");
  // The longest token at the leftmost position; single_word drops "ab" inside a word, and the
  // text it matched stays ordinary (no "x" is looked for in it).
  EXPECT_EQ(cut("abc ab zab ab_ ab"), "[3:abc][ ][2:ab][ zab ab_ ][2:ab]");
  // lstrip does not take whitespace an earlier token took.
  EXPECT_EQ(cut("<s>  x"), "[1:<s>  ][4:x]");
  EXPECT_EQ(cut(""), "");
}

}  // namespace
}  // namespace corpusflow
