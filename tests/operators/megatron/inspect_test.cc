// Tests of inspection: the figures gathered from a dataset, the id range check, the decoding of
// the first sequences, the vocabulary reader, and the text `corpusflow inspect` prints.
#include "operators/megatron/inspect.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/error.h"
#include "operators/tokenize/vocab_file.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/megatron_testing.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;
using testing::WriteMegatronDocuments;

/// docs/megatron.md's worked example: lengths 3, 1, 2, 0; documents of 1, 2, 1 and 0 sequences.
void WriteWorkedExample(const ScopedTempDir& dir) {
  WriteMegatronDocuments(dir.File("g"), MegatronDType::kUInt16,
                         {{{1, 2, 3}}, {{4}, {65535, 0}}, {{}}, {}}, dir.path());
}

TEST(MegatronInspectTest, FiguresOfTheWorkedExample) {
  ScopedTempDir dir;
  WriteWorkedExample(dir);
  const MegatronDatasetReader reader(dir.File("g"));
  const MegatronDatasetStats s = InspectMegatronDataset(reader, /*scan_tokens=*/true, 0);
  EXPECT_EQ(s.tokens, 6u);
  EXPECT_EQ(s.min_length, 0);
  EXPECT_EQ(s.max_length, 3);
  EXPECT_EQ(s.empty_sequences, 1u);
  EXPECT_EQ(s.length_histogram, (std::vector<uint64_t>{1, 1, 2}));  // 0 | 1 | 2-3
  EXPECT_EQ(s.min_sequences_per_document, 0u);
  EXPECT_EQ(s.max_sequences_per_document, 2u);
  EXPECT_EQ(s.documents_without_sequences, 1u);
  EXPECT_TRUE(s.scanned_tokens);
  EXPECT_EQ(s.min_id, 0);
  EXPECT_EQ(s.max_id, 65535);
  EXPECT_EQ(s.ids_out_of_range, 0u);
  EXPECT_TRUE(s.ok());

  const MegatronDatasetStats quick = InspectMegatronDataset(reader, /*scan_tokens=*/false, 0);
  EXPECT_FALSE(quick.scanned_tokens);
  EXPECT_EQ(quick.tokens, 6u);
}

TEST(MegatronInspectTest, IdsOutOfTheVocabularyNameTheFirstSequence) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("v"), MegatronDType::kInt32, {{{1, 2}}, {{3, 50}}, {{60}}},
                         dir.path());
  const MegatronDatasetReader reader(dir.File("v"));
  const MegatronDatasetStats s = InspectMegatronDataset(reader, true, 4);
  EXPECT_EQ(s.vocab_size, 4);
  EXPECT_EQ(s.ids_out_of_range, 2u);
  EXPECT_EQ(s.first_out_of_range_sequence, 1u);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(InspectMegatronDataset(reader, true, 61).ok());
  // Without a vocabulary only negative ids are out of range.
  WriteMegatronDocuments(dir.File("n"), MegatronDType::kInt32, {{{1}}, {{2}}, {{-3, 4}}},
                         dir.path());
  const MegatronDatasetStats n =
      InspectMegatronDataset(MegatronDatasetReader(dir.File("n")), true, 0);
  EXPECT_EQ(n.min_id, -3);
  EXPECT_EQ(n.ids_out_of_range, 1u);
  EXPECT_EQ(n.first_out_of_range_sequence, 2u);
}

TEST(MegatronInspectTest, DamagedDatasetIsACorruptionError) {
  ScopedTempDir dir;
  WriteWorkedExample(dir);
  WriteFile(dir.File("g.bin"), ReadFile(dir.File("g.bin")).substr(0, 10));
  const MegatronDatasetReader reader(dir.File("g"));
  EXPECT_THROW(InspectMegatronDataset(reader, false, 0), CorruptionError);
}

TEST(MegatronInspectTest, DecodesTheFirstSequencesWithTheirDocuments) {
  ScopedTempDir dir;
  WriteWorkedExample(dir);
  const MegatronDatasetReader reader(dir.File("g"));
  using Decoded = std::vector<MegatronDecodedSequence>;
  EXPECT_EQ(DecodeMegatronSequences(reader, 10, 100, {}, 0),
            (Decoded{{0, 0, 3, "1 2 3"}, {1, 1, 1, "4"}, {2, 1, 2, "65535 0"}, {3, 2, 0, ""}}));
  EXPECT_EQ(DecodeMegatronSequences(reader, 1, 2, {}, 0), (Decoded{{0, 0, 3, "1 2 ... (1 more)"}}));
  EXPECT_EQ(DecodeMegatronSequences(reader, 3, 100, {"a", "b", "c", "d", "e"}, 5),
            (Decoded{{0, 0, 3, "b c d"}, {1, 1, 1, "e"}, {2, 1, 2, "<65535?> a"}}));
  EXPECT_TRUE(DecodeMegatronSequences(reader, 0, 100, {}, 0).empty());
}

