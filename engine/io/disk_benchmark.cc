#include "engine/io/disk_benchmark.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/atomic_output.h"
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
/// Most buckets of the spill test (the shuffle's own limit).
constexpr int kMaxBuckets = 1 << 16;

/// An I/O buffer aligned for O_DIRECT, filled with incompressible bytes.
class IoBuffer {
 public:
  explicit IoBuffer(uint64_t bytes) {
    void* p = nullptr;
    if (posix_memalign(&p, kDirectAlignment, bytes) != 0) throw std::bad_alloc();
    data_.reset(static_cast<char*>(p));
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i + 8 <= bytes; i += 8) {
      const uint64_t v = Mix64(state += 0x9E3779B97F4A7C15ull);
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

/// "4K", "1M", "2G", or plain bytes.
std::string SizeLabel(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30) && bytes % (uint64_t{1} << 30) == 0) {
    return std::to_string(bytes >> 30) + "G";
  }
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + "M";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

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

std::string TestLabel(const DiskTestResult& t) {
  if (t.name == "seq_write") return "sequential write + fdatasync";
  if (t.name == "seq_read") return "sequential read";
  if (t.name == "spill_write") return "spill write, " + std::to_string(t.buckets) + " buckets";
  if (t.name == "spill_read") {
    return "spill read, " + std::to_string(t.buckets) + " buckets, strided";
  }
  return t.description;
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
    throw InvalidArgument("bench disk: --size " + SizeLabel(o.size_bytes) +
                          " is smaller than --block " + SizeLabel(o.block_bytes));
  }
  if (o.buckets < 1 || o.buckets > kMaxBuckets) {
    throw InvalidArgument("bench disk: --buckets must be between 1 and " +
                          std::to_string(kMaxBuckets));
  }
  if (o.size_bytes / static_cast<uint64_t>(o.buckets) < o.chunk_bytes) {
    throw InvalidArgument("bench disk: --size " + SizeLabel(o.size_bytes) + " is smaller than " +
                          "--buckets " + std::to_string(o.buckets) + " x --chunk " +
                          SizeLabel(o.chunk_bytes));
  }
  if (!(o.time_limit_seconds > 0)) {
    throw InvalidArgument("bench disk: the time limit must be positive");
  }
  for (uint64_t b : o.sweep_block_bytes) {
    if (b == 0 || b > o.size_bytes) {
      throw InvalidArgument("bench disk: sweep block size " + SizeLabel(b) +
                            " must be positive and at most --size " + SizeLabel(o.size_bytes));
    }
  }
  if (o.cache_mode != CacheMode::kBuffered) {
    auto check = [](uint64_t bytes, const std::string& what) {
      if (bytes % kDirectAlignment != 0) {
        throw InvalidArgument("bench disk: " + what + " " + SizeLabel(bytes) +
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

DeviceIdentity IdentifyDevice(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ThrowIoError("cannot stat", path.string(), errno);
  DeviceIdentity id;
  id.key = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(fs::absolute(path), ec).string();
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  size_t best_by_device = 0;
  size_t best_any = 0;
  DeviceIdentity any;
  auto unescape = [](const std::string& s) {
    // Mount points escape space, tab, newline and backslash as \ooo.
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  auto is_prefix = [&](const std::string& mount) {
    if (mount == "/") return true;
    return canonical.compare(0, mount.size(), mount) == 0 &&
           (canonical.size() == mount.size() || canonical[mount.size()] == '/');
  };
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string word;
    while (fields >> word) f.push_back(word);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 2 >= f.end()) continue;
    const std::string mount = unescape(f[4]);
    if (!is_prefix(mount)) continue;
    const std::string fstype = *(dash + 1);
    const std::string source = *(dash + 2);
    // Longest matching mount point (+1 so "/" beats "nothing found").
    if (f[2] == id.key && mount.size() + 1 > best_by_device) {
      best_by_device = mount.size() + 1;
      id.source = source;
      id.filesystem = fstype;
      id.mount_point = mount;
    }
    if (mount.size() + 1 > best_any) {
      best_any = mount.size() + 1;
      any.source = source;
      any.filesystem = fstype;
      any.mount_point = mount;
    }
  }
  if (best_by_device == 0 && best_any > 0) {
    id.source = any.source;
    id.filesystem = any.filesystem;
    id.mount_point = any.mount_point;
  }
  return id;
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
                  SizeLabel(options.size_bytes) + "); use a smaller --size or another --dir");
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
    const std::string shape = std::to_string(k) + " buckets x " + SizeLabel(chunk) + " chunks";
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
    result.tests.push_back(
        bench.Write("write_" + SizeLabel(b), "write + fdatasync, " + SizeLabel(b) + " blocks", file,
                    SequentialOffsets(SweepBytes(options, b), b), b, &file_bytes));
    result.tests.push_back(bench.Read("read_" + SizeLabel(b), "read, " + SizeLabel(b) + " blocks",
                                      file, SequentialOffsets(file_bytes, b), b, file_bytes));
    RemoveFile(file);
  }
  return result;
}

std::string FormatDiskBenchmarkTable(const DiskBenchmarkResult& r) {
  std::ostringstream o;
  o << "bench disk: " << r.dir.string();
  if (!r.device.source.empty()) o << " on " << r.device.source;
  o << " (" << (r.device.filesystem.empty() ? "?" : r.device.filesystem) << ", device "
    << r.device.key << "), " << (r.direct ? "O_DIRECT" : "buffered I/O") << ", "
    << SizeLabel(r.options.size_bytes) << " per main test\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-40s %6s %9s %9s %9s %9s %9s %9s\n", "test", "block", "MB/s",
                "IOPS", "p50 us", "p95 us", "p99 us", "max us");
  o << line;
  bool any_stopped = false;
  for (const DiskTestResult& t : r.tests) {
    std::string label = TestLabel(t);
    if (t.stopped_by_time_limit) {
      label += " *";
      any_stopped = true;
    }
    std::snprintf(line, sizeof line, "%-40s %6s %9.1f %9.0f %9.0f %9.0f %9.0f %9.0f\n",
                  label.c_str(), SizeLabel(t.block_bytes).c_str(), t.BytesPerSecond() / 1e6,
                  t.Iops(), t.latency_us.p50, t.latency_us.p95, t.latency_us.p99, t.latency_us.max);
    o << line;
  }
  if (!r.cache_note.empty()) {
    double worst = -1;
    for (const DiskTestResult& t : r.tests) worst = std::max(worst, t.cached_fraction);
    o << "note: " << r.cache_note;
    if (worst >= 0) {
      std::snprintf(line, sizeof line, "; at most %.1f%% of a file was still cached before reading",
                    100 * worst);
      o << line;
    }
    o << "\n";
  }
  if (r.device.filesystem == "tmpfs" || r.device.filesystem == "ramfs") {
    o << "note: " << r.device.filesystem
      << " keeps files in memory: these are RAM figures, not a disk's\n";
  }
  if (any_stopped) {
    std::snprintf(line, sizeof line,
                  "note: tests marked * reached the %.0f s limit; their figures cover the bytes "
                  "moved\n",
                  r.options.time_limit_seconds);
    o << line;
  }
  o << "MB/s = 10^6 bytes per second; latency is per read/write call; write figures include "
       "the final fdatasync\n";
  return o.str();
}

std::string DiskBenchmarkToJson(const DiskBenchmarkResult& r) {
  std::ostringstream o;
  const DiskFigures figures = DiskFiguresFrom(r);
  o << "{\n  \"format\": \"corpusflow-bench-disk\",\n  \"version\": 1,\n"
    << "  \"measured_at\": " << JsonNumber(r.measured_at) << ",\n"
    << "  \"dir\": " << JsonQuote(r.dir.string()) << ",\n"
    << "  \"device\": {\"key\": " << JsonQuote(r.device.key)
    << ", \"source\": " << JsonQuote(r.device.source)
    << ", \"filesystem\": " << JsonQuote(r.device.filesystem)
    << ", \"mount_point\": " << JsonQuote(r.device.mount_point) << "},\n"
    << "  \"direct\": " << (r.direct ? "true" : "false") << ",\n"
    << "  \"cache_note\": " << JsonQuote(r.cache_note) << ",\n"
    << "  \"options\": {\"size_bytes\": " << r.options.size_bytes
    << ", \"block_bytes\": " << r.options.block_bytes << ", \"buckets\": " << r.options.buckets
    << ", \"chunk_bytes\": " << r.options.chunk_bytes
    << ", \"sweep_bytes\": " << r.options.sweep_bytes
    << ", \"time_limit_seconds\": " << JsonNumber(r.options.time_limit_seconds) << "},\n"
    << "  \"tests\": [";
  for (size_t i = 0; i < r.tests.size(); ++i) {
    const DiskTestResult& t = r.tests[i];
    o << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << JsonQuote(t.name)
      << ", \"description\": " << JsonQuote(t.description) << ", \"block_bytes\": " << t.block_bytes
      << ", \"buckets\": " << t.buckets << ", \"bytes\": " << t.bytes
      << ", \"operations\": " << t.operations << ", \"seconds\": " << JsonNumber(t.seconds)
      << ", \"sync_seconds\": " << JsonNumber(t.sync_seconds)
      << ", \"mb_per_second\": " << JsonNumber(t.BytesPerSecond() / 1e6)
      << ", \"iops\": " << JsonNumber(t.Iops())
      << ", \"latency_us\": {\"p50\": " << JsonNumber(t.latency_us.p50)
      << ", \"p95\": " << JsonNumber(t.latency_us.p95)
      << ", \"p99\": " << JsonNumber(t.latency_us.p99)
      << ", \"max\": " << JsonNumber(t.latency_us.max) << "}"
      << ", \"stopped_by_time_limit\": " << (t.stopped_by_time_limit ? "true" : "false")
      << ", \"cached_fraction\": "
      << (t.cached_fraction < 0 ? std::string("null") : JsonNumber(t.cached_fraction)) << "}";
  }
  o << "\n  ],\n  \"summary\": {\"seq_write_bytes_per_second\": "
    << JsonNumber(figures.seq_write_bytes_per_second)
    << ", \"seq_read_bytes_per_second\": " << JsonNumber(figures.seq_read_bytes_per_second)
    << ", \"spill_write_bytes_per_second\": " << JsonNumber(figures.spill_write_bytes_per_second)
    << ", \"spill_read_bytes_per_second\": " << JsonNumber(figures.spill_read_bytes_per_second)
    << "}\n}\n";
  return o.str();
}

DiskFigures DiskFiguresFrom(const DiskBenchmarkResult& r) {
  DiskFigures f;
  f.device = r.device;
  f.dir = r.dir.string();
  f.direct = r.direct;
  f.measured_at = r.measured_at;
  auto rate = [&](const char* name) {
    const DiskTestResult* t = r.Find(name);
    return t == nullptr ? 0.0 : t->BytesPerSecond();
  };
  f.seq_write_bytes_per_second = rate("seq_write");
  f.seq_read_bytes_per_second = rate("seq_read");
  f.spill_write_bytes_per_second = rate("spill_write");
  f.spill_read_bytes_per_second = rate("spill_read");
  return f;
}

DiskFigures ParseDiskFiguresJson(const std::string& json, const std::string& origin) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    throw CorruptionError(origin + ": not a JSON document");
  }
  auto fail = [&](const std::string& what) -> DiskFigures {
    throw CorruptionError(origin + ": not a `corpusflow bench disk` document (" + what + ")");
  };
  std::string_view format;
  if (doc["format"].get(format) != simdjson::SUCCESS || format != "corpusflow-bench-disk") {
    return fail("no \"format\": \"corpusflow-bench-disk\"");
  }
  DiskFigures f;
  f.source = origin;
  auto text = [&](simdjson::dom::element e, const char* key) {
    std::string_view v;
    if (e[key].get(v) != simdjson::SUCCESS) fail(std::string("missing string \"") + key + "\"");
    return std::string(v);
  };
  auto number = [&](simdjson::dom::element e, const char* key) {
    double v = 0;
    if (e[key].get(v) != simdjson::SUCCESS || !(v >= 0)) {
      fail(std::string("missing or negative number \"") + key + "\"");
    }
    return v;
  };
  simdjson::dom::element device, summary;
  if (doc["device"].get(device) != simdjson::SUCCESS) return fail("missing \"device\"");
  if (doc["summary"].get(summary) != simdjson::SUCCESS) return fail("missing \"summary\"");
  f.device.key = text(device, "key");
  f.device.source = text(device, "source");
  f.device.filesystem = text(device, "filesystem");
  f.device.mount_point = text(device, "mount_point");
  f.dir = text(doc, "dir");
  bool direct = false;
  if (doc["direct"].get(direct) != simdjson::SUCCESS) return fail("missing \"direct\"");
  f.direct = direct;
  f.measured_at = number(doc, "measured_at");
  f.seq_write_bytes_per_second = number(summary, "seq_write_bytes_per_second");
  f.seq_read_bytes_per_second = number(summary, "seq_read_bytes_per_second");
  f.spill_write_bytes_per_second = number(summary, "spill_write_bytes_per_second");
  f.spill_read_bytes_per_second = number(summary, "spill_read_bytes_per_second");
  return f;
}

