// End-to-end tests of clean-up after every death but SIGKILL, through the real binary: SIGHUP
// exits 130 like SIGINT; a reader that closes stdout early (`corpusflow shuffle big | head -1`)
// ends the run quietly with status 141; either way the run's temp folder and uncommitted outputs
// are gone. The folder a SIGKILLed run leaves behind is removed by the next run that creates its
// own, and a live run's folder never is.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::JoinLines;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::SplitLines;
using testing::StartCorpusflow;
using testing::WriteFile;

/// `n` distinct lines of `width` bytes or so.
std::vector<std::string> Lines(size_t n, size_t width) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    lines.push_back(std::to_string(i) + " " + std::string(width, static_cast<char>('a' + i % 26)));
  }
  return lines;
}

/// About 54 MB: with --memory 4M a shuffle of it spills and runs for a while.
std::string BigInput() { return JoinLines(Lines(60000, 900)); }

std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

/// Reap `pid`: "exit N" or "killed by signal N".
std::string Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid failed";
  }
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "killed by signal " + std::to_string(WTERMSIG(status));
}

/// Wait (up to 30 s) until the run folder of process `pid` in `tmp` holds a non-empty file;
/// returns the folder's name, or "" on timeout.
std::string WaitForSpill(const fs::path& tmp, pid_t pid) {
  const std::string prefix = "corpusflow-" + std::to_string(pid) + "-";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const std::string& name : ListDir(tmp)) {
      if (name.rfind(prefix, 0) != 0) continue;
      std::error_code ec;
      for (const auto& e : fs::recursive_directory_iterator(tmp / name, ec)) {
        if (e.is_regular_file(ec) && e.file_size(ec) > 0) return name;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "";
}

/// A pipe whose ends are not inherited by the programs started (dup2 into 0 or 1 clears that).
struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  void CloseRead() {
    if (fds[0] >= 0) close(fds[0]);
    fds[0] = -1;
  }
  void CloseWrite() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

/// Write all of `data` to `fd`.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

/// Leave in `tmp` the run folder of a shuffle SIGKILLed mid-spill; returns its name.
std::string LeaveFolderOfKilledRun(const ScopedTempDir& work, const fs::path& tmp) {
  WriteFile(work.File("killed.txt"), BigInput());
  const pid_t pid = StartCorpusflow({"shuffle", work.File("killed.txt"), "--memory", "4M",
                                     "--tmp-dir", tmp.string(), "--progress", "never"},
                                    -1, -1, work.File("killed.err"));
  EXPECT_GT(pid, 0);
  const std::string folder = WaitForSpill(tmp, pid);
  kill(pid, SIGKILL);
  EXPECT_EQ(Wait(pid), "killed by signal 9");
  fs::remove(work.File("killed.txt"));
  fs::remove(work.File("killed.err"));
  return folder;
}

TEST(CleanupTest, SighupMidShuffleExits130AndLeavesNothing) {
  ScopedTempDir dir;
  ScopedTempDir logs;
  ScopedTempDir tmp;
  WriteFile(dir.File("in.txt"), BigInput());
  const pid_t pid =
      StartCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt"), "--memory", "4M",
                       "--tmp-dir", tmp.path().string(), "--progress", "never"},
                      -1, -1, logs.File("err"));
  ASSERT_GT(pid, 0);
  EXPECT_NE(WaitForSpill(tmp.path(), pid), "");
  kill(pid, SIGHUP);
  EXPECT_EQ(Wait(pid), "exit 130");
  EXPECT_EQ(ReadFile(logs.File("err")),
            "corpusflow: interrupted; temp files and partial outputs removed\n");
  EXPECT_TRUE(ListDir(tmp.path()).empty()) << "temp folder left behind";
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"}) << "partial output left";
}

