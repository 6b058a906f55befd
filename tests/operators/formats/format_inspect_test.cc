// Tests of `corpusflow inspect` on the trainer formats through the real binary: the format is
// recognized by name, the figures (counts, padding, loss share, id range) are those of the data
// written, ids are decoded with a vocabulary, and damaged files or failed checks exit 1 naming
// the file or the check.
#include "operators/formats/format_inspect.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/testing/cli_runner.h"
#include "tests/testing/sample_testing.h"

namespace corpusflow {
namespace {

using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Two packed samples of 4 tokens: 3 documents, 2 padding tokens, 6 tokens in the loss.
constexpr const char* kSamples =
    "{\"ids\": \"1 3 3 0\", \"mask\": \"0 1 1 0\", \"bounds\": \"0 2 3\"}\n"
    "{\"ids\": \"4 5 3 0\", \"mask\": \"1 1 1 1\", \"bounds\": \"0 3\"}\n";

class FormatInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.File("in.jsonl"), kSamples);
    WriteFile(dir_.File("vocab.txt"), "<pad>\na\nb\n</s>\nc\nd\n");
  }
  void Write(const std::string& sink) {
    const auto result = RunCorpusflow(
        {"run", testing::TestSamplePipeline(dir_.File("in.jsonl"), 6, true, true) + " | " + sink});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  static bool Has(const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
  }
  ScopedTempDir dir_;
};

TEST_F(FormatInspectTest, DatatroveFiguresAndDecodedDocuments) {
  Write("write-datatrove " + dir_.File("dt"));
  const auto result =
      RunCorpusflow({"inspect", dir_.File("dt.ds"), "--vocab", dir_.File("vocab.txt")});
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  EXPECT_TRUE(Has(result.out, "format     datatrove tokenized files, 2-byte tokens\n"))
      << result.out;
  // Documents: [1 3], [3], padding [0], [4 5 3], padding [0].
  EXPECT_TRUE(Has(result.out, "documents  5\ntokens     8 (mean 1.6 per document)\n"))
      << result.out;
  EXPECT_TRUE(Has(result.out, "loss mask  6 of 8 tokens count (75.00%)\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "token ids  0..5 (vocabulary of 6: all in range)\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "check      ok:")) << result.out;
  EXPECT_TRUE(Has(result.out, "document 0 (2 tokens): a </s>\ndocument 1 (1 tokens): </s>\n"))
      << result.out;
}

