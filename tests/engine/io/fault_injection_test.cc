// In-process fault tests of every writer on the engine's file layer (LevelDB's
// fault_injection_test, through the FileSystem seam): `write` (plain, compressed, sharded), `tee`,
// `vocab` and its spill files, the shuffle's spill files, the `--stats-json` document, spill files
// and the disk figures cache. A full disk (ENOSPC) or a failing one (EIO) on the Nth write call
// fails the run with an error naming the file, and leaves no output and no temp file behind; an
// existing output is left as it was. Corrupted reads are reported, never passed on.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/io/disk_benchmark.h"
#include "engine/io/disk_figures.h"
#include "engine/io/disk_report.h"
#include "engine/io/spill_file.h"
#include "engine/registry.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/fault_file_system.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::Chain;
using testing::ErrorMessage;
using testing::FaultFileSystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::TestRunOptions;
using testing::VectorSource;
using testing::WriteFile;
using Strings = std::vector<std::string>;

std::vector<std::string> MakeRecords(size_t n) {
  std::vector<std::string> records;
  for (size_t i = 0; i < n; ++i) {
    records.push_back("record " + std::to_string(i) + " 我们的数据 " + std::string(i % 97, 'x'));
  }
  return records;
}

std::unique_ptr<Operator> Create(const std::string& name, const Strings& args) {
  return OperatorRegistry::Global().Create(name, args);
}

/// Run `records | STAGES...` with `fs` and the temp folder `tmp_dir`; rethrows the run's error.
void RunStages(const std::vector<std::string>& records,
               std::vector<std::pair<std::string, Strings>> stages, FileSystem* fs,
               const fs::path& tmp_dir, uint64_t memory = 64 << 20) {
  std::vector<std::unique_ptr<Operator>> chain;
  chain.push_back(std::make_unique<VectorSource>(records, 50));
  for (auto& [name, args] : stages) chain.push_back(Create(name, args));
  RunOptions options = TestRunOptions(2, memory);
  options.file_system = fs;
  options.tmp_dir = tmp_dir;
  testing::RunChain(std::move(chain), options);
}

struct Fault {
  uint64_t nth_write;
  int err;
};

const Fault kFaults[] = {{1, ENOSPC}, {2, EIO}, {7, ENOSPC}};

TEST(FaultInjectionTest, WriteLeavesNothingAndNamesTheFile) {
  const std::vector<std::string> records = MakeRecords(3000);
  for (const std::string name : {"out.txt", "out.txt.zst", "out.txt.gz", "out.jsonl"}) {
    for (const Fault& fault : kFaults) {
      SCOPED_TRACE(name + " write " + std::to_string(fault.nth_write));
      ScopedTempDir dir;
      WriteFile(dir.path() / name, "old\n");
      fs::create_directory(dir.path() / "tmp");
      FaultFileSystem faults;
      faults.set_short_writes(512);
      faults.FailWritesFrom(fault.nth_write, fault.err);
      const std::string message = ErrorMessage<IoError>([&] {
        RunStages(records, {{"write", {dir.File(name)}}}, &faults, dir.path() / "tmp");
      });
      EXPECT_NE(message.find("cannot write " + dir.File(name) + " at offset "), std::string::npos)
          << message;
      EXPECT_NE(message.find(std::strerror(fault.err)), std::string::npos) << message;
      EXPECT_GE(faults.failed_writes(), 1u);
      EXPECT_EQ(ListDir(dir.path()), (Strings{name, "tmp"}));
      EXPECT_EQ(ReadFile(dir.path() / name), "old\n");
      EXPECT_TRUE(ListDir(dir.path() / "tmp").empty());
    }
  }
}

TEST(FaultInjectionTest, ShardedWriteLeavesNoShard) {
  const std::vector<std::string> records = MakeRecords(3000);
  for (const Strings& sharding : {Strings{"--shards", "3"}, Strings{"--shard-size", "20K"}}) {
    for (const Fault& fault : kFaults) {
      SCOPED_TRACE(sharding[0] + " write " + std::to_string(fault.nth_write));
      ScopedTempDir dir;
      FaultFileSystem faults;
      faults.FailWritesFrom(fault.nth_write, fault.err);
      Strings args = {dir.File("out.txt")};
      args.insert(args.end(), sharding.begin(), sharding.end());
      const std::string message = ErrorMessage<IoError>([&] {
        RunStages(records, {{"write", args}}, &faults, dir.path());
      });
      EXPECT_NE(message.find("cannot write " + dir.File("out-0000")), std::string::npos) << message;
      EXPECT_TRUE(ListDir(dir.path()).empty()) << ListDir(dir.path()).size();
    }
  }
}

