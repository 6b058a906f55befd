// engine/io/checkpoint.h: a checkpoint folder keeps its identity and its task entries exactly
// (commands with tabs and newlines, parts, figures), a reopened one checks what changed, a cut
// or foreign file is a CorruptionError naming it, Complete removes only what it made. The
// end-to-end kill tests are in tests/cli/resume_test.cc.
#include "engine/io/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/error.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

CheckpointIdentity Identity(const ScopedTempDir& dir, const std::string& command) {
  return CheckpointIdentity{command, 4096, DescribeCheckpointInputs({dir.File("in.txt")})};
}

TEST(CheckpointTest, EntriesAndPlanValuesSurviveAReopenExactly) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "some input\n");
  const std::string command = "run read a\tb | write\nx \\ y";
  const fs::path ck = dir.path() / "ck";
  {
    auto cp = Checkpoint::Open(ck, Identity(dir, command), false);
    cp->SetPlanValues({{"output_tasks", "5"}});
    const fs::path folder = cp->StartTask("output", 3);
    WriteFile(folder / "part-0", "bytes");
    TaskEntry entry{"output", 3, {{"records", "1,2,3"}}, {}, "0\tc\tx\t7\n"};
    entry.parts.push_back(
        TaskPart{0, "out\tname.txt", 1, 5, FileChecksum((folder / "part-0").string()), ""});
    entry.parts.push_back(TaskPart{1, "out.bin", 1, 1234, 98765, ".out.bin.tmp-j-appended"});
    cp->Commit(entry);
    cp->StartTask("input", 1);  // started, never committed
  }
  auto cp = Checkpoint::Open(ck, Identity(dir, command), false);
  EXPECT_EQ(cp->PlanValue("output_tasks"), "5");
  EXPECT_EQ(cp->Committed("output"), 1u);
  EXPECT_EQ(cp->Committed("input"), 0u);
  EXPECT_EQ(cp->unfinished_tasks(), 1u);
  const TaskEntry* entry = cp->Entry("output", 3);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->values.at("records"), "1,2,3");
  EXPECT_EQ(entry->figures, "0\tc\tx\t7\n");
  ASSERT_EQ(entry->parts.size(), 2u);
  EXPECT_EQ(entry->parts[0].target, "out\tname.txt");
  EXPECT_EQ(entry->parts[0].bytes, 5u);
  // An output appended to keeps its length and the checksum of the task's bytes.
  EXPECT_EQ(entry->parts[1].target, "out.bin");
  EXPECT_EQ(entry->parts[1].append_temp, ".out.bin.tmp-j-appended");
  EXPECT_EQ(entry->parts[1].bytes, 1234u);
  EXPECT_EQ(entry->parts[1].checksum, 98765u);
  EXPECT_EQ(cp->PartPath("output", 3, entry->parts[0]), ck / "tasks/output-00000003/part-0");
  const Checkpoint::Summary summary = Checkpoint::Read(ck);
  EXPECT_EQ(summary.identity.command, command);
  EXPECT_EQ(summary.entries.size(), 1u);
  EXPECT_EQ(summary.unfinished_folders, 1u);
  // Complete removes the folder and everything in it, and nothing else.
  WriteFile(dir.File("keep.txt"), "mine");
  cp->Complete();
  EXPECT_FALSE(fs::exists(ck));
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"in.txt", "keep.txt"}));
}

TEST(CheckpointTest, ADiscardedTaskIsDoneAgainAndRangesOfAFileHaveTheirOwnChecksums) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "some input\n");
  const fs::path ck = dir.path() / "ck";
  {
    auto cp = Checkpoint::Open(ck, Identity(dir, "cmd"), false);
    for (uint64_t t = 0; t < 2; ++t) {
      cp->StartTask("input", t);
      cp->Commit(TaskEntry{"input", t, {{"boot", MachineBootId()}}, {}, ""});
    }
    cp->Discard("input", 0);
    EXPECT_EQ(cp->Entry("input", 0), nullptr);
    EXPECT_FALSE(fs::exists(ck / "tasks/input-00000000"));
  }
  auto cp = Checkpoint::Open(ck, Identity(dir, "cmd"), false);
  EXPECT_EQ(cp->Committed("input"), 1u);
  EXPECT_EQ(cp->Entry("input", 0), nullptr);
  EXPECT_EQ(cp->unfinished_tasks(), 0u);
  // Linux names its boot: 36 characters of a UUID.
  EXPECT_EQ(MachineBootId().size(), 36u);
  EXPECT_EQ(cp->Entry("input", 1)->values.at("boot"), MachineBootId());

  WriteFile(dir.File("f"), "abcdefgh");
  WriteFile(dir.File("g"), "cdef");
  EXPECT_EQ(FileChecksum(dir.File("f"), 2, 4), FileChecksum(dir.File("g")));
  EXPECT_NE(FileChecksum(dir.File("f"), 3, 4), FileChecksum(dir.File("g")));
  try {
    FileChecksum(dir.File("f"), 6, 4);
    ADD_FAILURE() << "a range past the end was read";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.File("f") + " ends at byte 8"), std::string::npos)
        << e.what();
  }
}

TEST(CheckpointTest, AReopenNamesWhatChanged) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "some input\n");
  const fs::path ck = dir.path() / "ck";
  Checkpoint::Open(ck, Identity(dir, "cmd"), false);
  const auto refused = [&](const CheckpointIdentity& identity, const std::string& why) {
    try {
      Checkpoint::Open(ck, identity, false);
      ADD_FAILURE() << "accepted: " << why;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused(Identity(dir, "other"), "it is of another command");
  CheckpointIdentity slices = Identity(dir, "cmd");
  slices.slice_bytes = 8192;
  refused(slices, "it was made with --slice-bytes 4096, this run has 8192");
  // Same size, other content.
  WriteFile(dir.File("in.txt"), "some INPUT\n");
  refused(Identity(dir, "cmd"), "the input " + dir.File("in.txt") + " changed since: its content");
  WriteFile(dir.File("in.txt"), "some input, longer\n");
  refused(Identity(dir, "cmd"), "changed since: 11 bytes then, 19 now");
  // --restart starts over with the new identity.
  auto cp = Checkpoint::Open(ck, Identity(dir, "cmd"), true);
  EXPECT_EQ(cp->Committed("input"), 0u);
  EXPECT_NO_THROW(Checkpoint::Open(ck, Identity(dir, "cmd"), false));
}

TEST(CheckpointTest, ACutOrForeignFileIsNamed) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "x\n");
  const fs::path ck = dir.path() / "ck";
  {
    auto cp = Checkpoint::Open(ck, Identity(dir, "cmd"), false);
    cp->StartTask("input", 0);
    cp->Commit(TaskEntry{"input", 0, {}, {}, ""});
  }
  const std::string entry = (ck / "tasks/input-00000000.done").string();
  const std::string text = ReadFile(entry);
  WriteFile(entry, text.substr(0, text.size() - 4));  // its "end" line cut
  try {
    Checkpoint::Open(ck, Identity(dir, "cmd"), false);
    ADD_FAILURE() << "a cut entry was read";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find(entry + ": not a corpusflow-task 2 file, or cut short"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Checkpoint::Read(dir.path()), InvalidArgument);
}

}  // namespace
}  // namespace corpusflow
