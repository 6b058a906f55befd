// Tests of `write-datatrove` through the real binary: the files are read back by a reader
// written here from datatrove's layout (tokens as little-endian uint16/uint32, document ends as
// uint64, one loss byte per token, the three metadata lines), never through DatatroveReader, and
// compared sample for sample with the JSONL `write` gives for the same pipeline; golden bytes,
// the token size rule, shards, and a failing run leaving nothing behind.
#include "operators/formats/write_datatrove.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "operators/formats/datatrove_format.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/sample_testing.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::TestSample;
using testing::WriteFile;

TEST(WriteDatatroveTest, PackedSamplesReadBackFromTheLayoutEqualTheJsonl) {
  ScopedTempDir dir;
  constexpr size_t kLength = 16;
  const auto samples = testing::PackedTestSamples(7, 40, kLength, 999, 2, 0);
  const std::vector<TestSample> reference = testing::RunSamplesThroughSink(
      dir.path().string(), samples, 1000, "write-datatrove " + dir.File("out"));
  ASSERT_EQ(reference.size(), samples.size());

  // A vocabulary of 1000 ids: 2-byte tokens; nanotron reads windows of seq_len + 1 = 16 tokens.
  const std::vector<uint64_t> tokens = testing::LittleEndianValues(ReadFile(dir.File("out.ds")), 2);
  ASSERT_EQ(tokens.size(), samples.size() * kLength);
  const std::vector<uint64_t> ends =
      testing::LittleEndianValues(ReadFile(dir.File("out.ds.index")), 8);
  const std::string loss = ReadFile(dir.File("out.ds.loss"));
  ASSERT_EQ(loss.size(), tokens.size());
  std::vector<uint64_t> expected_ends;
  for (size_t s = 0; s < reference.size(); ++s) {
    const TestSample& sample = reference[s];
    for (size_t j = 0; j < kLength; ++j) {
      EXPECT_EQ(tokens[s * kLength + j], static_cast<uint64_t>(sample.ids[j])) << s << " " << j;
      EXPECT_EQ(loss[s * kLength + j], static_cast<char>(sample.loss_mask[j])) << s << " " << j;
    }
    // Each document's end, then the sample's end when padding follows the last document.
    for (size_t k = 1; k < sample.cu_seqlens.size(); ++k) {
      expected_ends.push_back(s * kLength + static_cast<uint64_t>(sample.cu_seqlens[k]));
    }
    if (static_cast<size_t>(sample.cu_seqlens.back()) < kLength) {
      expected_ends.push_back((s + 1) * kLength);
    }
  }
  EXPECT_EQ(ends, expected_ends);
  EXPECT_EQ(ReadFile(dir.File("out.ds.metadata")), "Unknown Tokenizer|2\n640\n640 T");
}

TEST(WriteDatatroveTest, DocumentsWithoutBoundariesUseFourByteTokensWithoutAVocabulary) {
  ScopedTempDir dir;
  // Documents of different lengths, one per record, ids above 65535 (no vocabulary size).
  WriteFile(dir.File("in.txt"), "70000 1 2\n5\n3 4 65536 7\n");
  testing::RunTestPipeline("read " + dir.File("in.txt") +
                           " | parse-ids --output input_ids | write-datatrove " + dir.File("docs") +
                           " --tokenizer gpt2");
  EXPECT_EQ(testing::LittleEndianValues(ReadFile(dir.File("docs.ds")), 4),
            (std::vector<uint64_t>{70000, 1, 2, 5, 3, 4, 65536, 7}));
  EXPECT_EQ(testing::LittleEndianValues(ReadFile(dir.File("docs.ds.index")), 8),
            (std::vector<uint64_t>{3, 4, 8}));
  EXPECT_EQ(ReadFile(dir.File("docs.ds.metadata")), "gpt2|4\n8\n8.00 T");
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"docs.ds", "docs.ds.index", "docs.ds.metadata", "in.txt"}));
}

TEST(WriteDatatroveTest, GoldenBytesOfTheWorkedExample) {
  // docs/formats.md: two packed samples of 4 tokens, vocabulary 50257 (2-byte tokens).
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"464 318 50256 11\", \"mask\": \"1 1 1 0\", \"bounds\": \"0 3\"}\n"
            "{\"ids\": \"7 50256 9 50256\", \"mask\": \"0 1 1 1\", \"bounds\": \"0 2 4\"}\n");
  testing::RunTestPipeline(testing::TestSamplePipeline(dir.File("in.jsonl"), 50257, true, true) +
                           " | write-datatrove " + dir.File("x"));
  EXPECT_EQ(ReadFile(dir.File("x.ds")),
            std::string("\xd0\x01\x3e\x01\x50\xc4\x0b\x00\x07\x00\x50\xc4\x09\x00\x50\xc4", 16));
  std::string index;
  for (const uint64_t end : {3, 4, 6, 8}) {
    for (int b = 0; b < 8; ++b) index.push_back(static_cast<char>((end >> (8 * b)) & 0xff));
  }
  EXPECT_EQ(ReadFile(dir.File("x.ds.index")), index);
  EXPECT_EQ(ReadFile(dir.File("x.ds.loss")), std::string("\x01\x01\x01\x00\x00\x01\x01\x01", 8));
  EXPECT_EQ(ReadFile(dir.File("x.ds.metadata")), "Unknown Tokenizer|2\n8\n8.00 T");
}

