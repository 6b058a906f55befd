// `mlm`: whole words from a WordPiece or SentencePiece vocabulary, special tokens left alone,
// ratio * words picked with all tokens of a word sharing one fate, the 80/10/10 split (binomial
// bounds at p < 1e-6), labels, determinism for any thread count, and errors.
#include "operators/pegasus/mlm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "operators/tokenize/vocab_file.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using Words = std::vector<std::pair<uint32_t, uint32_t>>;

// ids:                                  0      1      2      3      4      5    6    7
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "来",
                                         "##到",
                                         // 8     9       10        11       12     13
                                         "hello", "##wor", "##ld", "<mask_1>", "un", "##aff"};

TEST(WholeWordSegmenterTest, WordPieceWords) {
  MlmOptions options;
  options.mask_id = 4;
  const WholeWordSegmenter segmenter(kVocab, options);
  Words words;
  // [CLS] 我 来 ##到 hello ##wor ##ld <mask_1> un ##aff [SEP]
  segmenter.Segment(std::vector<int32_t>{2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 3}, &words);
  EXPECT_EQ(words, (Words{{1, 2}, {2, 4}, {4, 7}, {8, 10}}));
  // A continuation after a special token starts a word of its own.
  segmenter.Segment(std::vector<int32_t>{2, 7, 9}, &words);
  EXPECT_EQ(words, (Words{{1, 3}}));
  EXPECT_TRUE(segmenter.IsSpecial(0));
  EXPECT_TRUE(segmenter.IsSpecial(4));
  EXPECT_TRUE(segmenter.IsSpecial(11));
  EXPECT_FALSE(segmenter.IsSpecial(5));
}

TEST(WholeWordSegmenterTest, SentencePieceWordsAndNoVocabulary) {
  const std::vector<std::string> vocab = {"<pad>",    "</s>", "<mask_1>", "<mask_2>", "\u2581the",
                                          "\u2581un", "aff",  "able",     "\u2581x"};
  MlmOptions options;
  options.mask_id = 3;
  options.word_start_prefix = "\u2581";
  const WholeWordSegmenter sp(vocab, options);
  Words words;
  sp.Segment(std::vector<int32_t>{4, 5, 6, 7, 8, 1}, &words);
  EXPECT_EQ(words, (Words{{0, 1}, {1, 4}, {4, 5}}));
  // Without a vocabulary each token is a word; ids below --special-below are special.
  MlmOptions plain;
  plain.mask_id = 103;
  plain.special_below = 5;
  const WholeWordSegmenter none({}, plain);
  none.Segment(std::vector<int32_t>{1, 7, 8, 103, 9}, &words);
  EXPECT_EQ(words, (Words{{1, 2}, {2, 3}, {4, 5}}));
}

/// One int32-list column `src_ids` with the given vocabulary size, one record per sequence.
Batch IdsBatch(const std::vector<std::vector<int32_t>>& sequences, int64_t vocab_size) {
  Batch batch;
  Int32ListColumn& column = batch.AddInt32List("src_ids", vocab_size);
  for (const auto& s : sequences) column.Append(s);
  return batch;
}

std::vector<testing::CollectedRecord> RunMlm(const std::vector<Batch>& batches,
                                             const std::vector<std::string>& args,
                                             int threads = 2) {
  testing::CollectedOutput output;
  testing::CollectingSinkOptions sink;
  sink.all_fields = true;
  sink.field = "";
  testing::RunChain(testing::Chain(std::make_unique<testing::BatchSource>(batches),
                                   OperatorRegistry::Global().Create("mlm", args),
                                   std::make_unique<testing::CollectingSink>(&output, sink)),
                    testing::TestRunOptions(threads, 64 << 20));
  return std::move(output.records);
}

std::vector<int32_t> Ids(const testing::CollectedRecord& r, const char* field) {
  return std::get<std::vector<int32_t>>(r.Get(field));
}

/// Sequences of `words` whole words of 1 to 3 WordPiece tokens, between [CLS] and [SEP], over a
/// vocabulary of 1000 where ids 200..599 start words and 600..999 continue them.
std::vector<std::vector<int32_t>> MakeSequences(size_t count, size_t words, uint64_t seed,
                                                std::vector<Words>* word_spans) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int32_t>> out;
  for (size_t s = 0; s < count; ++s) {
    std::vector<int32_t> ids = {101};
    Words spans;
    for (size_t w = 0; w < words; ++w) {
      const auto begin = static_cast<uint32_t>(ids.size());
      ids.push_back(200 + static_cast<int32_t>(rng() % 400));
      const size_t pieces = rng() % 3;
      for (size_t p = 0; p < pieces; ++p) ids.push_back(600 + static_cast<int32_t>(rng() % 400));
      spans.emplace_back(begin, static_cast<uint32_t>(ids.size()));
    }
    ids.push_back(102);
    out.push_back(ids);
    if (word_spans != nullptr) word_spans->push_back(spans);
  }
  return out;
}

