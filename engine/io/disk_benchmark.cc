#include "engine/io/disk_benchmark.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/file.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/random.h"
#include "engine/stats.h"
#include "engine/units.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;

/// O_DIRECT needs buffers, offsets and sizes aligned to the logical block size; 4 KiB covers
/// every common device.
constexpr uint64_t kDirectAlignment = 4096;
/// Space left free beyond the test files, for filesystem metadata: 1% plus this.
constexpr uint64_t kSpaceMargin = uint64_t{16} << 20;

/// An I/O buffer aligned for O_DIRECT, filled with incompressible bytes.
class IoBuffer {
 public:
  explicit IoBuffer(uint64_t bytes) {
    void* p = nullptr;
    if (posix_memalign(&p, kDirectAlignment, bytes) != 0) throw std::bad_alloc();
    data_.reset(static_cast<char*>(p));
    SplitMix64 random(SplitMix64::kGamma);
    for (uint64_t i = 0; i + 8 <= bytes; i += 8) {
      const uint64_t v = random.Next();
      std::memcpy(data_.get() + i, &v, 8);
    }
  }
  char* data() { return data_.get(); }

  /// Make the first `n` bytes differ from every earlier I/O (8 bytes per 512-byte sector), so
  /// that a deduplicating or compressing layer cannot shortcut the writes (fio's
  /// scramble_buffers does the same).
  void Scramble(uint64_t n) {
    ++generation_;
    for (uint64_t i = 0; i + 8 <= n; i += 512) {
      const uint64_t v = generation_ * 0xBF58476D1CE4E5B9ull ^ i;
      std::memcpy(data_.get() + i, &v, 8);
    }
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  uint64_t generation_ = 0;
};

double Now() { return MonotonicSeconds(); }

}  // namespace

std::string DiskBlockLabel(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30) && bytes % (uint64_t{1} << 30) == 0) {
    return std::to_string(bytes >> 30) + "G";
  }
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + "M";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

namespace {

/// Run `io`, naming the benchmark in the message of an IoError it throws.
template <typename Io>
void BenchIo(Io&& io) {
  try {
    io();
  } catch (const IoError& e) {
    throw IoError(std::string("bench disk: ") + e.what());
  }
}

/// Open a test file; every I/O call of a test is one system call of the test's size.
File OpenFile(const fs::path& path, int flags, bool direct) {
  if (direct) flags |= O_DIRECT;
  File file = File::Open(path, flags, 0600, "bench disk: cannot open");
  file.set_max_write_call(0);
  return file;
}

void ReadFully(const File& file, char* data, uint64_t n, uint64_t offset) {
  BenchIo([&] {
    const size_t got = file.PRead(offset, data, n);
    if (got < n) {
      throw IoError(file.name() + " ended at offset " + std::to_string(offset + got) +
                    " before the bytes written to it");
    }
  });
}

/// Drop the file's clean pages from the page cache and return the fraction still resident.
double DropFromPageCache(const fs::path& path) {
  File file = OpenFile(path, O_RDONLY, false);
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) ThrowIoError("bench disk: cannot stat", path.string(), errno);
  const int rc = ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) ThrowIoError("bench disk: posix_fadvise(DONTNEED) failed on", path.string(), rc);
  if (st.st_size == 0) return 0;
  const uint64_t length = static_cast<uint64_t>(st.st_size);
  void* map = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, file.fd(), 0);
  if (map == MAP_FAILED) return -1;
  const long page = ::sysconf(_SC_PAGESIZE);
  const uint64_t pages = (length + page - 1) / page;
  std::vector<unsigned char> resident(pages);
  double fraction = -1;
  if (::mincore(map, length, resident.data()) == 0) {
    uint64_t in_core = 0;
    for (unsigned char r : resident) in_core += r & 1;
    fraction = static_cast<double>(in_core) / pages;
  }
  ::munmap(map, length);
  return fraction;
}

