// Tests of engine/io/atomic_output: a unique hidden temp file beside the target, renamed by
// Commit() and removed otherwise; never an existing file or a planted symlink, never an input of
// the run; devices, FIFOs and links to them written in place; symlinks to regular files kept.
#include "engine/io/atomic_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "engine/io/paths.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/fault_file_system.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::ErrorMessage;
using testing::FaultFileSystem;
using testing::ListDir;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Whether `name` is a temp name of `target`: `.TARGET.tmp-` and six letters or digits.
bool IsTempNameOf(const std::string& name, const std::string& target) {
  const std::string prefix = "." + target + ".tmp-";
  if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

RunFiles WithInputs(const std::vector<std::string>& paths) {
  RunFiles run;
  run.inputs =
      std::make_shared<const std::vector<FileId>>(IdentifyFiles(FileSystem::Default(), paths));
  return run;
}

TEST(AtomicOutputTest, WritesAUniqueHiddenTempFileAndRenamesItOnCommit) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "out.txt", "old contents\n");
  AtomicOutput out = AtomicOutput::Create(dir.File("out.txt"));
  EXPECT_FALSE(out.in_place());
  EXPECT_EQ(fs::path(out.temp_path()).parent_path(), dir.path());
  EXPECT_TRUE(IsTempNameOf(fs::path(out.temp_path()).filename(), "out.txt")) << out.temp_path();
  out.Write("new\n");
  EXPECT_EQ(ReadFile(dir.path() / "out.txt"), "old contents\n");
  out.Commit();
  EXPECT_EQ(ReadFile(dir.path() / "out.txt"), "new\n");
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicOutputTest, WithoutCommitTheTempFileGoesAndTheTargetStays) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "out.txt", "old\n");
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("out.txt"));
    out.Write("partial");
    out.Close();
    EXPECT_EQ(ListDir(dir.path()).size(), 2u);
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(ReadFile(dir.path() / "out.txt"), "old\n");
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("new.txt"));
    AtomicOutput moved = std::move(out);
    moved.Write("x");
    moved.Abandon();
    EXPECT_THROW(moved.Write("y"), IoError);
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicOutputTest, NeverTouchesAFileOrSymlinkNamedLikeTheOldTempFile) {
  // The old layer opened NAME.tmp with O_TRUNC: an input notes.tmp written to `notes` was
  // emptied, and a symlink out.txt.tmp -> victim truncated the victim.
  ScopedTempDir dir;
  WriteFile(dir.path() / "notes.tmp", "a\nb\n");
  WriteFile(dir.path() / "victim", "precious\n");
  fs::create_symlink(dir.path() / "victim", dir.path() / "out.txt.tmp");
  {
    AtomicOutput notes = AtomicOutput::Create(dir.File("notes"));
    notes.Write(ReadFile(dir.path() / "notes.tmp"));
    notes.Commit();
    AtomicOutput out = AtomicOutput::Create(dir.File("out.txt"));
    out.Write("never committed");
  }
  EXPECT_EQ(ReadFile(dir.path() / "notes.tmp"), "a\nb\n");
  EXPECT_EQ(ReadFile(dir.path() / "notes"), "a\nb\n");
  EXPECT_EQ(ReadFile(dir.path() / "victim"), "precious\n");
  EXPECT_TRUE(fs::is_symlink(dir.path() / "out.txt.tmp"));
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"notes", "notes.tmp", "out.txt.tmp", "victim"}));
}

TEST(AtomicOutputTest, ConcurrentWritersOfOneOutputNeverMixTheirBytes) {
  ScopedTempDir dir;
  const std::string a(3 << 20, 'a');
  const std::string b(1 << 20, 'b');
  AtomicOutput first = AtomicOutput::Create(dir.File("out"));
  first.Write(a.substr(0, 1 << 20));
  AtomicOutput second = AtomicOutput::Create(dir.File("out"));
  EXPECT_NE(first.temp_path(), second.temp_path());
  second.Write(b);
  second.Commit();
  first.Write(a.substr(1 << 20));
  EXPECT_EQ(ReadFile(dir.path() / "out"), b);
  first.Commit();
  EXPECT_EQ(ReadFile(dir.path() / "out"), a);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out"});
}

TEST(AtomicOutputTest, ModeIsTheOneAPlainCreateGives) {
  ScopedTempDir dir;
  const mode_t old_mask = ::umask(027);
  AtomicOutput out = AtomicOutput::Create(dir.File("out"));
  out.Commit();
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("out").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(AtomicOutputTest, RefusesAnInputOfTheRun) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "in.txt", "data\n");
  fs::create_hard_link(dir.path() / "in.txt", dir.path() / "alias.txt");
  const RunFiles run = WithInputs({dir.File("in.txt")});
  for (const char* name : {"in.txt", "alias.txt"}) {
    const std::string message =
        ErrorMessage<InvalidArgument>([&] { AtomicOutput::Create(dir.File(name), run); });
    EXPECT_EQ(message, "cannot write " + dir.File(name) + ": it is an input of this run");
  }
  EXPECT_NO_THROW(AtomicOutput::Create(dir.File("other.txt"), run).Commit());
  EXPECT_EQ(ReadFile(dir.path() / "in.txt"), "data\n");
}