std::string WriteVocab(const testing::ScopedTempDir& dir) {
  std::string text;
  for (int id = 0; id < 1000; ++id) {
    if (id == 0) {
      text += "[PAD]\n";
    } else if (id >= 100 && id <= 103) {
      text += std::string(id == 100   ? "[UNK]"
                          : id == 101 ? "[CLS]"
                          : id == 102 ? "[SEP]"
                                      : "[MASK]") +
              "\n";
    } else if (id >= 600) {
      text += "##p" + std::to_string(id) + "\n";
    } else {
      text += "w" + std::to_string(id) + "\n";
    }
  }
  const std::string path = dir.File("vocab.txt");
  testing::WriteFile(path, text);
  return path;
}

TEST(MlmOperatorTest, WholeWordsShareOneFateAndTheLabelsHoldTheOriginals) {
  testing::ScopedTempDir dir;
  const std::string vocab = WriteVocab(dir);
  std::vector<Words> spans;
  const auto sequences = MakeSequences(2000, 40, 1, &spans);
  std::vector<Batch> batches;
  for (size_t b = 0; b < sequences.size(); b += 300) {
    batches.push_back(IdsBatch(
        std::vector<std::vector<int32_t>>(sequences.begin() + b,
                                          sequences.begin() + std::min(b + 300, sequences.size())),
        1000));
  }
  const auto records =
      RunMlm(batches, {"--mask-id", "103", "--vocab", vocab, "--special-below", "104"});
  ASSERT_EQ(records.size(), sequences.size());
  size_t masked = 0, randomized = 0, unchanged = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const std::vector<int32_t> ids = Ids(records[s], "src_ids");
    const std::vector<int32_t> labels = Ids(records[s], "mlm_ids");
    const std::vector<int32_t>& original = sequences[s];
    ASSERT_EQ(ids.size(), original.size());
    ASSERT_EQ(labels.size(), original.size());
    EXPECT_EQ(ids.front(), 101);
    EXPECT_EQ(ids.back(), 102);
    size_t picked = 0;
    for (const auto& [begin, end] : spans[s]) {
      const bool target = labels[begin] != 0;
      bool all_masked = true, all_same = true;
      for (uint32_t i = begin; i < end; ++i) {
        // Every token of a word is a target or none is.
        ASSERT_EQ(labels[i] != 0, target);
        if (!target) {
          ASSERT_EQ(ids[i], original[i]);
          continue;
        }
        ASSERT_EQ(labels[i], original[i]);
        all_masked &= ids[i] == 103;
        all_same &= ids[i] == original[i];
        ASSERT_TRUE(ids[i] == 103 || (ids[i] >= 104 && ids[i] < 1000)) << ids[i];
      }
      if (!target) continue;
      ++picked;
      if (all_masked) {
        ++masked;
      } else if (all_same) {
        ++unchanged;
      } else {
        ++randomized;
      }
    }
    // int(40 * 0.15) = 6 words per sequence.
    ASSERT_EQ(picked, 6u);
  }
  // 12000 picked words; each share within 5.5 standard deviations of 0.8 / 0.1 / 0.1 (two-sided
  // p < 1e-7). A random replacement equal to the original is possible but rare (1/896).
  const double n = 12000;
  auto within = [&](double count, double p) {
    return std::abs(count - n * p) < 5.5 * std::sqrt(n * p * (1 - p));
  };
  EXPECT_TRUE(within(masked, 0.8)) << masked;
  EXPECT_TRUE(within(randomized, 0.1)) << randomized;
  EXPECT_TRUE(within(unchanged, 0.1)) << unchanged;
}

TEST(MlmOperatorTest, DeterministicForAnyThreadCountAndSeedDependent) {
  const auto sequences = MakeSequences(900, 25, 2, nullptr);
  std::vector<Batch> batches;
  for (size_t b = 0; b < sequences.size(); b += 100) {
    batches.push_back(IdsBatch(
        std::vector<std::vector<int32_t>>(sequences.begin() + b, sequences.begin() + b + 100),
        1000));
  }
  const std::vector<std::string> args = {"--mask-id", "103",    "--special-below",
                                         "104",       "--seed", "5"};
  const auto one = RunMlm(batches, args, 1);
  const auto eight = RunMlm(batches, args, 8);
  ASSERT_EQ(one.size(), eight.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(Ids(one[i], "src_ids"), Ids(eight[i], "src_ids"));
    ASSERT_EQ(Ids(one[i], "mlm_ids"), Ids(eight[i], "mlm_ids"));
  }
  auto other = args;
  other.back() = "6";
  const auto reseeded = RunMlm(batches, other, 2);
  size_t differences = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    differences += Ids(one[i], "src_ids") != Ids(reseeded[i], "src_ids");
  }
  EXPECT_GT(differences, 800u);
}