LatencyPercentiles Percentiles(std::vector<uint64_t>& nanos) {
  LatencyPercentiles p;
  if (nanos.empty()) return p;
  std::sort(nanos.begin(), nanos.end());
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto at = [&](double q) {
    const size_t rank = static_cast<size_t>(std::ceil(q * nanos.size()));
    return nanos[std::clamp<size_t>(rank, 1, nanos.size()) - 1] / 1e3;
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.max = nanos.back() / 1e3;
  return p;
}

/// Runs the tests of one benchmark.
class DiskBench {
 public:
  DiskBench(const DiskBenchmarkOptions& options, Progress* progress, TempDir& temp)
      : options_(options), progress_(progress), temp_(temp) {
    uint64_t largest = std::max(options.block_bytes, options.chunk_bytes);
    for (uint64_t b : options.sweep_block_bytes) largest = std::max(largest, b);
    buffer_ = std::make_unique<IoBuffer>(largest);
  }

  /// Whether O_DIRECT works here: write and read back one aligned block.
  bool ProbeDirect(std::string* why_not) {
    const fs::path path = temp_.NewFilePath("probe");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0600);
    if (fd < 0) {
      const int err = errno;
      if (err != EINVAL) ThrowIoError("bench disk: cannot create", path.string(), err);
      *why_not = "the filesystem refuses O_DIRECT";
      std::error_code ec;
      fs::remove(path, ec);
      return false;
    }
    File file(fd, path.string());
    int err = 0;
    if (::pwrite(fd, buffer_->data(), kDirectAlignment, 0) < 0 ||
        ::pread(fd, buffer_->data(), kDirectAlignment, 0) < 0) {
      err = errno;
    }
    const bool ok = err == 0;
    file.Close();
    std::error_code ec;
    fs::remove(path, ec);
    if (!ok) {
      if (err != EINVAL) ThrowIoError("bench disk: cannot write", path.string(), err);
      *why_not = "O_DIRECT I/O fails with EINVAL on this filesystem";
    }
    return ok;
  }

  void set_direct(bool direct) { direct_ = direct; }

  /// Create `path` and write `io_bytes` at each of `offsets` in order, then fdatasync. Sets
  /// *file_bytes to the size written (less than planned when the time limit stopped the test).
  DiskTestResult Write(std::string name, std::string description, const fs::path& path,
                       const std::vector<uint64_t>& offsets, uint64_t io_bytes,
                       uint64_t* file_bytes) {
    DiskTestResult result = NewResult(std::move(name), std::move(description), io_bytes);
    File file = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, direct_);
    const uint64_t planned = offsets.size() * io_bytes;
    StartPhase(result, planned);
    *file_bytes = 0;
    const double start = TimedLoop(
        offsets, io_bytes, planned, result,
        [&](uint64_t offset) {
          buffer_->Scramble(io_bytes);
          *file_bytes = std::max(*file_bytes, offset + io_bytes);
          return true;
        },
        [&](uint64_t offset) {
          BenchIo([&] { file.PWrite(offset, std::string_view(buffer_->data(), io_bytes)); });
        });
    const double sync_start = Now();
    BenchIo([&] { file.Sync(); });
    const double end = Now();
    BenchIo([&] { file.Close(); });
    result.seconds = end - start;
    result.sync_seconds = end - sync_start;
    return result;
  }

  /// Read `io_bytes` at each of `offsets` in order from `path` (which holds `file_bytes`),
  /// skipping offsets past its end.
  DiskTestResult Read(std::string name, std::string description, const fs::path& path,
                      const std::vector<uint64_t>& offsets, uint64_t io_bytes,
                      uint64_t file_bytes) {
    DiskTestResult result = NewResult(std::move(name), std::move(description), io_bytes);
    if (!direct_) result.cached_fraction = DropFromPageCache(path);
    File file = OpenFile(path, O_RDONLY, direct_);
    uint64_t planned = 0;
    for (const uint64_t offset : offsets) {
      if (offset + io_bytes <= file_bytes) planned += io_bytes;
    }
    StartPhase(result, planned);
    const double start = TimedLoop(
        offsets, io_bytes, planned, result,
        [&](uint64_t offset) { return offset + io_bytes <= file_bytes; },
        [&](uint64_t offset) { ReadFully(file, buffer_->data(), io_bytes, offset); });
    result.seconds = Now() - start;
    file.Close();
    return result;
  }

 private:
  /// For each offset that `prepare` (untimed; false skips it) accepts, time `io(offset)` of
  /// `io_bytes`, until every offset is done or the time limit passed with `planned` bytes not
  /// reached. Fills bytes, operations, latency and stopped_by_time_limit; returns the start time.
  template <typename Prepare, typename Io>
  double TimedLoop(const std::vector<uint64_t>& offsets, uint64_t io_bytes, uint64_t planned,
                   DiskTestResult& result, Prepare&& prepare, Io&& io) {
    std::vector<uint64_t> nanos;
    nanos.reserve(offsets.size());
    const double start = Now();
    for (const uint64_t offset : offsets) {
      if (!prepare(offset)) continue;
      CheckInterrupt();
      const auto t0 = std::chrono::steady_clock::now();
      io(offset);
      nanos.push_back(ElapsedNanos(t0));
      result.bytes += io_bytes;
      if (progress_ != nullptr) progress_->AddBytes(io_bytes);
      if (Now() - start > options_.time_limit_seconds && result.bytes < planned) {
        result.stopped_by_time_limit = true;
        break;
      }
    }
    result.operations = nanos.size();
    result.latency_us = Percentiles(nanos);
    return start;
  }

  static uint64_t ElapsedNanos(std::chrono::steady_clock::time_point t0) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }

  static DiskTestResult NewResult(std::string name, std::string description, uint64_t io_bytes) {
    DiskTestResult result;
    result.name = std::move(name);
    result.description = std::move(description);
    result.block_bytes = io_bytes;
    return result;
  }

  void StartPhase(const DiskTestResult& result, uint64_t total) {
    if (progress_ != nullptr) progress_->StartPhase("bench disk: " + result.description, total);
  }

  const DiskBenchmarkOptions& options_;
  Progress* progress_;
  TempDir& temp_;
  std::unique_ptr<IoBuffer> buffer_;
  bool direct_ = false;
};

