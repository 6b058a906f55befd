// The figures of a device that bound a shuffle (sequential and spill read/write throughput), and
// their cache: `corpusflow bench disk` saves each run's JSON document (engine/io/disk_report.h)
// as one file per device under $XDG_CACHE_HOME/corpusflow/, and the shuffle loads the figures of
// the devices it uses to report its I/O lower bound without measuring again
// (operators/shuffle/shuffle_bounds.h).
//
// Thread-safety: the functions are pure, or read the environment and touch only the cache file
// they name; a save is atomic (a temp file renamed into place), so a concurrent load sees the old
// or the new document, never a torn one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "engine/io/device_identity.h"
#include "engine/io/file_system.h"

namespace corpusflow {

struct DiskBenchmarkResult;

/// The figures of a device that bound a shuffle, as cached by the last `bench disk`.
struct DiskFigures {
  DeviceIdentity device;
  /// The directory that was measured.
  std::string dir;
  bool direct = false;
  double measured_at = 0;
  double seq_write_bytes_per_second = 0;
  double seq_read_bytes_per_second = 0;
  double spill_write_bytes_per_second = 0;
  double spill_read_bytes_per_second = 0;
  /// The cache file the figures were read from ("" when they come from a live result).
  std::string source;
};

/// The figures of a run (those of the four main tests).
DiskFigures DiskFiguresFrom(const DiskBenchmarkResult& result);

/// Parse a document written by DiskBenchmarkToJson. Throws CorruptionError naming `origin` when
/// it is not one.
DiskFigures ParseDiskFiguresJson(const std::string& json, const std::string& origin);

/// The folder of the cache: $XDG_CACHE_HOME/corpusflow, else $HOME/.cache/corpusflow;
/// nullopt when neither variable is set.
std::optional<std::filesystem::path> DiskFiguresCacheDir();

/// The cache file of a device key ("254:0" -> ".../disk-254-0.json").
std::filesystem::path DiskFiguresCacheFile(const std::filesystem::path& cache_dir,
                                           const std::string& device_key);

/// Write the run's JSON to the cache file of its device through `fs` (an AtomicOutput: a temp
/// file renamed into place). Returns the file written. Throws IoError.
std::filesystem::path SaveDiskFigures(const DiskBenchmarkResult& result,
                                      const std::filesystem::path& cache_dir,
                                      FileSystem& fs = FileSystem::Default());

/// The cached figures of the device that holds `path`, or nullopt when the path does not exist,
/// no cache folder is configured, or the device was never measured. An unreadable or corrupt
/// cache file is treated as absent.
std::optional<DiskFigures> LoadDiskFigures(const std::filesystem::path& path);

}  // namespace corpusflow
