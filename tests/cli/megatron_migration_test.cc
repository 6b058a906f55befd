// preprocess_data.py migrations through the real binary (docs/megatron.md, "Coming from
// preprocess_data.py"): `--append-eod` and `--sentence-end` name tokens ('[SEP]', '</s>') of the
// field's tokenizer; `sentences | tokenize | write-megatron` writes the sentence-level dataset of
// `--split-sentences`, named PREFIX_text_sentence as Megatron names the dataset of key `text`;
// a SentencePiece run appends the model's EOS as Megatron's GPTSentencePieceTokenizer does, and
// `--empty-no-sequence` writes an empty document as preprocess_data.py does.
// The datasets are read back with the validating reader (sequences, lengths, document index).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "operators/megatron/reader.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow::testing {
namespace {

/// A BERT-style vocab.txt: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, then the words.
const char kVocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n.\ndog\nran\nhello\n!\n";

const char kDocs[] =
    "{\"text\": \"The cat sat. The dog ran!  Hello.\", \"id\": 1}\n"
    "{\"text\": \"\", \"id\": 2}\n"
    "{\"text\": \"hello\", \"id\": 3}\n";

std::vector<int32_t> Sequence(const MegatronDatasetReader& reader, uint64_t i) {
  std::vector<int64_t> ids;
  reader.ReadSequence(i, &ids);
  return std::vector<int32_t>(ids.begin(), ids.end());
}

TEST(MegatronMigrationTest, SplitSentencesWithAppendEodOfBertWordPiece) {
  ScopedTempDir dir;
  WriteFile(dir.File("vocab.txt"), kVocab);
  WriteFile(dir.File("docs.jsonl"), kDocs);
  // preprocess_data.py --input docs.jsonl --json-keys text --split-sentences --append-eod
  //   --tokenizer-type BertWordPieceLowerCase --vocab-file vocab.txt --output-prefix out/my-bert
  const std::string pipeline = "read " + dir.File("docs.jsonl") +
                               " --field text | sentences --mode pegasus --output text"
                               " | tokenize --kind wordpiece --vocab " +
                               dir.File("vocab.txt") +
                               " --lowercase --field text --output text"
                               " | write-megatron " +
                               dir.File("out/my-bert") + " --append-eod '[SEP]'";
  const CommandResult plan = RunCorpusflow({"run", "--dry-run", pipeline});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("write Megatron datasets " + dir.File("out/my-bert") +
                          "_{field}_sentence.bin/.idx: text (sentences) as uint16 (vocabulary "
                          "13), EOD 3\n"),
            std::string::npos)
      << plan.out;
  const CommandResult run = RunCorpusflow({"run", pipeline, "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(ListDir(dir.path() / "out"),
            (std::vector<std::string>{"my-bert_text_sentence.bin", "my-bert_text_sentence.idx"}));
  const MegatronDatasetReader reader(dir.File("out/my-bert_text_sentence"));
  EXPECT_EQ(reader.dtype(), MegatronDType::kUInt16);
  ASSERT_EQ(reader.sequences(), 4u);
  ASSERT_EQ(reader.documents(), 3u);
  EXPECT_EQ(Sequence(reader, 0), (std::vector<int32_t>{5, 6, 7, 8}));
  EXPECT_EQ(Sequence(reader, 1), (std::vector<int32_t>{5, 9, 10, 12}));
  EXPECT_EQ(Sequence(reader, 2), (std::vector<int32_t>{11, 8, 3}));
  EXPECT_EQ(Sequence(reader, 3), (std::vector<int32_t>{11, 3}));
  // Document index 0 3 3 4: the empty document has no sequence.
  EXPECT_EQ(
      ReadMegatronDocuments(dir.File("out/my-bert_text_sentence")),
      (std::vector<MegatronDocument>{{{5, 6, 7, 8}, {5, 9, 10, 12}, {11, 8, 3}}, {}, {{11, 3}}}));
}

TEST(MegatronMigrationTest, SentenceIdsAreNestedJsonArraysAndSurviveTheShuffle) {
  ScopedTempDir dir;
  WriteFile(dir.File("vocab.txt"), kVocab);
  WriteFile(dir.File("docs.jsonl"), kDocs);
  const std::string tokenized = "read " + dir.File("docs.jsonl") +
                                " --field text | sentences --mode pegasus"
                                " | tokenize --kind wordpiece --vocab " +
                                dir.File("vocab.txt") + " --lowercase --field sentences";
  const CommandResult run = RunCorpusflow({"run",
                                           tokenized + " | shuffle --seed 3 | write " +
                                               dir.File("ids.jsonl") + " --field sentences_ids",
                                           "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = SplitLines(ReadFile(dir.File("ids.jsonl")));
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"sentences_ids\":[[11]]}",
                                             "{\"sentences_ids\":[[5,6,7,8],[5,9,10,12],[11,8]]}",
                                             "{\"sentences_ids\":[]}"}));
}

