// engine/io/commit_journal.h: a journaled commit that a killed run left half done is finished
// from its journal, a target replaced since is kept, and a malformed journal changes nothing.
// The end-to-end SIGKILL test is in tests/cli/commit_kill_test.cc.
#include "engine/io/commit_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

TEST(CommitJournalTest, RecoveryDoesTheRenamesNotDoneYet) {
  ScopedTempDir out, run;
  WriteFile(out.File("a.txt"), "old a\n");
  WriteFile(out.File("b.txt"), "old b\n");
  WriteFile(out.File(".a.txt.tmp-1"), "new a\n");
  WriteFile(out.File(".b.txt.tmp-2"), "new b\n");
  WriteFile(out.File(".c.txt.tmp-3"), "new c\n");
  WriteCommitJournal(run.path(), {{out.File(".a.txt.tmp-1"), out.File("a.txt")},
                                  {out.File(".b.txt.tmp-2"), out.File("b.txt")},
                                  {out.File(".c.txt.tmp-3"), out.File("c.txt")}});
  ASSERT_EQ(ListDir(run.path()), (std::vector<std::string>{kCommitJournalName}));
  // The run died after its first rename.
  fs::rename(out.File(".a.txt.tmp-1"), out.File("a.txt"));
  const JournalRecovery recovery = RecoverCommitJournal(run.path());
  EXPECT_TRUE(recovery.found);
  EXPECT_EQ(recovery.completed, (std::vector<std::string>{out.File("b.txt"), out.File("c.txt")}));
  EXPECT_TRUE(recovery.superseded.empty());
  EXPECT_EQ(ReadFile(out.File("a.txt")), "new a\n");
  EXPECT_EQ(ReadFile(out.File("b.txt")), "new b\n");
  EXPECT_EQ(ReadFile(out.File("c.txt")), "new c\n");
  EXPECT_EQ(ListDir(out.path()), (std::vector<std::string>{"a.txt", "b.txt", "c.txt"}));
  EXPECT_TRUE(ListDir(run.path()).empty());
}

TEST(CommitJournalTest, ATargetReplacedSinceIsKeptAndTheStaleTempRemoved) {
  ScopedTempDir out, run;
  WriteFile(out.File("a.txt"), "old a\n");
  WriteFile(out.File(".a.txt.tmp-1"), "stale a\n");
  WriteFile(out.File(".b.txt.tmp-2"), "stale b\n");
  WriteCommitJournal(run.path(), {{out.File(".a.txt.tmp-1"), out.File("a.txt")},
                                  {out.File(".b.txt.tmp-2"), out.File("b.txt")}});
  // Another program replaces a.txt (a new inode) and creates b.txt after the journal.
  WriteFile(out.File("fresh"), "fresh a\n");
  fs::rename(out.File("fresh"), out.File("a.txt"));
  WriteFile(out.File("b.txt"), "fresh b\n");
  const JournalRecovery recovery = RecoverCommitJournal(run.path());
  EXPECT_TRUE(recovery.completed.empty());
  EXPECT_EQ(recovery.superseded, (std::vector<std::string>{out.File("a.txt"), out.File("b.txt")}));
  EXPECT_EQ(ReadFile(out.File("a.txt")), "fresh a\n");
  EXPECT_EQ(ReadFile(out.File("b.txt")), "fresh b\n");
  EXPECT_EQ(ListDir(out.path()), (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST(CommitJournalTest, AMalformedOrMissingJournalChangesNothing) {
  ScopedTempDir out, run;
  EXPECT_FALSE(RecoverCommitJournal(run.path()).found);
  WriteFile(out.File(".a.txt.tmp-1"), "new a\n");
  // Cut short: no "end".
  WriteFile(run.File(kCommitJournalName), std::string("corpusflow-commit-journal 1\0-\0", 30) +
                                              out.File(".a.txt.tmp-1") + std::string(1, '\0') +
                                              out.File("a.txt") + std::string(1, '\0'));
  const JournalRecovery recovery = RecoverCommitJournal(run.path());
  EXPECT_TRUE(recovery.found);
  EXPECT_TRUE(recovery.completed.empty());
  EXPECT_EQ(ListDir(out.path()), (std::vector<std::string>{".a.txt.tmp-1"}));
}

}  // namespace
}  // namespace corpusflow
