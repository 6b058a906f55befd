// Resumable runs across MPI ranks (`--checkpoint DIR` under mpirun, docs/resume.md), label
// `mpi`: a T5 PEGASUS pipeline with a shuffle to Megatron, one rank killed (SIGKILL) in pass 1,
// resumed with another number of ranks and killed again in pass 2, then resumed as one process,
// writes the bytes of one uninterrupted process without a checkpoint, and leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"
#include "tests/testing/resume_testing.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunCorpusflowRanks;
using testing::ScopedTempDir;
using testing::WriteFile;

TEST(MpiResumeTest, ARankKilledThenTheJobResumedWithOtherRankCountsWritesTheBytesOfOneProcess) {
  ScopedTempDir dir;
  testing::WritePegasusInputs(dir);
  const auto pipeline = [&](const std::string& out) { return testing::PegasusPipeline(dir, out); };
  const std::vector<std::string> options = {"--slice-bytes", "32K",       "--progress",
                                            "never",         "--tmp-dir", dir.path().string()};
  std::vector<std::string> plain = {"run", pipeline("plain")};
  plain.insert(plain.end(), options.begin(), options.end());
  const CommandResult reference = RunCorpusflow(plain);
  ASSERT_EQ(reference.exit_code, 0) << reference.err;

  std::vector<std::string> command = {"run", pipeline("out")};
  command.insert(command.end(), options.begin(), options.end());
  command.insert(command.end(),
                 {"--checkpoint", dir.File("ck"), "--stats-json", dir.File("out.json")});
  // Three ranks; rank 1 dies in its third batch of pass 1, and mpirun ends the others.
  const CommandResult first =
      RunCorpusflowRanks(3, command,
                         {"CORPUSFLOW_TEST_KILL_AT=3", "CORPUSFLOW_TEST_KILL_WHERE=input task",
                          "CORPUSFLOW_TEST_KILL_RANK=1"});
  ASSERT_NE(first.exit_code, 0) << first.err;
  ASSERT_NE(first.err.find("corpusflow: test kill at"), std::string::npos) << first.err;
  ASSERT_NE(first.err.find("input task"), std::string::npos) << first.err;
  // Two ranks; rank 0 dies in its second batch of pass 2.
  const CommandResult second =
      RunCorpusflowRanks(2, command,
                         {"CORPUSFLOW_TEST_KILL_AT=2", "CORPUSFLOW_TEST_KILL_WHERE=output task",
                          "CORPUSFLOW_TEST_KILL_RANK=0"});
  ASSERT_NE(second.exit_code, 0) << second.err;
  ASSERT_NE(second.err.find("corpusflow: test kill at"), std::string::npos) << second.err;
  ASSERT_NE(second.err.find("output task"), std::string::npos) << second.err;
  const CommandResult status = RunCorpusflow({"status", dir.File("ck")});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("output tasks"), std::string::npos) << status.out;
  // One process ends the job.
  const CommandResult last = RunCorpusflow(command);
  ASSERT_EQ(last.exit_code, 0) << last.err;
  for (const std::string& suffix : testing::PegasusOutputSuffixes()) {
    EXPECT_EQ(ReadFile(dir.File("out" + suffix)), ReadFile(dir.File("plain" + suffix))) << suffix;
  }
  const std::string stats = ReadFile(dir.File("out.json"));
  EXPECT_NE(stats.find("\"checkpoint_tasks_resumed\": "), std::string::npos) << stats;
  EXPECT_EQ(stats.find("\"checkpoint_tasks_resumed\": 0,"), std::string::npos) << stats;
  EXPECT_FALSE(std::filesystem::exists(dir.File("ck")));
  for (const std::string& name : ListDir(dir.path())) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    EXPECT_EQ(name.find("corpusflow-"), std::string::npos) << name;  // no run folder left
  }

  // A checkpoint one process made appends its outputs in place; resumed by three ranks, rank 0
  // runs the tasks that append. Without the shuffle, every input task writes outputs.
  const auto unshuffled = [&](const std::string& out) {
    return testing::PegasusPipeline(dir, out, false);
  };
  std::vector<std::string> plain2 = {"run", unshuffled("plain2")};
  plain2.insert(plain2.end(), options.begin(), options.end());
  ASSERT_EQ(RunCorpusflow(plain2).exit_code, 0);
  std::vector<std::string> again = {"run", unshuffled("again")};
  again.insert(again.end(), options.begin(), options.end());
  again.insert(again.end(), {"--checkpoint", dir.File("ck2")});
  const CommandResult one = RunCorpusflow(
      again, "", {"CORPUSFLOW_TEST_KILL_AT=4", "CORPUSFLOW_TEST_KILL_WHERE=the commit of"});
  ASSERT_EQ(one.exit_code, 137) << one.err;
  const CommandResult three = RunCorpusflowRanks(3, again);
  ASSERT_EQ(three.exit_code, 0) << three.err;
  for (const std::string& suffix : testing::PegasusOutputSuffixes()) {
    EXPECT_EQ(ReadFile(dir.File("again" + suffix)), ReadFile(dir.File("plain2" + suffix)))
        << suffix;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.File("ck2")));
  for (const std::string& name : ListDir(dir.path())) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace corpusflow
