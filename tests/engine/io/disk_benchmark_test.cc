// Tests of the disk benchmark (engine/io/disk_benchmark.h, disk_report.h, disk_figures.h,
// device_identity.h) on small sizes in temp folders, and of the shuffle bounds computed from its
// figures (operators/shuffle/shuffle_bounds.h).
#include "engine/io/disk_benchmark.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <set>
#include <thread>

#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/io/device_identity.h"
#include "engine/io/disk_figures.h"
#include "engine/io/disk_report.h"
#include "engine/io/temp_dir.h"
#include "engine/progress.h"
#include "engine/stats.h"
#include "operators/shuffle/shuffle_bounds.h"
#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::ListDir;
using testing::ScopedTempDir;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;

/// A small benchmark: 8 MiB per main test, 4 buckets of 64 KiB chunks, two sweep sizes.
DiskBenchmarkOptions SmallOptions(const std::filesystem::path& dir) {
  DiskBenchmarkOptions o;
  o.dir = dir;
  o.size_bytes = 8 * kMiB;
  o.block_bytes = 1 * kMiB;
  o.buckets = 4;
  o.chunk_bytes = 64 * kKiB;
  o.sweep_block_bytes = {64 * kKiB, 1 * kMiB};
  o.sweep_bytes = 4 * kMiB;
  o.time_limit_seconds = 600;
  return o;
}

/// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void ExpectSaneTest(const DiskTestResult& t, uint64_t bytes, uint64_t block, int buckets) {
  SCOPED_TRACE(t.name);
  EXPECT_EQ(t.bytes, bytes);
  EXPECT_EQ(t.block_bytes, block);
  EXPECT_EQ(t.buckets, buckets);
  EXPECT_EQ(t.operations, bytes / block);
  EXPECT_FALSE(t.stopped_by_time_limit);
  EXPECT_GT(t.seconds, 0);
  EXPECT_GT(t.BytesPerSecond(), 0);
  EXPECT_TRUE(std::isfinite(t.BytesPerSecond()));
  EXPECT_NEAR(t.Iops() * t.seconds, static_cast<double>(t.operations), 1e-6 * t.operations);
  EXPECT_GT(t.latency_us.p50, 0);
  EXPECT_LE(t.latency_us.p50, t.latency_us.p95);
  EXPECT_LE(t.latency_us.p95, t.latency_us.p99);
  EXPECT_LE(t.latency_us.p99, t.latency_us.max);
  // Every call's latency is part of the test's wall time.
  EXPECT_LE(t.latency_us.max, t.seconds * 1e6 + 1);
  EXPECT_GE(t.sync_seconds, 0);
  EXPECT_LE(t.sync_seconds, t.seconds);
}

