// Integration tests of the command line: the real binary, its exit codes and messages.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

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

// `help COMMAND` prints the whole help of the command, the very text `COMMAND --help` prints
// (options with their defaults), not just its usage line.
TEST(RunCommandTest, HelpOfACommandIsItsWholeHelp) {
  for (const std::string command : {"run", "inspect", "merge", "bench", "ops", "version", "help"}) {
    SCOPED_TRACE(command);
    const CommandResult help = RunCorpusflow({"help", command});
    const CommandResult own = RunCorpusflow({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << help.err;
    EXPECT_EQ(own.exit_code, 0) << own.err;
    EXPECT_EQ(help.out, own.out);
    EXPECT_EQ(help.err, "");
  }
  const CommandResult run = RunCorpusflow({"help", "run"});
  EXPECT_TRUE(run.out.starts_with("usage: corpusflow run 'STAGE | STAGE | ...'")) << run.out;
  EXPECT_NE(run.out.find("corpusflow run 'read docs.jsonl.zst --field text | filter --min-chars "
                         "20 | write out.txt.zst'"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("--progress arg (=auto)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("--dry-run"), std::string::npos) << run.out;
  const CommandResult inspect = RunCorpusflow({"help", "inspect"});
  EXPECT_NE(inspect.out.find("inspect options:"), std::string::npos) << inspect.out;
  EXPECT_EQ(RunCorpusflow({"help", "version"}).out,
            "usage: corpusflow version\n\nPrint the version\n");
}

// `head` without its count names the positional form instead of a hidden --count.
TEST(RunCommandTest, HeadWithoutACountIsAUsageErrorNamingTheForm) {
  const CommandResult r = RunCorpusflow({"run", "gen --bytes 1K | head | write -"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "corpusflow: head: give the number of records, e.g. 'head 100' (or --count N)\n");
  const CommandResult counted =
      RunCorpusflow({"run", "--progress", "never", "gen --bytes 4K | head --count 2 | write -"});
  EXPECT_EQ(counted.exit_code, 0) << counted.err;
  EXPECT_EQ(SplitLines(counted.out).size(), 2u);
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

/// Whether process `pid` waits for the other end of the FIFO `path`: it holds the FIFO open (a
/// reader polling for a writer), one of its threads sleeps in open(2) for it (the kernel's
/// wait_for_partner), or one polls (a writer retrying while the FIFO has no reader; nothing
/// else in corpusflow calls poll).
bool WaitsOnFifo(pid_t pid, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  const fs::path target = fs::canonical(path, ec);
  std::vector<std::string> poll_calls = {std::to_string(SYS_ppoll) + " "};
#ifdef SYS_poll
  poll_calls.push_back(std::to_string(SYS_poll) + " ");
#endif
  try {
    for (const auto& entry : fs::directory_iterator(proc / "fd", ec)) {
      if (fs::read_symlink(entry.path(), ec) == target) return true;
    }
    for (const auto& task : fs::directory_iterator(proc / "task", ec)) {
      std::ifstream wchan(task.path() / "wchan");
      std::string name;
      if (std::getline(wchan, name) && name == "wait_for_partner") return true;
      std::ifstream syscall(task.path() / "syscall");
      std::string call;
      std::getline(syscall, call);
      for (const std::string& poll : poll_calls) {
        if (call.rfind(poll, 0) == 0) return true;
      }
    }
  } catch (const fs::filesystem_error&) {
    // The process or one of its descriptors went away while we looked.
  }
  return false;
}

/// Start `corpusflow args...` in the background with stderr into `err_path`, send `sig` once it
/// waits on the FIFO `fifo` (or after 20 s), and return "exit N" or "killed by signal N".
std::string SignalWhileWaitingOnFifo(const std::vector<std::string>& args, const std::string& fifo,
                                     int sig, const std::string& err_path) {
  const pid_t pid = StartCorpusflow(args, -1, -1, err_path);
  if (pid < 0) return "not started";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!WaitsOnFifo(pid, fifo) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, sig);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid failed";
  }
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "killed by signal " + std::to_string(WTERMSIG(status));
}

constexpr const char* kInterrupted =
    "corpusflow: interrupted; temp files and partial outputs removed\n";

// A tokenizer's facts are read while the plan is built, before the old binary installed its
// signal handlers: a SIGTERM then killed it (status 143) instead of ending the run with 130.
// Here the vocabulary is a FIFO nobody writes, so the run waits on it while planning.
TEST(RunCommandTest, SignalWhilePlanningExits130) {
  ScopedTempDir dir;
  ScopedTempDir logs;
  WriteFile(dir.File("in.txt"), "hello\n");
  const std::string vocab = dir.File("vocab.fifo");
  ASSERT_EQ(mkfifo(vocab.c_str(), 0600), 0);
  EXPECT_EQ(SignalWhileWaitingOnFifo(
                {"run",
                 "read " + dir.File("in.txt") + " | tokenize --kind wordpiece --vocab " + vocab +
                     " | write " + dir.File("out.jsonl"),
                 "--progress", "never"},
                vocab, SIGTERM, logs.File("err")),
            "exit 130");
  EXPECT_EQ(ReadFile(logs.File("err")), kInterrupted);
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"in.txt", "vocab.fifo"}));
}

// Opening a FIFO blocks until its other end opens; a signal then made the open fail with
// "Interrupted system call" (exit 1). An input FIFO with no writer and an output FIFO with no
// reader both end with 130 and leave nothing.
TEST(RunCommandTest, SignalWhileOpeningAFifoExits130) {
  for (const bool input : {true, false}) {
    SCOPED_TRACE(input ? "input FIFO" : "output FIFO");
    ScopedTempDir dir;
    ScopedTempDir logs;
    const std::string fifo = dir.File("pipe");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const std::string pipeline = input ? "read " + fifo + " | write " + dir.File("out.txt")
                                       : "gen --bytes 1K | write " + fifo;
    EXPECT_EQ(SignalWhileWaitingOnFifo(
                  {"run", pipeline, "--progress", "never", "--tmp-dir", logs.path().string()}, fifo,
                  SIGINT, logs.File("err")),
              "exit 130");
    EXPECT_EQ(ReadFile(logs.File("err")), kInterrupted);
    EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"pipe"});
    EXPECT_EQ(ListDir(logs.path()), std::vector<std::string>{"err"}) << "temp folder left behind";
  }
}

