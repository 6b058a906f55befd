// Tests of engine/io/temp_dir: a run folder is locked for its whole life and removed with its
// contents; a run creating its folder removes the folders of runs that died without cleaning up
// (SIGKILL), never a live run's folder, nor anything corpusflow did not create.
#include "engine/io/temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::ListDir;
using testing::ScopedTempDir;
using testing::WriteFile;

/// A run folder as a dead run leaves it: the lock file (unlocked) and spill files of 100 and 23
/// bytes, one in a subfolder.
void MakeDeadRunFolder(const fs::path& dir) {
  fs::create_directories(dir / "sub");
  WriteFile(dir / kRunFolderLockName, "");
  WriteFile(dir / "shuffle-spill-0", std::string(100, 'x'));
  WriteFile(dir / "sub" / "part", std::string(23, 'y'));
}

/// Whether another open file description can take `lock`'s flock now.
bool CanLock(const fs::path& lock) {
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return ok;
}

TEST(TempDirTest, RunFolderIsLockedForItsLifeAndRemovedWithItsFiles) {
  ScopedTempDir parent;
  fs::path folder;
  {
    TempDir temp(parent.path());
    EXPECT_TRUE(ListDir(parent.path()).empty()) << "created before first use";
    folder = temp.Path();
    EXPECT_EQ(folder.parent_path(), parent.path());
    EXPECT_TRUE(IsRunFolderName(folder.filename().string())) << folder;
    EXPECT_EQ(folder.filename().string().rfind("corpusflow-" + std::to_string(getpid()) + "-", 0),
              0u);
    EXPECT_EQ(temp.Path(), folder);
    WriteFile(temp.NewFilePath("spill", ".cfs"), "data");
    EXPECT_EQ(ListDir(folder), (std::vector<std::string>{"corpusflow.lock", "spill-0.cfs"}));
    EXPECT_FALSE(CanLock(folder / kRunFolderLockName)) << "the lock must be held";
  }
  EXPECT_TRUE(ListDir(parent.path()).empty());
}

TEST(TempDirTest, SweepRemovesFoldersWhoseOwnerIsGoneAndCountsTheirBytes) {
  ScopedTempDir parent;
  MakeDeadRunFolder(parent.path() / "corpusflow-4242-17");
  MakeDeadRunFolder(parent.path() / "corpusflow-1-0");
  const StaleSweep sweep = SweepStaleRunFolders(parent.path());
  EXPECT_EQ(sweep.folders, 2u);
  EXPECT_EQ(sweep.bytes, 2u * 123u);
  EXPECT_TRUE(ListDir(parent.path()).empty());
  EXPECT_EQ(SweepStaleRunFolders(parent.path()).folders, 0u);
}

