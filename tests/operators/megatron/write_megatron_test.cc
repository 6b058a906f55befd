// Tests of `write-megatron` through the planner and executor: dtype choice, document and
// sentence levels, EOD, shards, errors naming records, nothing left behind on failure, and the
// numpy reader of python/corpusflow_data.py (Debian's /usr/bin/python3) as an oracle.
#include "operators/megatron/write_megatron.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "operators/megatron/merge.h"
#include "operators/megatron/reader.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/fault_file_system.h"
#include "tests/testing/megatron_testing.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;
using testing::JoinIds;
using testing::ListDir;
using testing::ReadFile;
using testing::ReadMegatronDocuments;
using testing::ScopedTempDir;
using testing::WriteFile;

using Document = testing::MegatronDocument;
using Stages = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// Plan and run VectorSource(records) | stages... on `threads` threads; returns the run stats.
std::unique_ptr<RunStats> RunStages(const std::vector<std::string>& records, const Stages& stages,
                                    int threads = 2, size_t batch_records = 3) {
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<testing::VectorSource>(records, batch_records));
  for (const auto& [name, args] : stages) {
    chain.push_back(OperatorRegistry::Global().Create(name, args));
  }
  auto stats = std::make_unique<RunStats>();
  testing::RunChain(std::move(chain), testing::TestRunOptions(threads, 64 << 20), stats.get());
  return stats;
}

std::string ToJson(const std::vector<Document>& documents) {
  std::string out = "[";
  for (size_t d = 0; d < documents.size(); ++d) {
    out += d ? ",[" : "[";
    for (size_t s = 0; s < documents[d].size(); ++s) {
      out += s ? ",[" : "[";
      for (size_t j = 0; j < documents[d][s].size(); ++j) {
        if (j) out += ',';
        out += std::to_string(documents[d][s][j]);
      }
      out += ']';
    }
    out += ']';
  }
  return out + "]";
}

std::string JsonQuoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// Checks of datasets by the numpy reader (python/corpusflow_data.py) run by Debian's python,
/// gathered and run in one python process.
class NumpyOracle {
 public:
  explicit NumpyOracle(std::string manifest) : manifest_(std::move(manifest)) {}
  void Expect(const std::string& prefix, const std::vector<Document>& documents,
              const std::string& dtype) {
    entries_ += entries_.empty() ? "[" : ",";
    entries_ += "{\"prefix\":" + JsonQuoted(prefix) + ",\"dtype\":\"" + dtype +
                "\",\"documents\":" + ToJson(documents) + "}";
  }
  void Run() {
    testing::WriteFile(manifest_, entries_ + "]");
    const testing::CommandResult r = testing::RunProgram(
        {"/usr/bin/python3", testing::SourceDir() + "/tests/python/check_dataset.py", manifest_});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::remove(manifest_.c_str());
    entries_.clear();
  }

 private:
  std::string manifest_;
  std::string entries_;
};

void ExpectNumpyReads(const std::string& prefix, const std::vector<Document>& documents,
                      const std::string& dtype) {
  NumpyOracle oracle(prefix + ".manifest.json");
  oracle.Expect(prefix, documents, dtype);
  oracle.Run();
}

/// One document-level document per record: the record's ids as a single sequence.
std::vector<Document> AsDocuments(const std::vector<std::vector<int32_t>>& records) {
  std::vector<Document> documents;
  for (const auto& r : records) documents.push_back({r});
  return documents;
}

TEST(WriteMegatronTest, DocumentLevelUInt16FromFieldVocabulary) {
  ScopedTempDir dir;
  const std::string out = dir.File("train");
  RunStages({"1 2 3", "", "29999 0", "7"},
            {{"parse-ids", {"--vocab-size", "30000"}}, {"write-megatron", {out}}});
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"train_text_ids_document.bin",
                                                           "train_text_ids_document.idx"}));
  const std::string prefix = out + "_text_ids_document";
  MegatronDType dtype;
  const auto expected = AsDocuments({{1, 2, 3}, {}, {29999, 0}, {7}});
  EXPECT_EQ(ReadMegatronDocuments(prefix, &dtype), expected);
  EXPECT_EQ(dtype, MegatronDType::kUInt16);
  EXPECT_EQ(ReadFile(prefix + ".bin").size(), 12u);
  ExpectNumpyReads(prefix, expected, "uint16");
}