std::optional<fs::path> DiskFiguresCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return fs::path(xdg) / "corpusflow";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return fs::path(home) / ".cache" / "corpusflow";
  return std::nullopt;
}

fs::path DiskFiguresCacheFile(const fs::path& cache_dir, const std::string& device_key) {
  std::string name = device_key;
  std::replace(name.begin(), name.end(), ':', '-');
  return cache_dir / ("disk-" + name + ".json");
}

fs::path SaveDiskFigures(const DiskBenchmarkResult& result, const fs::path& cache_dir,
                         FileSystem& file_system) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) ThrowIoError("cannot create cache folder", cache_dir.string(), ec.value());
  const fs::path file = DiskFiguresCacheFile(cache_dir, result.device.key);
  RunFiles run;
  run.file_system = &file_system;
  AtomicOutput out = AtomicOutput::Create(file.string(), run);
  out.Write(DiskBenchmarkToJson(result));
  out.Commit();
  return file;
}

std::optional<DiskFigures> LoadDiskFigures(const fs::path& path) {
  const std::optional<fs::path> cache_dir = DiskFiguresCacheDir();
  if (!cache_dir) return std::nullopt;
  // An output that does not exist yet lives on the device of its nearest existing folder.
  std::error_code ec;
  fs::path probe = fs::absolute(path, ec);
  if (ec) return std::nullopt;
  while (!fs::exists(probe, ec)) {
    if (!probe.has_parent_path() || probe.parent_path() == probe) return std::nullopt;
    probe = probe.parent_path();
  }
  try {
    const DeviceIdentity device = IdentifyDevice(probe);
    const fs::path file = DiskFiguresCacheFile(*cache_dir, device.key);
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    DiskFigures figures = ParseDiskFiguresJson(text.str(), file.string());
    if (figures.device.key != device.key) return std::nullopt;
    return figures;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace corpusflow
