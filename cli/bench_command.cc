// `corpusflow bench disk`: measure the disk that holds a directory (engine/io/disk_benchmark.h),
// print a table or JSON, and cache the figures for the shuffle's I/O bound
// (engine/shuffle_bounds.h).
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/disk_benchmark.h"
#include "engine/io/disk_figures.h"
#include "engine/io/disk_report.h"
#include "engine/io/temp_dir.h"
#include "engine/options.h"
#include "engine/progress.h"
#include "engine/units.h"
#include "operators/shuffle/shuffle_layout.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr const char* kSynopsis =
    "bench disk [--dir DIR] [--size 2G] [--block 1M] [--buckets K] [--chunk 256K] "
    "[--direct|--buffered] [--tests seq,spill,sweep] [--sweep 4K,64K,1M,4M|none] [--json] "
    "[--no-cache]";

/// Split "a,b,c" at commas.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) items.push_back(item);
  return items;
}

/// Parse "4K,64K,1M" (or "none") into byte sizes.
std::vector<uint64_t> ParseSweep(const std::string& text) {
  std::vector<uint64_t> sizes;
  if (text == "none" || text.empty()) return sizes;
  for (const std::string& item : SplitList(text)) {
    if (item.empty()) throw InvalidArgument("bench disk: empty block size in --sweep " + text);
    sizes.push_back(ParseByteSize(item, "--sweep block size"));
  }
  if (text.back() == ',') throw InvalidArgument("bench disk: empty block size in --sweep " + text);
  return sizes;
}