TEST(WriteMegatronTest, UnknownVocabularyIsInt32) {
  ScopedTempDir dir;
  const std::string out = dir.File("t");
  RunStages({"70000 1", "2147483647", ""}, {{"parse-ids", {}}, {"write-megatron", {out}}});
  MegatronDType dtype;
  const auto expected = AsDocuments({{70000, 1}, {2147483647}, {}});
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_document", &dtype), expected);
  EXPECT_EQ(dtype, MegatronDType::kInt32);
  ExpectNumpyReads(out + "_text_ids_document", expected, "int32");
}

TEST(WriteMegatronTest, DescribeSaysWhyInt32) {
  WriteMegatronOptions options;
  options.prefix = "out/x";
  WriteMegatronOperator op(options);
  op.set_name("write-megatron");
  const std::string d = op.DescribePlanned(Schema(
      {Field{"a_ids", FieldType::kInt32List, 0}, Field{"b_ids", FieldType::kInt32List, 21128}}));
  EXPECT_NE(d.find("a_ids as int32 (vocabulary size unknown: int32 holds any id)"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("b_ids as uint16 (vocabulary 21128)"), std::string::npos) << d;
}

TEST(WriteMegatronTest, VocabSizeOptionOverridesAndIsEnforced) {
  ScopedTempDir dir;
  const std::string out = dir.File("v");
  RunStages({"999 0", "5"}, {{"parse-ids", {}}, {"write-megatron", {out, "--vocab-size", "1000"}}});
  MegatronDType dtype;
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_document", &dtype),
            AsDocuments({{999, 0}, {5}}));
  EXPECT_EQ(dtype, MegatronDType::kUInt16);
  // With a larger vocabulary than uint16 holds, the override gives int32.
  RunStages({"5"}, {{"parse-ids", {"--vocab-size", "100"}},
                    {"write-megatron", {out, "--vocab-size", "70000"}}});
  ReadMegatronDocuments(out + "_text_ids_document", &dtype);
  EXPECT_EQ(dtype, MegatronDType::kInt32);
}

