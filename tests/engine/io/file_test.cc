// Tests of engine/io/file: the one descriptor owner. Every read and write completes through short
// calls and EINTR (injected by FaultFileSystem), writes are cut into calls of at most
// kMaxWriteCall bytes, errors name the file and the offset, ownership follows moves, a
// borrowed descriptor is never closed, and opening a FIFO waits for its other end yet stops on a
// signal whichever thread receives it.
#include "engine/io/file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/file_system.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/expect_error.h"
#include "tests/testing/fault_file_system.h"

namespace corpusflow {
namespace {

using testing::ErrorMessage;
using testing::FaultFileSystem;
using testing::ReadFile;
using testing::ScopedTempDir;
using testing::WriteFile;

std::string Pattern(size_t n) {
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>((i * 131 + i / 251) & 0xFF);
  return data;
}

bool IsOpenDescriptor(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(FileTest, WritesAndReadsThroughShortCallsAndEintr) {
  ScopedTempDir dir;
  FaultFileSystem fs;
  fs.set_short_writes(1000);
  fs.set_eintr(true);
  const std::string data = Pattern(300000);
  {
    std::optional<File> file = fs.CreateExclusive(dir.File("a"));
    ASSERT_TRUE(file.has_value());
    file->Write(data.substr(0, 100000));
    file->PWrite(100000, data.substr(100000));
    EXPECT_EQ(file->position(), 100000u);
    EXPECT_EQ(file->Size(), data.size());
    file->Sync();
    file->Close();
  }
  // 100000 bytes by Write and 200000 by PWrite, at most 1000 per call: 300 calls that write.
  EXPECT_EQ(fs.write_calls(), 300u);
  EXPECT_EQ(ReadFile(dir.path() / "a"), data);

  File in = fs.OpenForRead(dir.File("a"));
  std::string back(data.size(), '\0');
  size_t got = 0;
  while (size_t n = in.Read(back.data() + got, 7777)) got += n;
  EXPECT_EQ(got, data.size());
  EXPECT_EQ(back, data);
  std::string tail(500, '\0');
  EXPECT_EQ(in.PRead(data.size() - 100, tail.data(), tail.size()), 100u);
  EXPECT_EQ(tail.substr(0, 100), data.substr(data.size() - 100));
}

TEST(FileTest, WritesAreCutIntoCallsOfTheMaximumSize) {
  ScopedTempDir dir;
  FaultFileSystem fs;
  File file = *fs.CreateExclusive(dir.File("a"));
  file.Write(std::string(3 * kMaxWriteCall + 1, 'x'));
  EXPECT_EQ(fs.write_calls(), 4u);
  file.set_max_write_call(0);
  file.Write(std::string(3 * kMaxWriteCall + 1, 'y'));
  EXPECT_EQ(fs.write_calls(), 5u);
}

TEST(FileTest, FailedWriteNamesTheFileAndTheOffset) {
  ScopedTempDir dir;
  for (const int err : {ENOSPC, EIO}) {
    FaultFileSystem fs;
    File file = *fs.CreateExclusive(dir.File("out" + std::to_string(err)));
    file.set_name("out.txt");
    fs.FailWritesFrom(3, err);
    const std::string message =
        ErrorMessage<IoError>([&] { file.Write(std::string(5 * kMaxWriteCall, 'x')); });
    EXPECT_EQ(message, "cannot write out.txt at offset " + std::to_string(2 * kMaxWriteCall) +
                           ": " + std::strerror(err));
    const std::string at = ErrorMessage<IoError>([&] { file.PWrite(12345, "abc"); });
    EXPECT_EQ(at, "cannot write out.txt at offset 12345: " + std::string(std::strerror(err)));
  }
}

TEST(FileTest, CopiesARangeInTheKernelOrThroughABuffer) {
  ScopedTempDir dir;
  const std::string data = Pattern(200000);
  WriteFile(dir.File("in"), data);
  for (const bool kernel : {true, false}) {
    SCOPED_TRACE(kernel ? "copy_file_range" : "buffered");
    FaultFileSystem fs;
    if (!kernel) fs.RefuseKernelCopies(EXDEV);
    fs.set_short_writes(999);
    fs.set_eintr(true);
    const File in = fs.OpenForRead(dir.File("in"));
    const std::string name = kernel ? "k" : "b";
    File out = *fs.CreateExclusive(dir.File(name));
    out.PWrite(0, "head");
    out.CopyFrom(in, 1000, 4, 150000);
    EXPECT_EQ(ReadFile(dir.File(name)), "head" + data.substr(1000, 150000));
    if (kernel) {
      EXPECT_GT(fs.copy_calls(), 150000u / 999);
    }
    EXPECT_EQ(ErrorMessage<CorruptionError>([&] { out.CopyFrom(in, 199000, 0, 2000); }),
              dir.File("in") + ": file ended at byte 200000 while being copied");
  }
}

TEST(FileTest, FailedCopyNamesBothFilesAndOffsets) {
  ScopedTempDir dir;
  WriteFile(dir.File("in"), Pattern(5000));
  for (const int err : {ENOSPC, EIO}) {
    FaultFileSystem fs;
    const File in = fs.OpenForRead(dir.File("in"));
    File out = *fs.CreateExclusive(dir.File("out" + std::to_string(err)));
    out.set_name("out.bin");
    fs.FailWritesFrom(1, err);
    EXPECT_EQ(ErrorMessage<IoError>([&] { out.CopyFrom(in, 10, 20, 100); }),
              "cannot copy " + dir.File("in") +
                  " at offset 10 to out.bin at offset 20: " + std::strerror(err));
  }
}

TEST(FileTest, OpenErrorsNameThePath) {
  ScopedTempDir dir;
  const std::string message =
      ErrorMessage<IoError>([&] { File::Open(dir.File("missing"), O_RDONLY); });
  EXPECT_EQ(message, "cannot open " + dir.File("missing") + ": No such file or directory");
  EXPECT_NE(ErrorMessage<IoError>([&] {
              FileSystem::Default().OpenForRead(dir.File("missing"));
            }).find("cannot open input " + dir.File("missing")),
            std::string::npos);
}

TEST(FileTest, OwnershipFollowsMovesAndBorrowedDescriptorsStayOpen) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "a", "abc");
  int fd = -1;
  {
    File a = File::Open(dir.File("a"), O_RDONLY);
    fd = a.fd();
    File b = std::move(a);
    EXPECT_FALSE(a.is_open());
    EXPECT_EQ(b.fd(), fd);
    File c;
    c = std::move(b);
    EXPECT_TRUE(IsOpenDescriptor(fd));
  }
  EXPECT_FALSE(IsOpenDescriptor(fd));

