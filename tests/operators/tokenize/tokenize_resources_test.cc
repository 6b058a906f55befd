// Where the tokenize domain's resources load: never at plan time (a `--dry-run` does not read a
// jieba dictionary, so a corrupt one only fails the real run), once per run through the run's
// ResourceCache however many stages share them, and what planning reads instead (the facts of
// a vocab.txt or SentencePiece model) agrees with the loaded tokenizer.
#include "operators/tokenize/tokenize_resources.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/exec_context.h"
#include "engine/registry.h"
#include "operators/tokenize/tokenize.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

const char kVocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n我\n来\n到\n北京\n清华大学\n。\n";
const char kDictionary[] = "我 100\n来到 50\n北京 80\n清华大学 30\n清华 20\n大学 40\n";

TEST(TokenizeResourcesTest, DryRunLoadsNoDictionaryAndTheRunDoes) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kVocab);
  // Readable, so the plan accepts it; line 2 is malformed, so loading it fails.
  WriteFile(tmp.File("dict.txt"), "我 100\nnot-a-dictionary-line\n");
  WriteFile(tmp.File("in.txt"), "我来到北京清华大学。\n");
  const std::string pipeline = "read " + tmp.File("in.txt") +
                               " | tokenize --kind t5pegasus --vocab " + tmp.File("vocab.txt") +
                               " --dict " + tmp.File("dict.txt") + " | write " +
                               tmp.File("out.jsonl");
  const auto dry = testing::RunCorpusflow({"run", pipeline, "--dry-run", "--progress", "never"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("t5pegasus " + tmp.File("vocab.txt") + " (11 ids) text -> text_ids"),
            std::string::npos)
      << dry.out;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("out.jsonl")));

  const auto run = testing::RunCorpusflow({"run", pipeline, "--progress", "never"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find(tmp.File("dict.txt") + ":2"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.File("out.jsonl")));
}

TEST(TokenizeResourcesTest, StagesSharingFilesLoadThemOncePerRun) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kVocab);
  WriteFile(tmp.File("dict.txt"), kDictionary);
  const OperatorRegistry& registry = OperatorRegistry::Global();
  for (int threads : {1, 2, 8}) {
    SCOPED_TRACE(threads);
    testing::CollectedOutput out;
    testing::CollectingSinkOptions sink;
    sink.all_fields = true;
    // The same vocabulary spelled two ways, the same dictionary for tokenize and segment.
    auto chain = testing::Chain(
        std::make_unique<testing::VectorSource>(
            std::vector<std::string>{"我来到北京清华大学。", "北京。"}, 1),
        registry.Create("tokenize", {"--kind", "t5pegasus", "--vocab", tmp.File("vocab.txt"),
                                     "--dict", tmp.File("dict.txt"), "--output", "a_ids"}),
        registry.Create("tokenize", {"--kind", "wordpiece", "--vocab",
                                     tmp.path().string() + "/./vocab.txt", "--output", "b_ids"}),
        registry.Create("segment", {"--dict", tmp.File("dict.txt")}),
        std::make_unique<testing::CollectingSink>(&out, sink));
    ExecContext ctx(testing::TestRunOptions(threads, 64 << 20));
    testing::RunChain(std::move(chain), ctx);
    // One vocabulary and one jieba dictionary, for three stages.
    EXPECT_EQ(ctx.resources().loads(), 2u);
    ASSERT_EQ(out.records.size(), 2u);
    EXPECT_EQ(std::get<std::vector<int32_t>>(out.records[0].Get("a_ids")),
              (std::vector<int32_t>{5, 6, 7, 8, 9, 10}));
    EXPECT_EQ(std::get<std::vector<int32_t>>(out.records[0].Get("b_ids")),
              (std::vector<int32_t>{5, 6, 7, 1, 1, 1, 1, 1, 1, 10}));
    EXPECT_EQ(std::get<std::vector<std::string>>(out.records[0].Get("tokens")),
              (std::vector<std::string>{"我", "来到", "北京", "清华大学", "。"}));
  }
}