TEST(WriteMegatronTest, IdOutOfRangeNamesTheRecordAndLeavesNothing) {
  ScopedTempDir dir;
  const std::string out = dir.File("bad");
  std::vector<std::string> records(40, "1 2 3");
  records[31] = "4 70000 5";  // record 32, in the 11th batch of 3
  try {
    RunStages(records, {{"parse-ids", {}}, {"write-megatron", {out, "--vocab-size", "30000"}}});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("write-megatron: record 32, field 'text_ids': id 70000 "
                                         "is out of range for the vocabulary size 30000 "
                                         "(dataset dtype uint16)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(WriteMegatronTest, NegativeIdIsAnError) {
  ScopedTempDir dir;
  Batch batch;
  auto& ids = batch.AddInt32List("ids", 0);
  ids.Append(std::vector<int32_t>{1, -1});
  std::vector<Batch> batches;
  batches.push_back(std::move(batch));
  WriteMegatronOptions options;
  options.prefix = dir.File("neg");
  auto sink = std::make_unique<WriteMegatronOperator>(options);
  sink->set_name("write-megatron");
  try {
    testing::RunChain(
        testing::Chain(std::make_unique<testing::BatchSource>(std::move(batches)), std::move(sink)),
        testing::TestRunOptions(1, 64 << 20));
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("record 1, field 'ids': id -1 is negative"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(WriteMegatronTest, MissingFieldIsAPlanTimeError) {
  ScopedTempDir dir;
  try {
    RunStages({"1"},
              {{"parse-ids", {}}, {"write-megatron", {dir.File("m"), "--fields", "src_ids"}}});
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("write-megatron needs field 'src_ids' (int32-list) but "
                                         "upstream only produces text:string, text_ids:int32-list"),
              std::string::npos)
        << e.what();
  }
  try {
    RunStages({"1"}, {{"write-megatron", {dir.File("m")}}});
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("needs a token-id (int32-list) field"), std::string::npos)
        << e.what();
  }
  // A string field named in --fields is a type error.
  EXPECT_THROW(RunStages({"1"}, {{"write-megatron", {dir.File("m"), "--fields", "text"}}}),
               InvalidArgument);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(WriteMegatronTest, BadOptionsAreUsageErrors) {
  auto create = [](std::vector<std::string> args) {
    return OperatorRegistry::Global().Create("write-megatron", args);
  };
  // {shard} was the old naming; a prefix holding it is refused, not written literally.
  EXPECT_THROW(create({"out/x-{shard}", "--shards", "4"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--shards", "4", "--shard-policy", "random"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--shards", "0"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--level", "document", "--sentence-end", "5"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--level", "paragraph"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--append-eod", "-1"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--append-eod", "2147483648"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--sentence-end", "5,-3"}), InvalidArgument);
  EXPECT_THROW(create({"out/x", "--fields", "a,a"}), InvalidArgument);
  EXPECT_THROW(create({"out/"}), InvalidArgument);
  EXPECT_THROW(create({}), InvalidArgument);
  ScopedTempDir dir;
  // Sentence level of an int32-list field needs the ids that end a sentence: found at plan time.
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              RunStages({"1"}, {{"parse-ids", {}},
                                {"write-megatron", {dir.File("x"), "--level", "sentence"}}});
            }),
            "write-megatron: --level sentence needs --sentence-end IDS for field 'text_ids' "
            "(int32-list: the ids or tokens that end a sentence, e.g. those of '.' and '。'), or "
            "tokenize its sentences (sentences | tokenize --field sentences)");
  // EOD outside the vocabulary: found at plan time.
  EXPECT_THROW(RunStages({"1"}, {{"parse-ids", {"--vocab-size", "100"}},
                                 {"write-megatron", {dir.File("x"), "--append-eod", "100"}}}),
               InvalidArgument);
  // A file where the output folder should be: found at plan time.
  WriteFile(dir.path() / "file", "x");
  EXPECT_EQ(ErrorMessage<IoError>([&] {
              RunStages({"1"}, {{"parse-ids", {}}, {"write-megatron", {dir.File("file/no/x")}}});
            }),
            "cannot write datasets " + dir.File("file/no/x") + "_*: " + dir.File("file") +
                " is not a folder");
  // A missing one is created.
  RunStages({"1"}, {{"parse-ids", {}}, {"write-megatron", {dir.File("no/x")}}});
  EXPECT_EQ(ListDir(dir.path() / "no"),
            (std::vector<std::string>{"x_text_ids_document.bin", "x_text_ids_document.idx"}));
}

TEST(WriteMegatronTest, DocumentLevelAppendsEodToNonEmptyDocuments) {
  ScopedTempDir dir;
  const std::string out = dir.File("eod");
  RunStages({"1 2", "", "3"}, {{"parse-ids", {"--vocab-size", "50"}},
                               {"write-megatron", {out, "--append-eod", "49"}}});
  const auto expected = AsDocuments({{1, 2, 49}, {}, {3, 49}});
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_document"), expected);
  ExpectNumpyReads(out + "_text_ids_document", expected, "uint16");
}

TEST(WriteMegatronTest, EmptyNoSequenceWritesAnEmptyRecordAsPreprocessDataDoes) {
  // preprocess_data.py adds a document without sequences for a document without ids.
  ScopedTempDir dir;
  const std::string out = dir.File("gpt");
  RunStages({"1 2", "", "3"},
            {{"parse-ids", {"--vocab-size", "50"}},
             {"write-megatron", {out, "--append-eod", "49", "--empty-no-sequence"}}});
  const std::vector<Document> expected = {{{1, 2, 49}}, {}, {{3, 49}}};
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_document"), expected);
  MegatronDatasetReader reader(out + "_text_ids_document");
  EXPECT_EQ(reader.sequences(), 2u);
  EXPECT_EQ(reader.documents(), 3u);
  ExpectNumpyReads(out + "_text_ids_document", expected, "uint16");
  EXPECT_THROW(OperatorRegistry::Global().Create("write-megatron",
                                                 {out, "--empty-no-sequence", "--drop-empty"}),
               InvalidArgument);
}

TEST(WriteMegatronTest, SentenceLevelSplitsAfterSentenceEnds) {
  ScopedTempDir dir;
  const std::string out = dir.File("s");
  RunStages({"5 9 6 7 8 8 8", "5 9", "", "9 9 1", "4"},
            {{"parse-ids", {"--vocab-size", "100"}},
             {"write-megatron",
              {out, "--level", "sentence", "--sentence-end", "9,8", "--append-eod", "2"}}});
  const std::vector<Document> expected = {
      {{5, 9}, {6, 7, 8}, {8}, {8, 2}},  // a sentence ends after each end id
      {{5, 9, 2}},                       // EOD joins the last sentence
      {},                                // an empty record: a document without sequences
      {{9}, {9}, {1, 2}},                // the remainder after the last end is a sentence
      {{4, 2}},
  };
  const std::string prefix = out + "_text_ids_sentence";
  EXPECT_EQ(ReadMegatronDocuments(prefix), expected);
  ExpectNumpyReads(prefix, expected, "uint16");
  MegatronDatasetReader reader(prefix);
  EXPECT_EQ(reader.sequences(), 9u);
  EXPECT_EQ(reader.documents(), 5u);
}

/// A BERT-style vocab.txt: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, the words, [unused0] 13.
std::string WriteBertVocab(const ScopedTempDir& dir) {
  const std::string path = dir.File("vocab.txt");
  WriteFile(
      path,
      "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n.\ndog\nran\nhello\n!\n[unused0]\n");
  return path;
}

TEST(WriteMegatronTest, AppendEodAndSentenceEndTakeTokenNamesOfTheFieldsVocabulary) {
  ScopedTempDir dir;
  const std::string vocab = WriteBertVocab(dir);
  const std::string out = dir.File("names");
  RunStages({"The cat sat. The dog ran!", "", "hello"},
            {{"tokenize", {"--kind", "wordpiece", "--vocab", vocab, "--lowercase"}},
             {"write-megatron",
              {out, "--append-eod", "[SEP]", "--level", "sentence", "--sentence-end", ".,!"}}});
  const std::vector<Document> expected = {
      {{5, 6, 7, 8}, {5, 9, 10, 12, 3}},  // '.' is 8, '!' is 12, [SEP] is 3
      {},
      {{11, 3}},
  };
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_sentence"), expected);
  // The special-token map of tokenize names ids too, before the vocabulary's lines.
  const std::string special = dir.File("special");
  RunStages({"hello"}, {{"tokenize",
                         {"--kind", "wordpiece", "--vocab", vocab, "--special-tokens", "<eod>=13"}},
                        {"write-megatron", {special, "--append-eod", "<eod>"}}});
  EXPECT_EQ(ReadMegatronDocuments(special + "_text_ids_document"),
            (std::vector<Document>{{{11, 13}}}));
}

TEST(WriteMegatronTest, UnknownTokenNameIsAPlanTimeErrorWithASuggestion) {
  ScopedTempDir dir;
  const std::string vocab = WriteBertVocab(dir);
  const Stages tokenize = {{"tokenize", {"--kind", "wordpiece", "--vocab", vocab}}};
  auto plan = [&](std::vector<std::string> args) {
    Stages stages = tokenize;
    args.insert(args.begin(), dir.File("x"));
    stages.push_back({"write-megatron", args});
    RunStages({"hello"}, stages);
  };
  EXPECT_EQ(
      ErrorMessage<InvalidArgument>([&] {
        plan({"--append-eod", "[SEPP]"});
      }),
      "write-megatron: --append-eod '[SEPP]' is not a token of field 'text_ids' (vocabulary " +
          vocab + ") (did you mean '[SEP]'?)");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              plan({"--append-eod", "<|endoftext|>"});
            }),
            "write-megatron: --append-eod '<|endoftext|>' is not a token of field 'text_ids' "
            "(vocabulary " +
                vocab + ")");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              plan({"--sentence-end", ".,dot"});
            }),
            "write-megatron: --sentence-end 'dot' is not a token of field 'text_ids' (vocabulary " +
                vocab + ") (did you mean 'dog'?)");
  // Ids from parse-ids have no names.
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              RunStages({"1 2"}, {{"parse-ids", {}},
                                  {"write-megatron", {dir.File("x"), "--append-eod", "[SEP]"}}});
            }),
            "write-megatron: --append-eod '[SEP]': field 'text_ids' has no token names (its ids do "
            "not come from tokenize, e.g. from parse-ids); give the token's id instead");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"vocab.txt"}));
}