TEST(CleanupTest, ReaderClosingStdoutEndsRunQuietlyWith141AndLeavesNothing) {
  ScopedTempDir dir;
  ScopedTempDir logs;
  ScopedTempDir tmp;
  WriteFile(dir.File("in.txt"), BigInput());
  Pipe out;
  // The tee copy is committed only when the whole run succeeds; the shuffle's spill folder is
  // in use while it writes stdout.
  const pid_t pid =
      StartCorpusflow({"run",
                       "read " + dir.File("in.txt") + " | tee " + dir.File("copy.txt") +
                           " | shuffle --seed 1 | write -",
                       "--memory", "4M", "--tmp-dir", tmp.path().string(), "--progress", "never"},
                      -1, out.fds[1], logs.File("err"));
  ASSERT_GT(pid, 0);
  out.CloseWrite();
  // Read the first line, then go away like `head -1`.
  std::string got;
  char buf[4096];
  while (got.find('\n') == std::string::npos) {
    const ssize_t n = read(out.fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "no output";
    got.append(buf, static_cast<size_t>(n));
  }
  out.CloseRead();
  EXPECT_EQ(Wait(pid), "exit 141");
  EXPECT_EQ(ReadFile(logs.File("err")), "") << "a broken pipe is not an error";
  EXPECT_TRUE(ListDir(tmp.path()).empty()) << "temp folder left behind";
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"}) << "tee output left";
}

TEST(CleanupTest, ShuffleIntoHeadGives141UnderPipefailAndLeavesNoTempFolder) {
  ScopedTempDir dir;
  ScopedTempDir tmp;
  WriteFile(dir.File("in.txt"), BigInput());
  const std::string script =
      "set -o pipefail; \"$0\" shuffle \"$1\" --memory 4M --tmp-dir \"$2\" "
      "--seed 5 | head -n 1 > \"$3\"";
  const CommandResult r =
      RunProgram({"bash", "-c", script, testing::CorpusflowBinary(), dir.File("in.txt"),
                  tmp.path().string(), dir.File("head.txt")});
  EXPECT_EQ(r.exit_code, 141);
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> head = SplitLines(ReadFile(dir.File("head.txt")));
  ASSERT_EQ(head.size(), 1u);
  const std::vector<std::string> lines = Lines(60000, 900);
  EXPECT_NE(std::find(lines.begin(), lines.end(), head[0]), lines.end());
  EXPECT_TRUE(ListDir(tmp.path()).empty()) << "temp folder left behind";
}

TEST(CleanupTest, NextRunRemovesTheFolderOfASigkilledRun) {
  ScopedTempDir dir;
  ScopedTempDir tmp;
  const std::string stale = LeaveFolderOfKilledRun(dir, tmp.path());
  ASSERT_NE(stale, "");
  ASSERT_EQ(ListDir(tmp.path()), std::vector<std::string>{stale});

  const std::vector<std::string> lines = Lines(20000, 100);
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const CommandResult r =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt"), "--memory", "1M",
                     "--tmp-dir", tmp.path().string(), "--seed", "2", "--progress", "never"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("corpusflow: removed 1 stale temp folder of killed runs from " +
                            tmp.path().string() + " (",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(ListDir(tmp.path()).empty());
  EXPECT_EQ(Sorted(SplitLines(ReadFile(dir.File("out.txt")))), Sorted(lines));
}

// SIGKILL between the two renames of paired outputs used to leave output A new and B old for
// good. The renames are journaled in the run folder first: the killed run's journal names them,
// and the next run that sweeps the folder finishes the commit, so both are new.
TEST(CleanupTest, SigkillBetweenPairedRenamesIsFinishedByTheNextRun) {
  ScopedTempDir dir;
  ScopedTempDir tmp;
  std::vector<std::string> src, tgt;
  for (int i = 0; i < 3000; ++i) {
    src.push_back("source " + std::to_string(i));
    tgt.push_back("target " + std::to_string(i));
  }
  WriteFile(dir.File("src.txt"), JoinLines(src));
  WriteFile(dir.File("tgt.txt"), JoinLines(tgt));
  auto paired = [&](const std::string& a, const std::string& b) {
    return std::vector<std::string>{"shuffle",
                                    "--paired",
                                    dir.File("src.txt"),
                                    dir.File("tgt.txt"),
                                    "-o",
                                    dir.File(a),
                                    "-o",
                                    dir.File(b),
                                    "--seed",
                                    "3",
                                    "--tmp-dir",
                                    tmp.path().string(),
                                    "--progress",
                                    "never"};
  };
  ASSERT_EQ(RunCorpusflow(paired("ref-s.txt", "ref-t.txt")).exit_code, 0);
  WriteFile(dir.File("s.txt"), "old s\n");
  WriteFile(dir.File("t.txt"), "old t\n");

  // Paused before its second rename, then killed.
  std::string command = "\"$0\"";
  const std::vector<std::string> args = paired("s.txt", "t.txt");
  for (size_t i = 0; i < args.size(); ++i) command += " \"${" + std::to_string(i + 2) + "}\"";
  const std::string script = command +
                             " 2>\"$1\" & pid=$!\n"
                             "until grep -q 'test pause' \"$1\"; do\n"
                             "  if ! kill -0 $pid 2>/dev/null; then echo ended; exit 0; fi\n"
                             "  sleep 0.02\n"
                             "done\n"
                             "kill -9 $pid; wait $pid; echo killed\n";
  std::vector<std::string> argv = {"bash", "-c", script, testing::CorpusflowBinary(),
                                   dir.File("err.txt")};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult killed = RunProgram(argv, "", {"CORPUSFLOW_TEST_PAUSE_COMMIT=2"});
  ASSERT_EQ(killed.out, "killed\n") << ReadFile(dir.File("err.txt"));
  EXPECT_EQ(ReadFile(dir.File("s.txt")), ReadFile(dir.File("ref-s.txt")));
  EXPECT_EQ(ReadFile(dir.File("t.txt")), "old t\n");
  const std::vector<std::string> folders = ListDir(tmp.path());
  ASSERT_EQ(folders.size(), 1u);
  EXPECT_TRUE(fs::exists(tmp.path() / folders[0] / "commit.journal"));

  // Any next run with the same temp folder finishes the commit.
  WriteFile(dir.File("other.txt"), "x\ny\n");
  const CommandResult next =
      RunCorpusflow({"run", "--tmp-dir", tmp.path().string(), "--progress", "never",
                     "read " + dir.File("other.txt") + " | write " + dir.File("other.out")});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.err.find("corpusflow: finished the commit of a killed run: " + dir.File("t.txt")),
            std::string::npos)
      << next.err;
  EXPECT_EQ(ReadFile(dir.File("t.txt")), ReadFile(dir.File("ref-t.txt")));
  EXPECT_EQ(ReadFile(dir.File("s.txt")), ReadFile(dir.File("ref-s.txt")));
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{"err.txt", "other.out", "other.txt", "ref-s.txt", "ref-t.txt",
                                      "s.txt", "src.txt", "t.txt", "tgt.txt"}));
  EXPECT_TRUE(ListDir(tmp.path()).empty());
}

