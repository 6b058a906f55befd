// Tests of packed samples in `write-megatron` (one sequence per sample, the loss mask and the
// boundaries in side datasets) and of their check in `inspect`, through the real binary. The
// datasets are read by a parser of the MMIDIDX layout written here (header, lengths, pointers,
// document index; docs/megatron.md), not by MegatronDatasetReader, and compared sample for
// sample with the JSONL `write` gives for the same pipeline.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

/// A dataset parsed from its layout: dtype code and sequences (one per document here).
struct Dataset {
  int dtype = 0;
  std::vector<std::vector<int32_t>> sequences;
  std::vector<uint64_t> documents;
};

Dataset ReadDataset(const std::string& prefix) {
  const std::string idx = ReadFile(prefix + ".idx");
  const std::string bin = ReadFile(prefix + ".bin");
  Dataset d;
  EXPECT_EQ(idx.substr(0, 9), std::string("MMIDIDX\0\0", 9));
  EXPECT_EQ(testing::LittleEndianAt(idx, 9, 8), 1u);
  d.dtype = static_cast<uint8_t>(idx[17]);
  const size_t width = d.dtype == 1 ? 1 : d.dtype == 8 ? 2 : 4;
  const uint64_t s = testing::LittleEndianAt(idx, 18, 8);
  const uint64_t n = testing::LittleEndianAt(idx, 26, 8);
  EXPECT_EQ(idx.size(), 34 + 12 * s + 8 * n);
  for (uint64_t i = 0; i < s; ++i) {
    const uint64_t length = testing::LittleEndianAt(idx, 34 + 4 * i, 4);
    const uint64_t pointer = testing::LittleEndianAt(idx, 34 + 4 * s + 8 * i, 8);
    std::vector<int32_t> values;
    for (uint64_t j = 0; j < length; ++j) {
      values.push_back(
          static_cast<int32_t>(testing::LittleEndianAt(bin, pointer + j * width, width)));
    }
    d.sequences.push_back(std::move(values));
  }
  for (uint64_t k = 0; k < n; ++k)
    d.documents.push_back(testing::LittleEndianAt(idx, 34 + 12 * s + 8 * k, 8));
  return d;
}

TEST(PackedSamplesTest, SidesDatasetsHoldEachSamplesMaskAndBoundaries) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(17, 30, 24, 999, 2, 0);
  const std::vector<TestSample> reference = testing::RunSamplesThroughSink(
      dir.path().string(), samples, 1000, "write-megatron " + dir.File("p"));
  ASSERT_EQ(reference.size(), samples.size());
  const Dataset ids = ReadDataset(dir.File("p_input_ids_document"));
  const Dataset mask = ReadDataset(dir.File("p_loss_mask_document"));
  const Dataset bounds = ReadDataset(dir.File("p_cu_seqlens_document"));
  EXPECT_EQ(ids.dtype, 8);     // uint16: vocabulary of 1000
  EXPECT_EQ(mask.dtype, 1);    // uint8
  EXPECT_EQ(bounds.dtype, 4);  // int32
  ASSERT_EQ(ids.sequences.size(), reference.size());
  ASSERT_EQ(mask.sequences.size(), reference.size());
  ASSERT_EQ(bounds.sequences.size(), reference.size());
  std::vector<uint64_t> one_per_sample;
  for (size_t i = 0; i <= reference.size(); ++i) one_per_sample.push_back(i);
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_EQ(ids.sequences[i], reference[i].ids) << i;
    EXPECT_EQ(mask.sequences[i], reference[i].loss_mask) << i;
    EXPECT_EQ(bounds.sequences[i], reference[i].cu_seqlens) << i;
  }
  EXPECT_EQ(ids.documents, one_per_sample);
  EXPECT_EQ(bounds.documents, one_per_sample);

  // inspect checks the side datasets against the samples and reports documents and padding.
  uint64_t documents = 0, padding = 0, kept = 0, tokens = 0;
  for (const TestSample& s : reference) {
    documents += s.cu_seqlens.size() - 1;
    padding += s.ids.size() - static_cast<uint64_t>(s.cu_seqlens.back());
    tokens += s.ids.size();
    for (const int32_t v : s.loss_mask) kept += static_cast<uint64_t>(v);
  }
  const auto result = RunCorpusflow({"inspect", dir.File("p"), "--quick", "--show", "0"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("packed samples  30, " + std::to_string(tokens) + " tokens\n" +
                            "documents  " + std::to_string(documents) + ", padding " +
                            std::to_string(padding) + " tokens"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("loss mask  " + std::to_string(kept) + " of " + std::to_string(tokens) +
                            " tokens count"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("check      ok: side datasets aligned with the samples"),
            std::string::npos)
      << result.out;
}

TEST(PackedSamplesTest, ABadBoundaryNamesTheRecordAndLeavesNothing) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 2 3\", \"mask\": \"1 1 1\", \"bounds\": \"0 3\"}\n"
            "{\"ids\": \"1 2 3\", \"mask\": \"1 1 1\", \"bounds\": \"0 4\"}\n");
  testing::ExpectSinkFailsLeavingNothing(
      dir.path().string(), 100, "write-megatron " + dir.File("p"),
      "write-megatron: record 2, field 'cu_seqlens': last document ends at "
      "4, past the 3 ids of 'input_ids'");
}

