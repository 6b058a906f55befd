// The I/O and CPU lower bounds of a two-pass shuffle, from the figures of a finished run and the
// disk figures measured by `corpusflow bench disk` (engine/disk_benchmark.h), and the verdict a
// user reads in `--stats-json`: "disk-bound at 85% of the device" or "CPU-bound at 92% of 2
// threads: add threads".
//
// The model (docs/disk.md):
//   pass 1 reads the input (sequential read of its device) and writes the spill (the spill
//          write figure of the tmp-dir device, for the stored, i.e. compressed, spill bytes);
//   pass 2 reads the spill back bucket by bucket (spill read figure) and writes the output
//          (sequential write of its device).
// A device serves one pass's transfers one after the other, so a pass's I/O bound is the largest,
// over devices, of the summed transfer times on that device (transfers on different devices
// overlap). The CPU bound of a pass is its CPU time divided by the threads it used (the pass with
// storage in RAM and perfect scaling), or, when measured, the input bytes over the pass's
// throughput with the spill in RAM. Neither pass can beat either bound, so the run's lower bound
// is the sum over passes of the larger one.
//
// Pure functions, except StorageSiteForPath (reads the figures cache) and ProcessCpuSeconds;
// all thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/disk_benchmark.h"

namespace corpusflow {

class OperatorStats;

/// Where one side of a shuffle's traffic lives.
struct StorageSite {
  enum class Kind {
    /// A pipe, stdin or stdout: no device time to bound.
    kPipe,
    /// A file on a device with cached `bench disk` figures.
    kMeasured,
    /// A file on a device never measured (or whose cache is unreadable).
    kUnmeasured,
    /// The location is not known to the caller.
    kUnknown,
  };
  Kind kind = Kind::kUnknown;
  /// The path as given ("-" for a pipe).
  std::string path;
  /// Bytes of the file on disk when it exists (weights the input bytes of several inputs).
  uint64_t file_bytes = 0;
  /// The device's figures when kMeasured.
  DiskFigures figures;
};

/// The site of `path`: "-" is a pipe, "" unknown, anything else a file whose device figures are
/// looked up in the cache (LoadDiskFigures).
StorageSite StorageSiteForPath(const std::string& path);

/// Where a shuffle read, spilled and wrote.
struct ShuffleStorage {
  /// The inputs (the input bytes are split over them in proportion to their file sizes, equally
  /// when a size is unknown).
  std::vector<StorageSite> inputs;
  /// The tmp-dir that holds the spill files.
  StorageSite spill;
  StorageSite output;
};

/// Look up the sites of a shuffle: input paths ("-" = stdin), the tmp-dir, the output path
/// ("-" = stdout). Empty lists or paths give kUnknown sites.
ShuffleStorage LocateShuffleStorage(const std::vector<std::string>& inputs,
                                    const std::filesystem::path& tmp_dir,
                                    const std::string& output);

/// What one pass of a finished shuffle did.
struct ShufflePassFigures {
  /// Wall time of the pass.
  double wall_seconds = 0;
  /// CPU time of the pass summed over its threads (thread CPU time, system time included).
  double cpu_seconds = 0;
  /// Optional: the pass's throughput in input bytes per second measured with the spill in RAM
  /// (e.g. --tmp-dir /dev/shm); 0 = derive the CPU bound from cpu_seconds.
  double ram_bytes_per_second = 0;
};

/// The figures of a finished shuffle.
struct ShuffleRunFigures {
  /// Bytes read from the input files (their stored size: compressed bytes for .gz/.zst).
  uint64_t input_bytes = 0;
  /// Bytes written to the output files.
  uint64_t output_bytes = 0;
  /// Record bytes scattered to spill files, before compression; 0 when the shuffle ran in
  /// memory.
  uint64_t spill_raw_bytes = 0;
  /// Bytes written to spill files (after compression; re-scatters included). Every one is read
  /// back once.
  uint64_t spill_stored_bytes = 0;
  /// Pass 1: scatter (or, in memory, loading the input).
  ShufflePassFigures pass1;
  /// Pass 2: load, shuffle and emit the buckets.
  ShufflePassFigures pass2;
  /// Worker threads of the run.
  int threads = 1;
  /// Hardware threads of the machine; 0 = std::thread::hardware_concurrency().
  int cores = 0;
};

/// The bounds of one pass.
struct ShufflePassBound {
  double achieved_seconds = 0;
  /// The I/O lower bound over the measured sites (0 when none moved bytes).
  double io_seconds = 0;
  double cpu_seconds = 0;
  /// The transfers of the device that sets io_seconds: "/dev/vda: read input 1.20s + write
  /// spill 2.31s" ("" when no device time).
  std::string io_detail;
};

/// Which resource the run was limited by.
enum class ShuffleLimit {
  /// The I/O bound is at least half the achieved time and not below the CPU bound.
  kDisk,
  /// The CPU bound is at least half the achieved time and above the I/O bound.
  kCpu,
  /// Both bounds are under half the achieved time: waits, serial stages, or unmeasured devices.
  kNeither,
  /// Nothing to judge (no time was measured).
  kUnknown,
};

/// "disk", "cpu", "neither", "unknown".
std::string ShuffleLimitName(ShuffleLimit limit);

struct ShuffleBounds {
  ShufflePassBound pass1;
  ShufflePassBound pass2;
  double achieved_seconds = 0;
  /// I/O lower bound; NaN when no site that moved bytes was measured.
  double io_seconds = 0;
  /// Whether every file site that moved bytes was measured (otherwise io_seconds covers only the
  /// measured ones and is a weaker bound).
  bool io_complete = true;
  double cpu_seconds = 0;
  /// Sum over passes of max(I/O bound, CPU bound).
  double lower_bound_seconds = 0;
  /// io_seconds / achieved_seconds: 0.85 = "at 85% of the device"; above 1 the data was served
  /// faster than the device allows (page cache). NaN when unknown.
  double io_fraction = 0;
  /// cpu_seconds / achieved_seconds.
  double cpu_fraction = 0;
  ShuffleLimit limit = ShuffleLimit::kUnknown;
  /// One line for the user.
  std::string verdict;
  /// Unmeasured devices (with the command that measures them), page-cache effects.
  std::vector<std::string> notes;
  /// The cached figures used: "FILE (measured 2024-11-25 10:02 UTC)".
  std::vector<std::string> disk_figures;
};

/// Compute the bounds and the verdict of a finished shuffle.
ShuffleBounds ComputeShuffleBounds(const ShuffleRunFigures& run, const ShuffleStorage& storage);

/// CPU time of the whole process so far (user + system, all threads), in seconds: sample it at
/// the start and end of each pass for ShufflePassFigures::cpu_seconds (it covers the stages that
/// run in the same pipeline as the pass, such as reading and parsing the input).
double ProcessCpuSeconds();

/// Record the bounds in the shuffle operator's stats (they appear in --stats-json):
/// values bound_achieved_seconds, bound_io_seconds (null when unknown), bound_cpu_seconds,
/// bound_lower_seconds, bound_io_fraction, bound_cpu_fraction, bound_pass{1,2}_{achieved,io,cpu}
/// _seconds; texts bound_limit, bound_verdict, bound_notes, bound_io_detail (the transfers of the
/// limiting device per pass) and bound_disk_figures (the cache files used).
void RecordShuffleBounds(const ShuffleBounds& bounds, OperatorStats& stats);

}  // namespace corpusflow
