// FaultFileSystem: a FileSystem for in-process fault tests, in the spirit of LevelDB's
// fault_injection_test. It opens, creates, renames and removes files through a base FileSystem
// (the POSIX one by default) and hands out Files whose system calls it intercepts: the Nth write
// call and every later one fail with ENOSPC or EIO (a full or failing disk; a copy_file_range
// into a file counts as a write call), write calls move at most a few bytes (short writes), calls
// fail with EINTR before succeeding, kernel copies are refused (EXDEV), bytes read at a given
// offset come back flipped or swapped (corruption), and renames fail. Only files whose path
// contains the filter (default: every file) get the faults.
// Thread safety: configure it before the run; the intercepted calls may run on many threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/io/file_system.h"

namespace corpusflow::testing {

class FaultFileSystem : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem& base = FileSystem::Default());

  /// Give faults only to files whose path contains `fragment` ("" = every file).
  void set_path_filter(std::string fragment) { filter_ = std::move(fragment); }
  /// Fail the `n`th write call (1 = the first from now on) and every later one with `err`
  /// (ENOSPC, EIO, ...), counting write calls of the files that get faults.
  void FailWritesFrom(uint64_t n, int err);
  /// Let every write call move at most `bytes` (a short write, as a signal or a pipe may cause).
  void set_short_writes(size_t bytes) { short_writes_ = bytes; }
  /// Make every read and write call fail once with EINTR before it goes through.
  void set_eintr(bool on) { eintr_ = on; }
  /// Flip the bits `mask` of the byte at file offset `offset` whenever it is read.
  void FlipOnRead(uint64_t offset, unsigned char mask = 0x01);
  /// Swap the bytes at file offsets `offset` and `offset + 1` whenever both are read in one call.
  void SwapOnRead(uint64_t offset);
  /// Fail every copy_file_range call with `err` (EXDEV, EOPNOTSUPP: a copy the kernel cannot
  /// do), without counting it as a write call.
  void RefuseKernelCopies(int err) { copy_error_ = err; }
  /// Fail every rename with `err`.
  void FailRenames(int err) { rename_error_ = err; }

  /// Write calls seen so far (those that failed included), over the files that get faults.
  uint64_t write_calls() const { return write_calls_.load(); }
  /// copy_file_range calls seen so far (refused ones included), over the files that get faults.
  uint64_t copy_calls() const { return copy_calls_.load(); }
  /// Write calls failed on purpose so far.
  uint64_t failed_writes() const { return failed_writes_.load(); }
  /// Files created through CreateExclusive so far (whatever the filter).
  uint64_t files_created() const { return files_created_.load(); }

  File OpenForRead(const std::string& path, const std::string& what = "cannot open input") override;
  File OpenForWrite(const std::string& path) override;
  std::optional<File> CreateExclusive(const std::string& path, mode_t mode = 0666) override;
  void Rename(const std::string& from, const std::string& to) override;
  bool Unlink(const std::string& path) noexcept override;
  std::optional<FileStatus> Stat(const std::string& path) override;
  std::optional<FileStatus> LinkStat(const std::string& path) override;

 private:
  /// The system calls of the files that get faults.
  class Calls : public IoCalls {
   public:
    explicit Calls(FaultFileSystem& fs) : fs_(fs) {}
    ssize_t Read(int fd, char* buf, size_t n) override;
    ssize_t PRead(int fd, char* buf, size_t n, uint64_t offset) override;
    ssize_t Write(int fd, const char* data, size_t n) override;
    ssize_t PWrite(int fd, const char* data, size_t n, uint64_t offset) override;
    ssize_t CopyRange(int in_fd, uint64_t in_offset, int out_fd, uint64_t out_offset,
                      size_t n) override;

   private:
    /// Whether this call fails with EINTR (every other call when set_eintr).
    bool Eintr();
    /// Whether this write call fails; sets errno.
    bool FailWrite();
    /// Apply the read corruptions to `n` bytes read at file offset `offset`.
    void Corrupt(char* buf, size_t n, uint64_t offset) const;

    FaultFileSystem& fs_;
    std::atomic<uint64_t> calls_{0};
  };

  File Watch(File file, const std::string& path);

  FileSystem& base_;
  Calls calls_{*this};
  std::string filter_;
  uint64_t fail_from_ = 0;  // 0 = never
  int write_error_ = 0;
  size_t short_writes_ = 0;
  bool eintr_ = false;
  std::optional<uint64_t> flip_offset_;
  unsigned char flip_mask_ = 0;
  std::optional<uint64_t> swap_offset_;
  int rename_error_ = 0;
  int copy_error_ = 0;
  std::atomic<uint64_t> copy_calls_{0};
  std::atomic<uint64_t> write_calls_{0};
  std::atomic<uint64_t> failed_writes_{0};
  std::atomic<uint64_t> files_created_{0};
};

}  // namespace corpusflow::testing