TEST(PackedSamplesTest, PlanErrors) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"), "{\"ids\": \"1 2\", \"mask\": \"1 1\", \"bounds\": \"0 2\"}\n");
  const std::string pipeline = testing::TestSamplePipeline(dir.File("in.jsonl"), 100, true, true);
  auto result =
      RunCorpusflow({"run", pipeline + " | write-megatron " + dir.File("p") + " --append-eod 2"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("not with --level sentence, --append-eod"), std::string::npos)
      << result.err;
  result = RunCorpusflow({"run", pipeline + " | parse-ids --field ids --output other | " +
                                     "write-megatron " + dir.File("p")});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("describe one int32-list field of ids, but 2 fields are written"),
            std::string::npos)
      << result.err;
  result = RunCorpusflow(
      {"run", pipeline + " | write-megatron " + dir.File("p") + " --fields input_ids,loss_mask"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--fields names 'loss_mask', which is written as a side dataset"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.jsonl"});
  // Without side fields the fields are plain datasets, as before.
  testing::RunTestPipeline(pipeline + " | write-megatron " + dir.File("q") +
                           " --loss-mask '' --boundaries ''");
  EXPECT_EQ(ReadDataset(dir.File("q_loss_mask_document")).dtype, 4);
}

TEST(PackedSamplesTest, InspectFailsWhenASideDatasetDoesNotFitTheSamples) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.jsonl"),
            "{\"ids\": \"1 2 3\", \"mask\": \"1 1 1\", \"bounds\": \"0 3\"}\n"
            "{\"ids\": \"4 5\", \"mask\": \"1 1 1\", \"bounds\": \"0 2\"}\n");
  // Written as plain datasets (no check), so the mask of sample 1 is one value too long.
  testing::RunTestPipeline(testing::TestSamplePipeline(dir.File("in.jsonl"), 100, true, true) +
                           " | write-megatron " + dir.File("p") +
                           " --loss-mask '' --boundaries ''");
  const auto result = RunCorpusflow({"inspect", dir.File("p"), "--quick", "--show", "0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("check      FAILED: 1 samples do not fit their side datasets, the "
                            "first is sample 1 (loss mask of 3 values for 2 ids)"),
            std::string::npos)
      << result.out;
}

TEST(PackedSamplesTest, ShardsMergeWithTheirSideDatasets) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(23, 9, 10, 200, 2, 0);
  testing::RunSamplesThroughSink(dir.path().string(), samples, 300,
                                 "write-megatron " + dir.File("s") +
                                     " --shards 2 --shard-policy "
                                     "round-robin");
  const auto merged = RunCorpusflow(
      {"merge", dir.File("all"), dir.File("s-00000-of-00002"), dir.File("s-00001-of-00002")});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  // Round-robin shards merge shard after shard: samples 0, 2, 4, ..., then 1, 3, ...
  const Dataset mask = ReadDataset(dir.File("all_loss_mask_document"));
  const Dataset bounds = ReadDataset(dir.File("all_cu_seqlens_document"));
  EXPECT_EQ(mask.dtype, 1);
  size_t i = 0;
  for (const size_t first : {0, 1}) {
    for (size_t s = first; s < samples.size(); s += 2, ++i) {
      EXPECT_EQ(mask.sequences.at(i), samples[s].loss_mask) << s;
      EXPECT_EQ(bounds.sequences.at(i), samples[s].cu_seqlens) << s;
    }
  }
  const auto result = RunCorpusflow({"inspect", dir.File("all"), "--quick", "--show", "0"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("packed samples  9, 90 tokens"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace corpusflow
