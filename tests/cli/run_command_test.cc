// Integration tests of the command line: the real binary, its exit codes and messages.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

TEST(RunCommandTest, NoArgumentsIsAUsageError) {
  const CommandResult r = RunCorpusflow({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: corpusflow COMMAND"), std::string::npos);
}

TEST(RunCommandTest, UnknownCommandSuggestsNearest) {
  const CommandResult r = RunCorpusflow({"rnu"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'run'"), std::string::npos) << r.err;
}

TEST(RunCommandTest, UnknownOperatorSuggestsNearest) {
  const CommandResult r = RunCorpusflow({"run", "heda 3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown operator 'heda' (did you mean 'head'?)"), std::string::npos)
      << r.err;
}

TEST(RunCommandTest, UnknownOptionSuggestsNearest) {
  const CommandResult r = RunCorpusflow({"run", "--thread", "2", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean '--threads'"), std::string::npos) << r.err;
}

TEST(RunCommandTest, BadValuesAreUsageErrors) {
  EXPECT_EQ(RunCorpusflow({"run", "--memory", "12Q", "head 1"}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"run", "--progress", "sometimes", "head 1"}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"run", "--tmp-dir", "/nonexistent/dir", "head 1"}).exit_code, 2);
  const CommandResult r = RunCorpusflow({"run", "head x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("head: "), std::string::npos) << r.err;
}

TEST(RunCommandTest, PipelineMustStartWithSourceAndEndWithSink) {
  const CommandResult r = RunCorpusflow({"run", "head 1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("starts with a source"), std::string::npos) << r.err;
}

TEST(RunCommandTest, OpsListsOperatorsWithRoles) {
  const CommandResult r = RunCorpusflow({"ops"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("head"), std::string::npos);
  EXPECT_NE(r.out.find("transform"), std::string::npos);
}

TEST(RunCommandTest, HelpShowsOperatorUsage) {
  const CommandResult r = RunCorpusflow({"help", "head"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: head N"), std::string::npos) << r.out;
  EXPECT_EQ(RunCorpusflow({"help", "nosuchop"}).exit_code, 2);
}

TEST(RunCommandTest, RunNeedsExactlyOnePipeline) {
  EXPECT_EQ(RunCorpusflow({"run"}).exit_code, 2);
  ScopedTempDir dir;
  WriteFile(dir.File("p.cf"), "head 1\n");
  EXPECT_EQ(RunCorpusflow({"run", "-f", dir.File("p.cf"), "head 2"}).exit_code, 2);
  EXPECT_EQ(RunCorpusflow({"run", "-f", dir.File("missing.cf")}).exit_code, 2);
}

/// Start `corpusflow args...` with stdout/stderr to /dev/null, send `sig` once `ready` holds (or
/// after 20 s), and return the exit code.
int RunAndSignal(const std::vector<std::string>& args, int sig,
                 const std::function<bool()>& ready) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> argv_strings{CorpusflowBinary()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class InterruptTest : public ::testing::TestWithParam<int> {};

TEST_P(InterruptTest, SignalMidRunExits130AndLeavesNothing) {
  ScopedTempDir dir;
  const std::string out = dir.File("out.txt");
  const std::string tmp = dir.File("tmp");
  std::filesystem::create_directory(tmp);
  // A run too long to finish in the test: stopped once its spill files have data.
  const int code =
      RunAndSignal({"run", "gen --bytes 4G --seed 1 | shuffle --seed 2 | write " + out, "--memory",
                    "32M", "--tmp-dir", tmp, "--progress", "never"},
                   GetParam(), [&] {
                     std::error_code ec;
                     for (const auto& e : std::filesystem::recursive_directory_iterator(tmp, ec)) {
                       if (e.is_regular_file() && e.file_size() > 0) return true;
                     }
                     return false;
                   });
  EXPECT_EQ(code, 130);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"tmp"}));
  EXPECT_TRUE(ListDir(tmp).empty()) << "temp files left behind";
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGINT, SIGTERM));

TEST(RunCommandTest, InterruptWhileWritingLeavesNoPartialOutput) {
  ScopedTempDir dir;
  const std::string out = dir.File("out.txt");
  const int code =
      RunAndSignal({"run", "gen --bytes 100G | write " + out, "--progress", "never"}, SIGINT, [&] {
        // The output's temp file (`.out.txt.tmp-XXXXXX`) holds more than 1 MiB.
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir.path(), ec)) {
          if (e.is_regular_file() && e.file_size() > (1u << 20)) return true;
        }
        return false;
      });
  EXPECT_EQ(code, 130);
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(RunCommandTest, StatsJsonIsWrittenAndCountsRecords) {
  ScopedTempDir dir;
  const CommandResult r =
      RunCorpusflow({"run", "gen --bytes 200K --seed 4 | head 7 | write " + dir.File("o.txt"),
                     "--stats-json", dir.File("stats.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string stats = ReadFile(dir.path() / "stats.json");
  EXPECT_NE(stats.find("\"status\": \"ok\""), std::string::npos) << stats;
  EXPECT_NE(stats.find("{\"name\": \"head\""), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"records_out\": 7,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"peak_rss_bytes\": "), std::string::npos) << stats;
}

TEST(RunCommandTest, DryRunPrintsPipelinesAndSchemasWithoutIo) {
  ScopedTempDir dir;
  const std::string out = dir.File("o.txt");
  const CommandResult r =
      RunCorpusflow({"run", "--dry-run", "gen --bytes 1M | shuffle --seed 1 | write " + out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pipeline 1 of 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pipeline 2 of 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("text:string"), std::string::npos) << r.out;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(RunCommandTest, PipelineFileWithComments) {
  ScopedTempDir dir;
  WriteFile(dir.File("p.cf"), "# demo\ngen --bytes 100K --seed 9   # source\nhead 3\nwrite " +
                                  dir.File("o.txt") + "\n");
  const CommandResult r = RunCorpusflow({"run", "-f", dir.File("p.cf")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = ReadFile(dir.path() / "o.txt");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
}

TEST(RunCommandTest, ShuffleStatsReportAchievedTimeAndBounds) {
  ScopedTempDir dir;
  const CommandResult r = RunCorpusflow(
      {"run", "gen --bytes 4M --seed 2 | shuffle --seed 1 | write " + dir.File("o.txt"), "--memory",
       "2M", "--tmp-dir", dir.path().string(), "--stats-json", dir.File("s.json")},
      "", {"XDG_CACHE_HOME=" + dir.File("cache")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string stats = ReadFile(dir.path() / "s.json");
  EXPECT_NE(stats.find("\"mode\": \"external\""), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"bound_achieved_seconds\": "), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"bound_cpu_seconds\": "), std::string::npos) << stats;
  // The temp folder was never measured: the I/O bound is unknown and the verdict says how to
  // measure it.
  EXPECT_NE(stats.find("\"bound_io_seconds\": null"), std::string::npos) << stats;
  EXPECT_NE(stats.find("corpusflow bench disk"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"bound_verdict\": "), std::string::npos) << stats;
}

TEST(RunCommandTest, WritingToADeviceKeepsTheDevice) {
  // Outputs go through a temp file + rename, except devices and FIFOs: /dev/null must stay a
  // device.
  const CommandResult r = RunCorpusflow({"run", "gen --bytes 10K | write /dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  EXPECT_FALSE(std::filesystem::exists("/dev/null.tmp"));
}

TEST(RunCommandTest, SchemaMismatchIsAPlanTimeUsageError) {
  ScopedTempDir dir;
  const CommandResult r =
      RunCorpusflow({"run", "gen --bytes 1K | write " + dir.File("o.txt") + " --field tgt"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'tgt'"), std::string::npos) << r.err;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(RunCommandTest, ReplacingAFieldIsAPlanTimeErrorUnlessAskedFor) {
  ScopedTempDir dir;
  const std::string in = dir.File("in.jsonl");
  WriteFile(in, "{\"text\":\"One. Two.\",\"src\":\"mine\"}\n");
  const std::string expected =
      "corpusflow: pseudo-summary would overwrite field 'src', which read produces (pass "
      "--overwrite to replace it, or --src NAME to keep both)\n";
  for (const std::string& dry : {std::string("--dry-run"), std::string("--progress=never")}) {
    const CommandResult r = RunCorpusflow(
        {"run", "read " + in + " --field text,src | pseudo-summary | write " + dir.File("o.jsonl"),
         dry});
    EXPECT_EQ(r.exit_code, 2) << dry;
    EXPECT_EQ(r.err, expected) << dry;
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.jsonl"});
  // A later stage names where the field came from.
  CommandResult r = RunCorpusflow(
      {"run", "read " + in + " | sentences | sentences --field text | write -", "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "corpusflow: sentences#2 would overwrite field 'sentences', which sentences#1 "
            "produces (pass --overwrite to replace it, or --output NAME to keep both)\n");
  // Asked for: --overwrite replaces it, another name keeps both.
  r = RunCorpusflow({"run",
                     "read " + in +
                         " --field text,src | sentences --output src --overwrite | write - "
                         "--format jsonl",
                     "--progress", "never"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"One. Two.\",\"src\":[\"One. \",\"Two.\"]}\n");
  r = RunCorpusflow(
      {"run",
       "read " + in + " --field text,src | sentences --output split | write - --format jsonl",
       "--progress", "never"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"One. Two.\",\"src\":\"mine\",\"split\":[\"One. \",\"Two.\"]}\n");
}

TEST(RunCommandTest, MissingFieldNamesTheOperatorThatAddsIt) {
  const CommandResult r = RunCorpusflow(
      {"run", "gen --docs 2 | filter --field tgt --drop-empty | write -", "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "corpusflow: filter needs field 'tgt' (string) but upstream only produces "
            "text:string; 'tgt' comes from gsg or pseudo-summary\n");
}

}  // namespace
}  // namespace corpusflow::testing