TEST(WriteDatatroveTest, ShardsDealSamplesRoundRobin) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(3, 9, 8, 50, 1, 0);
  WriteFile(dir.File("in.jsonl"), testing::TestSamplesJsonl(samples));
  testing::RunTestPipeline(testing::TestSamplePipeline(dir.File("in.jsonl"), 100, false, false) +
                           " | write-datatrove " + dir.File("s") + " --shards 2");
  for (size_t shard = 0; shard < 2; ++shard) {
    const std::string prefix = dir.File("s-0000" + std::to_string(shard) + "-of-00002");
    const std::vector<uint64_t> tokens = testing::LittleEndianValues(ReadFile(prefix + ".ds"), 2);
    std::vector<uint64_t> expected, ends;
    for (size_t s = shard; s < samples.size(); s += 2) {
      expected.insert(expected.end(), samples[s].ids.begin(), samples[s].ids.end());
      ends.push_back(expected.size());
    }
    EXPECT_EQ(tokens, expected) << prefix;
    // Without --boundaries (none in the input) each sample is one document.
    EXPECT_EQ(testing::LittleEndianValues(ReadFile(prefix + ".ds.index"), 8), ends) << prefix;
  }
}

TEST(WriteDatatroveTest, AFailingRunLeavesNoFileAndNamesTheRecord) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 2\", \"mask\": \"1 1\", \"bounds\": \"0 2\"}\n"
            "{\"ids\": \"3 4\", \"mask\": \"1 2\", \"bounds\": \"0 2\"}\n");
  testing::ExpectSinkFailsLeavingNothing(
      dir.path().string(), 100, "write-datatrove " + dir.File("sub/out"),
      "write-datatrove: record 2, field 'loss_mask': value 2 at position 1");
}

TEST(WriteDatatroveTest, BoundariesMustStartAtZeroAndIncrease) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 2 3\", \"mask\": \"1 1 1\", \"bounds\": \"0 2 2\"}\n");
  testing::ExpectSinkFailsLeavingNothing(
      dir.path().string(), 100, "write-datatrove " + dir.File("out"),
      "record 1, field 'cu_seqlens': boundary 2 at position 2 does not "
      "follow 2");
}

TEST(WriteDatatroveTest, TheTokenizerLineNamesTheVocabularyWhenItFits) {
  ScopedTempDir dir;
  const std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n";
  WriteFile(dir.File("vocab.txt"), vocab);
  WriteFile(dir.File("v|x.txt"), vocab);
  WriteFile(dir.File("in.txt"), "hello world\n");
  for (const std::string name : {"vocab.txt", "v|x.txt"}) {
    testing::RunTestPipeline("read " + dir.File("in.txt") +
                             " | tokenize --kind wordpiece --vocab '" + dir.File(name) +
                             "' --output input_ids | write-datatrove " + dir.File("out"));
    // A name holding '|' would break the NAME|TOKEN_SIZE line datatrove's merger splits.
    EXPECT_EQ(ReadFile(dir.File("out.ds.metadata")),
              (name == "vocab.txt" ? dir.File(name) : std::string("Unknown Tokenizer")) +
                  "|2\n2\n2.00 T");
  }
}

TEST(DatatroveFormatTest, TokenSizeAndHumanizedCountAsDatatroveWritesThem) {
  EXPECT_EQ(DatatroveTokenSize(50257), 2);
  EXPECT_EQ(DatatroveTokenSize(65536), 2);
  EXPECT_EQ(DatatroveTokenSize(65537), 4);
  EXPECT_EQ(DatatroveTokenSize(0), 4);
  // humanize.metric(n, "T"): three significant digits and an SI prefix.
  EXPECT_EQ(HumanizeMetric(0, "T"), "0.00 T");
  EXPECT_EQ(HumanizeMetric(12, "T"), "12.0 T");
  EXPECT_EQ(HumanizeMetric(999, "T"), "999 T");
  EXPECT_EQ(HumanizeMetric(1500, "T"), "1.50 kT");
  EXPECT_EQ(HumanizeMetric(2345678, "T"), "2.35 MT");
  EXPECT_EQ(HumanizeMetric(12000000000, "T"), "12.0 GT");
}

}  // namespace
}  // namespace corpusflow