TEST(CleanupTest, ConcurrentRunSweepsDeadFoldersButKeepsALiveRunsFolder) {
  ScopedTempDir dir;
  ScopedTempDir logs;
  ScopedTempDir tmp;
  // Run A reads stdin and spills; it stays alive while the test holds its stdin open.
  const std::vector<std::string> a_lines = Lines(40000, 500);
  const std::string a_input = JoinLines(a_lines);
  Pipe in;
  const pid_t a =
      StartCorpusflow({"shuffle", "-o", dir.File("a.txt"), "--memory", "4M", "--tmp-dir",
                       tmp.path().string(), "--seed", "3", "--progress", "never"},
                      in.fds[0], -1, logs.File("a.err"));
  ASSERT_GT(a, 0);
  in.CloseRead();
  const size_t half = a_input.size() / 2;
  ASSERT_TRUE(WriteAll(in.fds[1], a_input.substr(0, half)));
  const std::string live = WaitForSpill(tmp.path(), a);
  ASSERT_NE(live, "");
  const std::vector<std::string> live_files = ListDir(tmp.path() / live);
  // A dead run's folder appears after A made its own (A would have swept it).
  const std::string stale = LeaveFolderOfKilledRun(dir, tmp.path());
  ASSERT_NE(stale, "");
  ASSERT_EQ(ListDir(tmp.path()).size(), 2u);

  // Run B creates its own folder beside them.
  const std::vector<std::string> b_lines = Lines(20000, 100);
  WriteFile(dir.File("b-in.txt"), JoinLines(b_lines));
  const CommandResult b =
      RunCorpusflow({"shuffle", dir.File("b-in.txt"), "-o", dir.File("b.txt"), "--memory", "1M",
                     "--tmp-dir", tmp.path().string(), "--progress", "never"});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("removed 1 stale temp folder"), std::string::npos) << b.err;
  EXPECT_EQ(ListDir(tmp.path()), std::vector<std::string>{live});
  const std::vector<std::string> now = ListDir(tmp.path() / live);
  for (const std::string& name : live_files) {
    EXPECT_NE(std::find(now.begin(), now.end(), name), now.end()) << "B removed A's " << name;
  }
  EXPECT_EQ(Sorted(SplitLines(ReadFile(dir.File("b.txt")))), Sorted(b_lines));

  // A finishes undisturbed.
  ASSERT_TRUE(WriteAll(in.fds[1], a_input.substr(half)));
  in.CloseWrite();
  EXPECT_EQ(Wait(a), "exit 0") << ReadFile(logs.File("a.err"));
  EXPECT_EQ(ReadFile(logs.File("a.err")), "");
  EXPECT_EQ(Sorted(SplitLines(ReadFile(dir.File("a.txt")))), Sorted(a_lines));
  EXPECT_TRUE(ListDir(tmp.path()).empty());
}

}  // namespace
}  // namespace corpusflow
