// Tests of engine/io/commit_group: every member is prepared before any is committed, renames go
// in rank order (data, index, report), and a failure anywhere destroys what is left uncommitted,
// removing its temp files.
#include "engine/io/commit_group.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_output.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/fault_file_system.h"

namespace corpusflow {
namespace {

using testing::FaultFileSystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;

/// A member that records what happens to it in a shared log, and fails where told.
class LoggedMember : public DeferredCommit {
 public:
  LoggedMember(std::string name, std::vector<std::string>* log, bool fail_prepare = false,
               bool fail_commit = false)
      : name_(std::move(name)), log_(log), fail_prepare_(fail_prepare), fail_commit_(fail_commit) {}
  ~LoggedMember() override {
    if (!committed_) log_->push_back("drop " + name_);
  }
  void Prepare() override {
    log_->push_back("prepare " + name_);
    if (fail_prepare_) throw IoError("prepare failed");
  }
  void Commit() override {
    log_->push_back("commit " + name_);
    if (fail_commit_) throw IoError("commit failed");
    committed_ = true;
  }

 private:
  std::string name_;
  std::vector<std::string>* log_;
  bool fail_prepare_;
  bool fail_commit_;
  bool committed_ = false;
};

using Log = std::vector<std::string>;

TEST(CommitGroupTest, PreparesEverythingThenCommitsInRankOrder) {
  Log log;
  CommitGroup group;
  group.Add(std::make_unique<LoggedMember>("stats", &log), CommitRank::kReport);
  group.Add(std::make_unique<LoggedMember>("idx", &log), CommitRank::kIndex);
  group.Add(std::make_unique<LoggedMember>("bin", &log));
  group.Add(std::make_unique<LoggedMember>("text", &log), CommitRank::kData);
  EXPECT_EQ(group.size(), 4u);
  group.Commit();
  EXPECT_EQ(log, (Log{"prepare bin", "prepare text", "prepare idx", "prepare stats", "commit bin",
                      "commit text", "commit idx", "commit stats"}));
  EXPECT_EQ(group.size(), 0u);
}

/// A member that adds another member to its group while it prepares (as `tee` does).
class AddingMember : public LoggedMember {
 public:
  AddingMember(CommitGroup* group, std::vector<std::string>* log)
      : LoggedMember("tee", log), group_(group), log_(log) {}
  void Prepare() override {
    LoggedMember::Prepare();
    group_->Add(std::make_unique<LoggedMember>("copy", log_));
  }

 private:
  CommitGroup* group_;
  std::vector<std::string>* log_;
};

TEST(CommitGroupTest, MembersAddedWhilePreparingArePreparedAndCommitted) {
  Log log;
  CommitGroup group;
  group.Add(std::make_unique<LoggedMember>("stats", &log), CommitRank::kReport);
  group.Add(std::make_unique<AddingMember>(&group, &log));
  group.Add(std::make_unique<LoggedMember>("out", &log));
  group.Commit();
  EXPECT_EQ(log, (Log{"prepare tee", "prepare out", "prepare copy", "prepare stats", "commit tee",
                      "commit out", "commit copy", "commit stats"}));
}

TEST(CommitGroupTest, AFailedPrepareCommitsNothing) {
  Log log;
  CommitGroup group;
  group.Add(std::make_unique<LoggedMember>("a", &log));
  group.Add(std::make_unique<LoggedMember>("b", &log, /*fail_prepare=*/true));
  group.Add(std::make_unique<LoggedMember>("idx", &log), CommitRank::kIndex);
  EXPECT_THROW(group.Commit(), IoError);
  EXPECT_EQ(log, (Log{"prepare a", "prepare b", "drop b", "drop a", "drop idx"}));
  EXPECT_EQ(group.size(), 0u);
}

TEST(CommitGroupTest, AFailedCommitDropsTheRest) {
  Log log;
  CommitGroup group;
  group.Add(std::make_unique<LoggedMember>("a", &log));
  group.Add(std::make_unique<LoggedMember>("b", &log, false, /*fail_commit=*/true));
  group.Add(std::make_unique<LoggedMember>("idx", &log), CommitRank::kIndex);
  EXPECT_THROW(group.Commit(), IoError);
  EXPECT_EQ(log, (Log{"prepare a", "prepare b", "prepare idx", "commit a", "commit b", "drop b",
                      "drop idx"}));
}

TEST(CommitGroupTest, DiscardAndDestructionCommitNothing) {
  Log log;
  {
    CommitGroup group;
    group.Add(std::make_unique<LoggedMember>("a", &log));
    group.Discard();
    EXPECT_EQ(log, Log{"drop a"});
    group.Add(std::make_unique<LoggedMember>("b", &log));
  }
  EXPECT_EQ(log, (Log{"drop a", "drop b"}));
}

/// An AtomicOutput in a group, with its contents written at Prepare().
class FileMember : public DeferredCommit {
 public:
  FileMember(const std::string& path, std::string contents, const RunFiles& run)
      : out_(AtomicOutput::Create(path, run)), contents_(std::move(contents)) {}
  void Prepare() override {
    out_.Write(contents_);
    out_.Close();
  }
  void Commit() override { out_.Commit(); }