TEST(WriteMegatronTest, SentencesTokenizedOneByOneAreASentenceLevelDatasetAsSplitSentences) {
  ScopedTempDir dir;
  const std::string vocab = WriteBertVocab(dir);
  const std::string out = dir.File("my-bert");
  // preprocess_data.py --json-keys text --split-sentences --append-eod: each sentence tokenized
  // on its own and written as a sequence, empty ones skipped, EOD on the last one, a document
  // without ids a document without sequences; the dataset of key text is PREFIX_text_sentence.
  const std::vector<std::string> records = {"The cat sat. The dog ran!  Hello.", "", "   ", "hello",
                                            "the cat. . hello"};
  for (const int threads : {1, 2, 8}) {
    RunStages(records,
              {{"sentences", {"--mode", "pegasus", "--output", "text"}},
               {"tokenize",
                {"--kind", "wordpiece", "--vocab", vocab, "--lowercase", "--field", "text",
                 "--output", "text"}},
               {"write-megatron", {out, "--append-eod", "[SEP]"}}},
              threads, /*batch_records=*/2);
    const std::vector<Document> expected = {
        {{5, 6, 7, 8}, {5, 9, 10, 12}, {11, 8, 3}}, {}, {}, {{11, 3}}, {{5, 6, 8}, {8}, {11, 3}},
    };
    const std::string prefix = out + "_text_sentence";
    EXPECT_EQ(ListDir(dir.path()),
              (std::vector<std::string>{"my-bert_text_sentence.bin", "my-bert_text_sentence.idx",
                                        "vocab.txt"}));
    EXPECT_EQ(ReadMegatronDocuments(prefix), expected);
    MegatronDatasetReader reader(prefix);
    EXPECT_EQ(reader.sequences(), 7u);
    EXPECT_EQ(reader.documents(), 5u);
    if (threads == 1) ExpectNumpyReads(prefix, expected, "uint16");
  }
  // Without --append-eod nothing is added; --fields and --level sentence may be explicit.
  RunStages({"The cat sat. The dog ran!"},
            {{"sentences", {"--mode", "pegasus"}},
             {"tokenize", {"--kind", "wordpiece", "--vocab", vocab, "--field", "sentences"}},
             {"write-megatron", {out, "--fields", "sentences_ids", "--level", "sentence"}}});
  EXPECT_EQ(ReadMegatronDocuments(out + "_sentences_ids_sentence"),
            (std::vector<Document>{{{1, 6, 7, 8}, {1, 9, 10, 12}}}));  // cased: 'The' is [UNK]
}

