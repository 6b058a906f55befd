#include "tests/testing/fault_file_system.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "engine/error.h"

namespace corpusflow::testing {

FaultFileSystem::FaultFileSystem(FileSystem& base) : base_(base) {}

void FaultFileSystem::FailWritesFrom(uint64_t n, int err) {
  fail_from_ = write_calls_.load() + n;
  write_error_ = err;
}

void FaultFileSystem::FlipOnRead(uint64_t offset, unsigned char mask) {
  flip_offset_ = offset;
  flip_mask_ = mask;
}

void FaultFileSystem::SwapOnRead(uint64_t offset) { swap_offset_ = offset; }

File FaultFileSystem::Watch(File file, const std::string& path) {
  if (filter_.empty() || path.find(filter_) != std::string::npos) file.set_calls(&calls_);
  return file;
}

File FaultFileSystem::OpenForRead(const std::string& path, const std::string& what) {
  return Watch(base_.OpenForRead(path, what), path);
}

File FaultFileSystem::OpenForWrite(const std::string& path) {
  return Watch(base_.OpenForWrite(path), path);
}

std::optional<File> FaultFileSystem::CreateExclusive(const std::string& path, mode_t mode) {
  std::optional<File> file = base_.CreateExclusive(path, mode);
  if (!file) return file;
  ++files_created_;
  return Watch(std::move(*file), path);
}

void FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  if (rename_error_ != 0) ThrowIoError("cannot rename " + from + " to", to, rename_error_);
  base_.Rename(from, to);
}

bool FaultFileSystem::Unlink(const std::string& path) noexcept { return base_.Unlink(path); }

std::optional<FileStatus> FaultFileSystem::Stat(const std::string& path) {
  return base_.Stat(path);
}

std::optional<FileStatus> FaultFileSystem::LinkStat(const std::string& path) {
  return base_.LinkStat(path);
}

bool FaultFileSystem::Calls::Eintr() {
  if (!fs_.eintr_) return false;
  if (calls_.fetch_add(1) % 2 != 0) return false;
  errno = EINTR;
  return true;
}

bool FaultFileSystem::Calls::FailWrite() {
  const uint64_t call = ++fs_.write_calls_;
  if (fs_.fail_from_ == 0 || call < fs_.fail_from_) return false;
  ++fs_.failed_writes_;
  errno = fs_.write_error_;
  return true;
}

void FaultFileSystem::Calls::Corrupt(char* buf, size_t n, uint64_t offset) const {
  const auto inside = [&](uint64_t at) { return at >= offset && at < offset + n; };
  if (fs_.flip_offset_ && inside(*fs_.flip_offset_)) {
    buf[*fs_.flip_offset_ - offset] ^= static_cast<char>(fs_.flip_mask_);
  }
  if (fs_.swap_offset_ && inside(*fs_.swap_offset_) && inside(*fs_.swap_offset_ + 1)) {
    std::swap(buf[*fs_.swap_offset_ - offset], buf[*fs_.swap_offset_ + 1 - offset]);
  }
}

ssize_t FaultFileSystem::Calls::Read(int fd, char* buf, size_t n) {
  if (Eintr()) return -1;
  const off_t at = ::lseek(fd, 0, SEEK_CUR);
  const ssize_t r = IoCalls::Read(fd, buf, n);
  if (r > 0 && at >= 0) Corrupt(buf, static_cast<size_t>(r), static_cast<uint64_t>(at));
  return r;
}

ssize_t FaultFileSystem::Calls::PRead(int fd, char* buf, size_t n, uint64_t offset) {
  if (Eintr()) return -1;
  const ssize_t r = IoCalls::PRead(fd, buf, n, offset);
  if (r > 0) Corrupt(buf, static_cast<size_t>(r), offset);
  return r;
}

ssize_t FaultFileSystem::Calls::Write(int fd, const char* data, size_t n) {
  if (Eintr()) return -1;
  if (FailWrite()) return -1;
  if (fs_.short_writes_ > 0) n = std::min(n, fs_.short_writes_);
  return IoCalls::Write(fd, data, n);
}

ssize_t FaultFileSystem::Calls::PWrite(int fd, const char* data, size_t n, uint64_t offset) {
  if (Eintr()) return -1;
  if (FailWrite()) return -1;
  if (fs_.short_writes_ > 0) n = std::min(n, fs_.short_writes_);
  return IoCalls::PWrite(fd, data, n, offset);
}

ssize_t FaultFileSystem::Calls::CopyRange(int in_fd, uint64_t in_offset, int out_fd,
                                          uint64_t out_offset, size_t n) {
  ++fs_.copy_calls_;
  if (fs_.copy_error_ != 0) {
    errno = fs_.copy_error_;
    return -1;
  }
  if (Eintr()) return -1;
  if (FailWrite()) return -1;
  if (fs_.short_writes_ > 0) n = std::min(n, fs_.short_writes_);
  return IoCalls::CopyRange(in_fd, in_offset, out_fd, out_offset, n);
}

}  // namespace corpusflow::testing