TEST(TempDirTest, SweepLeavesFoldersWhoseLockIsHeld) {
  ScopedTempDir parent;
  const fs::path live = parent.path() / "corpusflow-4242-17";
  MakeDeadRunFolder(live);
  const int fd = ::open((live / kRunFolderLockName).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(SweepStaleRunFolders(parent.path()).folders, 0u);
  EXPECT_EQ(ListDir(live), (std::vector<std::string>{"corpusflow.lock", "shuffle-spill-0", "sub"}));
  ::close(fd);
  EXPECT_EQ(SweepStaleRunFolders(parent.path()).folders, 1u);
}

TEST(TempDirTest, SweepLeavesWhatCorpusflowDidNotCreate) {
  ScopedTempDir parent;
  ScopedTempDir elsewhere;
  const fs::path& p = parent.path();
  // Right name, no lock file (another program's, an older corpusflow's, or one being created).
  fs::create_directory(p / "corpusflow-1-2");
  WriteFile(p / "corpusflow-1-2" / "data", "keep");
  // Names outside the pattern, each with an unlocked lock file.
  for (const char* name : {"corpusflow-test-1", "corpusflow-1-2x", "corpusflow-12", "corpusflow--1",
                           "xcorpusflow-1-2", "corpusflow-1-2-3", "corpusflow-1-"}) {
    MakeDeadRunFolder(p / name);
  }
  // A symlink with the right name to a folder that looks like a dead run's.
  MakeDeadRunFolder(elsewhere.path() / "target");
  fs::create_directory_symlink(elsewhere.path() / "target", p / "corpusflow-3-4");
  // A regular file with the right name.
  WriteFile(p / "corpusflow-5-6", "keep");
  // The lock file is a symlink to a file, or a folder.
  fs::create_directory(p / "corpusflow-7-8");
  WriteFile(elsewhere.path() / "lock-target", "keep");
  fs::create_symlink(elsewhere.path() / "lock-target", p / "corpusflow-7-8" / kRunFolderLockName);
  fs::create_directories(p / "corpusflow-9-10" / kRunFolderLockName);

  const std::vector<std::string> before = ListDir(p);
  EXPECT_EQ(SweepStaleRunFolders(p).folders, 0u);
  EXPECT_EQ(ListDir(p), before);
  EXPECT_EQ(ListDir(p / "corpusflow-1-2"), std::vector<std::string>{"data"});
  EXPECT_EQ(ListDir(p / "corpusflow-9-10"), std::vector<std::string>{kRunFolderLockName});
  EXPECT_EQ(ListDir(elsewhere.path() / "target"),
            (std::vector<std::string>{"corpusflow.lock", "shuffle-spill-0", "sub"}));
  EXPECT_EQ(testing::ReadFile(elsewhere.path() / "lock-target"), "keep");
}

TEST(TempDirTest, SweepOfMissingParentRemovesNothing) {
  ScopedTempDir parent;
  EXPECT_EQ(SweepStaleRunFolders(parent.path() / "missing").folders, 0u);
}

TEST(TempDirTest, RunFolderNames) {
  EXPECT_TRUE(IsRunFolderName("corpusflow-1-0"));
  EXPECT_TRUE(IsRunFolderName("corpusflow-4242-999999"));
  for (const char* name :
       {"corpusflow-", "corpusflow-1", "corpusflow-1-", "corpusflow--1", "corpusflow-a-1",
        "corpusflow-1-2.tmp", "corpusflow-test-1-2", "Corpusflow-1-2", "corpusflow.lock"}) {
    EXPECT_FALSE(IsRunFolderName(name)) << name;
  }
}

// The next two use only TempDir::Path() and the file system, so they also run against the
// TempDir before run folders had locks (where the first fails: nothing was ever swept).

/// A child process that creates its run folder in `parent`, writes a spill file and waits until
/// it is killed (with SIGKILL, at the latest when this object is destroyed).
class ChildRun {
 public:
  explicit ChildRun(const fs::path& parent) {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      TempDir temp(parent);
      WriteFile(temp.NewFilePath("shuffle-spill"), std::string(1000, 'z'));
      const char byte = 1;
      if (::write(ready[1], &byte, 1) != 1) _exit(1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char byte = 0;
    started_ = pid_ > 0 && ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ~ChildRun() { Kill(); }
  ChildRun(const ChildRun&) = delete;
  ChildRun& operator=(const ChildRun&) = delete;

  /// Whether the child's folder exists.
  bool started() const { return started_; }
  pid_t pid() const { return pid_; }
  /// SIGKILL the child and reap it.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool started_ = false;
};

TEST(TempDirTest, FolderOfSigkilledRunIsRemovedByTheNextRunButALiveRunsIsNot) {
  ScopedTempDir parent;
  ChildRun dead(parent.path());
  ASSERT_TRUE(dead.started());
  dead.Kill();
  const std::vector<std::string> dead_folders = ListDir(parent.path());
  ASSERT_EQ(dead_folders.size(), 1u) << "SIGKILL leaves the folder";

  ChildRun live(parent.path());
  ASSERT_TRUE(live.started());
  std::vector<std::string> folders = ListDir(parent.path());
  std::erase(folders, dead_folders[0]);
  ASSERT_EQ(folders.size(), 1u) << "the live run's own folder";
  const std::string live_folder = folders[0];
  EXPECT_EQ(live_folder.rfind("corpusflow-" + std::to_string(live.pid()) + "-", 0), 0u);

  TempDir next(parent.path());
  const fs::path mine = next.Path();
  std::vector<std::string> expected{live_folder, mine.filename().string()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(parent.path()), expected) << "the dead run's folder must go, no other";
  EXPECT_EQ(ListDir(parent.path() / live_folder).size(), 2u) << "lock and spill file";
}

TEST(TempDirTest, NextRunReportsWhatItSwept) {
  ScopedTempDir parent;
  MakeDeadRunFolder(parent.path() / "corpusflow-4242-17");
  TempDir temp(parent.path());
  EXPECT_EQ(temp.swept().folders, 0u);
  ::testing::internal::CaptureStderr();
  temp.Path();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(temp.swept().folders, 1u);
  EXPECT_EQ(temp.swept().bytes, 123u);
  EXPECT_EQ(err, "corpusflow: removed 1 stale temp folder of killed runs from " +
                     parent.path().string() + " (123 B)\n");
}

}  // namespace
}  // namespace corpusflow