TEST(WriteMegatronTest, SentenceFieldsAreNotWrittenAsDocumentsNorSplitAgain) {
  ScopedTempDir dir;
  const std::string vocab = WriteBertVocab(dir);
  const Stages split = {
      {"sentences", {}},
      {"tokenize", {"--kind", "wordpiece", "--vocab", vocab, "--field", "sentences"}}};
  auto plan = [&](std::vector<std::string> args) {
    Stages stages = split;
    args.insert(args.begin(), dir.File("x"));
    stages.push_back({"write-megatron", args});
    RunStages({"hello"}, stages);
  };
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              plan({"--level", "document"});
            }),
            "write-megatron: field 'sentences_ids' holds sentences (int32-list-list, from "
            "tokenize of a string-list): it is written at --level sentence, not document");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              plan({"--sentence-end", "8"});
            }),
            "write-megatron: --sentence-end splits int32-list fields, but every field written "
            "already holds sentences (int32-list-list)");
  // tokenize adds no [CLS]/[SEP] to each sentence and cuts no sentence.
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] {
              RunStages({"hello"}, {{"sentences", {}},
                                    {"tokenize",
                                     {"--kind", "wordpiece", "--vocab", vocab, "--field",
                                      "sentences", "--add-special"}},
                                    {"write-megatron", {dir.File("x")}}});
            }),
            "tokenize: --add-special and --max-len apply to one text, but 'sentences' is a "
            "string-list (sentences, tokenized one by one); write-megatron --append-eod ends each "
            "document");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"vocab.txt"}));
}