TEST(FaultInjectionTest, ShortWritesAndInterruptedCallsChangeNoByte) {
  const std::vector<std::string> records = MakeRecords(2000);
  ScopedTempDir dir;
  RunStages(records, {{"write", {dir.File("plain.txt")}}}, nullptr, dir.path());
  FaultFileSystem faults;
  faults.set_short_writes(333);
  faults.set_eintr(true);
  RunStages(records, {{"write", {dir.File("faulty.txt")}}}, &faults, dir.path());
  EXPECT_GT(faults.write_calls(), 100u);
  EXPECT_EQ(ReadFile(dir.path() / "faulty.txt"), ReadFile(dir.path() / "plain.txt"));
}

TEST(FaultInjectionTest, TeeLeavesNeitherCopyNorOutput) {
  const std::vector<std::string> records = MakeRecords(3000);
  for (const std::string failing : {"copy.txt", "out.txt"}) {
    for (const Fault& fault : kFaults) {
      SCOPED_TRACE(failing + " write " + std::to_string(fault.nth_write));
      ScopedTempDir dir;
      FaultFileSystem faults;
      faults.set_path_filter(failing);
      faults.FailWritesFrom(fault.nth_write, fault.err);
      const std::string message = ErrorMessage<IoError>([&] {
        RunStages(records,
                  {{"tee", {dir.File("copy.txt")}},
                   {"shuffle", {"--seed", "1"}},
                   {"write", {dir.File("out.txt")}}},
                  &faults, dir.path());
      });
      EXPECT_NE(message.find("cannot write " + dir.File(failing)), std::string::npos) << message;
      EXPECT_TRUE(ListDir(dir.path()).empty()) << ListDir(dir.path())[0];
    }
  }
}

TEST(FaultInjectionTest, VocabAndItsSpillFilesLeaveNothing) {
  // Many distinct words, so that counting spills within a 2 MiB budget.
  std::vector<std::string> records;
  for (int i = 0; i < 20000; ++i) {
    const std::string n = std::to_string(i);
    records.push_back("a" + n + "b c" + n + "d e" + n + "f 数据");
  }
  // The vocabulary file itself, and (with a budget small enough to spill) the spill file.
  for (const std::string failing : {"vocab.txt", "vocab-counts"}) {
    for (const Fault& fault : kFaults) {
      SCOPED_TRACE(failing + " write " + std::to_string(fault.nth_write));
      ScopedTempDir dir;
      fs::create_directory(dir.path() / "tmp");
      FaultFileSystem faults;
      faults.set_path_filter(failing);
      faults.set_short_writes(64);  // the vocabulary alone would be one write call
      faults.FailWritesFrom(fault.nth_write, fault.err);
      const std::string message = ErrorMessage<IoError>([&] {
        RunStages(records, {{"vocab", {"-o", dir.File("vocab.txt"), "--size", "200"}}}, &faults,
                  dir.path() / "tmp", 2 << 20);
      });
      EXPECT_NE(message.find(failing == "vocab.txt"
                                 ? "cannot write " + dir.File("vocab.txt")
                                 : "cannot write spill file " + (dir.path() / "tmp").string()),
                std::string::npos)
          << message;
      EXPECT_GE(faults.failed_writes(), 1u);
      EXPECT_EQ(ListDir(dir.path()), Strings{"tmp"});
      EXPECT_TRUE(ListDir(dir.path() / "tmp").empty());
    }
  }
}

TEST(FaultInjectionTest, ShuffleSpillFilesLeaveNothing) {
  // About 10 MB of records under a 4 MiB budget: pass 1 spills.
  const std::vector<std::string> records = MakeRecords(150000);
  for (const Fault& fault : kFaults) {
    SCOPED_TRACE("shuffle-spill write " + std::to_string(fault.nth_write));
    ScopedTempDir dir;
    fs::create_directory(dir.path() / "tmp");
    FaultFileSystem faults;
    faults.set_path_filter("shuffle-spill");
    faults.FailWritesFrom(fault.nth_write, fault.err);
    const std::string message = ErrorMessage<IoError>([&] {
      RunStages(records,
                {{"shuffle", {"--seed", "1", "--spill-compression", "none"}},
                 {"write", {dir.File("out.txt")}}},
                &faults, dir.path() / "tmp", 4 << 20);
    });
    EXPECT_NE(message.find("cannot write spill file " + (dir.path() / "tmp").string()),
              std::string::npos)
        << message;
    EXPECT_GE(faults.failed_writes(), 1u);
    EXPECT_EQ(ListDir(dir.path()), Strings{"tmp"});
    EXPECT_TRUE(ListDir(dir.path() / "tmp").empty());
  }
}

