// `corpusflow bench disk` through the real binary: figures, JSON, the cache file, cleanup, exit
// codes on a missing or full directory, and Ctrl-C.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

/// Options of a run that takes well under a second: 8 MiB per main test.
std::vector<std::string> SmallRun(const std::string& dir) {
  return {"bench",   "disk",   "--dir",        dir,  "--size",     "8M",
          "--block", "1M",     "--buckets",    "4",  "--chunk",    "64K",
          "--sweep", "64K,1M", "--sweep-size", "4M", "--progress", "never"};
}

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(BenchCommandTest, JsonRunHasSaneFiguresAndIsCached) {
  ScopedTempDir dir;
  ScopedTempDir cache;
  const CommandResult r = RunCorpusflow(With(SmallRun(dir.path().string()), {"--json"}), "",
                                        {"XDG_CACHE_HOME=" + cache.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  std::string_view dir_field;
  ASSERT_EQ(doc["dir"].get(dir_field), simdjson::SUCCESS);
  EXPECT_EQ(dir_field, dir.path().string());
  simdjson::dom::array tests;
  ASSERT_EQ(doc["tests"].get(tests), simdjson::SUCCESS);
  const std::vector<std::pair<std::string, uint64_t>> expected = {
      {"seq_write", 8 << 20},  {"seq_read", 8 << 20},  {"spill_write", 8 << 20},
      {"spill_read", 8 << 20}, {"write_64K", 4 << 20}, {"read_64K", 4 << 20},
      {"write_1M", 4 << 20},   {"read_1M", 4 << 20}};
  ASSERT_EQ(tests.size(), expected.size());
  size_t i = 0;
  for (simdjson::dom::element t : tests) {
    std::string_view name;
    uint64_t bytes = 0;
    double mb = 0;
    double iops = 0;
    double p50 = 0;
    double max = 0;
    ASSERT_EQ(t["name"].get(name), simdjson::SUCCESS);
    ASSERT_EQ(t["bytes"].get(bytes), simdjson::SUCCESS);
    ASSERT_EQ(t["mb_per_second"].get(mb), simdjson::SUCCESS);
    ASSERT_EQ(t["iops"].get(iops), simdjson::SUCCESS);
    ASSERT_EQ(t["latency_us"]["p50"].get(p50), simdjson::SUCCESS);
    ASSERT_EQ(t["latency_us"]["max"].get(max), simdjson::SUCCESS);
    EXPECT_EQ(name, expected[i].first);
    EXPECT_EQ(bytes, expected[i].second) << name;
    EXPECT_GT(mb, 0) << name;
    EXPECT_GT(iops, 0) << name;
    EXPECT_GT(p50, 0) << name;
    EXPECT_LE(p50, max) << name;
    ++i;
  }
  double seq_read = 0;
  ASSERT_EQ(doc["summary"]["seq_read_bytes_per_second"].get(seq_read), simdjson::SUCCESS);
  EXPECT_GT(seq_read, 0);
  // Nothing left in the measured directory; the cache holds exactly what was printed.
  EXPECT_TRUE(ListDir(dir.path()).empty());
  const std::vector<std::string> cached = ListDir(cache.path() / "corpusflow");
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(cached[0].rfind("disk-", 0), 0u);
  EXPECT_EQ(ReadFile(cache.path() / "corpusflow" / cached[0]), r.out);
  EXPECT_NE(r.err.find("cached in " + (cache.path() / "corpusflow" / cached[0]).string()),
            std::string::npos)
      << r.err;
}

TEST(BenchCommandTest, TableShowsEveryTest) {
  ScopedTempDir dir;
  ScopedTempDir cache;
  const CommandResult r = RunCorpusflow(With(SmallRun(dir.path().string()), {"--no-cache"}), "",
                                        {"XDG_CACHE_HOME=" + cache.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* needle :
       {"bench disk: ", "MB/s", "IOPS", "p50 us", "p99 us", "sequential write + fdatasync",
        "sequential read", "spill write, 4 buckets", "spill read, 4 buckets, strided",
        "read, 64K blocks", "read, 1M blocks", "write + fdatasync, 64K blocks"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
  EXPECT_TRUE(ListDir(cache.path()).empty());
}

TEST(BenchCommandTest, TestGroupsCanBeSelected) {
  ScopedTempDir dir;
  ScopedTempDir cache;
  const CommandResult r =
      RunCorpusflow(With(SmallRun(dir.path().string()), {"--tests", "spill,sweep", "--json"}), "",
                    {"XDG_CACHE_HOME=" + cache.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.out).get(doc), simdjson::SUCCESS) << r.out;
  std::vector<std::string> names;
  for (simdjson::dom::element t : doc["tests"].get_array()) {
    names.emplace_back(std::string_view(t["name"]));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"spill_write", "spill_read", "write_64K", "read_64K",
                                             "write_1M", "read_1M"}));
  // Partial figures are not cached.
  EXPECT_NE(r.err.find("figures not cached: --tests lacks seq or spill"), std::string::npos)
      << r.err;
  EXPECT_TRUE(ListDir(cache.path()).empty());
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, BufferedRunSaysHowReadsAvoidTheCache) {
  ScopedTempDir dir;
  const CommandResult r =
      RunCorpusflow(With(SmallRun(dir.path().string()), {"--buffered", "--no-cache"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("buffered I/O"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note: --buffered: reads are measured after posix_fadvise(DONTNEED)"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, MissingDirectoryFails) {
  ScopedTempDir dir;
  const std::string missing = dir.File("missing");
  const CommandResult r = RunCorpusflow(With(SmallRun(missing), {"--no-cache"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "corpusflow: error: bench disk: directory " + missing + " does not exist\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(BenchCommandTest, RefusesWithoutTheFreeSpaceItNeeds) {
  ScopedTempDir dir;
  const CommandResult r = RunCorpusflow(
      {"bench", "disk", "--dir", dir.path().string(), "--size", "1000000T", "--no-cache"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("corpusflow: error: bench disk: " + dir.path().string() + " has "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("but the benchmark needs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("use a smaller --size or another --dir"), std::string::npos) << r.err;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, FullDiskDuringTheRunFailsAndCleansUp) {
  // `ulimit -f` makes writes past 2 MiB fail (EFBIG) the way a full disk fails (ENOSPC).
  ScopedTempDir dir;
  std::vector<std::string> argv = {"bash", "-c", "trap '' XFSZ; ulimit -f 2048; exec \"$0\" \"$@\"",
                                   CorpusflowBinary()};
  for (const std::string& a : With(SmallRun(dir.path().string()), {"--no-cache"})) {
    argv.push_back(a);
  }
  const CommandResult r = RunProgram(argv);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("corpusflow: error: bench disk: cannot write " + dir.path().string()),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, InterruptRemovesItsFilesAndExits130) {
  ScopedTempDir dir;
  ScopedTempDir logs;
  const std::string err_path = logs.File("stderr");
  const pid_t pid = StartCorpusflow({"bench", "disk", "--dir", dir.path().string(), "--size",
                                     "256M", "--block", "64K", "--progress", "never", "--no-cache"},
                                    -1, -1, err_path);
  ASSERT_GT(pid, 0);
  // Wait until the run folder exists, then press Ctrl-C.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ListDir(dir.path()).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(ListDir(dir.path()).empty());
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(ReadFile(err_path).find("interrupted"), std::string::npos) << ReadFile(err_path);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, UsageErrors) {
  ScopedTempDir dir;
  const std::string d = dir.path().string();
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"bench"}, "bench: name a benchmark"},
      {{"bench", "disks"}, "bench: unknown benchmark 'disks' (available: disk)"},
      {{"bench", "disk", "--dir", d, "--direct", "--buffered"}, "--direct or --buffered"},
      {{"bench", "disk", "--dir", d, "--block", "1000"}, "not a multiple of 4K"},
      {{"bench", "disk", "--dir", d, "--size", "1M", "--block", "4M"},
       "--size 1M is smaller than --block 4M"},
      {{"bench", "disk", "--dir", d, "--size", "x"}, "bench disk: --size: 'x' is not a size"},
      {{"bench", "disk", "--dir", d, "--size", "-1G"}, "bench disk: --size: '-1G' is not a size"},
      {{"bench", "disk", "--dir", d, "--sweep", "4K,,1M"}, "empty block size in --sweep"},
      {{"bench", "disk", "--dir", d, "--progress", "maybe"}, "invalid --progress 'maybe'"},
      {{"bench", "disk", "--dir", d, "--tests", "seq,disk"}, "unknown test group 'disk'"},
      {{"bench", "disk", "--dir", d, "--tests", "sweep", "--sweep", "none"}, "no test selected"},
      {{"bench", "disk", "--sise", "1G"}, "did you mean '--size'"},
      {{"bench", "disk", "--dir", d, "--buckets", "70000"},
       "bench disk: --buckets: '70000' is not a whole number from 1 to 65536"},
      {{"bench", "disk", "--dir", d, "--files", "-1"},
       "bench disk: --files: '-1' is not a whole number from 1 to 65536"},
  };
  for (const Case& c : cases) {
    const CommandResult r = RunCorpusflow(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(BenchCommandTest, HelpListsTheOptions) {
  const CommandResult r = RunCorpusflow({"bench", "disk", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* needle :
       {"usage: corpusflow bench disk", "--dir", "--size", "--block", "--buckets", "--files",
        "--direct", "--buffered", "--json", "--no-cache"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  }
  const CommandResult top = RunCorpusflow({"help"});
  EXPECT_NE(top.out.find("bench"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace corpusflow::testing