TEST(WriteMegatronTest, TokenizeOutputNamedAsTheJsonKeyGivesMegatronsDatasetName) {
  // preprocess_data.py --json-keys text names its dataset PREFIX_text_document; tokenize
  // --output text (in place) gives the field, and so the dataset, that name.
  ScopedTempDir dir;
  const std::string vocab = WriteBertVocab(dir);
  const std::string out = dir.File("my-gpt");
  RunStages({"the cat", "hello"},
            {{"tokenize", {"--kind", "wordpiece", "--vocab", vocab, "--output", "text"}},
             {"write-megatron", {out, "--append-eod", "[SEP]"}}});
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"my-gpt_text_document.bin", "my-gpt_text_document.idx",
                                      "vocab.txt"}));
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_document"),
            (std::vector<Document>{{{5, 6, 3}}, {{11, 3}}}));
}

TEST(WriteMegatronTest, PairedFieldsGetTheirOwnDatasetsAndDtypes) {
  ScopedTempDir dir;
  const std::string out = dir.File("pair");
  const auto stats = RunStages({"1 2 3", "4", ""},
                               {{"parse-ids", {"--output", "src_ids", "--vocab-size", "32128"}},
                                {"parse-ids", {"--output", "tgt_ids", "--vocab-size", "250112"}},
                                {"write-megatron", {out, "--fields", "src_ids,tgt_ids"}}});
  MegatronDType src_dtype, tgt_dtype;
  const auto expected = AsDocuments({{1, 2, 3}, {4}, {}});
  EXPECT_EQ(ReadMegatronDocuments(out + "_src_ids_document", &src_dtype), expected);
  EXPECT_EQ(ReadMegatronDocuments(out + "_tgt_ids_document", &tgt_dtype), expected);
  EXPECT_EQ(src_dtype, MegatronDType::kUInt16);
  EXPECT_EQ(tgt_dtype, MegatronDType::kInt32);
  const OperatorStats& sink = *stats->operators().back();
  EXPECT_EQ(sink.counter("src_ids.tokens"), 4u);
  EXPECT_EQ(sink.counter("tgt_ids.sequences"), 3u);
  EXPECT_EQ(sink.counter("tgt_ids.bin_bytes"), 16u);
  EXPECT_EQ(sink.texts().at("src_ids.dtype"), "uint16");
}

TEST(WriteMegatronTest, DropEmptyCountsDrops) {
  ScopedTempDir dir;
  const std::string out = dir.File("d");
  const auto stats = RunStages({"1", "", "2", " ", "3"},
                               {{"parse-ids", {}}, {"write-megatron", {out, "--drop-empty"}}});
  EXPECT_EQ(ReadMegatronDocuments(out + "_text_ids_document"), AsDocuments({{1}, {2}, {3}}));
  const OperatorStats& sink = *stats->operators().back();
  EXPECT_EQ(sink.drops().at("empty ids"), 2u);
  EXPECT_EQ(sink.records_in.load(), 5u);
}

// Round-robin deals the records written: a dropped record takes no turn, so the shards stay
// equal. (It used to deal by stream position: every kept record below went to shard 0.)
TEST(WriteMegatronTest, ShardsDealWrittenRecordsRoundRobin) {
  ScopedTempDir dir;
  const std::string out = dir.File("d");
  RunStages({"1", "", "2", "", "3", "", "4", ""},
            {{"parse-ids", {}}, {"write-megatron", {out, "--drop-empty", "--shards", "2"}}});
  EXPECT_EQ(ReadMegatronDocuments(out + "-00000-of-00002_text_ids_document"),
            AsDocuments({{1}, {3}}));
  EXPECT_EQ(ReadMegatronDocuments(out + "-00001-of-00002_text_ids_document"),
            AsDocuments({{2}, {4}}));
}

