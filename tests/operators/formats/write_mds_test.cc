// Tests of `write-mds` through the real binary: the shards and index.json are read back by a
// reader written here from MosaicML streaming's MDS layout (u32 sample count, u32 offsets, the
// configuration JSON, per sample u32 column sizes then NDArray encodings), never through
// MdsReader, and compared sample for sample with the JSONL `write` gives for the same pipeline;
// MDSWriter's size-limit rule, golden index.json text, shards, empty records, and a failing run
// leaving nothing behind.
#include "operators/formats/write_mds.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <map>
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

/// One MDS shard as the layout describes it.
struct Shard {
  std::string config;
  /// Per sample, per column (in the shard's column order): the int32 values.
  std::vector<std::vector<std::vector<int32_t>>> samples;
};

/// Read a shard file written with `columns` columns, all ndarray:int32 without a fixed shape.
Shard ReadShard(const std::string& path, size_t columns) {
  const std::string bytes = ReadFile(path);
  Shard shard;
  const uint64_t n = testing::LittleEndianAt(bytes, 0, 4);
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i <= n; ++i) offsets.push_back(testing::LittleEndianAt(bytes, 4 + 4 * i, 4));
  EXPECT_EQ(offsets.back(), bytes.size()) << path;
  const uint64_t config_start = 4 + 4 * (n + 1);
  shard.config = bytes.substr(config_start, offsets.front() - config_start);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string sample = bytes.substr(offsets[i], offsets[i + 1] - offsets[i]);
    std::vector<std::vector<int32_t>> values;
    uint64_t at = 4 * columns;
    for (size_t c = 0; c < columns; ++c) {
      const uint64_t size = testing::LittleEndianAt(sample, 4 * c, 4);
      const auto head = static_cast<uint8_t>(sample.at(at));
      EXPECT_EQ(head >> 2, 1) << "one dimension";
      const size_t shape_bytes = size_t{1} << (head & 3);
      const uint64_t length = testing::LittleEndianAt(sample, at + 1, shape_bytes);
      // The smallest unsigned dtype that holds the shape.
      EXPECT_EQ(head & 3, length < 256 ? 0 : length < 65536 ? 1 : 2);
      EXPECT_EQ(size, 1 + shape_bytes + 4 * length);
      std::vector<int32_t> column;
      for (uint64_t j = 0; j < length; ++j) {
        column.push_back(
            static_cast<int32_t>(testing::LittleEndianAt(sample, at + 1 + shape_bytes + 4 * j, 4)));
      }
      values.push_back(std::move(column));
      at += size;
    }
    EXPECT_EQ(at, sample.size());
    shard.samples.push_back(std::move(values));
  }
  return shard;
}

/// The samples of an MDS folder (index.json, then its shards), as TestSamples by column name;
/// `shard_samples` gets each shard's sample count.
std::vector<TestSample> ReadMdsFolder(const std::string& folder,
                                      std::vector<uint64_t>* shard_samples = nullptr) {
  simdjson::dom::parser parser;
  simdjson::dom::element index;
  EXPECT_EQ(parser.load(folder + "/index.json").get(index), simdjson::SUCCESS);
  EXPECT_EQ(int64_t(index["version"]), 2);
  std::vector<TestSample> samples;
  for (simdjson::dom::element entry : simdjson::dom::array(index["shards"])) {
    std::vector<std::string> names;
    for (simdjson::dom::element name : simdjson::dom::array(entry["column_names"])) {
      names.emplace_back(std::string_view(name));
    }
    for (simdjson::dom::element encoding : simdjson::dom::array(entry["column_encodings"])) {
      EXPECT_EQ(std::string_view(encoding), "ndarray:int32");
    }
    EXPECT_EQ(std::string_view(entry["format"]), "mds");
    EXPECT_TRUE(entry["compression"].is_null());
    const std::string basename{std::string_view(entry["raw_data"]["basename"])};
    const std::string path = folder + "/" + basename;
    EXPECT_EQ(uint64_t(int64_t(entry["raw_data"]["bytes"])), std::filesystem::file_size(path));
    const Shard shard = ReadShard(path, names.size());
    EXPECT_EQ(uint64_t(int64_t(entry["samples"])), shard.samples.size());
    // The shard carries its configuration: the entry's members less raw_data, samples, zip_data.
    simdjson::dom::parser config_parser;
    simdjson::dom::element config;
    EXPECT_EQ(config_parser.parse(shard.config).get(config), simdjson::SUCCESS);
    EXPECT_EQ(simdjson::to_string(config["column_names"]),
              simdjson::to_string(entry["column_names"]));
    EXPECT_EQ(int64_t(config["size_limit"]), int64_t(entry["size_limit"]));
    if (shard_samples != nullptr) shard_samples->push_back(shard.samples.size());
    for (const auto& values : shard.samples) {
      TestSample sample;
      for (size_t c = 0; c < names.size(); ++c) {
        if (names[c] == "input_ids") sample.ids = values[c];
        if (names[c] == "loss_mask") sample.loss_mask = values[c];
        if (names[c] == "cu_seqlens") sample.cu_seqlens = values[c];
      }
      samples.push_back(std::move(sample));
    }
  }
  return samples;
}

TEST(WriteMdsTest, SamplesReadBackFromTheLayoutEqualTheJsonl) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(11, 50, 300, 60000, 5, 0);
  const std::vector<TestSample> reference = testing::RunSamplesThroughSink(
      dir.path().string(), samples, 0, "write-mds " + dir.File("mds"));
  ASSERT_EQ(reference.size(), samples.size());
  EXPECT_EQ(ReadMdsFolder(dir.File("mds")), reference);
  EXPECT_EQ(ListDir(dir.File("mds")), (std::vector<std::string>{"index.json", "shard.00000.mds"}));
}