/// Offsets of a sequential pass over `bytes` in `io_bytes` pieces.
std::vector<uint64_t> SequentialOffsets(uint64_t bytes, uint64_t io_bytes) {
  std::vector<uint64_t> offsets;
  for (uint64_t offset = 0; offset + io_bytes <= bytes; offset += io_bytes) {
    offsets.push_back(offset);
  }
  return offsets;
}

void RemoveFile(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

uint64_t SweepBytes(const DiskBenchmarkOptions& o, uint64_t block) {
  const uint64_t volume = std::min(o.sweep_bytes, o.size_bytes);
  return std::max(block, volume / block * block);
}

}  // namespace

const DiskTestResult* DiskBenchmarkResult::Find(const std::string& name) const {
  for (const DiskTestResult& t : tests) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void ValidateDiskBenchmarkOptions(const DiskBenchmarkOptions& o) {
  if (!o.sequential && !o.spill && o.sweep_block_bytes.empty()) {
    throw InvalidArgument("bench disk: no test selected");
  }
  if (o.block_bytes == 0) throw InvalidArgument("bench disk: --block must be positive");
  if (o.chunk_bytes == 0) throw InvalidArgument("bench disk: --chunk must be positive");
  if (o.size_bytes < o.block_bytes) {
    throw InvalidArgument("bench disk: --size " + DiskBlockLabel(o.size_bytes) +
                          " is smaller than --block " + DiskBlockLabel(o.block_bytes));
  }
  if (o.buckets < 1 || (o.max_buckets > 0 && o.buckets > o.max_buckets)) {
    throw InvalidArgument(o.max_buckets > 0
                              ? "bench disk: --buckets must be between 1 and " +
                                    std::to_string(o.max_buckets)
                              : std::string("bench disk: --buckets must be positive"));
  }
  if (o.size_bytes / static_cast<uint64_t>(o.buckets) < o.chunk_bytes) {
    throw InvalidArgument("bench disk: --size " + DiskBlockLabel(o.size_bytes) +
                          " is smaller than " + "--buckets " + std::to_string(o.buckets) +
                          " x --chunk " + DiskBlockLabel(o.chunk_bytes));
  }
  if (!(o.time_limit_seconds > 0)) {
    throw InvalidArgument("bench disk: the time limit must be positive");
  }
  for (uint64_t b : o.sweep_block_bytes) {
    if (b == 0 || b > o.size_bytes) {
      throw InvalidArgument("bench disk: sweep block size " + DiskBlockLabel(b) +
                            " must be positive and at most --size " + DiskBlockLabel(o.size_bytes));
    }
  }
  if (o.cache_mode != CacheMode::kBuffered) {
    auto check = [](uint64_t bytes, const std::string& what) {
      if (bytes % kDirectAlignment != 0) {
        throw InvalidArgument("bench disk: " + what + " " + DiskBlockLabel(bytes) +
                              " is not a multiple of 4K, which O_DIRECT needs (use --buffered)");
      }
    };
    check(o.block_bytes, "--block");
    check(o.chunk_bytes, "--chunk");
    for (uint64_t b : o.sweep_block_bytes) check(b, "sweep block size");
  }
}

uint64_t DiskBenchmarkSpaceNeeded(const DiskBenchmarkOptions& o) {
  // The tests run one after the other and remove their files, so the largest one counts.
  uint64_t largest = 0;
  if (o.sequential) largest = o.size_bytes / o.block_bytes * o.block_bytes;
  if (o.spill) {
    const uint64_t k = static_cast<uint64_t>(o.buckets);
    largest = std::max(largest, o.size_bytes / k / o.chunk_bytes * k * o.chunk_bytes);
  }
  for (uint64_t b : o.sweep_block_bytes) largest = std::max(largest, SweepBytes(o, b));
  return largest + largest / 100 + kSpaceMargin;
}

DiskBenchmarkResult RunDiskBenchmark(const DiskBenchmarkOptions& options, Progress* progress) {
  ValidateDiskBenchmarkOptions(options);
  const fs::path& dir = options.dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    throw IoError("bench disk: directory " + dir.string() + " does not exist");
  }
  if (!fs::is_directory(dir, ec)) {
    throw IoError("bench disk: " + dir.string() + " is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    ThrowIoError("bench disk: cannot write in directory", dir.string(), errno);
  }
  const uint64_t needed = DiskBenchmarkSpaceNeeded(options);
  const uint64_t free_bytes = FreeDiskBytes(dir);
  DiskBenchmarkResult result;
  result.dir = dir;
  result.options = options;
  result.device = IdentifyDevice(dir);
  if (free_bytes < needed) {
    throw IoError("bench disk: " + dir.string() + " has " + FormatBytes(free_bytes) + " free" +
                  (result.device.source.empty() ? "" : " on " + result.device.source) +
                  " but the benchmark needs " + FormatBytes(needed) + " (--size " +
                  DiskBlockLabel(options.size_bytes) + "); use a smaller --size or another --dir");
  }
  result.measured_at = static_cast<double>(std::time(nullptr));

  TempDir temp(dir);
  DiskBench bench(options, progress, temp);
  bool direct = false;
  if (options.cache_mode != CacheMode::kBuffered) {
    std::string why_not;
    direct = bench.ProbeDirect(&why_not);
    if (!direct && options.cache_mode == CacheMode::kDirect) {
      throw IoError("bench disk: --direct: " + why_not + " (" + result.device.filesystem + " at " +
                    dir.string() + "); use --buffered");
    }
    if (!direct) {
      result.cache_note = why_not + "; reads are measured after posix_fadvise(DONTNEED)";
    }
  } else {
    result.cache_note = "--buffered: reads are measured after posix_fadvise(DONTNEED)";
  }
  result.direct = direct;
  bench.set_direct(direct);

  uint64_t file_bytes = 0;
  if (options.sequential) {
    const fs::path seq = temp.NewFilePath("seq");
    const uint64_t bytes = options.size_bytes / options.block_bytes * options.block_bytes;
    result.tests.push_back(bench.Write("seq_write", "sequential write + fdatasync", seq,
                                       SequentialOffsets(bytes, options.block_bytes),
                                       options.block_bytes, &file_bytes));
    result.tests.push_back(bench.Read("seq_read", "sequential read", seq,
                                      SequentialOffsets(file_bytes, options.block_bytes),
                                      options.block_bytes, file_bytes));
    RemoveFile(seq);
  }
  // The shuffle's spill: each round appends one chunk of every bucket (a pass-1 flush writes
  // bucket after bucket), and pass 2 reads a bucket's chunks one round after the other, skipping
  // the other buckets' chunks in between.
  if (options.spill) {
    const fs::path spill = temp.NewFilePath("spill");
    const uint64_t k = static_cast<uint64_t>(options.buckets);
    const uint64_t chunk = options.chunk_bytes;
    const uint64_t rounds = options.size_bytes / k / chunk;
    std::vector<uint64_t> by_round;
    std::vector<uint64_t> by_bucket;
    for (uint64_t r = 0; r < rounds; ++r) {
      for (uint64_t b = 0; b < k; ++b) by_round.push_back((r * k + b) * chunk);
    }
    for (uint64_t b = 0; b < k; ++b) {
      for (uint64_t r = 0; r < rounds; ++r) by_bucket.push_back((r * k + b) * chunk);
    }
    const std::string shape = std::to_string(k) + " buckets x " + DiskBlockLabel(chunk) + " chunks";
    result.tests.push_back(bench.Write("spill_write", "spill write + fdatasync, " + shape, spill,
                                       by_round, chunk, &file_bytes));
    result.tests.back().buckets = options.buckets;
    result.tests.push_back(bench.Read("spill_read", "spill read bucket by bucket, " + shape, spill,
                                      by_bucket, chunk, file_bytes));
    result.tests.back().buckets = options.buckets;
    RemoveFile(spill);
  }
  // The sweep: at each block size, a file written and then read back.
  for (uint64_t b : options.sweep_block_bytes) {
    const fs::path file = temp.NewFilePath("sweep");
    result.tests.push_back(bench.Write(
        "write_" + DiskBlockLabel(b), "write + fdatasync, " + DiskBlockLabel(b) + " blocks", file,
        SequentialOffsets(SweepBytes(options, b), b), b, &file_bytes));
    result.tests.push_back(bench.Read("read_" + DiskBlockLabel(b),
                                      "read, " + DiskBlockLabel(b) + " blocks", file,
                                      SequentialOffsets(file_bytes, b), b, file_bytes));
    RemoveFile(file);
  }
  return result;
}

}  // namespace corpusflow