// A SentencePiece `.vocab` with PEGASUS' ids: pad 0, eos 1, unk 2.
const char kPieceVocab[] =
    "<pad>\t0\n</s>\t0\n<unk>\t0\n\u2581the\t-1\n\u2581un\t-2\naff\t-3\nable\t-4\n"
    "\u2581x\t-5\n";

TEST(MlmOperatorTest, SentencePieceIdsShiftedByThePegasusOffset) {
  testing::ScopedTempDir dir;
  testing::WriteFile(dir.File("m.vocab"), kPieceVocab);
  // tokenize --id-offset 103: lines 3..7 are ids 106..110, ids 2..104 are PEGASUS' own.
  // ▁the ▁un aff able <mask_1> ▁x </s>
  const std::vector<int32_t> ids = {106, 107, 108, 109, 2, 110, 1};
  MlmOptions options;
  options.mask_id = 3;
  options.id_offset = 103;
  options.word_start_prefix = "\u2581";
  const WholeWordSegmenter segmenter(
      ShiftVocabTokens(ReadVocabTokens(dir.File("m.vocab"), VocabColumns::kTokenThenScore), 103),
      options);
  Words words;
  segmenter.Segment(ids, &words);
  EXPECT_EQ(words, (Words{{0, 1}, {1, 4}, {5, 6}}));
  EXPECT_TRUE(segmenter.IsSpecial(2));
  EXPECT_TRUE(segmenter.IsSpecial(104));
  EXPECT_FALSE(segmenter.IsSpecial(106));

  // The operator: every word masked, whole.
  const std::vector<std::string> args = {
      "--mask-id",           "3",      "--vocab",       dir.File("m.vocab"),
      "--word-start-prefix", "\u2581", "--ratio",       "1",
      "--mask-prob",         "1",      "--random-prob", "0"};
  std::vector<std::string> with_offset = args;
  with_offset.insert(with_offset.end(), {"--id-offset", "103"});
  const auto records = RunMlm({IdsBatch({ids}, 8 + 103)}, with_offset);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(Ids(records[0], "src_ids"), (std::vector<int32_t>{3, 3, 3, 3, 2, 3, 1}));
  EXPECT_EQ(Ids(records[0], "mlm_ids"), (std::vector<int32_t>{106, 107, 108, 109, 0, 110, 0}));

  // Without the offset line k would be read as id k: refused at plan time, with the remedy.
  auto op = OperatorRegistry::Global().Create("mlm", args);
  try {
    op->OutputSchema(Schema({Field{"src_ids", FieldType::kInt32List, 8 + 103}}));
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("has 8 tokens, 8 ids with --id-offset 0, but 'src_ids' "
                                         "has 111 ids; the ids were shifted by 103 (tokenize "
                                         "--id-offset?): give mlm --id-offset 103"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(op->OutputSchema(Schema({Field{"src_ids", FieldType::kInt32List, 8}})));
  EXPECT_THROW(OperatorRegistry::Global().Create("mlm", {"--mask-id", "3", "--id-offset", "103"}),
               InvalidArgument);
}

TEST(MlmOperatorTest, EdgeCasesAndErrors) {
  // Empty and all-special sequences pass through unchanged; one word is always picked.
  const auto records = RunMlm({IdsBatch({{}, {101, 102}, {101, 500, 102}}, 1000)},
                              {"--mask-id", "103", "--special-below", "104", "--mask-prob", "1",
                               "--random-prob", "0", "--labels", "labels"});
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(Ids(records[0], "src_ids"), std::vector<int32_t>{});
  EXPECT_EQ(Ids(records[1], "src_ids"), (std::vector<int32_t>{101, 102}));
  EXPECT_EQ(Ids(records[2], "src_ids"), (std::vector<int32_t>{101, 103, 102}));
  EXPECT_EQ(Ids(records[2], "labels"), (std::vector<int32_t>{0, 500, 0}));
  // An id outside the vocabulary is a data error naming the record, 1-based like every other
  // message (it said "record 1" for the second record before).
  try {
    RunMlm({IdsBatch({{5, 6}, {5, 1000}}, 1000)}, {"--mask-id", "103"});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("mlm: record 2: id 1000"), std::string::npos) << e.what();
  }
  auto& registry = OperatorRegistry::Global();
  EXPECT_THROW(registry.Create("mlm", {}), InvalidArgument);
  EXPECT_THROW(
      registry.Create("mlm", {"--mask-id", "3", "--mask-prob", "0.9", "--random-prob", "0.2"}),
      InvalidArgument);
  // No vocabulary size anywhere: random replacements cannot be drawn (a plan-time error).
  auto op = registry.Create("mlm", {"--mask-id", "3"});
  EXPECT_THROW(op->OutputSchema(Schema({Field{"src_ids", FieldType::kInt32List, 0}})),
               InvalidArgument);
  EXPECT_NO_THROW(op->OutputSchema(Schema({Field{"src_ids", FieldType::kInt32List, 50}})));
  EXPECT_THROW(op->OutputSchema(Schema({Field{"src_ids", FieldType::kString, 0}})),
               InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
