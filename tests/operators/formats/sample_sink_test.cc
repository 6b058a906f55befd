// Tests of the run every trainer-format sink shares (SampleSinkRun) on batches built in the
// test: a full disk on any one file of any shard, through the run's FileSystem, is an IoError
// naming that file, and leaves the outputs of the previous run exactly as they were, with no temp
// file; the same batches give the same bytes on 1 and 8 threads.
#include "operators/formats/sample_sink.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/registry.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/fault_file_system.h"
#include "tests/testing/pipeline_testing.h"
#include "tests/testing/sample_testing.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;

/// Batches of `samples` with the pack stage's three fields, `per_batch` records each.
std::vector<Batch> SampleBatches(const std::vector<testing::TestSample>& samples,
                                 size_t per_batch) {
  std::vector<Batch> batches;
  for (size_t first = 0; first < samples.size(); first += per_batch) {
    Batch batch;
    // Added first, looked up after: adding a column may move the others.
    batch.AddInt32List("input_ids", 1000);
    batch.AddInt32List("loss_mask");
    batch.AddInt32List("cu_seqlens");
    Int32ListColumn& ids = batch.GetInt32List("input_ids");
    Int32ListColumn& mask = batch.GetInt32List("loss_mask");
    Int32ListColumn& bounds = batch.GetInt32List("cu_seqlens");
    for (size_t s = first; s < std::min(samples.size(), first + per_batch); ++s) {
      ids.Append(samples[s].ids);
      mask.Append(samples[s].loss_mask);
      bounds.Append(samples[s].cu_seqlens);
    }
    batches.push_back(std::move(batch));
  }
  return batches;
}

/// Run the batches into the sink `name` with `args` on `threads` threads through `fs` (null: the
/// default file system).
void RunSink(const std::vector<Batch>& batches, const std::string& name,
             const std::vector<std::string>& args, int threads, FileSystem* fs = nullptr) {
  std::vector<Batch> copies;
  for (const Batch& b : batches) copies.push_back(b);
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<testing::BatchSource>(std::move(copies)));
  chain.push_back(OperatorRegistry::Global().Create(name, args));
  RunOptions options = testing::TestRunOptions(threads, 64 << 20);
  options.file_system = fs;
  testing::RunChain(std::move(chain), options);
}

/// Every file of a folder (recursively one level for MDS folders) with its bytes.
std::map<std::string, std::string> Snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[std::filesystem::relative(entry.path(), dir).string()] = ReadFile(entry.path());
    }
  }
  return files;
}

/// The names of the files that differ between two snapshots (missing on one side included).
std::vector<std::string> Differences(const std::map<std::string, std::string>& a,
                                     const std::map<std::string, std::string>& b) {
  std::vector<std::string> names;
  for (const auto& [name, bytes] : a) {
    const auto it = b.find(name);
    if (it == b.end() || it->second != bytes) names.push_back(name);
  }
  for (const auto& [name, bytes] : b) {
    if (a.count(name) == 0) names.push_back(name);
  }
  return names;
}

struct SinkCase {
  std::string name;
  std::vector<std::string> args;
  /// Files of the second shard to fail, one run each.
  std::vector<std::string> files;
};

TEST(SampleSinkTest, AFullDiskOnAnyFileLeavesThePreviousOutputs) {
  ScopedTempDir dir;
  const auto samples = testing::PackedTestSamples(29, 120, 64, 900, 2, 0);
  const std::vector<Batch> batches = SampleBatches(samples, 16);
  const std::vector<SinkCase> cases = {
      {"write-datatrove",
       {dir.File("dt/x"), "--shards", "2"},
       {"x-00001-of-00002.ds", "x-00001-of-00002.ds.index", "x-00001-of-00002.ds.loss",
        "x-00001-of-00002.ds.metadata"}},
      {"write-mds",
       {dir.File("mds/x"), "--shards", "2", "--size-limit", "4K"},
       {"x-00001-of-00002/shard.00001.mds", "x-00001-of-00002/index.json"}},
      {"write-olmo",
       {dir.File("olmo/x"), "--shards", "2", "--eos", "2"},
       {"x-00001-of-00002.npy", "x-00001-of-00002_mask.npy", "x-00001-of-00002.csv.gz"}},
  };
  for (const SinkCase& c : cases) {
    RunSink(batches, c.name, c.args, 2);
    const std::filesystem::path folder = std::filesystem::path(c.args[0]).parent_path();
    const auto before = Snapshot(folder);
    ASSERT_GE(before.size(), c.files.size()) << c.name;
    // Other samples this time, so that a file left half-replaced would differ.
    const std::vector<Batch> other =
        SampleBatches(testing::PackedTestSamples(31, 120, 64, 900, 2, 0), 16);
    for (const std::string& file : c.files) {
      ASSERT_EQ(before.count(file), 1u) << c.name << " wrote no " << file;
      testing::FaultFileSystem fs;
      // Outputs are written as temp files `.NAME.tmp-XXXXXX` beside their targets.
      const std::filesystem::path relative(file);
      fs.set_path_filter((relative.has_parent_path() ? relative.parent_path().string() + "/" : "") +
                         "." + relative.filename().string() + ".tmp-");
      fs.FailWritesFrom(1, ENOSPC);
      try {
        RunSink(other, c.name, c.args, 2, &fs);
        ADD_FAILURE() << c.name << ": no error writing " << file;
      } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find((folder / file).string()), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos)
            << e.what();
      }
      EXPECT_GT(fs.failed_writes(), 0u) << c.name << " " << file;
      EXPECT_EQ(Differences(Snapshot(folder), before), std::vector<std::string>{})
          << c.name << " after a full disk on " << file;
    }
  }
}

TEST(SampleSinkTest, OutputsDoNotDependOnThreads) {
  ScopedTempDir dir;
  const std::vector<Batch> batches =
      SampleBatches(testing::PackedTestSamples(37, 200, 32, 900, 2, 0), 7);
  for (const std::string sink : {"write-datatrove", "write-mds", "write-olmo"}) {
    std::vector<std::map<std::string, std::string>> outputs;
    for (const int threads : {1, 8}) {
      const std::string folder = dir.File(sink + std::to_string(threads));
      std::vector<std::string> args = {folder + "/x", "--shards", "3"};
      if (sink == "write-mds") args.insert(args.end(), {"--size-limit", "8K"});
      if (sink == "write-olmo") args.insert(args.end(), {"--eos", "2"});
      RunSink(batches, sink, args, threads);
      outputs.push_back(Snapshot(folder));
    }
    EXPECT_EQ(Differences(outputs[0], outputs[1]), std::vector<std::string>{}) << sink;
    EXPECT_FALSE(outputs[0].empty()) << sink;
  }
  EXPECT_EQ(ListDir(dir.path()).size(), 6u);
}

}  // namespace
}  // namespace corpusflow