// Boost read "-1" into an unsigned option as 2^64-1: `shuffle --shards -1` created millions of
// files, `write-megatron --shards 10000000` spun in its plan-time checks even with --dry-run,
// `tokenize --max-len -5` meant no truncation, `--buckets -1` and `--memory ''` were accepted.
// Each is now a usage error of the one option parser, before anything is planned or written.
TEST(RunCommandTest, NegativeOrAbsurdCountsAndEmptySizesAreUsageErrors) {
  ScopedTempDir dir;
  const std::string a = dir.File("a.txt"), o = dir.File("o");
  WriteFile(a, "x\n");
  const std::string read = "read " + a + " | ";
  const std::string shards = "' is not a whole number from 1 to 100000";
  const std::string size =
      "' is not a size of at least 1.00 MiB (a number with an optional K, M, G or T suffix, "
      "e.g. 256M)";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"shuffle", a, "-o", o, "--shards", "-1"}, "shuffle: --shards: '-1" + shards},
      {{"shuffle", a, "-o", o, "--shards", "10000000"}, "shuffle: --shards: '10000000" + shards},
      {{"run", read + "parse-ids | write-megatron " + o + " --shards 10000000"},
       "write-megatron: --shards: '10000000" + shards},
      {{"run", read + "parse-ids | write-megatron " + o + " --shards -1"},
       "write-megatron: --shards: '-1" + shards},
      {{"run", read + "write " + o + " --shards -1"},
       "write: --shards: '-1' is not a whole number from 0 to 100000"},
      {{"run", read + "tokenize --kind wordpiece --vocab " + a + " --max-len -5 | write " + o},
       "tokenize: --max-len: '-5' is not a whole number from 0 to 2147483647"},
      {{"run", read + "shuffle --buckets -1 | write " + o},
       "shuffle: --buckets: '-1' is not a whole number from 0 to 65536"},
      {{"run", read + "shuffle --memory '' | write " + o}, "shuffle: --memory: '" + size},
      {{"run", "--memory", "", read + "write " + o}, "run: --memory: '" + size},
      {{"shuffle", a, "-o", o, "--memory", ""}, "shuffle: --memory: '" + size},
      {{"run", read + "write " + o, "--threads", "-2"},
       "run: --threads: '-2' is not a whole number from 0 to 4096"},
  };
  for (auto [args, message] : cases) {
    args.push_back("--dry-run");
    const CommandResult r = RunCorpusflow(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_EQ(r.err, "corpusflow: " + message + "\n");
  }
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"a.txt"});
}