/// Random records of ids below `vocab`, some empty.
std::vector<std::vector<int32_t>> RandomRecords(uint64_t seed, size_t n, int64_t vocab) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> records(n);
  for (auto& r : records) {
    r.resize(rng() % 5 == 0 ? 0 : rng() % 200);
    for (int32_t& id : r) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
  }
  return records;
}

std::vector<std::string> ToLines(const std::vector<std::vector<int32_t>>& records) {
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(JoinIds(r));
  return lines;
}

TEST(WriteMegatronTest, ManyShardsRoundTripThroughNumpy) {
  ScopedTempDir dir;
  NumpyOracle oracle(dir.File("manifest.json"));
  const std::vector<std::pair<int64_t, std::string>> cases = {{30000, "uint16"},
                                                              {1 << 20, "int32"}};
  for (const auto& [vocab, dtype] : cases) {
    const auto records = RandomRecords(11, 2000, vocab);
    const std::string out = dir.File(dtype);
    const uint32_t shards = 7;
    RunStages(ToLines(records),
              {{"parse-ids", {"--vocab-size", std::to_string(vocab)}},
               {"write-megatron", {out, "--shards", std::to_string(shards)}}},
              2, 64);
    for (uint32_t s = 0; s < shards; ++s) {
      std::vector<std::vector<int32_t>> mine;
      for (size_t k = s; k < records.size(); k += shards) mine.push_back(records[k]);
      char name[64];
      std::snprintf(name, sizeof name, "%s-%05u-of-%05u_text_ids_document", dtype.c_str(), s,
                    shards);
      const std::string prefix = dir.File(name);
      EXPECT_EQ(ReadMegatronDocuments(prefix), AsDocuments(mine)) << prefix;
      oracle.Expect(prefix, AsDocuments(mine), dtype);
    }
  }
  oracle.Run();
}

TEST(WriteMegatronTest, MergedShardsEqualASingleRunOfTheSameOrder) {
  ScopedTempDir dir;
  const auto records = RandomRecords(5, 500, 30000);
  const uint32_t shards = 4;
  RunStages(ToLines(records),
            {{"parse-ids", {"--vocab-size", "30000"}},
             {"write-megatron", {dir.File("sh"), "--shards", std::to_string(shards)}}},
            2, 16);
  std::vector<std::string> parts;
  std::vector<std::vector<int32_t>> shard_major;
  for (uint32_t s = 0; s < shards; ++s) {
    parts.push_back(dir.File("sh-0000" + std::to_string(s) + "-of-00004_text_ids_document"));
    for (size_t k = s; k < records.size(); k += shards) shard_major.push_back(records[k]);
  }
  MergeMegatronDatasets(dir.File("merged"), parts);
  RunStages(ToLines(shard_major),
            {{"parse-ids", {"--vocab-size", "30000"}}, {"write-megatron", {dir.File("single")}}});
  EXPECT_EQ(ReadFile(dir.File("merged.bin")), ReadFile(dir.File("single_text_ids_document.bin")));
  EXPECT_EQ(ReadFile(dir.File("merged.idx")), ReadFile(dir.File("single_text_ids_document.idx")));
}

TEST(WriteMegatronTest, MergedContiguousRunsEqualOneRun) {
  ScopedTempDir dir;
  const auto lines = ToLines(RandomRecords(9, 900, 1 << 20));
  RunStages(lines, {{"parse-ids", {}}, {"write-megatron", {dir.File("whole")}}});
  std::vector<std::string> parts;
  for (size_t p = 0; p < 3; ++p) {
    const std::vector<std::string> part(lines.begin() + static_cast<ptrdiff_t>(p * 300),
                                        lines.begin() + static_cast<ptrdiff_t>(p * 300 + 300));
    RunStages(part, {{"parse-ids", {}}, {"write-megatron", {dir.File("p" + std::to_string(p))}}});
    parts.push_back(dir.File("p" + std::to_string(p) + "_text_ids_document"));
  }
  MergeMegatronDatasets(dir.File("merged"), parts);
  EXPECT_EQ(ReadFile(dir.File("merged.bin")), ReadFile(dir.File("whole_text_ids_document.bin")));
  EXPECT_EQ(ReadFile(dir.File("merged.idx")), ReadFile(dir.File("whole_text_ids_document.idx")));
}