TEST(MegatronMigrationTest, AnUnknownTokenIsAUsageErrorBeforeAnyOutput) {
  ScopedTempDir dir;
  WriteFile(dir.File("vocab.txt"), kVocab);
  WriteFile(dir.File("docs.jsonl"), kDocs);
  const CommandResult run = RunCorpusflow(
      {"run",
       "read " + dir.File("docs.jsonl") + " --field text | tokenize --kind wordpiece --vocab " +
           dir.File("vocab.txt") + " --output text | write-megatron " + dir.File("out/x") +
           " --append-eod '[SEPP]'",
       "--progress", "never"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.err,
            "corpusflow: write-megatron: --append-eod '[SEPP]' is not a token of field "
            "'text' (vocabulary " +
                dir.File("vocab.txt") + ") (did you mean '[SEP]'?)\n");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"docs.jsonl", "vocab.txt"}));
}

TEST(MegatronMigrationTest, SentencePieceEodIsTheModelsEosPiece) {
  ScopedTempDir dir;
  // spm_train's defaults: <unk> 0, <s> 1, </s> 2.
  const CommandResult train = RunProgram({"spm_train", "--input=/usr/share/common-licenses/GPL-3",
                                          "--model_prefix=" + dir.File("spm"), "--vocab_size=300",
                                          "--num_threads=2", "--minloglevel=2"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const std::string model = dir.File("spm.model");
  WriteFile(dir.File("docs.jsonl"),
            "{\"text\": \"The program is free software.\"}\n{\"text\": \"\"}\n");
  // preprocess_data.py --tokenizer-type GPTSentencePieceTokenizer --tokenizer-model spm.model
  //   --append-eod: the EOD is the model's eos_id.
  const CommandResult run = RunCorpusflow(
      {"run",
       "read " + dir.File("docs.jsonl") + " --field text | tokenize --kind sentencepiece --model " +
           model + " --output text | write-megatron " + dir.File("out/gpt") +
           " --append-eod '</s>' --empty-no-sequence",
       "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const CommandResult spm =
      RunProgram({"spm_encode", "--model=" + model, "--output_format=id", "--minloglevel=2"},
                 "The program is free software.\n");
  ASSERT_EQ(spm.exit_code, 0) << spm.err;
  const MegatronDatasetReader reader(dir.File("out/gpt_text_document"));
  // The empty document is a document without sequences, as preprocess_data.py writes it.
  ASSERT_EQ(reader.sequences(), 1u);
  ASSERT_EQ(reader.documents(), 2u);
  std::vector<int32_t> ids = Sequence(reader, 0);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), 2);
  ids.pop_back();
  EXPECT_EQ(JoinIds(ids) + "\n", spm.out);
  ids.push_back(2);
  EXPECT_EQ(ReadMegatronDocuments(dir.File("out/gpt_text_document")),
            (std::vector<MegatronDocument>{{ids}, {}}));
}

}  // namespace
}  // namespace corpusflow::testing
