// Tests of what a run shows on stderr: on a terminal (a pseudo-terminal here) the progress line
// redraws in place within the terminal's width and the run ends with one summary line of exact
// counts; the phases are named by the stages that run in them; a `head` run ends without a
// percentage or ETA. Without the display only drops are reported (tests/operators/io/).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;
using testing::SplitLines;
using testing::WriteFile;

/// Run corpusflow with stderr on a pseudo-terminal of `columns` columns; returns what the
/// terminal received (the terminal turns "\n" into "\r\n") and sets *status.
std::string RunOnTerminal(const std::vector<std::string>& args, unsigned short columns,
                          int* status) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  EXPECT_GE(master, 0);
  EXPECT_EQ(grantpt(master), 0);
  EXPECT_EQ(unlockpt(master), 0);
  const std::string slave_name = ptsname(master);
  winsize size{};
  size.ws_row = 24;
  size.ws_col = columns;
  EXPECT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
  std::vector<std::string> argv_strings = {testing::CorpusflowBinary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();
    const int slave = open(slave_name.c_str(), O_RDWR);
    const int null = open("/dev/null", O_RDWR);
    if (slave < 0 || null < 0) _exit(120);
    dup2(null, 0);
    dup2(null, 1);
    dup2(slave, 2);
    close(master);
    unsetenv("COLUMNS");
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child closed the terminal
    }
  }
  waitpid(pid, status, 0);
  close(master);
  return out;
}

/// The redraws of a terminal's output before its last line, and that last line.
struct TerminalOutput {
  std::vector<std::string> redraws;
  std::string last_line;
};

TerminalOutput SplitTerminal(const std::string& data) {
  TerminalOutput out;
  const std::string mark = "\r\033[K";
  size_t at = 0;
  for (;;) {
    const size_t found = data.find(mark, at);
    if (found == std::string::npos) {
      out.last_line = data.substr(at);
      break;
    }
    if (found > at) out.redraws.push_back(data.substr(at, found - at));
    at = found + mark.size();
  }
  return out;
}

// A `head` run on a 60-column terminal: every redraw fits 59 columns and holds no newline, and
// the run ends with one summary line of the exact counts (the old binary drew full-length
// lines, stacked on a narrow terminal, and ended with no summary at all).
TEST(RunProgressTest, TerminalRunRedrawsInPlaceAndEndsWithOneExactSummary) {
  ScopedTempDir dir;
  std::string input;
  for (int i = 0; i < 50000; ++i) input += "line number " + std::to_string(i) + "\n";
  WriteFile(dir.File("in.txt"), input);
  int status = 0;
  const std::string data =
      RunOnTerminal({"run",
                     "read " + dir.File("in.txt") +
                         " | head 1234 | filter --min-chars 16 | write " + dir.File("out.txt"),
                     "--memory", "2M"},
                    60, &status);
  ASSERT_TRUE(WIFEXITED(status)) << data;
  ASSERT_EQ(WEXITSTATUS(status), 0) << data;
  const TerminalOutput out = SplitTerminal(data);
  ASSERT_FALSE(out.redraws.empty()) << data;
  for (const std::string& line : out.redraws) {
    EXPECT_LE(line.size(), 59u) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.rfind("read > head > filter > write", 0), 0u) << line;
  }
  // Lines 0..999 are shorter than 16 characters ("line number 999").
  const uint64_t written = SplitLines(ReadFile(dir.File("out.txt"))).size();
  ASSERT_EQ(written, 234u);
  EXPECT_EQ(out.last_line.rfind("done: ", 0), 0u) << out.last_line;
  EXPECT_NE(out.last_line.find(" records in, 234 out, 1,000 dropped (filter: shorter than 16 "
                               "chars 1,000); wrote " +
                               dir.File("out.txt") + " ("),
            std::string::npos)
      << out.last_line;
  EXPECT_EQ(out.last_line.substr(out.last_line.size() - 2), "\r\n") << out.last_line;
  EXPECT_EQ(out.last_line.find('\n'), out.last_line.size() - 1) << out.last_line;
  // The head ended the input early: no line claims a percentage or an ETA after that, and the
  // summary claims none.
  EXPECT_EQ(out.last_line.find('%'), std::string::npos);
  EXPECT_EQ(out.last_line.find("ETA"), std::string::npos);
}

// `--progress always` into a file: whole lines named by the stages of each phase (the second
// phase of a shuffle was "shuffle: in memory" while the time went to the stages after it), and
// the summary with the exact records and the files written.
TEST(RunProgressTest, PhasesAreNamedByTheirStagesAndTheSummaryIsExact) {
  ScopedTempDir dir;
  std::string input;
  for (int i = 0; i < 20000; ++i) input += std::to_string(i % 5000) + " 7\n";
  WriteFile(dir.File("in.txt"), input);
  const CommandResult r = RunCorpusflow({"run",
                                         "read " + dir.File("in.txt") +
                                             " | shuffle --seed 3 | parse-ids --vocab-size 30000 | "
                                             "write-megatron " +
                                             dir.File("ds"),
                                         "--progress", "always"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_GE(lines.size(), 3u) << r.err;
  EXPECT_EQ(lines[0].rfind("[1/2] read > shuffle: ", 0), 0u) << r.err;
  bool second = false;
  for (const std::string& line : lines) {
    if (line.rfind("[2/2] shuffle > parse-ids > write-megatron", 0) == 0) second = true;
    EXPECT_EQ(line.rfind("shuffle:", 0), std::string::npos) << line;
  }
  EXPECT_TRUE(second) << r.err;
  const uint64_t bin = std::filesystem::file_size(dir.File("ds_text_ids_document.bin"));
  const uint64_t idx = std::filesystem::file_size(dir.File("ds_text_ids_document.idx"));
  EXPECT_EQ(bin, 80000u);
  EXPECT_EQ(lines.back().rfind("done: 20,000 records in, 20,000 out; wrote " +
                                   dir.File("ds_text_ids_document.bin") + " (78.1 KiB), " +
                                   dir.File("ds_text_ids_document.idx") + " (",
                               0),
            0u)
      << lines.back() << " idx " << idx;
}

// A tokenize run with drops: the summary names each drop with its operator and reason, and
// without the display only the drop lines are printed, as before.
TEST(RunProgressTest, TokenizeRunSummaryCountsDropsExactly) {
  ScopedTempDir dir;
  WriteFile(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n");
  std::string input;
  for (int i = 0; i < 3000; ++i) input += (i % 3 == 0 ? "hi\n" : "hello world\n");
  WriteFile(dir.File("in.txt"), input);
  const std::string pipeline = "read " + dir.File("in.txt") +
                               " | filter --min-chars 3 | tokenize --kind wordpiece --vocab " +
                               dir.File("vocab.txt") + " | write-megatron " + dir.File("ds");
  const CommandResult r = RunCorpusflow({"run", pipeline, "--progress", "always"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = SplitLines(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("done: 3,000 records in, 2,000 out, 1,000 dropped (filter: "
                               "shorter than 3 chars 1,000); wrote " +
                                   dir.File("ds_text_ids_document.bin") + " (",
                               0),
            0u)
      << r.err;
  const CommandResult quiet = RunCorpusflow({"run", pipeline, "--progress", "never"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "filter: dropped 1000 records (shorter than 3 chars: 1000)\n");
}

}  // namespace
}  // namespace corpusflow
