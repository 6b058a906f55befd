// Tests of the progress line: fitted to a width by dropping the least important fields, redrawn
// in place on a terminal (no newline, no stacked copies), labelled elapsed times with a total for
// the whole run, and no percentage or ETA once the input ends early (head).
#include "engine/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/exec_context.h"

namespace corpusflow {
namespace {

constexpr const char* kStages = "[2/2] shuffle > tokenize > write-megatron";

/// A progress drawn into a scratch file posing as a terminal of `width` columns.
ProgressDisplay TerminalInto(FILE* file, size_t width, double period = 3600) {
  ProgressDisplay display;
  display.out = file;
  display.terminal = true;
  display.width = width;
  display.period_seconds = period;
  return display;
}

std::string Contents(FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string data;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) data.append(buf, n);
  return data;
}

/// The lines drawn: the text between the "\r\033[K" that start each redraw.
std::vector<std::string> Redraws(const std::string& data) {
  std::vector<std::string> lines;
  const std::string mark = "\r\033[K";
  size_t at = data.find(mark);
  EXPECT_EQ(at, 0u) << "output does not start with a redraw: " << data;
  while (at != std::string::npos) {
    const size_t next = data.find(mark, at + mark.size());
    lines.push_back(data.substr(
        at + mark.size(), next == std::string::npos ? std::string::npos : next - at - mark.size()));
    at = next;
  }
  return lines;
}

// The old line was one string of every field: 130 columns here, wrapped by an 80-column
// terminal, each redraw stacking a copy. Each width now gets a line of at most that width, the
// least important fields gone first.
TEST(ProgressTest, LineFitsEveryWidth) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  Progress progress(TerminalInto(file, 80));
  progress.StartPhase(kStages, uint64_t{3} << 30);
  progress.StartStep("shuffle pass 2: buckets", uint64_t{3} << 30);
  progress.AddBytes(uint64_t{1} << 30);
  progress.AddRecords(208227);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  const std::string full = progress.Line();
  EXPECT_EQ(full.rfind(std::string(kStages) + " (shuffle pass 2: buckets): 1.00 GiB of 3.00 GiB "
                                              "(33.3%), 208,227 records, ",
                       0),
            0u)
      << full;
  for (const char* field : {" MB/s, ETA ", ", phase ", ", total "}) {
    EXPECT_NE(full.find(field), std::string::npos) << field << " in " << full;
  }
  EXPECT_GT(full.size(), 120u);

  for (size_t width : {10, 20, 30, 40, 50, 60, 70, 80, 100, 120, 200}) {
    SCOPED_TRACE("width " + std::to_string(width));
    const std::string line = progress.Line(width);
    EXPECT_LE(line.size(), width) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    if (width >= 71) {
      // The stage names and the bytes stay longest; the rate goes first.
      EXPECT_EQ(line.rfind(kStages, 0), 0u) << line;
      EXPECT_NE(line.find(": 1.00 GiB of 3.00 GiB (33.3%)"), std::string::npos) << line;
    }
    if (width >= 83) {
      EXPECT_NE(line.find(", total "), std::string::npos) << line;
    }
    if (width < full.size()) {
      EXPECT_EQ(line.find("MB/s"), std::string::npos) << line;
    }
  }
  // Too narrow for the stage names: they are shortened, never wrapped.
  EXPECT_EQ(progress.Line(50), "[2/2] shuffle > t...: 1.00 GiB of 3.00 GiB (33.3%)");
  progress.Stop();
  std::fclose(file);
}