TEST(AtomicOutputTest, ADeviceNodeIsWrittenInPlaceNeverReplaced) {
  // A private copy of /dev/null's node: the real /dev entries are never touched.
  ScopedTempDir dir;
  const std::string node = dir.File("null");
  if (::mknod(node.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs root: " << std::strerror(errno);
  }
  AtomicOutput out = AtomicOutput::Create(node);
  EXPECT_TRUE(out.in_place());
  out.Write("swallowed\n");
  out.Commit();
  EXPECT_TRUE(fs::is_character_file(node));
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"null"});
}

TEST(AtomicOutputTest, AFifoIsWrittenInPlace) {
  ScopedTempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = ReadFile(fifo); });
  {
    AtomicOutput out = AtomicOutput::Create(fifo);
    EXPECT_TRUE(out.in_place());
    out.Write("through the pipe\n");
    out.Commit();
  }
  reader.join();
  EXPECT_EQ(received, "through the pipe\n");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"fifo"});
}

TEST(AtomicOutputTest, ALinkToADescriptorIsWrittenInPlaceAndKept) {
  // The shape of /dev/stdout: a symlink to /proc/self/fd/N, here a private one to a pipe.
  ScopedTempDir dir;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const std::string link = dir.File("stdout");
  fs::create_symlink("/proc/self/fd/" + std::to_string(pipe_fds[1]), link);
  {
    AtomicOutput out = AtomicOutput::Create(link);
    EXPECT_TRUE(out.in_place());
    out.Write("hello");
    out.Commit();
  }
  ::close(pipe_fds[1]);
  char buf[16];
  const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
  ::close(pipe_fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "hello");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"stdout"});
}

TEST(AtomicOutputTest, ASymlinkToARegularFileIsFollowedAndKept) {
  ScopedTempDir dir;
  fs::create_directory(dir.path() / "data");
  WriteFile(dir.path() / "data" / "real.txt", "old\n");
  fs::create_symlink("data/real.txt", dir.path() / "link.txt");
  AtomicOutput out = AtomicOutput::Create(dir.File("link.txt"));
  EXPECT_EQ(fs::path(out.temp_path()).parent_path(), fs::canonical(dir.path() / "data"));
  out.Write("new\n");
  out.Commit();
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link.txt"));
  EXPECT_EQ(ReadFile(dir.path() / "data" / "real.txt"), "new\n");
  EXPECT_EQ(ListDir(dir.path() / "data"), std::vector<std::string>{"real.txt"});
}

TEST(AtomicOutputTest, StdoutIsWrittenInPlace) {
  AtomicOutput out = AtomicOutput::Create("-");
  EXPECT_TRUE(out.in_place());
  EXPECT_EQ(out.file().name(), "<stdout>");
  out.Commit();
  EXPECT_TRUE(::fcntl(STDOUT_FILENO, F_GETFD) != -1);
}

TEST(AtomicOutputTest, UnusableTargetsAreIoErrors) {
  ScopedTempDir dir;
  EXPECT_NE(ErrorMessage<IoError>([&] {
              AtomicOutput::Create(dir.path().string());
            }).find("it is a directory"),
            std::string::npos);
  WriteFile(dir.path() / "file", "x");
  const std::string under_file = dir.File("file/sub/out.txt");
  const std::string message = ErrorMessage<IoError>([&] { AtomicOutput::Create(under_file); });
  EXPECT_NE(message.find(dir.File("file/sub/")), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
  EXPECT_THROW(AtomicOutput::Create(""), InvalidArgument);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"file"});
}

// Missing folders are created before the temp file; those noted in RunFiles::folders go again
// when the run removes them, once the output is abandoned.
TEST(AtomicOutputTest, MissingFoldersAreCreatedAndNotedForTheRun) {
  ScopedTempDir dir;
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("a/b/out.txt"));
    out.Write("x\n");
    out.Commit();
  }
  EXPECT_EQ(ReadFile(dir.path() / "a/b/out.txt"), "x\n");
  RunFiles run;
  run.folders = std::make_shared<OutputFolders>();
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("a/c/d/out.txt"), run);
    out.Write("x\n");
    EXPECT_EQ(ListDir(dir.path() / "a/c"), std::vector<std::string>{"d"});
  }
  run.folders->RemoveCreated();
  EXPECT_EQ(ListDir(dir.path() / "a"), std::vector<std::string>{"b"});
}

TEST(AtomicOutputTest, FullDiskAndFailedRenameLeaveNothing) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "out.txt", "old\n");
  FaultFileSystem faults;
  faults.FailWritesFrom(2, ENOSPC);
  RunFiles run;
  run.file_system = &faults;
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("out.txt"), run);
    out.Write("first call\n");
    const std::string message = ErrorMessage<IoError>([&] { out.Write("second call\n"); });
    EXPECT_EQ(message,
              "cannot write " + dir.File("out.txt") + " at offset 11: No space left on device");
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.txt"});
  FaultFileSystem no_rename;
  no_rename.FailRenames(EIO);
  run.file_system = &no_rename;
  {
    AtomicOutput out = AtomicOutput::Create(dir.File("out.txt"), run);
    out.Write("new\n");
    EXPECT_THROW(out.Commit(), IoError);
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(ReadFile(dir.path() / "out.txt"), "old\n");
}

}  // namespace
}  // namespace corpusflow
