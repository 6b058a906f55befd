// Tests of `write-olmo` through the real binary: the memmap, its gzip metadata and its mask are
// read back by a reader written here from the layout OLMo-core reads (raw little-endian tokens,
// documents found by their EOS as OLMo-core's iter_document_indices finds them, and the
// start,end lines of the .csv.gz, read with the system's gzip), never through OlmoReader, and
// compared sample for sample with the JSONL `write` gives for the same pipeline; OLMo-core's
// dtype rule, appended EOS, shards, and failing runs leaving nothing behind.
#include "operators/formats/write_olmo.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operators/formats/olmo_format.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/sample_testing.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SplitLines;
using testing::TestSample;
using testing::WriteFile;

/// The [start, end) of every line of a .csv.gz, decompressed by gzip(1).
std::vector<std::pair<uint64_t, uint64_t>> MetadataDocuments(const std::string& path,
                                                             std::vector<std::string>* lines) {
  const auto result = RunProgram({"gzip", "-dc", path});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  *lines = SplitLines(result.out);
  std::vector<std::pair<uint64_t, uint64_t>> documents;
  for (const std::string& line : *lines) {
    const size_t comma = line.find(',');
    documents.emplace_back(std::stoull(line.substr(0, comma)), std::stoull(line.substr(comma + 1)));
  }
  return documents;
}

/// OLMo-core's iter_document_indices on a local array: a document ends after every EOS.
std::vector<std::pair<uint64_t, uint64_t>> EosDocuments(const std::vector<uint64_t>& tokens,
                                                        uint64_t eos) {
  std::vector<std::pair<uint64_t, uint64_t>> documents;
  uint64_t start = 0;
  for (uint64_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == eos) {
      documents.emplace_back(start, i + 1);
      start = i + 1;
    }
  }
  return documents;
}

TEST(WriteOlmoTest, PackedSamplesReadBackFromTheLayoutEqualTheJsonl) {
  ScopedTempDir dir;
  constexpr size_t kLength = 32;
  constexpr int32_t kEos = 50279;
  const auto samples = testing::PackedTestSamples(13, 30, kLength, 50000, kEos, 1);
  const std::vector<TestSample> reference = testing::RunSamplesThroughSink(
      dir.path().string(), samples, 50280,
      "write-olmo " + dir.File("part-0") + " --eos " + std::to_string(kEos));
  ASSERT_EQ(reference.size(), samples.size());
  // A vocabulary of 50280 ids: uint16, as OLMo-core's get_dtype() chooses. Samples stay whole,
  // so NumpyFSLDataset's chunks of 32 tokens are the samples.
  const std::vector<uint64_t> tokens =
      testing::LittleEndianValues(ReadFile(dir.File("part-0.npy")), 2);
  const std::string mask = ReadFile(dir.File("part-0_mask.npy"));
  ASSERT_EQ(tokens.size(), samples.size() * kLength);
  ASSERT_EQ(mask.size(), tokens.size());
  std::vector<std::pair<uint64_t, uint64_t>> expected;
  for (size_t s = 0; s < reference.size(); ++s) {
    for (size_t j = 0; j < kLength; ++j) {
      EXPECT_EQ(tokens[s * kLength + j], static_cast<uint64_t>(reference[s].ids[j]));
      EXPECT_EQ(mask[s * kLength + j], static_cast<char>(reference[s].loss_mask[j]));
    }
    const auto& cu = reference[s].cu_seqlens;
    for (size_t k = 1; k < cu.size(); ++k) {
      expected.emplace_back(s * kLength + static_cast<uint64_t>(cu[k - 1]),
                            s * kLength + static_cast<uint64_t>(cu[k]));
    }
  }
  std::vector<std::string> lines;
  EXPECT_EQ(MetadataDocuments(dir.File("part-0.csv.gz"), &lines), expected);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], std::to_string(expected[0].first) + "," + std::to_string(expected[0].second) +
                          ",0,part-0.npy,1");
  // Without padding between them, the EOS scan finds the same documents.
  std::vector<std::pair<uint64_t, uint64_t>> eos_documents;
  for (const auto& [start, end] : EosDocuments(tokens, kEos)) {
    // Padding before a document joins it in the scan: compare ends only.
    eos_documents.emplace_back(0, end);
  }
  std::vector<std::pair<uint64_t, uint64_t>> ends;
  for (const auto& [start, end] : expected) ends.emplace_back(0, end);
  EXPECT_EQ(eos_documents, ends);
}

