// The disk throughput benchmark behind `corpusflow bench disk`: in a given directory it measures
// sequential write (fdatasync included), sequential read of data that is not in the page cache
// (O_DIRECT where the filesystem supports it, else posix_fadvise(DONTNEED), with the residency
// left after it reported), the shuffle's spill pattern (K buckets whose chunks interleave in one
// spill file: appended round after round as pass 1 writes them, read back bucket by bucket as
// pass 2 reads them, so every read skips the other buckets' chunks), and sequential reads and
// writes at a few block sizes. Every I/O call is timed, so each test reports MB/s, IOPS and
// latency percentiles.
//
// All files live in a run-specific folder (engine/io/temp_dir.h) that is removed when the
// benchmark ends, fails or is interrupted (long loops call CheckInterrupt()). This file is the
// measurement; the table and JSON of a run are in engine/io/disk_report.h, the figures the shuffle
// reads and their per-device cache in engine/io/disk_figures.h, the device lookup in
// engine/io/device_identity.h.
//
// Thread-safety: RunDiskBenchmark uses only its arguments (and the process-wide interrupt flag);
// concurrent calls on different directories are safe but measure each other's traffic. The
// other functions are pure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/device_identity.h"
// The figures and their cache: operators/shuffle/shuffle_bounds.h reads them through this header.
#include "engine/io/disk_figures.h"  // IWYU pragma: export

namespace corpusflow {

class Progress;

/// How reads avoid the page cache.
enum class CacheMode {
  /// O_DIRECT when the filesystem accepts it, else buffered I/O with posix_fadvise(DONTNEED).
  kAuto,
  /// O_DIRECT, or an error when the filesystem refuses it.
  kDirect,
  /// Buffered I/O; data is dropped from the page cache with posix_fadvise(DONTNEED).
  kBuffered,
};

struct DiskBenchmarkOptions {
  /// The directory to measure; its filesystem is the one benchmarked.
  std::filesystem::path dir;
  /// Bytes of the sequential test file, and of the spill test file.
  uint64_t size_bytes = uint64_t{2} << 30;
  /// I/O size of the sequential tests.
  uint64_t block_bytes = uint64_t{1} << 20;
  /// K: buckets of the spill test (the shuffle's buckets).
  int buckets = 64;
  /// Most buckets accepted (the caller's own limit on K); 0 = no limit but the size's.
  int max_buckets = 0;
  /// I/O size of the spill test: one bucket's run of blocks from one pass-1 flush.
  uint64_t chunk_bytes = uint64_t{256} << 10;
  /// Run the sequential write and read (seq_write, seq_read).
  bool sequential = true;
  /// Run the spill write and read (spill_write, spill_read).
  bool spill = true;
  /// Block sizes of the sweep (a file written, then read, at each); empty = no sweep.
  std::vector<uint64_t> sweep_block_bytes = {uint64_t{4} << 10, uint64_t{64} << 10,
                                             uint64_t{1} << 20, uint64_t{4} << 20};
  /// Bytes per sweep test (at most size_bytes).
  uint64_t sweep_bytes = uint64_t{256} << 20;
  /// Each test stops after this many seconds (the figures cover what was done).
  double time_limit_seconds = 8;
  CacheMode cache_mode = CacheMode::kAuto;
};

/// Latency percentiles of the I/O calls of one test, in microseconds.
struct LatencyPercentiles {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
};

/// The figures of one test.
struct DiskTestResult {
  /// "seq_write", "seq_read", "spill_write", "spill_read", "read_4K", "write_4K", ...
  std::string name;
  /// Human description: "sequential write + fdatasync".
  std::string description;
  uint64_t block_bytes = 0;
  /// Buckets whose chunks interleave in the test file (1 for sequential tests).
  int buckets = 1;
  uint64_t bytes = 0;
  uint64_t operations = 0;
  /// Wall time of the test (for writes, the final fdatasync included).
  double seconds = 0;
  /// Time of the final fdatasync (writes only).
  double sync_seconds = 0;
  LatencyPercentiles latency_us;
  /// Whether the time limit ended the test before all its bytes were moved.
  bool stopped_by_time_limit = false;
  /// Buffered reads: fraction of the file's pages still in the page cache after
  /// posix_fadvise(DONTNEED), just before reading (negative when not measured).
  double cached_fraction = -1;

  /// Throughput in bytes per second.
  double BytesPerSecond() const { return seconds > 0 ? bytes / seconds : 0; }
  /// Operations per second.
  double Iops() const { return seconds > 0 ? operations / seconds : 0; }
};

struct DiskBenchmarkResult {
  std::filesystem::path dir;
  DeviceIdentity device;
  /// Whether the tests used O_DIRECT.
  bool direct = false;
  /// Why direct I/O was not used, when it was not ("" otherwise).
  std::string cache_note;
  DiskBenchmarkOptions options;
  std::vector<DiskTestResult> tests;
  /// Unix time of the measurement.
  double measured_at = 0;

  /// The test named `name`, or nullptr.
  const DiskTestResult* Find(const std::string& name) const;
};

/// The label of a block size in test names and tables: "4K", "1M", "2G", or plain bytes.
std::string DiskBlockLabel(uint64_t bytes);

/// Bytes of free space the benchmark needs in its directory.
uint64_t DiskBenchmarkSpaceNeeded(const DiskBenchmarkOptions& options);

/// Check the options (sizes, alignment, K) without touching the disk. Throws InvalidArgument.
void ValidateDiskBenchmarkOptions(const DiskBenchmarkOptions& options);

/// Run the benchmark. `progress` may be null. Throws InvalidArgument on bad options, IoError
/// when the directory is missing, not writable or lacks the free space needed (checked before
/// any I/O) or an I/O call fails, and Interrupted on SIGINT/SIGTERM; its files are removed in
/// every case.
DiskBenchmarkResult RunDiskBenchmark(const DiskBenchmarkOptions& options, Progress* progress);

}  // namespace corpusflow