TEST(WriteMegatronTest, OutputIsIndependentOfThreads) {
  ScopedTempDir dir;
  const auto lines = ToLines(RandomRecords(3, 3000, 30000));
  std::string reference;
  for (const int threads : {1, 2, 8}) {
    const std::string out = dir.File("t" + std::to_string(threads));
    RunStages(lines, {{"parse-ids", {"--vocab-size", "30000"}}, {"write-megatron", {out}}}, threads,
              10);
    const std::string bytes =
        ReadFile(out + "_text_ids_document.bin") + "|" + ReadFile(out + "_text_ids_document.idx");
    if (reference.empty()) reference = bytes;
    EXPECT_EQ(bytes, reference) << threads << " threads";
  }
}

TEST(WriteMegatronTest, EmptyInputWritesEmptyDatasets) {
  ScopedTempDir dir;
  const std::string out = dir.File("none");
  RunStages({}, {{"parse-ids", {"--vocab-size", "100"}}, {"write-megatron", {out}}});
  MegatronDType dtype;
  EXPECT_TRUE(ReadMegatronDocuments(out + "_text_ids_document", &dtype).empty());
  EXPECT_EQ(dtype, MegatronDType::kUInt16);
  ExpectNumpyReads(out + "_text_ids_document", {}, "uint16");
}

// Every write of write-megatron goes through the run's FileSystem: a full disk on the .bin or
// the .idx of the second shard is an IoError naming it, and leaves the previous datasets as they
// were with no temp file.
TEST(WriteMegatronTest, FullDiskThroughTheRunsFileSystemLeavesThePreviousDatasets) {
  ScopedTempDir dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 2000; ++i) lines.push_back(std::to_string(i % 997) + " 5 6");
  const Stages stages = {{"parse-ids", {"--vocab-size", "1000"}},
                         {"write-megatron", {dir.File("o"), "--shards", "2"}}};
  RunStages(lines, stages);
  const std::vector<std::string> before = ListDir(dir.path());
  ASSERT_EQ(before.size(), 4u);
  const std::string previous = ReadFile(dir.File("o-00001-of-00002_text_ids_document.bin"));
  for (const std::string file :
       {"o-00001-of-00002_text_ids_document.bin", "o-00001-of-00002_text_ids_document.idx"}) {
    testing::FaultFileSystem fs;
    fs.set_path_filter(file);
    fs.FailWritesFrom(1, ENOSPC);
    std::vector<std::unique_ptr<Operator>> chain;
    chain.push_back(std::make_unique<testing::VectorSource>(
        std::vector<std::string>(lines.rbegin(), lines.rend()), 100));
    for (const auto& [name, args] : stages) {
      chain.push_back(OperatorRegistry::Global().Create(name, args));
    }
    RunOptions options = testing::TestRunOptions(2, 64 << 20);
    options.file_system = &fs;
    try {
      testing::RunChain(std::move(chain), options);
      FAIL() << "no error";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write " + dir.File(file)), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos);
    }
    EXPECT_GT(fs.failed_writes(), 0u);
    EXPECT_EQ(ListDir(dir.path()), before);
    EXPECT_EQ(ReadFile(dir.File("o-00001-of-00002_text_ids_document.bin")), previous);
  }
}

// The old sink renamed its output over a file the run was reading: the input was lost.
TEST(WriteMegatronTest, AnOutputThatIsAnInputIsRefusedBeforeAnyIo) {
  ScopedTempDir dir;
  WriteFile(dir.File("o_text_ids_document.bin"), "1 2 3\n4\n");
  const testing::CommandResult r = testing::RunCorpusflow(
      {"run", "read " + dir.File("o_text_ids_document.bin") +
                  " | parse-ids --vocab-size 10 | write-megatron " + dir.File("o")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("would replace " + dir.File("o_text_ids_document.bin") + ", an input"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(ReadFile(dir.File("o_text_ids_document.bin")), "1 2 3\n4\n");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"o_text_ids_document.bin"}));
}

}  // namespace
}  // namespace corpusflow