void ExpectSmallRun(const DiskBenchmarkResult& r) {
  const std::vector<std::string> names = {"seq_write", "seq_read", "spill_write", "spill_read",
                                          "write_64K", "read_64K", "write_1M",    "read_1M"};
  ASSERT_EQ(r.tests.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(r.tests[i].name, names[i]);
  ExpectSaneTest(r.tests[0], 8 * kMiB, kMiB, 1);
  ExpectSaneTest(r.tests[1], 8 * kMiB, kMiB, 1);
  ExpectSaneTest(r.tests[2], 8 * kMiB, 64 * kKiB, 4);
  ExpectSaneTest(r.tests[3], 8 * kMiB, 64 * kKiB, 4);
  ExpectSaneTest(r.tests[4], 4 * kMiB, 64 * kKiB, 1);
  ExpectSaneTest(r.tests[5], 4 * kMiB, 64 * kKiB, 1);
  ExpectSaneTest(r.tests[6], 4 * kMiB, kMiB, 1);
  ExpectSaneTest(r.tests[7], 4 * kMiB, kMiB, 1);
  for (const DiskTestResult& t : r.tests) {
    const bool is_read = t.name.find("read") != std::string::npos;
    if (r.direct || !is_read) {
      EXPECT_EQ(t.cached_fraction, -1) << t.name;
    } else {
      EXPECT_GE(t.cached_fraction, 0) << t.name;
      EXPECT_LE(t.cached_fraction, 1) << t.name;
    }
  }
}

TEST(DiskBenchmarkTest, SmallRunGivesSaneFiguresAndCleansUp) {
  ScopedTempDir dir;
  Progress progress(ProgressMode::kNever);
  const DiskBenchmarkResult r = RunDiskBenchmark(SmallOptions(dir.path()), &progress);
  ExpectSmallRun(r);
  EXPECT_EQ(r.dir, dir.path());
  EXPECT_FALSE(r.device.key.empty());
  EXPECT_EQ(r.direct, r.cache_note.empty());
  EXPECT_GT(r.measured_at, 1.6e9);
  // The last phase reported its bytes.
  EXPECT_EQ(progress.Line().rfind("bench disk: read, 1M blocks: 4.00 MiB of", 0), 0u)
      << progress.Line();
  EXPECT_EQ(progress.done_bytes(), 4 * kMiB);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, BufferedModeDropsPagesAndSaysSo) {
  ScopedTempDir dir;
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.cache_mode = CacheMode::kBuffered;
  const DiskBenchmarkResult r = RunDiskBenchmark(o, nullptr);
  EXPECT_FALSE(r.direct);
  EXPECT_NE(r.cache_note.find("posix_fadvise(DONTNEED)"), std::string::npos) << r.cache_note;
  ExpectSmallRun(r);
  EXPECT_NE(FormatDiskBenchmarkTable(r).find("note: --buffered"), std::string::npos);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, BufferedModeAcceptsUnalignedSizes) {
  ScopedTempDir dir;
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.size_bytes = 1000 * 1000;
  o.block_bytes = 100 * 1000;
  o.chunk_bytes = 10 * 1000;
  o.buckets = 3;
  o.sweep_block_bytes = {1000};
  o.sweep_bytes = 50 * 1000;
  EXPECT_THROW(ValidateDiskBenchmarkOptions(o), InvalidArgument);
  o.cache_mode = CacheMode::kBuffered;
  const DiskBenchmarkResult r = RunDiskBenchmark(o, nullptr);
  ASSERT_EQ(r.tests.size(), 6u);
  ExpectSaneTest(r.tests[0], 1000 * 1000, 100 * 1000, 1);
  // 333,333 bytes per file hold 33 chunks of 10,000 bytes.
  ExpectSaneTest(r.tests[2], 3 * 33 * 10 * 1000, 10 * 1000, 3);
  ExpectSaneTest(r.tests[3], 3 * 33 * 10 * 1000, 10 * 1000, 3);
  ExpectSaneTest(r.tests[4], 50 * 1000, 1000, 1);
  ExpectSaneTest(r.tests[5], 50 * 1000, 1000, 1);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, TimeLimitStopsTestsAndIsReported) {
  ScopedTempDir dir;
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.time_limit_seconds = 1e-9;
  const DiskBenchmarkResult r = RunDiskBenchmark(o, nullptr);
  // The limit is checked after each call: every write test stops after its first I/O, and the
  // read that follows finds that one block.
  const std::set<std::string> stopped = {"seq_write", "spill_write", "write_64K", "write_1M"};
  ASSERT_EQ(r.tests.size(), 8u);
  for (const DiskTestResult& t : r.tests) {
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.stopped_by_time_limit, stopped.count(t.name) == 1);
    EXPECT_EQ(t.operations, 1u);
    EXPECT_EQ(t.bytes, t.block_bytes);
  }
  EXPECT_NE(FormatDiskBenchmarkTable(r).find("reached the 0 s limit"), std::string::npos);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, RunsOnlyTheSelectedTests) {
  ScopedTempDir dir;
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.sequential = false;
  o.sweep_block_bytes.clear();
  o.chunk_bytes = 256 * kKiB;
  // The spill file: 8 MiB / 4 buckets / 256 KiB = 8 rounds.
  EXPECT_EQ(DiskBenchmarkSpaceNeeded(o), 8 * kMiB + 8 * kMiB / 100 + 16 * kMiB);
  DiskBenchmarkResult r = RunDiskBenchmark(o, nullptr);
  ASSERT_EQ(r.tests.size(), 2u);
  EXPECT_EQ(r.tests[0].name, "spill_write");
  EXPECT_EQ(r.tests[1].name, "spill_read");
  ExpectSaneTest(r.tests[1], 8 * kMiB, 256 * kKiB, 4);
  const DiskFigures f = DiskFiguresFrom(r);
  EXPECT_EQ(f.seq_read_bytes_per_second, 0);
  EXPECT_GT(f.spill_read_bytes_per_second, 0);

  o.spill = false;
  o.sweep_block_bytes = {kMiB};
  r = RunDiskBenchmark(o, nullptr);
  ASSERT_EQ(r.tests.size(), 2u);
  EXPECT_EQ(r.tests[0].name, "write_1M");
  EXPECT_EQ(r.tests[1].name, "read_1M");
  ExpectSaneTest(r.tests[1], 4 * kMiB, kMiB, 1);

  o.sweep_block_bytes.clear();
  EXPECT_THROW(RunDiskBenchmark(o, nullptr), InvalidArgument);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, JsonIsValidAndRoundTrips) {
  ScopedTempDir dir;
  const DiskBenchmarkResult r = RunDiskBenchmark(SmallOptions(dir.path()), nullptr);
  const std::string json = DiskBenchmarkToJson(r);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  std::string_view format;
  ASSERT_EQ(doc["format"].get(format), simdjson::SUCCESS);
  EXPECT_EQ(format, "corpusflow-bench-disk");
  simdjson::dom::array tests;
  ASSERT_EQ(doc["tests"].get(tests), simdjson::SUCCESS);
  ASSERT_EQ(tests.size(), r.tests.size());
  size_t i = 0;
  for (simdjson::dom::element t : tests) {
    std::string_view name;
    uint64_t bytes = 0;
    uint64_t operations = 0;
    double mb = 0;
    double p99 = 0;
    ASSERT_EQ(t["name"].get(name), simdjson::SUCCESS);
    ASSERT_EQ(t["bytes"].get(bytes), simdjson::SUCCESS);
    ASSERT_EQ(t["operations"].get(operations), simdjson::SUCCESS);
    ASSERT_EQ(t["mb_per_second"].get(mb), simdjson::SUCCESS);
    ASSERT_EQ(t["latency_us"]["p99"].get(p99), simdjson::SUCCESS);
    EXPECT_EQ(name, r.tests[i].name);
    EXPECT_EQ(bytes, r.tests[i].bytes);
    EXPECT_EQ(operations, r.tests[i].operations);
    EXPECT_NEAR(mb, r.tests[i].BytesPerSecond() / 1e6, 1e-5 * mb);
    EXPECT_GT(p99, 0);
    ++i;
  }
  const DiskFigures parsed = ParseDiskFiguresJson(json, "test.json");
  const DiskFigures live = DiskFiguresFrom(r);
  EXPECT_EQ(parsed.device.key, live.device.key);
  EXPECT_EQ(parsed.device.filesystem, live.device.filesystem);
  EXPECT_EQ(parsed.dir, live.dir);
  EXPECT_EQ(parsed.direct, live.direct);
  EXPECT_EQ(parsed.source, "test.json");
  EXPECT_NEAR(parsed.seq_write_bytes_per_second, live.seq_write_bytes_per_second,
              1e-5 * live.seq_write_bytes_per_second);
  EXPECT_NEAR(parsed.seq_read_bytes_per_second, live.seq_read_bytes_per_second,
              1e-5 * live.seq_read_bytes_per_second);
  EXPECT_NEAR(parsed.spill_write_bytes_per_second, live.spill_write_bytes_per_second,
              1e-5 * live.spill_write_bytes_per_second);
  EXPECT_NEAR(parsed.spill_read_bytes_per_second, live.spill_read_bytes_per_second,
              1e-5 * live.spill_read_bytes_per_second);
  EXPECT_GT(live.seq_read_bytes_per_second, 0);
  EXPECT_THROW(ParseDiskFiguresJson("{\"format\": \"other\"}", "x.json"), CorruptionError);
  EXPECT_THROW(ParseDiskFiguresJson("not json", "x.json"), CorruptionError);
}