TEST(WriteMdsTest, ShardsCloseAsMdsWriterClosesThem) {
  ScopedTempDir dir;
  // Documents without boundaries or mask, of varied lengths: one column.
  std::string input;
  std::vector<size_t> lengths;
  for (size_t i = 0; i < 60; ++i) {
    const size_t n = 1 + (i * 37) % 90;
    lengths.push_back(n);
    for (size_t j = 0; j < n; ++j) input += (j ? " " : "") + std::to_string(i + j);
    input += "\n";
  }
  WriteFile(dir.File("in.txt"), input);
  constexpr uint64_t kLimit = 2000;
  testing::RunTestPipeline("read " + dir.File("in.txt") +
                           " | parse-ids --output input_ids | write-mds " + dir.File("mds") +
                           " --size-limit " + std::to_string(kLimit));
  std::vector<uint64_t> counts;
  const std::vector<TestSample> read = ReadMdsFolder(dir.File("mds"), &counts);
  ASSERT_EQ(read.size(), lengths.size());
  // MDSWriter: a shard starts at 4 + 4 + len(config) bytes; each sample adds its encoding and 4;
  // a new shard starts when the next sample would pass the limit.
  const uint64_t config_bytes = ReadShard(dir.File("mds/shard.00000.mds"), 1).config.size();
  std::vector<uint64_t> expected;
  uint64_t size = 8 + config_bytes, in_shard = 0;
  for (const size_t n : lengths) {
    const uint64_t sample = 4 + (1 + 1 + 4 * n) + 4;
    if (in_shard > 0 && kLimit < size + sample) {
      expected.push_back(in_shard);
      size = 8 + config_bytes;
      in_shard = 0;
    }
    size += sample;
    ++in_shard;
  }
  expected.push_back(in_shard);
  EXPECT_EQ(counts, expected);
  EXPECT_GT(counts.size(), 3u);
  for (size_t s = 0; s < counts.size(); ++s) {
    EXPECT_LE(std::filesystem::file_size(
                  dir.File("mds/" + std::string("shard.0000") + std::to_string(s) + ".mds")),
              kLimit);
  }
}

TEST(WriteMdsTest, GoldenIndexJson) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "1 2 3\n");
  testing::RunTestPipeline("read " + dir.File("in.txt") +
                           " | parse-ids --output input_ids | write-mds " + dir.File("m"));
  // json.dumps(obj, sort_keys=True) of MDSWriter's index; the shard: 4 (count) + 8 (offsets)
  // + 184 (config) + 4 (size) + 14 (the array: head, shape, 3 int32) = 214 bytes.
  EXPECT_EQ(ReadFile(dir.File("m/index.json")),
            "{\"shards\": [{\"column_encodings\": [\"ndarray:int32\"], \"column_names\": "
            "[\"input_ids\"], \"column_sizes\": [null], \"compression\": null, \"format\": "
            "\"mds\", \"hashes\": [], \"raw_data\": {\"basename\": \"shard.00000.mds\", "
            "\"bytes\": 214, \"hashes\": {}}, \"samples\": 1, \"size_limit\": 67108864, "
            "\"version\": 2, \"zip_data\": null}], \"version\": 2}");
  const Shard shard = ReadShard(dir.File("m/shard.00000.mds"), 1);
  EXPECT_EQ(shard.config,
            "{\"column_encodings\": [\"ndarray:int32\"], \"column_names\": [\"input_ids\"], "
            "\"column_sizes\": [null], \"compression\": null, \"format\": \"mds\", \"hashes\": "
            "[], \"size_limit\": 67108864, \"version\": 2}");
  ASSERT_EQ(shard.samples.size(), 1u);
  EXPECT_EQ(shard.samples[0][0], (std::vector<int32_t>{1, 2, 3}));
}

TEST(WriteMdsTest, OutputsAreShardedFolders) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(5, 7, 12, 100, 1, 0);
  WriteFile(dir.File("in.jsonl"), testing::TestSamplesJsonl(samples));
  testing::RunTestPipeline(testing::TestSamplePipeline(dir.File("in.jsonl"), 0, true, true) +
                           " | write-mds " + dir.File("out") + " --shards 3");
  for (size_t k = 0; k < 3; ++k) {
    std::vector<TestSample> expected;
    for (size_t s = k; s < samples.size(); s += 3) expected.push_back(samples[s]);
    EXPECT_EQ(ReadMdsFolder(dir.File("out-0000" + std::to_string(k) + "-of-00003")), expected);
  }
}

TEST(WriteMdsTest, AnEmptyRecordFailsTheRunAndLeavesNothing) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "1 2\n\n3\n");
  const auto result = RunCorpusflow({"run", "read " + dir.File("in.txt") +
                                                " | parse-ids --output input_ids | write-mds " +
                                                dir.File("mds") + " --size-limit 60"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("write-mds: record 2 has no ids: MDS cannot encode an empty ndarray"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"});
}

TEST(WriteMdsTest, ASizeLimitAboveTheMemoryBudgetIsRefusedAtPlanTime) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "1 2\n");
  const auto result =
      RunCorpusflow({"run", "--memory", "64M",
                     "read " + dir.File("in.txt") + " | parse-ids --output input_ids | write-mds " +
                         dir.File("mds") + " --size-limit 48M"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("holds more than half of --memory"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace corpusflow