TEST(WriteOlmoTest, DocumentsGetTheEosAppendedUnlessTheyEndWithIt) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "5 6 7\n8 0\n\n9\n");
  testing::RunTestPipeline("read " + dir.File("in.txt") +
                           " | parse-ids --output input_ids --vocab-size 200 " + "| write-olmo " +
                           dir.File("d") + " --eos 0");
  // A vocabulary of 200 ids: uint8. The empty record is no document.
  EXPECT_EQ(testing::LittleEndianValues(ReadFile(dir.File("d.npy")), 1),
            (std::vector<uint64_t>{5, 6, 7, 0, 8, 0, 9, 0}));
  std::vector<std::string> lines;
  EXPECT_EQ(MetadataDocuments(dir.File("d.csv.gz"), &lines),
            (std::vector<std::pair<uint64_t, uint64_t>>{{0, 4}, {4, 6}, {6, 8}}));
  EXPECT_EQ(lines, (std::vector<std::string>{"0,4,0,d.npy,1", "4,6,1,d.npy,2", "6,8,2,d.npy,4"}));
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"d.csv.gz", "d.npy", "in.txt"}));
}

TEST(WriteOlmoTest, TokenWidthFollowsOlmoCoreAndShardsDealRecords) {
  EXPECT_EQ(OlmoTokenWidth(256), 1);
  EXPECT_EQ(OlmoTokenWidth(257), 2);
  EXPECT_EQ(OlmoTokenWidth(65536), 2);
  EXPECT_EQ(OlmoTokenWidth(65537), 4);
  EXPECT_EQ(OlmoTokenWidth(0), 4);
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "70000 1\n2\n3 4\n");
  testing::RunTestPipeline("read " + dir.File("in.txt") +
                           " | parse-ids --output input_ids | write-olmo " + dir.File("s") +
                           " --eos 1 --shards 2");
  EXPECT_EQ(testing::LittleEndianValues(ReadFile(dir.File("s-00000-of-00002.npy")), 4),
            (std::vector<uint64_t>{70000, 1, 3, 4, 1}));
  EXPECT_EQ(testing::LittleEndianValues(ReadFile(dir.File("s-00001-of-00002.npy")), 4),
            (std::vector<uint64_t>{2, 1}));
}

TEST(WriteOlmoTest, ADocumentWithoutTheEosFailsTheRunAndLeavesNothing) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 9 2 9\", \"mask\": \"1 1 1 1\", \"bounds\": \"0 2 4\"}\n"
            "{\"ids\": \"3 9 4 5\", \"mask\": \"1 1 1 1\", \"bounds\": \"0 2 4\"}\n");
  testing::ExpectSinkFailsLeavingNothing(
      dir.path().string(), 100, "write-olmo " + dir.File("out/x") + " --eos 9",
      "write-olmo: record 2, document 1 (tokens 2..4) ends with id 5, not "
      "the EOS 9");
}

TEST(WriteOlmoTest, TheEosIsRequiredAndMustFitTheVocabulary) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "1\n");
  const std::string read = "read " + dir.File("in.txt") + " | parse-ids --output input_ids ";
  auto result = RunCorpusflow({"run", read + "| write-olmo " + dir.File("x")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--eos ID is required"), std::string::npos) << result.err;
  result = RunCorpusflow(
      {"run", read + "--vocab-size 100 | write-olmo " + dir.File("x") + " --eos 100"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--eos 100 is out of range for field 'input_ids' (ids 0..99)"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"});
}

}  // namespace
}  // namespace corpusflow