TEST(DiskBenchmarkTest, TableHasOneRowPerTest) {
  ScopedTempDir dir;
  const DiskBenchmarkResult r = RunDiskBenchmark(SmallOptions(dir.path()), nullptr);
  const std::string table = FormatDiskBenchmarkTable(r);
  for (const char* needle :
       {"MB/s", "IOPS", "p50 us", "p95 us", "p99 us", "max us", "sequential write + fdatasync",
        "sequential read", "spill write, 4 buckets", "spill read, 4 buckets, strided",
        "read, 64K blocks", "write + fdatasync, 1M blocks"}) {
    EXPECT_NE(table.find(needle), std::string::npos) << needle << "\n" << table;
  }
}

TEST(DiskBenchmarkTest, MissingDirectoryIsAClearError) {
  ScopedTempDir dir;
  const std::filesystem::path missing = dir.path() / "no" / "such";
  try {
    RunDiskBenchmark(SmallOptions(missing), nullptr);
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string() + " does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, NotEnoughFreeSpaceRefusesBeforeAnyIo) {
  ScopedTempDir dir;
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.size_bytes = (FreeDiskBytes(dir.path()) / kMiB + 1024) * kMiB;
  o.sweep_block_bytes.clear();
  try {
    RunDiskBenchmark(o, nullptr);
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir.path().string() + " has "), std::string::npos) << message;
    EXPECT_NE(message.find("but the benchmark needs"), std::string::npos) << message;
    EXPECT_NE(message.find("use a smaller --size"), std::string::npos) << message;
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, FullDiskDuringARunNamesTheFileAndCleansUp) {
  // RLIMIT_FSIZE makes writes past 2 MiB fail with EFBIG, as a full disk fails with ENOSPC.
  ScopedTempDir dir;
  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 2 * kMiB;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string message;
  try {
    RunDiskBenchmark(SmallOptions(dir.path()), nullptr);
  } catch (const IoError& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  sigaction(SIGXFSZ, &old_action, nullptr);
  EXPECT_NE(message.find("bench disk: cannot write " + dir.path().string() + "/corpusflow-"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("/seq-"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, InterruptStopsTheRunAndRemovesItsFiles) {
  ScopedTempDir dir;
  InstallInterruptHandlers();
  ClearInterrupt();
  DiskBenchmarkOptions o = SmallOptions(dir.path());
  o.size_bytes = 256 * kMiB;
  o.block_bytes = 64 * kKiB;
  std::exception_ptr error;
  std::thread runner([&] {
    try {
      RunDiskBenchmark(o, nullptr);
    } catch (...) {
      error = std::current_exception();
    }
  });
  // Wait for the run folder, then interrupt.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ListDir(dir.path()).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  runner.join();
  ClearInterrupt();
  ASSERT_TRUE(error != nullptr);
  EXPECT_THROW(std::rethrow_exception(error), Interrupted);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(DiskBenchmarkTest, ValidatesOptions) {
  DiskBenchmarkOptions o = SmallOptions("/tmp");
  EXPECT_NO_THROW(ValidateDiskBenchmarkOptions(o));
  auto expect_invalid = [](DiskBenchmarkOptions bad, const std::string& needle) {
    try {
      ValidateDiskBenchmarkOptions(bad);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  DiskBenchmarkOptions bad = o;
  bad.block_bytes = 16 * kMiB;
  expect_invalid(bad, "--size 8M is smaller than --block 16M");
  bad = o;
  bad.buckets = 256;
  expect_invalid(bad, "--size 8M is smaller than --buckets 256 x --chunk 64K");
  bad = o;
  bad.buckets = 0;
  expect_invalid(bad, "--buckets must be positive");
  bad.max_buckets = 4;
  expect_invalid(bad, "--buckets must be between 1 and 4");
  bad.buckets = 5;
  expect_invalid(bad, "--buckets must be between 1 and 4");
  bad.buckets = 4;
  EXPECT_NO_THROW(ValidateDiskBenchmarkOptions(bad));
  bad = o;
  bad.block_bytes = 6000;
  expect_invalid(bad, "--block 6000 is not a multiple of 4K");
  bad = o;
  bad.sweep_block_bytes = {16 * kMiB};
  expect_invalid(bad, "sweep block size 16M must be positive and at most --size 8M");
  bad = o;
  bad.time_limit_seconds = 0;
  expect_invalid(bad, "time limit must be positive");
}

TEST(DiskBenchmarkTest, SpaceNeededCoversTheLargestTest) {
  DiskBenchmarkOptions o = SmallOptions("/tmp");
  // 8 MiB + 1% + the 16 MiB margin.
  EXPECT_EQ(DiskBenchmarkSpaceNeeded(o), 8 * kMiB + 8 * kMiB / 100 + 16 * kMiB);
}

TEST(DiskBenchmarkTest, IdentifiesTheDeviceOfAPath) {
  ScopedTempDir dir;
  struct stat st {};
  ASSERT_EQ(stat(dir.path().c_str(), &st), 0);
  const DeviceIdentity id = IdentifyDevice(dir.path());
  EXPECT_EQ(id.key, std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)));
  EXPECT_FALSE(id.filesystem.empty());
  EXPECT_FALSE(id.mount_point.empty());
  EXPECT_EQ(dir.path().string().rfind(id.mount_point == "/" ? "/" : id.mount_point, 0), 0u);
  EXPECT_THROW(IdentifyDevice(dir.path() / "missing"), IoError);
}

TEST(DiskBenchmarkTest, CachesFiguresPerDevice) {
  ScopedTempDir dir;
  ScopedTempDir cache;
  ScopedEnv env("XDG_CACHE_HOME", cache.path().string());
  ASSERT_EQ(DiskFiguresCacheDir(), cache.path() / "corpusflow");
  EXPECT_EQ(DiskFiguresCacheFile("/c", "254:3"), std::filesystem::path("/c/disk-254-3.json"));
  EXPECT_FALSE(LoadDiskFigures(dir.path()).has_value());

  const DiskBenchmarkResult r = RunDiskBenchmark(SmallOptions(dir.path()), nullptr);
  const std::filesystem::path file = SaveDiskFigures(r, *DiskFiguresCacheDir());
  EXPECT_EQ(file, DiskFiguresCacheFile(cache.path() / "corpusflow", r.device.key));
  EXPECT_EQ(testing::ReadFile(file), DiskBenchmarkToJson(r));
  EXPECT_EQ(ListDir(cache.path() / "corpusflow"), std::vector<std::string>{file.filename()});

  // Any path on the device finds the figures, also an output that does not exist yet.
  for (const std::filesystem::path& p : {dir.path(), dir.path() / "out" / "train.bin"}) {
    const std::optional<DiskFigures> loaded = LoadDiskFigures(p);
    ASSERT_TRUE(loaded.has_value()) << p;
    EXPECT_EQ(loaded->source, file.string());
    EXPECT_EQ(loaded->device.key, r.device.key);
    EXPECT_NEAR(loaded->seq_read_bytes_per_second, DiskFiguresFrom(r).seq_read_bytes_per_second,
                1e-5 * loaded->seq_read_bytes_per_second);
  }
  // A corrupt cache file counts as absent.
  testing::WriteFile(file, "{\"format\": \"corpusflow-bench-disk\", \"trunc");
  EXPECT_FALSE(LoadDiskFigures(dir.path()).has_value());
}

// ---- Shuffle bounds --------------------------------------------------------------------------

constexpr double kEps = 1e-9;

DiskFigures Figures(const std::string& key, double seq_read, double seq_write, double spill_write,
                    double spill_read) {
  DiskFigures f;
  f.device.key = key;
  f.device.source = "/dev/" + key;
  f.seq_read_bytes_per_second = seq_read;
  f.seq_write_bytes_per_second = seq_write;
  f.spill_write_bytes_per_second = spill_write;
  f.spill_read_bytes_per_second = spill_read;
  f.source = "/cache/disk-" + key + ".json";
  return f;
}

StorageSite Measured(const std::string& path, const DiskFigures& f, uint64_t file_bytes = 0) {
  StorageSite s;
  s.kind = StorageSite::Kind::kMeasured;
  s.path = path;
  s.figures = f;
  s.file_bytes = file_bytes;
  return s;
}

StorageSite Pipe() {
  StorageSite s;
  s.kind = StorageSite::Kind::kPipe;
  s.path = "-";
  return s;
}

/// 1 GB in and out, 0.5 GB of spill, 5 s + 6 s, 4 + 2 CPU seconds on 2 threads of 2 cores.
ShuffleRunFigures BaseRun() {
  ShuffleRunFigures run;
  run.input_bytes = 1000000000;
  run.output_bytes = 1000000000;
  run.spill_raw_bytes = 1000000000;
  run.spill_stored_bytes = 500000000;
  run.pass1 = {.wall_seconds = 5, .cpu_seconds = 4};
  run.pass2 = {.wall_seconds = 6, .cpu_seconds = 2};
  run.threads = 2;
  run.cores = 2;
  return run;
}

/// Everything on one device: 500 MB/s read, 400 write, 250 spill write, 200 spill read.
ShuffleStorage OneDevice() {
  const DiskFigures a = Figures("a", 500e6, 400e6, 250e6, 200e6);
  ShuffleStorage s;
  s.inputs = {Measured("/data/in.txt", a)};
  s.spill = Measured("/tmp", a);
  s.output = Measured("/data/out.txt", a);
  return s;
}

TEST(ShuffleBoundsTest, DiskBoundOnOneDevice) {
  const ShuffleBounds b = ComputeShuffleBounds(BaseRun(), OneDevice());
  // Pass 1: 1 GB / 500 MB/s + 0.5 GB / 250 MB/s; pass 2: 0.5 GB / 200 MB/s + 1 GB / 400 MB/s.
  EXPECT_NEAR(b.pass1.io_seconds, 4.0, kEps);
  EXPECT_NEAR(b.pass2.io_seconds, 5.0, kEps);
  EXPECT_NEAR(b.io_seconds, 9.0, kEps);
  EXPECT_NEAR(b.pass1.cpu_seconds, 2.0, kEps);
  EXPECT_NEAR(b.pass2.cpu_seconds, 1.0, kEps);
  EXPECT_NEAR(b.cpu_seconds, 3.0, kEps);
  EXPECT_NEAR(b.achieved_seconds, 11.0, kEps);
  EXPECT_NEAR(b.lower_bound_seconds, 9.0, kEps);
  EXPECT_NEAR(b.io_fraction, 9.0 / 11, kEps);
  EXPECT_TRUE(b.io_complete);
  EXPECT_EQ(b.limit, ShuffleLimit::kDisk);
  EXPECT_EQ(b.verdict,
            "disk-bound at 82% of the device (I/O bound 9.00s, CPU bound 3.00s, achieved 11.00s)");
  EXPECT_EQ(b.pass1.io_detail, "/dev/a: read input 2.00s + write spill 2.00s");
  EXPECT_EQ(b.pass2.io_detail, "/dev/a: read spill 2.50s + write output 2.50s");
  EXPECT_EQ(b.disk_figures, std::vector<std::string>{"/cache/disk-a.json (measured 1970-01-01 "
                                                     "00:00 UTC)"});
  EXPECT_TRUE(b.notes.empty());
}

TEST(ShuffleBoundsTest, TransfersOnDifferentDevicesOverlap) {
  ShuffleStorage s = OneDevice();
  const DiskFigures slow = Figures("b", 100e6, 100e6, 100e6, 100e6);
  s.inputs = {Measured("/slow/in.txt", slow)};
  s.output = Measured("/slow/out.txt", slow);
  ShuffleRunFigures run = BaseRun();
  run.pass1.wall_seconds = 11;
  run.pass2.wall_seconds = 11;
  const ShuffleBounds b = ComputeShuffleBounds(run, s);
  // Pass 1: max(10 s on b, 2 s on a); pass 2: max(10 s on b, 2.5 s on a).
  EXPECT_NEAR(b.pass1.io_seconds, 10.0, kEps);
  EXPECT_NEAR(b.pass2.io_seconds, 10.0, kEps);
  EXPECT_EQ(b.pass1.io_detail, "/dev/b: read input 10.00s");
  EXPECT_EQ(b.limit, ShuffleLimit::kDisk);
  EXPECT_EQ(b.verdict.rfind("disk-bound at 91% of the device", 0), 0u) << b.verdict;
}

TEST(ShuffleBoundsTest, InputBytesAreSplitByFileSize) {
  ShuffleStorage s = OneDevice();
  const DiskFigures slow = Figures("b", 100e6, 100e6, 100e6, 100e6);
  s.inputs = {Measured("/data/a.txt", s.spill.figures, 750), Measured("/slow/b.txt", slow, 250)};
  const ShuffleBounds b = ComputeShuffleBounds(BaseRun(), s);
  // 0.75 GB at 500 MB/s + spill 2 s on a = 3.5 s; 0.25 GB at 100 MB/s on b = 2.5 s.
  EXPECT_NEAR(b.pass1.io_seconds, 3.5, kEps);
}

TEST(ShuffleBoundsTest, CpuBoundSuggestsThreadsWhenCoresAreIdle) {
  ShuffleRunFigures run = BaseRun();
  run.threads = 1;
  run.cores = 4;
  run.spill_raw_bytes = 0;
  run.spill_stored_bytes = 0;
  run.pass1 = {.wall_seconds = 3, .cpu_seconds = 2.9};
  run.pass2 = {.wall_seconds = 2, .cpu_seconds = 1.9};
  ShuffleStorage s;
  s.inputs = {Pipe()};
  s.spill = Measured("/tmp", Figures("a", 1, 1, 1, 1));
  s.output = Pipe();
  const ShuffleBounds b = ComputeShuffleBounds(run, s);
  EXPECT_NEAR(b.io_seconds, 0, kEps);
  EXPECT_TRUE(b.io_complete);
  EXPECT_NEAR(b.cpu_seconds, 4.8, kEps);
  EXPECT_EQ(b.limit, ShuffleLimit::kCpu);
  EXPECT_EQ(b.verdict,
            "CPU-bound at 96% of 1 thread: add threads (4 cores) (I/O bound 0.00s, CPU bound "
            "4.80s, achieved 5.00s)");
}

TEST(ShuffleBoundsTest, CpuBoundWithAllCoresBusy) {
  ShuffleRunFigures run = BaseRun();
  run.pass1.cpu_seconds = 9;
  run.pass2.cpu_seconds = 11;
  const ShuffleBounds b = ComputeShuffleBounds(run, OneDevice());
  EXPECT_NEAR(b.cpu_seconds, 10.0, kEps);
  EXPECT_EQ(b.limit, ShuffleLimit::kCpu);
  EXPECT_EQ(b.verdict.rfind("CPU-bound at 91% of 2 threads, all cores busy", 0), 0u) << b.verdict;
  // Per pass: max(4, 4.5) + max(5, 5.5).
  EXPECT_NEAR(b.lower_bound_seconds, 10.0, kEps);
}

TEST(ShuffleBoundsTest, RamThroughputOverridesCpuTime) {
  ShuffleRunFigures run = BaseRun();
  run.pass1.ram_bytes_per_second = 250e6;
  run.pass2.ram_bytes_per_second = 500e6;
  const ShuffleBounds b = ComputeShuffleBounds(run, OneDevice());
  EXPECT_NEAR(b.pass1.cpu_seconds, 4.0, kEps);
  EXPECT_NEAR(b.pass2.cpu_seconds, 2.0, kEps);
}

TEST(ShuffleBoundsTest, NeitherBoundExplainsASlowRun) {
  ShuffleRunFigures run = BaseRun();
  run.pass1.wall_seconds = 40;
  run.pass2.wall_seconds = 50;
  const ShuffleBounds b = ComputeShuffleBounds(run, OneDevice());
  EXPECT_EQ(b.limit, ShuffleLimit::kNeither);
  EXPECT_EQ(b.verdict,
            "neither disk- nor CPU-bound: the achieved time is 10.0x the larger bound; time went "
            "to waits or serial stages (I/O bound 9.00s, CPU bound 3.00s, achieved 1m30s)");
}

TEST(ShuffleBoundsTest, FasterThanTheDeviceMeansPageCache) {
  ShuffleRunFigures run = BaseRun();
  run.pass1 = {.wall_seconds = 2, .cpu_seconds = 3.6};
  run.pass2 = {.wall_seconds = 2, .cpu_seconds = 3.6};
  const ShuffleBounds b = ComputeShuffleBounds(run, OneDevice());
  EXPECT_NEAR(b.io_fraction, 9.0 / 4, kEps);
  EXPECT_EQ(b.limit, ShuffleLimit::kCpu);
  EXPECT_EQ(b.verdict.rfind("CPU-bound at 90% of 2 threads, all cores busy; the page cache "
                            "absorbed the I/O",
                            0),
            0u)
      << b.verdict;
  ASSERT_EQ(b.notes.size(), 1u);
  EXPECT_NE(b.notes[0].find("page cache served the spill"), std::string::npos) << b.notes[0];
}

TEST(ShuffleBoundsTest, UnmeasuredSpillDeviceGivesUnknownIoBoundAndTheCommand) {
  ShuffleStorage s;
  s.inputs = {Pipe()};
  s.spill.kind = StorageSite::Kind::kUnmeasured;
  s.spill.path = "/scratch/tmp";
  s.spill.figures.device.key = "259:1";
  s.output = Pipe();
  const ShuffleBounds b = ComputeShuffleBounds(BaseRun(), s);
  EXPECT_TRUE(std::isnan(b.io_seconds));
  EXPECT_TRUE(std::isnan(b.io_fraction));
  EXPECT_FALSE(b.io_complete);
  EXPECT_EQ(b.limit, ShuffleLimit::kNeither);
  EXPECT_NE(b.verdict.find("(I/O bound unknown, CPU bound 3.00s, achieved 11.00s); I/O "
                           "bound unknown: run `corpusflow bench disk --dir /scratch/tmp`"),
            std::string::npos)
      << b.verdict;
  EXPECT_EQ(b.notes, (std::vector<std::string>{
                         "write spill (/scratch/tmp): device 259:1 not measured; run `corpusflow "
                         "bench disk --dir /scratch/tmp`",
                         "read spill (/scratch/tmp): device 259:1 not measured; run `corpusflow "
                         "bench disk --dir /scratch/tmp`"}));
}

TEST(ShuffleBoundsTest, UnmeasuredInputGivesAPartialBound) {
  ShuffleStorage s = OneDevice();
  s.inputs[0].kind = StorageSite::Kind::kUnmeasured;
  s.inputs[0].path = "/nfs/in.txt";
  const ShuffleBounds b = ComputeShuffleBounds(BaseRun(), s);
  EXPECT_NEAR(b.io_seconds, 7.0, kEps);
  EXPECT_FALSE(b.io_complete);
  EXPECT_NE(b.verdict.find("I/O bound covers the measured devices only"), std::string::npos);
  ASSERT_EQ(b.notes.size(), 1u);
  EXPECT_NE(b.notes[0].find("run `corpusflow bench disk --dir /nfs`"), std::string::npos)
      << b.notes[0];
}

TEST(ShuffleBoundsTest, NoTimeMeasured) {
  ShuffleRunFigures run = BaseRun();
  run.pass1.wall_seconds = 0;
  run.pass2.wall_seconds = 0;
  const ShuffleBounds b = ComputeShuffleBounds(run, OneDevice());
  EXPECT_EQ(b.limit, ShuffleLimit::kUnknown);
  EXPECT_EQ(b.verdict, "no time measured");
}

TEST(ShuffleBoundsTest, RecordsIntoOperatorStats) {
  ShuffleStorage s = OneDevice();
  s.spill.kind = StorageSite::Kind::kUnknown;
  s.inputs = {Pipe()};
  s.output = Pipe();
  OperatorStats stats("shuffle");
  RecordShuffleBounds(ComputeShuffleBounds(BaseRun(), s), stats);
  const auto values = stats.values();
  EXPECT_EQ(values.at("bound_achieved_seconds"), 11.0);
  EXPECT_TRUE(std::isnan(values.at("bound_io_seconds")));
  EXPECT_EQ(values.at("bound_cpu_seconds"), 3.0);
  EXPECT_EQ(values.at("bound_pass2_cpu_seconds"), 1.0);
  const auto texts = stats.texts();
  EXPECT_EQ(texts.at("bound_limit"), "neither");
  EXPECT_NE(texts.at("bound_verdict").find("run `corpusflow bench disk --dir TMPDIR`"),
            std::string::npos);
  EXPECT_EQ(texts.at("bound_notes"),
            "write spill: location not known, not in the I/O bound; read spill: location not "
            "known, not in the I/O bound");
  RunStats run;
  OperatorStats& op = run.AddOperator("shuffle");
  RecordShuffleBounds(ComputeShuffleBounds(BaseRun(), s), op);
  const std::string json = run.ToJson();
  EXPECT_NE(json.find("\"bound_io_seconds\": null"), std::string::npos) << json;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
}

TEST(ShuffleBoundsTest, ProcessCpuCoversTheCallingThread) {
  const double process_before = ProcessCpuSeconds();
  const uint64_t thread_before = ThreadCpuNanos();
  // Burn about 50 ms of CPU on this thread.
  volatile uint64_t sink = 0;
  while (ThreadCpuNanos() - thread_before < 50'000'000) sink = sink + 1;
  const double thread_seconds = (ThreadCpuNanos() - thread_before) * 1e-9;
  // getrusage counts in microseconds; allow one tick of rounding.
  EXPECT_GE(ProcessCpuSeconds() - process_before, thread_seconds - 0.011);
}

TEST(ShuffleBoundsTest, SitesForPathsUseTheCache) {
  ScopedTempDir dir;
  ScopedTempDir cache;
  ScopedEnv env("XDG_CACHE_HOME", cache.path().string());
  testing::WriteFile(dir.path() / "in.txt", std::string(1000, 'x'));
  ShuffleStorage s = LocateShuffleStorage({(dir.path() / "in.txt").string(), "-"}, dir.path(),
                                          (dir.path() / "out.txt").string());
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].kind, StorageSite::Kind::kUnmeasured);
  EXPECT_EQ(s.inputs[0].file_bytes, 1000u);
  EXPECT_EQ(s.inputs[1].kind, StorageSite::Kind::kPipe);
  EXPECT_EQ(s.spill.kind, StorageSite::Kind::kUnmeasured);
  EXPECT_EQ(s.spill.figures.device.key, IdentifyDevice(dir.path()).key);
  EXPECT_EQ(StorageSiteForPath("").kind, StorageSite::Kind::kUnknown);
  EXPECT_EQ(StorageSiteForPath("/dev/null").kind, StorageSite::Kind::kPipe);

  const DiskBenchmarkResult r = RunDiskBenchmark(SmallOptions(dir.path()), nullptr);
  SaveDiskFigures(r, *DiskFiguresCacheDir());
  s = LocateShuffleStorage({(dir.path() / "in.txt").string()}, dir.path(),
                           (dir.path() / "out.txt").string());
  EXPECT_EQ(s.inputs[0].kind, StorageSite::Kind::kMeasured);
  EXPECT_EQ(s.spill.kind, StorageSite::Kind::kMeasured);
  EXPECT_EQ(s.output.kind, StorageSite::Kind::kMeasured);
  EXPECT_EQ(s.spill.figures.device.key, r.device.key);
  const ShuffleBounds b = ComputeShuffleBounds(BaseRun(), s);
  EXPECT_TRUE(b.io_complete);
  EXPECT_GT(b.io_seconds, 0);
}

}  // namespace
}  // namespace corpusflow
