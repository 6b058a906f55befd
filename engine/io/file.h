// The one owner of a file descriptor in corpusflow. A File is a move-only handle that closes its
// descriptor when destroyed (unless it only borrows one, as for stdin and stdout), and does every
// read and write of the program the same way: EINTR is retried (unless SIGINT/SIGTERM arrived:
// then Interrupted is thrown), short reads and writes are continued until done, long loops check
// for an interrupt, and a failed call becomes an IoError naming the file and the byte offset.
// The system calls themselves go through an IoCalls object: the kernel by default, a
// fault-injecting one in tests (tests/testing/fault_file_system.h).
// Thread safety: PRead and PWrite may be called from many threads at once on one File (they
// carry their own offset); everything else needs one thread at a time.
#pragma once

#include <sys/types.h>
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace corpusflow {

/// Largest single write(2) or pwrite(2) into a file. Measured on this project's machines (Linux
/// 6.18, ext4): writing 2 GB into the page cache took 0.6 s in 32 KiB calls but 1-4.5 s in
/// 128 KiB-1 MiB calls, worse as memory fragments: large writes get large page-cache folios, and
/// orders above 3 (32 KiB) make the kernel compact memory (see docs/shuffle.md).
inline constexpr size_t kMaxWriteCall = 32 << 10;

/// The system calls under a File, with the kernel's contract: -1 and errno on failure, short
/// counts allowed. Implementations must be thread-safe.
class IoCalls {
 public:
  virtual ~IoCalls() = default;
  virtual ssize_t Read(int fd, char* buf, size_t n);
  virtual ssize_t PRead(int fd, char* buf, size_t n, uint64_t offset);
  virtual ssize_t Write(int fd, const char* data, size_t n);
  virtual ssize_t PWrite(int fd, const char* data, size_t n, uint64_t offset);
  /// fdatasync(2).
  virtual int Sync(int fd);
  /// copy_file_range(2) of up to `n` bytes from `in_fd` at `in_offset` to `out_fd` at
  /// `out_offset` (file offsets left alone).
  virtual ssize_t CopyRange(int in_fd, uint64_t in_offset, int out_fd, uint64_t out_offset,
                            size_t n);

  /// The kernel's calls (a process-wide object without state).
  static IoCalls& System();
};

class File {
 public:
  /// Whether the File closes its descriptor.
  enum class Ownership { kOwned, kBorrowed };

  /// A closed file.
  File() = default;
  /// Own (or borrow) `fd`; `name` names the file in errors ("<stdout>" for stdout).
  File(int fd, std::string name, Ownership ownership = Ownership::kOwned,
       IoCalls* calls = &IoCalls::System());
  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  /// open(2) `path` with `flags` (O_CLOEXEC is added) and `mode`, retrying EINTR unless
  /// SIGINT/SIGTERM/SIGHUP arrived (then Interrupted). A FIFO is opened without blocking in
  /// open(2), which a signal delivered to another thread would not cut short: the other end is
  /// waited for in steps of 50 ms with an interrupt check between them, so a run waiting for a
  /// FIFO's writer or reader stops on Ctrl-C from any thread. Throws IoError "cannot open PATH:
  /// reason" (`what` replaces "cannot open").
  static File Open(const std::string& path, int flags, mode_t mode = 0666,
                   const std::string& what = "cannot open");

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  /// Bytes moved by Read and Write so far: the offset of the next sequential call for a file
  /// opened at offset 0.
  uint64_t position() const { return position_; }
  /// Count `n` bytes read another way (PRead) in position().
  void Skip(uint64_t n) { position_ += n; }

  /// Name the file `name` in errors from now on.
  void set_name(std::string name) { name_ = std::move(name); }
  /// Limit every write call to `bytes` (default kMaxWriteCall; 0 = no limit).
  void set_max_write_call(size_t bytes) { max_write_call_ = bytes; }
  /// Use `calls` for the system calls from now on (a FileSystem that injects faults).
  void set_calls(IoCalls* calls) { calls_ = calls; }
  /// Add every byte that Write writes from now on to `state` (XXH3 streaming; null: stop); the
  /// caller owns it. A checkpointed run's appended outputs are checked this way (docs/resume.md).
  void HashWrites(XXH3_state_t* state) { hash_ = state; }

  /// Read up to `n` bytes at the current offset with one read(2) (a pipe may give fewer); 0 only
  /// at the end. Throws IoError.
  size_t Read(char* buf, size_t n);
  /// Read `n` bytes at `offset`, continuing short reads; fewer only where the file ends. Returns
  /// the bytes read. Throws IoError.
  size_t PRead(uint64_t offset, char* buf, size_t n) const;
  /// Write all of `data` at the current offset. Throws IoError (ENOSPC, EIO, ...).
  void Write(std::string_view data);
  /// Write all of `data` at `offset`. Throws IoError.
  void PWrite(uint64_t offset, std::string_view data) const;
  /// Copy `n` bytes of `from` at `from_offset` into this file at `offset`: in the kernel
  /// (copy_file_range, through this file's IoCalls) where the filesystems allow it, else through
  /// a buffer (PRead from `from`, PWrite here). EINTR is retried and short copies are continued.
  /// Throws IoError naming both files and offsets (ENOSPC, EIO, ...), or CorruptionError naming
  /// `from` when it ends before `n` bytes.
  void CopyFrom(const File& from, uint64_t from_offset, uint64_t offset, uint64_t n) const;
  /// fdatasync(2) the file. Throws IoError.
  void Sync();
  /// The file's size (fstat). Throws IoError.
  uint64_t Size() const;
  /// Close the descriptor (only release it when borrowed), reporting a failed close(2). Idempotent.
  void Close();

 private:
  /// Throw IoError "cannot `verb` NAME at offset `offset`: strerror(err)".
  [[noreturn]] void Fail(const char* verb, uint64_t offset, int err) const;
  void Reset() noexcept;

  int fd_ = -1;
  std::string name_;
  Ownership ownership_ = Ownership::kOwned;
  IoCalls* calls_ = &IoCalls::System();
  size_t max_write_call_ = kMaxWriteCall;
  uint64_t position_ = 0;
  XXH3_state_t* hash_ = nullptr;
};

}  // namespace corpusflow