TEST(TokenizeResourcesTest, VocabularyFactsAgreeWithTheLoadedTokenizer) {
  ScopedTempDir tmp;
  const std::vector<std::string> vocabularies = {kVocab, "a\r\nb\r\n[SEP]\r\n", "[CLS]\n[SEP]\nx",
                                                 "##a\n[CLS]\nb\n"};
  for (const std::string& text : vocabularies) {
    WriteFile(tmp.File("v.txt"), text);
    TokenizerOptions options;
    options.kind = TokenizerKind::kWordPiece;
    options.vocab_path = tmp.File("v.txt");
    const TokenizerFacts facts = ReadTokenizerFacts(options);
    if (text.find("[UNK]") == std::string::npos) {
      // Planning does not need [UNK]; loading does, and says so.
      EXPECT_THROW(TextTokenizer::Create(options), DataError);
      continue;
    }
    const auto tokenizer = TextTokenizer::Create(options);
    EXPECT_EQ(facts,
              (TokenizerFacts{tokenizer->vocab_size(), tokenizer->start_id(), tokenizer->end_id()}))
        << text;
  }
  WriteFile(tmp.File("empty.txt"), "");
  TokenizerOptions options;
  options.vocab_path = tmp.File("empty.txt");
  EXPECT_THROW(ReadTokenizerFacts(options), DataError);
  options.vocab_path = tmp.File("missing.txt");
  EXPECT_THROW(ReadTokenizerFacts(options), IoError);
}

/// Train a small SentencePiece model with `flags`; returns its path.
std::string TrainModel(const ScopedTempDir& tmp, const std::string& name,
                       const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {"spm_train",
                                   "--input=/usr/share/common-licenses/GPL-3",
                                   "--model_prefix=" + tmp.File(name),
                                   "--vocab_size=300",
                                   "--num_threads=2",
                                   "--minloglevel=2"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const auto result = RunProgram(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return tmp.File(name + ".model");
}

TEST(TokenizeResourcesTest, SentencePieceFactsAgreeWithLibsentencepiece) {
  ScopedTempDir tmp;
  const std::vector<std::vector<std::string>> models = {
      {},                                                         // eos 2, unigram
      {"--model_type=bpe"},                                       // eos 2, BPE
      {"--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1"},  // mT5 / PEGASUS ids
      {"--eos_id=-1"},                                            // no EOS
      {"--eos_piece=[EOS]"},                                      // a renamed EOS
      {"--eos_id=-1", "--user_defined_symbols=</s>"},             // "</s>", not a control
  };
  for (size_t m = 0; m < models.size(); ++m) {
    const std::string model = TrainModel(tmp, "m" + std::to_string(m), models[m]);
    for (int32_t offset : {0, 103}) {
      SCOPED_TRACE("model " + std::to_string(m) + ", offset " + std::to_string(offset));
      TokenizerOptions options;
      options.kind = TokenizerKind::kSentencePiece;
      options.model_path = model;
      options.id_offset = offset;
      if (offset > 0 && m != 2) {
        // Only PEGASUS' ids (pad 0, eos 1) survive the offset; the others are refused.
        EXPECT_THROW(ReadTokenizerFacts(options), InvalidArgument);
        EXPECT_THROW(TextTokenizer::Create(options), InvalidArgument);
        continue;
      }
      const auto tokenizer = TextTokenizer::Create(options);
      EXPECT_EQ(
          ReadTokenizerFacts(options),
          (TokenizerFacts{tokenizer->vocab_size(), tokenizer->start_id(), tokenizer->end_id()}));
    }
  }
  WriteFile(tmp.File("bad.model"), "this is not a protobuf");
  const std::string message =
      testing::ErrorMessage<DataError>([&] { ReadSentencePieceFacts(tmp.File("bad.model"), 0); });
  EXPECT_NE(message.find(tmp.File("bad.model")), std::string::npos) << message;
  EXPECT_THROW(ReadSentencePieceFacts(tmp.File("missing.model"), 0), IoError);
}

TEST(TokenizeResourcesTest, AVocabularyChangedAfterPlanningFailsTheRun) {
  ScopedTempDir tmp;
  WriteFile(tmp.File("vocab.txt"), kVocab);
  TokenizeOptions options;
  options.tokenizer.kind = TokenizerKind::kWordPiece;
  options.tokenizer.vocab_path = tmp.File("vocab.txt");
  auto op = std::make_unique<TokenizeOperator>(options);
  WriteFile(tmp.File("vocab.txt"), std::string(kVocab) + "新\n");
  testing::CollectedOutput out;
  const std::string message = testing::ErrorMessage<DataError>([&] {
    testing::RunChain(
        testing::Chain(std::make_unique<testing::VectorSource>(std::vector<std::string>{"我"}, 1),
                       std::move(op), std::make_unique<testing::CollectingSink>(&out)),
        testing::TestRunOptions(1, 64 << 20));
  });
  EXPECT_EQ(message, tmp.File("vocab.txt") +
                         ": changed after the run was planned (11 ids and its special tokens "
                         "were planned; it now has 12 ids)");
}

}  // namespace
}  // namespace corpusflow