TEST(FaultInjectionTest, StatsJsonFailureCommitsNoOutput) {
  ScopedTempDir dir;
  for (const Fault& fault : {Fault{1, ENOSPC}, Fault{1, EIO}}) {
    FaultFileSystem faults;
    faults.set_path_filter("stats.json");
    faults.FailWritesFrom(fault.nth_write, fault.err);
    RunOptions options = TestRunOptions(2, 64 << 20);
    options.file_system = &faults;
    options.tmp_dir = dir.path();
    options.stats_json = dir.File("stats.json");
    const Plan plan =
        PlanStages({{"gen", {"--bytes", "100K"}}, {"write", {dir.File("out.txt")}}}, options);
    const std::string message = ErrorMessage<IoError>([&] { ExecutePlan(plan, options); });
    EXPECT_EQ(message, "cannot write " + dir.File("stats.json") +
                           " at offset 0: " + std::strerror(fault.err));
    EXPECT_TRUE(ListDir(dir.path()).empty());
  }
  // Without faults the same run writes both.
  RunOptions options = TestRunOptions(2, 64 << 20);
  options.stats_json = dir.File("stats.json");
  const Plan plan =
      PlanStages({{"gen", {"--bytes", "100K"}}, {"write", {dir.File("out.txt")}}}, options);
  EXPECT_EQ(ExecutePlan(plan, options), 0);
  EXPECT_EQ(ListDir(dir.path()), (Strings{"out.txt", "stats.json"}));
}

TEST(FaultInjectionTest, SpillFileErrorsNameTheFileAndTheFileGoes) {
  ScopedTempDir dir;
  const std::string path = dir.File("run.spill");
  std::string raw(100000, 'x');
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 7 % 251);
  {
    FaultFileSystem faults;
    faults.FailWritesFrom(3, ENOSPC);
    SpillFile file(path, faults);
    SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone});
    const SpillBlock block = encoder.Encode(raw);
    const std::string message = ErrorMessage<IoError>([&] { file.Append(block, 0, 0); });
    EXPECT_EQ(message, "cannot write spill file " + path + " at offset " +
                           std::to_string(kSpillBlockHeaderBytes + kMaxWriteCall) +
                           ": No space left on device");
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
  // A flipped byte on the way back is a corruption naming the file and the block.
  FaultFileSystem faults;
  faults.FlipOnRead(kSpillBlockHeaderBytes + 500, 0x40);
  SpillFile file(path, faults);
  SpillBlockEncoder encoder(SpillOptions{SpillCompression::kNone});
  const SpillBlockHandle handle = file.Append(encoder.Encode(raw), 0, 0);
  SpillBlockDecoder decoder;
  std::string back(raw.size(), '\0');
  const std::string message =
      ErrorMessage<CorruptionError>([&] { file.Read(handle, back.data(), decoder); });
  EXPECT_EQ(message, "spill file " + path +
                         ": block at offset 0: checksum mismatch (the data on disk is corrupt)");
}

TEST(FaultInjectionTest, DiskFiguresCacheKeepsTheOldFileOnFailure) {
  ScopedTempDir dir;
  DiskBenchmarkResult result;
  result.device.key = "254:0";
  const fs::path file = DiskFiguresCacheFile(dir.path(), "254:0");
  WriteFile(file, "old figures");
  for (const Fault& fault : kFaults) {
    FaultFileSystem faults;
    faults.set_short_writes(64);
    faults.FailWritesFrom(fault.nth_write, fault.err);
    const std::string message =
        ErrorMessage<IoError>([&] { SaveDiskFigures(result, dir.path(), faults); });
    EXPECT_NE(message.find("cannot write " + file.string() + " at offset "), std::string::npos)
        << message;
    EXPECT_EQ(ListDir(dir.path()), Strings{file.filename()});
    EXPECT_EQ(ReadFile(file), "old figures");
  }
  EXPECT_EQ(SaveDiskFigures(result, dir.path()), file);
  EXPECT_EQ(ReadFile(file), DiskBenchmarkToJson(result));
  EXPECT_EQ(ListDir(dir.path()), Strings{file.filename()});
}

TEST(FaultInjectionTest, CorruptCompressedInputIsReportedWithTheFile) {
  ScopedTempDir dir;
  const std::vector<std::string> records = MakeRecords(2000);
  RunStages(records, {{"write", {dir.File("in.txt.zst")}}}, nullptr, dir.path());
  for (const bool swap : {false, true}) {
    FaultFileSystem faults;
    if (swap) {
      const std::string bytes = ReadFile(dir.path() / "in.txt.zst");
      size_t at = bytes.size() / 2;
      while (bytes[at] == bytes[at + 1]) ++at;
      faults.SwapOnRead(at);
    } else {
      faults.FlipOnRead(fs::file_size(dir.File("in.txt.zst")) / 3, 0x10);
    }
    RunOptions options = TestRunOptions(2, 64 << 20);
    options.file_system = &faults;
    const std::string message = ErrorMessage<CorruptionError>([&] {
      testing::RunChain(
          Chain(Create("read", {dir.File("in.txt.zst")}), Create("write", {dir.File("out.txt")})),
          options);
    });
    EXPECT_NE(message.find("corrupt zstd data in " + dir.File("in.txt.zst")), std::string::npos)
        << message;
    EXPECT_EQ(ListDir(dir.path()), Strings{"in.txt.zst"});
  }
}

}  // namespace
}  // namespace corpusflow