  const int raw = ::open(dir.File("a").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    File borrowed(raw, "borrowed", File::Ownership::kBorrowed);
    char c = 0;
    EXPECT_EQ(borrowed.Read(&c, 1), 1u);
    borrowed.Close();
    EXPECT_FALSE(borrowed.is_open());
  }
  EXPECT_TRUE(IsOpenDescriptor(raw));
  ::close(raw);
}

TEST(FileTest, EintrAfterAnInterruptStopsTheLoop) {
  ScopedTempDir dir;
  FaultFileSystem fs;
  fs.set_eintr(true);
  File file = *fs.CreateExclusive(dir.File("a"));
  InstallInterruptHandlers();
  ::raise(SIGINT);
  EXPECT_THROW(file.Write("data"), Interrupted);
  ClearInterrupt();
  file.Write("data");
  EXPECT_EQ(file.Size(), 4u);
}

// open(2) of a FIFO blocks until the other end opens, and only a signal delivered to that very
// thread cuts it short: a run that opened a FIFO on a worker thread did not stop on Ctrl-C.
// Here the signal goes to the test's thread while another one waits on the FIFO.
TEST(FileTest, OpeningAFifoStopsOnASignalToAnotherThread) {
  ScopedTempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  InstallInterruptHandlers();
  for (const int flags : {O_RDONLY, O_WRONLY}) {
    SCOPED_TRACE(flags == O_RDONLY ? "reader without a writer" : "writer without a reader");
    ClearInterrupt();
    std::future<void> open = std::async(std::launch::async, [&] { File::Open(fifo, flags); });
    EXPECT_EQ(open.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
        << "the open waits for the other end";
    ::raise(SIGINT);
    EXPECT_THROW(open.get(), Interrupted);
  }
  ClearInterrupt();
}

TEST(FileTest, OpeningAFifoWaitsForTheOtherEnd) {
  ScopedTempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::future<std::string> reader = std::async(std::launch::async, [&] {
    File in = File::Open(fifo, O_RDONLY);
    std::string got(16, '\0');
    size_t n = 0, r = 0;
    while ((r = in.Read(got.data() + n, got.size() - n)) > 0) n += r;
    got.resize(n);
    return got;
  });
  File out = File::Open(fifo, O_WRONLY);
  out.Write("through");
  out = File();
  EXPECT_EQ(reader.get(), "through");
}

TEST(FileTest, ReadCorruptionIsInjectedAtTheOffset) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "a", "0123456789");
  FaultFileSystem fs;
  fs.FlipOnRead(2, 0x01);
  fs.SwapOnRead(5);
  File file = fs.OpenForRead(dir.File("a"));
  std::string back(10, '\0');
  ASSERT_EQ(file.PRead(0, back.data(), back.size()), 10u);
  EXPECT_EQ(back, "0133465789");
  char one[4];
  ASSERT_EQ(file.Read(one, 3), 3u);
  EXPECT_EQ(std::string(one, 3), "013");
}

}  // namespace
}  // namespace corpusflow