// On a terminal every redraw starts with "\r" and clear-to-end-of-line, fits the width less one
// column and never writes a newline; Stop clears the line. The old reporter drew whole lines
// of any length (wrapped, so "\r" went back to the start of the last row only).
TEST(ProgressTest, TerminalRedrawsInPlaceWithoutNewlines) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    Progress progress(TerminalInto(file, 50, 0.01));
    progress.StartPhase("[1/2] read > filter > shuffle", 1 << 30);
    for (int i = 0; i < 10; ++i) {
      progress.AddBytes(10 << 20);
      progress.AddRecords(1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    progress.StartPhase("[2/2] shuffle > write", 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    progress.Stop();
  }
  const std::string data = Contents(file);
  std::fclose(file);
  EXPECT_EQ(data.find('\n'), std::string::npos) << data;
  const std::vector<std::string> lines = Redraws(data);
  ASSERT_GE(lines.size(), 3u) << data;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 49u) << lines[i];
    EXPECT_FALSE(lines[i].empty());
    EXPECT_EQ(lines[i].find('\r'), std::string::npos) << lines[i];
  }
  // 49 columns hold the bytes and a shortened name of the stages.
  EXPECT_EQ(lines.front().rfind("[1/2] read > filt...: ", 0), 0u) << lines.front();
  EXPECT_EQ(lines[lines.size() - 2].rfind("[2/2] shuffle > write:", 0), 0u)
      << lines[lines.size() - 2];
  // The last redraw is the clearing one.
  EXPECT_EQ(lines.back(), "");
}

// Elapsed time is labelled, and the run's total goes on across phases where the phase's own
// time starts again.
TEST(ProgressTest, PhaseAndTotalElapsedAreLabelled) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  Progress progress(TerminalInto(file, 200));
  progress.StartPhase("[1/2] read > shuffle", 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  progress.StartPhase("[2/2] shuffle > write", 0);
  const std::string line = progress.Line();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex(", phase ([0-9.]+)s, total ([0-9.]+)s$")))
      << line;
  EXPECT_LT(std::stod(m[1]), 0.2) << line;
  EXPECT_GE(std::stod(m[2]) - std::stod(m[1]), 0.2) << line;
  progress.Stop();
  std::fclose(file);
}

// `head` stops the input early: "30.0% ... ETA 21.7s" was the last line of such runs. Once
// the input ends early the line shows the bytes read, no percentage and no ETA; a new phase
// starts afresh.
TEST(ProgressTest, InputEndingEarlyShowsNoPercentageOrEta) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  Progress progress(TerminalInto(file, 200));
  progress.StartPhase("read > head > write", 1000);
  progress.AddBytes(300);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string line = progress.Line();
  EXPECT_NE(line.find("300 B of 1000 B (30.0%)"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA"), std::string::npos) << line;
  progress.EndEarly();
  line = progress.Line();
  EXPECT_EQ(line.find('%'), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
  EXPECT_EQ(line.find(" of "), std::string::npos) << line;
  EXPECT_EQ(line.rfind("read > head > write: 300 B, ", 0), 0u) << line;
  progress.StartPhase("next", 1000);
  progress.AddBytes(300);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_NE(progress.Line().find("(30.0%)"), std::string::npos) << progress.Line();
  progress.Stop();
  std::fclose(file);
}

// `head` ends the input through ExecContext::RequestStop, which tells the progress line.
TEST(ProgressTest, RequestStopEndsTheInputEarly) {
  RunOptions options;
  options.progress = ProgressMode::kNever;
  ExecContext ctx(options);
  ctx.progress().StartPhase("read > head > write", 1000);
  ctx.progress().AddBytes(300);
  EXPECT_NE(ctx.progress().Line().find("(30.0%)"), std::string::npos) << ctx.progress().Line();
  ctx.RequestStop();
  EXPECT_EQ(ctx.progress().Line().find('%'), std::string::npos) << ctx.progress().Line();
}

// The width comes from the terminal, else $COLUMNS, else 80.
TEST(ProgressTest, TerminalWidthFallsBackToColumnsThen80) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  const int fd = fileno(file);  // not a terminal
  const char* saved = std::getenv("COLUMNS");
  const std::string restore = saved != nullptr ? saved : "";
  setenv("COLUMNS", "123", 1);
  EXPECT_EQ(TerminalWidth(fd), 123u);
  setenv("COLUMNS", "junk", 1);
  EXPECT_EQ(TerminalWidth(fd), 80u);
  unsetenv("COLUMNS");
  EXPECT_EQ(TerminalWidth(fd), 80u);
  if (saved != nullptr) setenv("COLUMNS", restore.c_str(), 1);
  std::fclose(file);
}

}  // namespace
}  // namespace corpusflow