// Shards a sink keeps open at once must fit `ulimit -n` (less 64 for the run's other files):
// checked at plan time, with the numbers, instead of failing mid-run with EMFILE.
TEST(RunCommandTest, ShardsBeyondTheOpenFileLimitAreRefusedAtPlanTime) {
  ScopedTempDir dir;
  const std::string a = dir.File("a.txt"), o = dir.File("o");
  WriteFile(a, "1 2\n");
  auto with_limit = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/bin/sh", "-c", "ulimit -n 100 && exec \"$@\"", "sh",
                                     CorpusflowBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv);
  };
  const std::string advice =
      ") allows less 64 for the run's other files; raise the limit "
      "(ulimit -n) or use fewer shards";
  // write-megatron: a .bin, an .idx and a scratch file per shard and field.
  const CommandResult megatron = with_limit(
      {"run", "read " + a + " | parse-ids | write-megatron " + o + " --shards 20", "--dry-run"});
  EXPECT_EQ(megatron.exit_code, 2);
  EXPECT_EQ(megatron.err,
            "corpusflow: write-megatron: --shards 20 keeps 60 files open at once, more than "
            "`ulimit -n` (100" +
                advice + "\n");
  EXPECT_EQ(with_limit({"run", "read " + a + " | parse-ids | write-megatron " + o + " --shards 12",
                        "--dry-run"})
                .exit_code,
            0);
  // The shuffle command: round-robin keeps every shard open, contiguous one at a time.
  const CommandResult shuffle = with_limit(
      {"shuffle", a, "-o", o, "--shards", "40", "--shard-policy", "round-robin", "--dry-run"});
  EXPECT_EQ(shuffle.exit_code, 2);
  EXPECT_EQ(shuffle.err,
            "corpusflow: shuffle: --shards 40 keeps 40 files open at once, more than `ulimit -n` "
            "(100" +
                advice + "\n");
  EXPECT_EQ(with_limit({"shuffle", a, "-o", o, "--shards", "40", "--dry-run"}).exit_code, 0);
  const CommandResult write =
      with_limit({"run", "read " + a + " | write " + o + ".txt --shards 40", "--dry-run"});
  EXPECT_EQ(write.exit_code, 2);
  EXPECT_EQ(write.err,
            "corpusflow: write: --shards 40 keeps 40 files open at once, more than `ulimit -n` "
            "(100" +
                advice + " or --shard-size\n");
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"a.txt"});
}

// `corpusflow shuffle -- -name` passed "-name" on to read as an option.
TEST(RunCommandTest, DoubleDashMakesADashNameAnInput) {
  ScopedTempDir dir;
  WriteFile(dir.File("-name"), "b\na\n");
  const std::string cd = "cd \"$1\" && shift && exec \"$@\"";
  const CommandResult shuffle =
      RunProgram({"/bin/sh", "-c", cd, "sh", dir.path().string(), CorpusflowBinary(), "shuffle",
                  "--seed", "1", "--", "-name"});
  EXPECT_EQ(shuffle.exit_code, 0) << shuffle.err;
  EXPECT_EQ(SplitLines(shuffle.out).size(), 2u) << shuffle.out;
  const CommandResult run = RunProgram({"/bin/sh", "-c", cd, "sh", dir.path().string(),
                                        CorpusflowBinary(), "run", "read -- -name | write -"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "b\na\n");
}

}  // namespace
}  // namespace corpusflow::testing