int BenchDisk(const std::vector<std::string>& args) {
  po::options_description desc("bench disk options");
  desc.add_options()("dir", po::value<std::string>()->default_value(""),
                     "directory to measure (default: $TMPDIR or /tmp)")(
      "size", ByteSizeValue(1)->default_value(uint64_t{2} << 30, "2G"),
      "bytes of the sequential test file and of the spill test file")(
      "block", ByteSizeValue(1)->default_value(uint64_t{1} << 20, "1M"),
      "I/O size of the sequential tests")(
      "buckets", CountValue(1, kMaxShuffleBuckets),
      "K: buckets of the spill test, whose chunks interleave in one file (default 64)")(
      "files", CountValue(1, kMaxShuffleBuckets), "same as --buckets")(
      "chunk", ByteSizeValue(1)->default_value(uint64_t{256} << 10, "256K"),
      "I/O size of the spill test: one bucket's run of blocks from one pass-1 flush")(
      "direct", po::bool_switch(), "require O_DIRECT (fail where the filesystem refuses it)")(
      "buffered", po::bool_switch(),
      "buffered I/O; reads follow posix_fadvise(DONTNEED) (default: O_DIRECT when supported)")(
      "tests", po::value<std::string>()->default_value("seq,spill,sweep"),
      "test groups to run: seq (sequential write and read), spill (the shuffle's spill write "
      "and read), sweep (block sizes); the cache needs seq and spill")(
      "sweep", po::value<std::string>()->default_value("4K,64K,1M,4M"),
      "block sizes of the sequential read/write sweep, or 'none'")(
      "sweep-size", ByteSizeValue(1)->default_value(uint64_t{256} << 20, "256M"),
      "bytes per sweep test (at most --size)")(
      "time-limit", po::value<double>()->default_value(8),
      "seconds after which each test stops (its figures cover the bytes moved)")(
      "json", po::bool_switch(), "print the JSON document instead of the table")(
      "no-cache", po::bool_switch(),
      "do not store the figures in $XDG_CACHE_HOME/corpusflow (used by shuffle's bounds)")(
      "progress", po::value<std::string>()->default_value("auto"),
      "progress line on stderr: auto (when a terminal), always, never")("help", po::bool_switch(),
                                                                        "show this help");
  po::variables_map values;
  ParseCommandArgs("bench disk", args, desc, nullptr, &values);
  if (values["help"].as<bool>()) {
    std::cout << "usage: corpusflow " << kSynopsis << "\n\n"
              << "Measure the disk of a directory: sequential write (with fdatasync) and read\n"
                 "(not from the page cache), the shuffle's spill pattern (K buckets' chunks\n"
                 "appended round by round, read back bucket by bucket) and a block-size sweep.\n"
                 "Files are removed at the end, on error and on Ctrl-C. The figures are cached\n"
                 "per device for the bounds that `shuffle --stats-json` reports.\n\n"
              << desc;
    return 0;
  }

  DiskBenchmarkOptions options;
  const std::string dir = values["dir"].as<std::string>();
  options.dir = dir.empty() ? TempDir::DefaultParent() : std::filesystem::path(dir);
  options.size_bytes = values["size"].as<uint64_t>();
  options.block_bytes = values["block"].as<uint64_t>();
  if (values.count("buckets") > 0 && values.count("files") > 0) {
    throw InvalidArgument("bench disk: give --buckets or --files (the same option), not both");
  }
  if (values.count("buckets") > 0)
    options.buckets = static_cast<int>(values["buckets"].as<uint64_t>());
  if (values.count("files") > 0) options.buckets = static_cast<int>(values["files"].as<uint64_t>());
  options.max_buckets = static_cast<int>(kMaxShuffleBuckets);
  options.chunk_bytes = values["chunk"].as<uint64_t>();
  options.sweep_block_bytes = ParseSweep(values["sweep"].as<std::string>());
  options.sweep_bytes = values["sweep-size"].as<uint64_t>();
  options.time_limit_seconds = values["time-limit"].as<double>();
  bool sweep = false;
  options.sequential = false;
  options.spill = false;
  for (const std::string& group : SplitList(values["tests"].as<std::string>())) {
    if (group == "seq") {
      options.sequential = true;
    } else if (group == "spill") {
      options.spill = true;
    } else if (group == "sweep") {
      sweep = true;
    } else {
      throw InvalidArgument("bench disk: unknown test group '" + group +
                            "' in --tests (expected seq, spill, sweep)");
    }
  }
  if (!sweep) options.sweep_block_bytes.clear();
  const bool direct = values["direct"].as<bool>();
  const bool buffered = values["buffered"].as<bool>();
  if (direct && buffered)
    throw InvalidArgument("bench disk: give --direct or --buffered, not both");
  options.cache_mode = direct     ? CacheMode::kDirect
                       : buffered ? CacheMode::kBuffered
                                  : CacheMode::kAuto;
  const ProgressMode progress_mode = ParseProgressMode(values["progress"].as<std::string>());
  ValidateDiskBenchmarkOptions(options);

  InstallInterruptHandlers();
  DiskBenchmarkResult result;
  {
    Progress progress(progress_mode);
    result = RunDiskBenchmark(options, &progress);
    progress.Stop();
  }
  if (values["json"].as<bool>()) {
    std::cout << DiskBenchmarkToJson(result);
  } else {
    std::cout << FormatDiskBenchmarkTable(result);
  }
  std::cout.flush();
  if (!options.sequential || !options.spill) {
    if (!values["no-cache"].as<bool>()) {
      std::fprintf(stderr, "corpusflow: figures not cached: --tests lacks seq or spill\n");
    }
  } else if (!values["no-cache"].as<bool>()) {
    const std::optional<std::filesystem::path> cache_dir = DiskFiguresCacheDir();
    if (!cache_dir) {
      std::fprintf(stderr,
                   "corpusflow: figures not cached: neither XDG_CACHE_HOME nor HOME is set\n");
    } else {
      try {
        const std::filesystem::path file = SaveDiskFigures(result, *cache_dir);
        std::fprintf(stderr, "corpusflow: figures of device %s cached in %s\n",
                     result.device.key.c_str(), file.c_str());
      } catch (const IoError& e) {
        // The measurement itself succeeded; a read-only cache folder only loses the cache.
        std::fprintf(stderr, "corpusflow: warning: %s\n", e.what());
      }
    }
  }
  return 0;
}

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    throw InvalidArgument(std::string("bench: name a benchmark: corpusflow ") + kSynopsis);
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: corpusflow " << kSynopsis
              << "\n\nbenchmarks: disk (see `corpusflow bench disk --help`)\n";
    return 0;
  }
  if (args[0] != "disk") {
    throw InvalidArgument("bench: unknown benchmark '" + args[0] + "' (available: disk)");
  }
  return BenchDisk(std::vector<std::string>(args.begin() + 1, args.end()));
}

const CommandRegistrar kBench(CommandDef{
    .name = "bench",
    .synopsis = kSynopsis,
    .summary = "Measure the disk of a directory (MB/s, IOPS, latency) for the shuffle's bounds",
    .run = BenchCommand,
});

}  // namespace
}  // namespace corpusflow