TEST(MegatronInspectTest, NamesOfOffsetIdsAndSpecialTokens) {
  // tokenize --id-offset 3: lines 0 and 1 keep their ids, line k >= 2 is id k + 3.
  const std::vector<std::string> names =
      TokenNames({"<pad>", "</s>", "<unk>", "a"}, 3, ParseSpecialTokens("<mask_1>=2,<mask_2>=3"));
  EXPECT_EQ(names,
            (std::vector<std::string>{"<pad>", "</s>", "<mask_1>", "<mask_2>", "", "<unk>", "a"}));
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("p"), MegatronDType::kUInt16, {{{6, 2, 4, 9, 1}}}, dir.path());
  const MegatronDatasetReader reader(dir.File("p"));
  using Decoded = std::vector<MegatronDecodedSequence>;
  // An id of the vocabulary without a name is <ID>, one outside it <ID?>.
  EXPECT_EQ(DecodeMegatronSequences(reader, 1, 100, names, 7),
            (Decoded{{0, 0, 5, "a <mask_1> <4> <9?> </s>"}}));
  // Without a vocabulary, special tokens name their ids among the numbers.
  const std::vector<std::string> specials = TokenNames({}, 0, ParseSpecialTokens("pegasus"));
  EXPECT_EQ(specials.size(), 4u);
  EXPECT_EQ(DecodeMegatronSequences(reader, 1, 100, specials, 0),
            (Decoded{{0, 0, 5, "6 <mask_1> 4 9 </s>"}}));
  EXPECT_THROW(TokenNames({"a", "b"}, 0, ParseSpecialTokens("<x>=2")), InvalidArgument);
}

TEST(MegatronInspectTest, DecodingSkipsDocumentsWithoutSequences) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("e"), MegatronDType::kUInt16, {{}, {}, {{7}}, {}, {{8}, {9}}},
                         dir.path());
  const auto decoded = DecodeMegatronSequences(MegatronDatasetReader(dir.File("e")), 5, 100, {}, 0);
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[0].document, 2u);
  EXPECT_EQ(decoded[1].document, 4u);
  EXPECT_EQ(decoded[2].document, 4u);
}

TEST(MegatronInspectTest, VocabularyTokensAreLinesBeforeATab) {
  ScopedTempDir dir;
  WriteFile(dir.File("v.txt"), "[PAD]\r\n\xe4\xb8\xad\n\n\xe2\x96\x81the\t-3.25\nlast");
  EXPECT_EQ(ReadVocabTokens(dir.File("v.txt"), VocabColumns::kTokenThenScore),
            (std::vector<std::string>{"[PAD]", "\xe4\xb8\xad", "", "\xe2\x96\x81the", "last"}));
  EXPECT_THROW(ReadVocabTokens(dir.File("missing.txt"), VocabColumns::kTokenThenScore), IoError);
}

TEST(MegatronInspectTest, ReportTextOfTheWorkedExample) {
  ScopedTempDir dir;
  WriteWorkedExample(dir);
  const MegatronDatasetReader reader(dir.File("g"));
  const std::string g = dir.File("g");
  EXPECT_EQ(FormatMegatronFiles(reader),
            "dataset    " + g + "\n" +                                                     //
                "index      " + g + ".idx: 122 bytes, MMIDIDX version 1, dtype uint16 " +  //
                "(code 8, 2 bytes)\n" +                                                    //
                "data       " + g + ".bin: 12 bytes (12 B)\n");
  EXPECT_EQ(FormatMegatronStats(reader, InspectMegatronDataset(reader, true, 70000)),
            "sequences  4\n"
            "documents  4 (0 to 2 sequences each; 1 without sequences)\n"
            "tokens     6 (mean 1.5 per sequence)\n"
            "lengths    min 0, max 3, 1 empty\n"
            "length histogram (tokens: sequences):\n"
            "              0              1  ####################\n"
            "              1              1  ####################\n"
            "            2-3              2  ########################################\n"
            "token ids  0..65535 (vocabulary of 70000: all in range)\n"
            "check      ok: header, file sizes, pointers, document index, token ids\n");
  EXPECT_EQ(FormatMegatronStats(reader, InspectMegatronDataset(reader, true, 100)),
            "sequences  4\n"
            "documents  4 (0 to 2 sequences each; 1 without sequences)\n"
            "tokens     6 (mean 1.5 per sequence)\n"
            "lengths    min 0, max 3, 1 empty\n"
            "length histogram (tokens: sequences):\n"
            "              0              1  ####################\n"
            "              1              1  ####################\n"
            "            2-3              2  ########################################\n"
            "token ids  0..65535 (vocabulary of 100: 1 ids OUT OF RANGE, the first in sequence 2)\n"
            "check      FAILED: header, file sizes, pointers, document index, token ids\n");
  EXPECT_EQ(FormatMegatronSequence({2, 1, 2, "65535 0"}),
            "sequence 2 (document 1, 2 tokens): 65535 0\n");
}

TEST(MegatronInspectTest, ReportTextOfAnEmptyDatasetWithoutScan) {
  ScopedTempDir dir;
  WriteMegatronDocuments(dir.File("z"), MegatronDType::kInt32, {}, dir.path());
  const MegatronDatasetReader reader(dir.File("z"));
  EXPECT_EQ(FormatMegatronStats(reader, InspectMegatronDataset(reader, false, 0)),
            "sequences  0\n"
            "documents  0 (0 to 0 sequences each; 0 without sequences)\n"
            "tokens     0 (mean 0.0 per sequence)\n"
            "lengths    min 0, max 0, 0 empty\n"
            "check      ok: header, file sizes, pointers, document index\n");
  EXPECT_EQ(FormatMegatronStats(reader, InspectMegatronDataset(reader, true, 0)),
            "sequences  0\n"
            "documents  0 (0 to 0 sequences each; 0 without sequences)\n"
            "tokens     0 (mean 0.0 per sequence)\n"
            "lengths    min 0, max 0, 0 empty\n"
            "token ids  none\n"
            "check      ok: header, file sizes, pointers, document index, token ids\n");
}

}  // namespace
}  // namespace corpusflow