TEST_F(FormatInspectTest, WindowsOfTheSampleLength) {
  Write("write-datatrove " + dir_.File("dt"));
  // Documents [0,2) [2,3) [3,4) [4,7) [7,8): in windows of 3 tokens, [4,7) crosses one.
  auto result = RunCorpusflow({"inspect", dir_.File("dt"), "--seq-len", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Has(result.out,
                  "windows    2 of 3 tokens, 2 tokens left over; 1 documents cross a "
                  "window boundary\n"))
      << result.out;
  // The OLMo documents are the samples' documents, [0,2) [2,3) [4,7): none crosses a sample.
  Write("write-olmo " + dir_.File("ol") + " --eos 3");
  result = RunCorpusflow({"inspect", dir_.File("ol"), "--seq-len", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Has(result.out,
                  "windows    2 of 4 tokens, 0 tokens left over; 0 documents cross a "
                  "window boundary\n"))
      << result.out;
}

TEST_F(FormatInspectTest, MdsFiguresWithBoundariesAndPadding) {
  Write("write-mds " + dir_.File("mds"));
  const auto result = RunCorpusflow({"inspect", dir_.File("mds")});
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  EXPECT_TRUE(Has(result.out, "samples    2\ntokens     8 (mean 4.0 per sample)\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "documents  3 (cu_seqlens), padding 2 tokens (25.00%)\n"))
      << result.out;
  EXPECT_TRUE(Has(result.out, "sample 1 (4 tokens, 1 documents, 1 padding): 4 5 3 0\n"))
      << result.out;
}

TEST_F(FormatInspectTest, OlmoChecksTheEos) {
  Write("write-olmo " + dir_.File("ol") + " --eos 3");
  auto result = RunCorpusflow({"inspect", dir_.File("ol"), "--eos", "3"});
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  EXPECT_TRUE(Has(result.out, "format     OLMo token memmap, uint8\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "documents  3\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "padding    2 tokens outside documents (25.00%)\n")) << result.out;
  EXPECT_TRUE(Has(result.out, "EOS        every document ends with 3\n")) << result.out;
  result = RunCorpusflow({"inspect", dir_.File("ol.npy"), "--eos", "2"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(
      Has(result.out, "EOS        3 documents do NOT end with 2, the first is document 0\n"))
      << result.out;
  EXPECT_TRUE(Has(result.out, "check      FAILED:")) << result.out;
}

TEST_F(FormatInspectTest, IdsOutsideTheVocabularyFailTheCheck) {
  Write("write-mds " + dir_.File("mds"));
  const auto result = RunCorpusflow({"inspect", dir_.File("mds/index.json"), "--vocab-size", "5"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Has(result.out,
                  "token ids  0..5 (vocabulary of 5: 1 ids OUT OF RANGE, the first in "
                  "sample 1)\n"))
      << result.out;
}

TEST_F(FormatInspectTest, DamagedFilesAreNamed) {
  Write("write-datatrove " + dir_.File("dt"));
  std::filesystem::resize_file(dir_.File("dt.ds.index"), 20);
  auto result = RunCorpusflow({"inspect", dir_.File("dt")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Has(result.err, dir_.File("dt.ds.index") +
                                  ": 20 bytes is not a whole number of uint64 document ends"))
      << result.err;

  Write("write-mds " + dir_.File("mds"));
  std::string shard = ReadFile(dir_.File("mds/shard.00000.mds"));
  shard[8] = 0x7f;  // the second sample's start offset
  WriteFile(dir_.File("mds/shard.00000.mds"), shard);
  result = RunCorpusflow({"inspect", dir_.File("mds")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Has(result.err, dir_.File("mds/shard.00000.mds") + ": sample 0")) << result.err;

  Write("write-olmo " + dir_.File("ol") + " --eos 3");
  WriteFile(dir_.File("lines.csv"), "0,3,0,ol.npy,1\n2,4,1,ol.npy,2\n");
  const auto gzip = testing::RunProgram({"gzip", "-c", dir_.File("lines.csv")});
  ASSERT_EQ(gzip.exit_code, 0) << gzip.err;
  const std::string metadata = ReadFile(dir_.File("ol.csv.gz"));
  WriteFile(dir_.File("ol.csv.gz"), gzip.out);
  result = RunCorpusflow({"inspect", dir_.File("ol.npy")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Has(result.err, dir_.File("ol.csv.gz") + ": line 2: document 2..4 is empty or "
                                                       "overlaps the one before (ending at 3)"))
      << result.err;
  WriteFile(dir_.File("ol.csv.gz"), metadata);
  std::filesystem::resize_file(dir_.File("ol_mask.npy"), 7);
  result = RunCorpusflow({"inspect", dir_.File("ol.npy")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Has(result.err, dir_.File("ol_mask.npy") + ": 7 bytes, but the mask has one byte "
                                                         "for each of the 8 tokens"))
      << result.err;
}

TEST(DetectTokenFormatTest, ByNameAndNeighbours) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.ds"), "");
  WriteFile(dir.File("b.npy"), "");
  std::filesystem::create_directory(dir.File("m"));
  WriteFile(dir.File("m/index.json"), "{}");
  EXPECT_EQ(DetectTokenFormat(dir.File("a")), TokenFormat::kDatatrove);
  EXPECT_EQ(DetectTokenFormat(dir.File("a.ds")), TokenFormat::kDatatrove);
  EXPECT_EQ(DetectTokenFormat(dir.File("b")), TokenFormat::kOlmo);
  EXPECT_EQ(DetectTokenFormat(dir.File("m")), TokenFormat::kMds);
  EXPECT_EQ(DetectTokenFormat(dir.File("m/index.json")), TokenFormat::kMds);
  EXPECT_EQ(DetectTokenFormat(dir.File("train_text_document")), TokenFormat::kMegatron);
}

}  // namespace
}  // namespace corpusflow