 private:
  AtomicOutput out_;
  std::string contents_;
};

TEST(CommitGroupTest, AFullDiskWhilePreparingLeavesTheOldFilesAndNoTempFile) {
  ScopedTempDir dir;
  testing::WriteFile(dir.path() / "data.bin", "old bin");
  testing::WriteFile(dir.path() / "data.idx", "old idx");
  FaultFileSystem faults;
  faults.FailWritesFrom(2, ENOSPC);
  RunFiles run;
  run.file_system = &faults;
  CommitGroup group;
  group.Add(std::make_unique<FileMember>(dir.File("data.idx"), "new idx", run), CommitRank::kIndex);
  group.Add(std::make_unique<FileMember>(dir.File("data.bin"), "new bin", run));
  EXPECT_EQ(ListDir(dir.path()).size(), 4u);
  EXPECT_THROW(group.Commit(), IoError);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"data.bin", "data.idx"}));
  EXPECT_EQ(ReadFile(dir.path() / "data.bin"), "old bin");
  EXPECT_EQ(ReadFile(dir.path() / "data.idx"), "old idx");

  group.Add(std::make_unique<FileMember>(dir.File("data.idx"), "new idx", RunFiles{}),
            CommitRank::kIndex);
  group.Add(std::make_unique<FileMember>(dir.File("data.bin"), "new bin", RunFiles{}));
  group.Commit();
  EXPECT_EQ(ReadFile(dir.path() / "data.bin"), "new bin");
  EXPECT_EQ(ReadFile(dir.path() / "data.idx"), "new idx");
  EXPECT_EQ(ListDir(dir.path()).size(), 2u);
}

/// A file written at Prepare() and listed by Renames(), as every AtomicOutput member is; it may
/// add another such member to the group while it prepares (as a `tee` does).
class ListedFileMember : public DeferredCommit {
 public:
  ListedFileMember(const std::string& path, std::string contents, const RunFiles& run,
                   CommitGroup* group = nullptr, std::string added_path = "")
      : out_(AtomicOutput::Create(path, run)),
        contents_(std::move(contents)),
        run_(run),
        group_(group),
        added_path_(std::move(added_path)) {}
  void Prepare() override {
    out_.Write(contents_);
    out_.Close();
    if (group_ != nullptr) {
      group_->Add(std::make_unique<ListedFileMember>(added_path_, "four", run_));
    }
  }
  void Commit() override { out_.Commit(); }
  std::vector<PendingRename> Renames() const override {
    return {PendingRename{out_.temp_path(), out_.target()}};
  }

 private:
  AtomicOutput out_;
  std::string contents_;
  RunFiles run_;
  CommitGroup* group_;
  std::string added_path_;
};

// The group notes each prepared file under its final name, with the size of its temp file and
// the owner its member was added with; a member added while another prepares takes that one's
// owner. The run's report lists them (docs/stats.md, outputs).
TEST(CommitGroupTest, NotesEveryPreparedFileWithItsSizeAndOwner) {
  ScopedTempDir dir;
  RunFiles run;
  Log log;
  CommitGroup group;
  group.Add(std::make_unique<LoggedMember>("report", &log), CommitRank::kReport);
  group.Add(std::make_unique<ListedFileMember>(dir.File("a.txt"), "12345", run), CommitRank::kData,
            3);
  group.Add(
      std::make_unique<ListedFileMember>(dir.File("b.idx"), "ab", run, &group, dir.File("c.txt")),
      CommitRank::kIndex, 1);
  group.Commit();
  const std::vector<WrittenFile> written = group.written();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[0].path, dir.File("a.txt"));
  EXPECT_EQ(written[0].bytes, std::optional<uint64_t>(5));
  EXPECT_EQ(written[0].owner, 3);
  EXPECT_EQ(written[1].path, dir.File("b.idx"));
  EXPECT_EQ(written[1].bytes, std::optional<uint64_t>(2));
  EXPECT_EQ(written[1].owner, 1);
  EXPECT_EQ(written[2].path, dir.File("c.txt"));
  EXPECT_EQ(written[2].bytes, std::optional<uint64_t>(4));
  EXPECT_EQ(written[2].owner, 1);
  EXPECT_EQ(ReadFile(dir.File("c.txt")), "four");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.txt", "b.idx", "c.txt"}));
}

}  // namespace
}  // namespace corpusflow
