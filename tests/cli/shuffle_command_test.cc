// End-to-end tests of `corpusflow shuffle` through the real binary: a drop-in for shuf (stdin to
// stdout), exact output for a seed, identical bytes for any --threads / --memory / --shards,
// binary-safe lines, several inputs mixed, --paired corpora, usage errors, and the failures the
// anchors are known for: 0xFF lines, inputs ending on a buffer boundary, parallel files shuffled
// alike, descriptor exhaustion, a full disk, SIGINT mid-run, temp files left behind.
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

#include "engine/random.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/pipeline_testing.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::JoinLines;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::ShuffleKeyOrder;
using testing::SplitLines;
using testing::WriteFile;

/// Lines of varied length with ASCII, Chinese and binary bytes.
std::vector<std::string> Corpus(size_t n, uint64_t seed = 1) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) {
    std::string line = std::to_string(i) + (i % 3 == 0 ? " 中文語料 " : " text ");
    const uint64_t extra = Mix64(seed + i) % 200;
    for (uint64_t k = 0; k < extra; ++k) line += static_cast<char>('a' + (i * 7 + k) % 26);
    if (i % 11 == 5) line += "\xff\xfe";
    lines.push_back(line);
  }
  return lines;
}

TEST(ShuffleCommandTest, StdinToStdoutLikeShuf) {
  const auto lines = Corpus(500);
  const CommandResult a = RunCorpusflow({"shuffle", "--seed", "4"}, JoinLines(lines));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, JoinLines(ShuffleKeyOrder(lines, 4)));
  const CommandResult b = RunCorpusflow({"shuffle", "--seed", "4", "-"}, JoinLines(lines));
  EXPECT_EQ(b.out, a.out);
  const CommandResult c = RunCorpusflow({"shuffle", "--seed", "5"}, JoinLines(lines));
  EXPECT_NE(c.out, a.out);
  auto sorted = SplitLines(c.out);
  auto expected = lines;
  std::sort(sorted.begin(), sorted.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(sorted, expected);
}

TEST(ShuffleCommandTest, SameBytesForAnyThreadsMemoryAndShards) {
  ScopedTempDir dir;
  const auto lines = Corpus(30000, 2);  // about 3.3 MB: spills under a 1-2 MB budget
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const std::string expected = JoinLines(ShuffleKeyOrder(lines, 77));
  for (const char* threads : {"1", "2", "8"}) {
    for (const char* memory : {"1M", "2M", "256M"}) {
      const std::string out = dir.File(std::string("out-") + threads + "-" + memory + ".txt");
      const std::string stats = dir.File("stats.json");
      const CommandResult r =
          RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", out, "--seed", "77", "--threads",
                         threads, "--memory", memory, "--tmp-dir", dir.File(""), "--stats-json",
                         stats, "--progress", "never"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(ReadFile(out), expected) << "threads " << threads << " memory " << memory;
      const std::string json = ReadFile(stats);
      EXPECT_NE(json.find("\"seed\": 77,"), std::string::npos) << json;
      if (std::string(memory) != "256M") {
        EXPECT_NE(json.find("\"mode\": \"external\""), std::string::npos) << json;
      }
    }
  }
  // Shards are contiguous pieces of the same permutation.
  const CommandResult r = RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("s.txt"),
                                         "--seed", "77", "--memory", "1M", "--shards", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string joined;
  size_t previous = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string part = ReadFile(dir.File("s-0000" + std::to_string(k) + "-of-00003.txt"));
    const size_t count = SplitLines(part).size();
    if (k > 0) {
      EXPECT_LE(std::max(count, previous) - std::min(count, previous), 1u);
    }
    previous = count;
    joined += part;
  }
  EXPECT_EQ(joined, expected);
  // Nothing left in the temp folder.
  for (const std::string& name : ListDir(dir.path())) {
    EXPECT_EQ(name.rfind("corpusflow-", 0), std::string::npos) << name;
  }
}

TEST(ShuffleCommandTest, BinaryLinesSurviveWhenSpilled) {
  // 0xFF (lost by terashuf), NUL, CR, empty lines and no final newline.
  std::string input;
  std::vector<std::string> lines;
  for (int i = 0; i < 20000; ++i) {
    std::string line;
    switch (i % 6) {
      case 0:
        line = std::string("\xff\xff\xff", 3) + std::to_string(i);
        break;
      case 1:
        line = std::string("a\0b", 3) + std::to_string(i);
        break;
      case 2:
        line = "crlf " + std::to_string(i) + "\r";
        break;
      case 3:
        line = "";
        break;
      case 4:
        line = std::string(1, '\xff');
        break;
      default:
        line = std::string(150, 'x') + std::to_string(i);
        break;
    }
    lines.push_back(line);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    input += lines[i];
    if (i + 1 < lines.size()) input += "\n";  // no final newline
  }
  const CommandResult r = RunCorpusflow({"shuffle", "--seed", "9", "--memory", "1M"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, JoinLines(ShuffleKeyOrder(lines, 9)));
}

TEST(ShuffleCommandTest, EmptyAndOneLineInputs) {
  ScopedTempDir dir;
  WriteFile(dir.File("empty.txt"), "");
  CommandResult r = RunCorpusflow({"shuffle", dir.File("empty.txt"), "-o", dir.File("o.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("o.txt")), "");
  r = RunCorpusflow({"shuffle"}, "one line without newline");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one line without newline\n");
}

TEST(ShuffleCommandTest, SeveralInputsAreMixedIntoOneShuffle) {
  ScopedTempDir dir;
  const auto a = Corpus(3000, 3), b = Corpus(2000, 4);
  WriteFile(dir.File("a.txt"), JoinLines(a));
  WriteFile(dir.File("b.txt"), JoinLines(b));
  const CommandResult r = RunCorpusflow(
      {"shuffle", dir.File("a.txt"), dir.File("b.txt"), "--seed", "12", "--memory", "1M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto all = a;
  all.insert(all.end(), b.begin(), b.end());
  EXPECT_EQ(r.out, JoinLines(ShuffleKeyOrder(all, 12)));
  // Lines of b appear among the first tenth of the output: the inputs are mixed.
  const auto out = SplitLines(r.out);
  const size_t from_b =
      static_cast<size_t>(std::count_if(out.begin(), out.begin() + 500, [&](const std::string& l) {
        return std::find(b.begin(), b.end(), l) != b.end();
      }));
  EXPECT_GT(from_b, 100u);
}

TEST(ShuffleCommandTest, ParallelFilesShuffledSeparatelyWithOneSeedStayAligned) {
  // terashuf chunks by bytes, so two parallel files got different permutations; here the
  // permutation depends only on the seed and the line count.
  ScopedTempDir dir;
  std::vector<std::string> src, tgt;
  for (int i = 0; i < 8000; ++i) {
    src.push_back("source sentence " + std::to_string(i) + std::string(i % 50, 's'));
    tgt.push_back("目标 " + std::to_string(i));
  }
  WriteFile(dir.File("src.txt"), JoinLines(src));
  WriteFile(dir.File("tgt.txt"), JoinLines(tgt));
  for (const char* f : {"src", "tgt"}) {
    const CommandResult r =
        RunCorpusflow({"shuffle", dir.File(std::string(f) + ".txt"), "-o",
                       dir.File(std::string(f) + ".out"), "--seed", "3", "--memory", "1M"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto s = SplitLines(ReadFile(dir.File("src.out")));
  const auto t = SplitLines(ReadFile(dir.File("tgt.out")));
  ASSERT_EQ(s.size(), t.size());
  for (size_t k = 0; k < s.size(); ++k) {
    EXPECT_EQ(s[k].substr(16, s[k].find_first_not_of("0123456789", 16) - 16),
              t[k].substr(t[k].find(' ') + 1));
  }
}

TEST(ShuffleCommandTest, PairedShufflesAlignedFilesWithOnePermutation) {
  ScopedTempDir dir;
  std::vector<std::string> src, tgt;
  for (int i = 0; i < 6000; ++i) {
    src.push_back("src " + std::to_string(i) + std::string(i % 70, '.'));
    tgt.push_back("tgt " + std::to_string(i));
  }
  WriteFile(dir.File("src.txt"), JoinLines(src));
  WriteFile(dir.File("tgt.txt"), JoinLines(tgt));
  const CommandResult r = RunCorpusflow(
      {"shuffle", "--paired", dir.File("src.txt"), dir.File("tgt.txt"), "-o", dir.File("s.out"),
       "-o", dir.File("t.out"), "--seed", "21", "--memory", "1M", "--tmp-dir", dir.File("")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("s.out")), JoinLines(ShuffleKeyOrder(src, 21)));
  EXPECT_EQ(ReadFile(dir.File("t.out")), JoinLines(ShuffleKeyOrder(tgt, 21)));
  // Sharded paired output.
  const CommandResult sharded =
      RunCorpusflow({"shuffle", "--paired", dir.File("src.txt"), dir.File("tgt.txt"), "-o",
                     dir.File("s.txt"), "-o", dir.File("t.txt"), "--seed", "21", "--shards", "2"});
  ASSERT_EQ(sharded.exit_code, 0) << sharded.err;
  EXPECT_EQ(ReadFile(dir.File("t-00000-of-00002.txt")) + ReadFile(dir.File("t-00001-of-00002.txt")),
            JoinLines(ShuffleKeyOrder(tgt, 21)));
  // Round-robin shards deal the same permutation in turn, the pairs still aligned.
  const CommandResult dealt = RunCorpusflow(
      {"shuffle", "--paired", dir.File("src.txt"), dir.File("tgt.txt"), "-o", dir.File("rs.txt"),
       "-o", dir.File("rt.txt"), "--seed", "21", "--shards", "3", "--shard-policy", "round-robin"});
  ASSERT_EQ(dealt.exit_code, 0) << dealt.err;
  const std::vector<std::string> order = ShuffleKeyOrder(tgt, 21);
  for (size_t k = 0; k < 3; ++k) {
    std::vector<std::string> mine;
    for (size_t i = k; i < order.size(); i += 3) mine.push_back(order[i]);
    EXPECT_EQ(ReadFile(dir.File("rt-0000" + std::to_string(k) + "-of-00003.txt")), JoinLines(mine));
  }
}

TEST(ShuffleCommandTest, MisalignedPairedInputsFailBeforeAnyOutput) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), JoinLines(Corpus(1000)));
  WriteFile(dir.File("b.txt"), JoinLines(Corpus(999)));
  const CommandResult r =
      RunCorpusflow({"shuffle", "--paired", dir.File("a.txt"), dir.File("b.txt"), "-o",
                     dir.File("a.out"), "-o", dir.File("b.out"), "--tmp-dir", dir.File("")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not line-aligned"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("b.txt ends after 999 lines"), std::string::npos) << r.err;
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST(ShuffleCommandTest, UsageErrors) {
  ScopedTempDir dir;
  WriteFile(dir.File("a.txt"), "x\n");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"shuffle", "--paired", dir.File("a.txt"), "-o", dir.File("o")},
           {"shuffle", "--paired", dir.File("a.txt"), dir.File("a.txt"), "-o", dir.File("o")},
           {"shuffle", dir.File("a.txt"), "-o", dir.File("o"), "-o", dir.File("p")},
           {"shuffle", dir.File("a.txt"), "--shards", "2"},
           {"shuffle", dir.File("a.txt"), "-o", dir.File("o"), "--shard-policy", "striped"},
           {"shuffle", dir.File("a.txt"), "--spill-compression", "lz4"},
           {"shuffle", dir.File("a.txt"), "--spill-level", "1000"},
           {"shuffle", dir.File("a.txt"), "--seeed", "1"},
           {"shuffle", dir.File("a.txt"), "--tmp-dir", dir.File("missing")}}) {
    const CommandResult r = RunCorpusflow(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args.back() << ": " << r.err;
  }
  const CommandResult missing = RunCorpusflow({"shuffle", dir.File("nope.txt")});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("nope.txt"), std::string::npos);
  const CommandResult help = RunCorpusflow({"shuffle", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--paired"), std::string::npos);
}

TEST(ShuffleCommandTest, DryRunPlansReadShuffleWriteWithTheForwardedOptions) {
  ScopedTempDir dir;
  WriteFile(dir.File("a"), "1\n");
  WriteFile(dir.File("b"), "2\n");
  const CommandResult r =
      RunCorpusflow({"shuffle", dir.File("a"), dir.File("b"), "-o", dir.File("c"), "--seed", "1",
                     "--spill-compression", "zstd", "--spill-level", "5", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string shuffle =
      "shuffle: shuffle all records uniformly (seed 1, memory the run's share, spill zstd level "
      "5)\n      -> text:string\n";
  EXPECT_EQ(r.out,
            "pipeline 1 of 2:\n"
            "  source    read: read 2 files as lines\n"
            "      -> text:string\n"
            "  breaker   " +
                shuffle +
                "pipeline 2 of 2:\n"
                "  breaker   " +
                shuffle + "  sink      write: write lines to " + dir.File("c") +
                "\n      -> text:string\n");
  EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"a", "b"}));
}

TEST(ShuffleCommandTest, HelpShowsTheShuffleOperatorsOwnOptions) {
  const CommandResult r = RunCorpusflow({"shuffle", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t forwarded = r.out.find("options of the shuffle operator");
  const size_t run = r.out.find("run options:");
  ASSERT_NE(forwarded, std::string::npos) << r.out;
  ASSERT_NE(run, std::string::npos) << r.out;
  // The operator's descriptions, word for word (`corpusflow help shuffle` shows the same).
  const std::string op_help = RunCorpusflow({"help", "shuffle"}).out;
  for (const char* text :
       {"--seed arg", "seed of the permutation", "--spill-compression arg (=auto)",
        "--spill-level arg", "--buckets arg (=0)"}) {
    const size_t at = r.out.find(text, forwarded);
    EXPECT_TRUE(at != std::string::npos && at < run) << text << " in\n" << r.out;
    EXPECT_NE(op_help.find(text), std::string::npos) << text;
  }
  // --memory is the run's budget here, not the operator's.
  EXPECT_EQ(r.out.find("memory for the shuffle"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--memory", run), std::string::npos) << r.out;
}

TEST(ShuffleCommandTest, RandomSeedIsReportedAndReproduces) {
  ScopedTempDir dir;
  const auto lines = Corpus(2000);
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const CommandResult r = RunCorpusflow(
      {"shuffle", dir.File("in.txt"), "-o", dir.File("o.txt"), "--stats-json", dir.File("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string json = ReadFile(dir.File("s.json"));
  // The seed is an integer, written exactly.
  const size_t at = json.find("\"seed\": ");
  ASSERT_NE(at, std::string::npos) << json;
  const std::string seed =
      json.substr(at + 8, json.find_first_not_of("0123456789", at + 8) - at - 8);
  ASSERT_FALSE(seed.empty()) << json;
  EXPECT_NE(json.find("\"seed_origin\": \"random\""), std::string::npos) << json;
  EXPECT_EQ(ReadFile(dir.File("o.txt")), JoinLines(ShuffleKeyOrder(lines, std::stoull(seed))));
}

TEST(ShuffleCommandTest, MoreBucketsThanTheDescriptorLimit) {
  ScopedTempDir dir;
  const auto lines = Corpus(20000);
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const CommandResult r = RunProgram(
      {"/bin/sh", "-c",
       "ulimit -n 20 && exec \"$0\" shuffle \"$1\" -o \"$2\" --seed 6 --memory 1M --buckets 3000",
       testing::CorpusflowBinary(), dir.File("in.txt"), dir.File("o.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("o.txt")), JoinLines(ShuffleKeyOrder(lines, 6)));
}

TEST(ShuffleCommandTest, InputEndingOnABufferBoundaryIsNotDuplicated) {
  // terashuf wrote a chunk twice when the input ended exactly at its buffer size.
  ScopedTempDir dir;
  for (const size_t bytes : {size_t{1} << 20, size_t{2} << 20, size_t{4} << 20}) {
    std::vector<std::string> lines;
    size_t total = 0;
    for (size_t i = 0; total < bytes; ++i) {
      std::string line = std::to_string(i) + std::string(99, 'b');
      if (total + line.size() + 1 > bytes) line.resize(bytes - total - 1);
      total += line.size() + 1;
      lines.push_back(line);
    }
    const std::string input = JoinLines(lines);
    ASSERT_EQ(input.size(), bytes);
    WriteFile(dir.File("in.txt"), input);
    for (const char* memory : {"1M", "2M", "4M"}) {
      const CommandResult r =
          RunCorpusflow({"shuffle", dir.File("in.txt"), "--seed", "2", "--memory", memory});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, JoinLines(ShuffleKeyOrder(lines, 2)))
          << bytes << " bytes, memory " << memory;
    }
  }
}

// A record may outgrow the budget when --max-record-bytes allows it; by default (an eighth of
// --memory) such a line is an error naming its place.
TEST(ShuffleCommandTest, ALineLargerThanTheBudgetWorksWhenAllowed) {
  auto lines = Corpus(5000);
  lines[1234] = std::string(3 << 20, 'H');  // 3 MB, three times the 1 MB budget
  lines[4321] = std::string(2 << 20, 'J');
  const CommandResult r = RunCorpusflow(
      {"shuffle", "--seed", "8", "--memory", "1M", "--max-record-bytes", "3M"}, JoinLines(lines));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, JoinLines(ShuffleKeyOrder(lines, 8)));
  // From a file: the run stops reading at the error, which would leave a stdin writer blocked.
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const CommandResult refused =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "--seed", "8", "--memory", "1M"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "corpusflow: error: " + dir.File("in.txt") +
                             ":1235: record longer than 128 KiB, the --max-record-bytes limit "
                             "(default: an eighth of --memory) (use --on-error skip to drop bad "
                             "records)\n");
  EXPECT_EQ(refused.out, "");
  // --on-error skip drops the two long lines, counted in the summary.
  const CommandResult skipped = RunCorpusflow(
      {"shuffle", "--seed", "8", "--memory", "1M", "--on-error", "skip"}, JoinLines(lines));
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  std::vector<std::string> kept = lines;
  kept.erase(kept.begin() + 4321);
  kept.erase(kept.begin() + 1234);
  std::vector<std::string> out = SplitLines(skipped.out);
  std::sort(out.begin(), out.end());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(out, kept);
  EXPECT_NE(skipped.err.find("longer than --max-record-bytes"), std::string::npos) << skipped.err;
  const CommandResult paired = RunCorpusflow(
      {"shuffle", "--paired", "a", "b", "-o", "c", "-o", "d", "--on-error", "skip", "--dry-run"});
  EXPECT_EQ(paired.exit_code, 2);
  EXPECT_EQ(paired.err,
            "corpusflow: shuffle: --paired lines are never dropped (that would misalign the "
            "inputs): --on-error must be fail\n");
}

TEST(ShuffleCommandTest, FullDiskIsAClearErrorWithNothingLeftBehind) {
#ifndef CORPUSFLOW_FAULT_SHIM
  GTEST_SKIP() << "the fault-injection shim is not built (sanitizer build)";
#else
  ScopedTempDir dir;
  ScopedTempDir tmp;
  const auto lines = Corpus(40000);
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  for (const char* compression : {"none", "zstd"}) {
    const CommandResult r = RunCorpusflow(
        {"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt"), "--memory", "1M", "--tmp-dir",
         tmp.path().string(), "--spill-compression", compression},
        "",
        {"LD_PRELOAD=" CORPUSFLOW_FAULT_SHIM, "CORPUSFLOW_FAULT_DIR=" + tmp.path().string(),
         "CORPUSFLOW_FAULT_ENOSPC_AFTER=300000"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("spill file"), std::string::npos) << r.err;
    EXPECT_TRUE(ListDir(tmp.path()).empty());
    EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"in.txt"});
  }
#endif
}

/// Start the binary with stdout and stderr to files; returns its pid.
pid_t Spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const pid_t pid = testing::StartCorpusflow(args, -1, out_fd, err);
  if (out_fd >= 0) close(out_fd);
  return pid;
}

TEST(ShuffleCommandTest, InterruptRemovesTempFilesAndPartialOutput) {
  ScopedTempDir dir;
  ScopedTempDir tmp;
  // Large enough (about 60 MB) that the run is still going when the signal comes.
  std::string input;
  for (const auto& l : Corpus(60000)) input += l + std::string(900, 'z') + "\n";
  WriteFile(dir.File("in.txt"), input);
  for (const int sig : {SIGINT, SIGTERM}) {
    const pid_t pid = Spawn(
        {"shuffle", dir.File("in.txt"), "-o", dir.File("out.txt"), "--memory", "4M", "--tmp-dir",
         tmp.path().string(), "--spill-compression", "zstd", "--spill-level", "5"},
        dir.File("stdout"), dir.File("stderr"));
    ASSERT_GT(pid, 0);
    // Wait until spill files exist, then interrupt.
    bool spilling = false;
    for (int i = 0; i < 2000 && !spilling; ++i) {
      for (const std::string& run : ListDir(tmp.path())) {
        if (ListDir(tmp.path() / run).size() > 1) spilling = true;  // lock + spill
      }
      if (!spilling) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(spilling);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130) << ReadFile(dir.File("stderr"));
    EXPECT_NE(ReadFile(dir.File("stderr")).find("interrupted"), std::string::npos);
    EXPECT_TRUE(ListDir(tmp.path()).empty());
    EXPECT_EQ(ListDir(dir.path()), (std::vector<std::string>{"in.txt", "stderr", "stdout"}));
  }
}

// `-n N`, as `shuf -n`: the first N lines of the very permutation the whole shuffle gives (so a
// uniform sample, in random order), for any N, thread count and budget, and with the pass-1
// filter a sample of an input that spills whole is taken in memory.
TEST(ShuffleCommandTest, HeadCountIsThePrefixOfTheWholeShuffle) {
  ScopedTempDir dir;
  const auto lines = Corpus(30000, 3);  // about 3.3 MB: the whole shuffle spills under 1-2 MB
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const std::vector<std::string> order = ShuffleKeyOrder(lines, 21);
  for (const uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{7}, uint64_t{5000}, uint64_t{29999},
                           uint64_t{30000}, uint64_t{100000}}) {
    for (const char* threads : {"1", "2"}) {
      for (const char* memory : {"1M", "256M"}) {
        const std::string stats = dir.File("s.json");
        const CommandResult r =
            RunCorpusflow({"shuffle", dir.File("in.txt"), "-n", std::to_string(n), "--seed", "21",
                           "--threads", threads, "--memory", memory, "--tmp-dir", dir.File(""),
                           "--stats-json", stats, "--progress", "never"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const size_t kept = std::min<size_t>(n, lines.size());
        EXPECT_EQ(r.out, JoinLines({order.begin(), order.begin() + kept}))
            << "-n " << n << " threads " << threads << " memory " << memory;
        // Every line not written is counted, by reason.
        const std::string json = ReadFile(stats);
        if (kept < lines.size()) {
          EXPECT_NE(json.find("\"beyond_head_count\": " + std::to_string(lines.size() - kept)),
                    std::string::npos)
              << json;
        }
        // A small sample is found without spilling the input (1M would spill it all).
        if (n <= 7) {
          EXPECT_NE(json.find("\"mode\": \"in memory\""), std::string::npos) << json;
        }
      }
    }
  }
  // In a pipeline too, and the contiguous shards of a sample are that sample cut in pieces.
  const CommandResult p = RunCorpusflow({"run",
                                         "read " + dir.File("in.txt") +
                                             " --format lines | shuffle --seed 21 --head-count 10 "
                                             "| write -",
                                         "--progress", "never"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out, JoinLines({order.begin(), order.begin() + 10}));
  const CommandResult s = RunCorpusflow({"shuffle", dir.File("in.txt"), "-n", "1000", "--seed",
                                         "21", "--shards", "3", "-o", dir.File("sample.txt")});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(ReadFile(dir.File("sample-00000-of-00003.txt")) +
                ReadFile(dir.File("sample-00001-of-00003.txt")) +
                ReadFile(dir.File("sample-00002-of-00003.txt")),
            JoinLines({order.begin(), order.begin() + 1000}));
  EXPECT_EQ(SplitLines(ReadFile(dir.File("sample-00000-of-00003.txt"))).size(), 333u);
  // --paired samples the same line numbers from every input.
  std::vector<std::string> numbers;
  for (size_t i = 0; i < lines.size(); ++i) numbers.push_back(std::to_string(i));
  WriteFile(dir.File("num.txt"), JoinLines(numbers));
  const CommandResult q =
      RunCorpusflow({"shuffle", "--paired", dir.File("in.txt"), dir.File("num.txt"), "-o",
                     dir.File("p1"), "-o", dir.File("p2"), "-n", "50", "--seed", "21"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto sampled = SplitLines(ReadFile(dir.File("p1")));
  const auto sampled_numbers = SplitLines(ReadFile(dir.File("p2")));
  ASSERT_EQ(sampled.size(), 50u);
  ASSERT_EQ(sampled_numbers.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(sampled[i], lines[std::stoul(sampled_numbers[i])]);
  EXPECT_EQ(RunCorpusflow({"shuffle", dir.File("in.txt"), "-n", "-3"}).exit_code, 2);
}

// `-z`, as `shuf -z`: lines end at NUL in the input and the output, and may hold newlines.
TEST(ShuffleCommandTest, ZeroTerminatedLinesKeepTheirNewlines) {
  ScopedTempDir dir;
  std::vector<std::string> records;
  std::string input;
  for (int i = 0; i < 3000; ++i) {
    records.push_back("record " + std::to_string(i) + (i % 4 == 0 ? "\nwith a newline\n" : ""));
    input += records.back() + '\0';
  }
  input.pop_back();  // a last record without its NUL is still a record
  WriteFile(dir.File("in.bin"), input);
  std::string expected;
  for (const std::string& r : ShuffleKeyOrder(records, 9)) expected += r + '\0';
  for (const char* memory : {"256M", "1M"}) {
    const CommandResult r =
        RunCorpusflow({"shuffle", "-z", dir.File("in.bin"), "--seed", "9", "--memory", memory,
                       "--tmp-dir", dir.File(""), "--progress", "never"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected) << memory;
  }
  // --paired and read --zero-terminated in a pipeline read the same records.
  const CommandResult p = RunCorpusflow(
      {"run",
       "read " + dir.File("in.bin") + " -z | shuffle --seed 9 | write " + dir.File("o.jsonl"),
       "--progress", "never"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(SplitLines(ReadFile(dir.File("o.jsonl"))).size(), records.size());
  EXPECT_NE(ReadFile(dir.File("o.jsonl")).find("\\nwith a newline\\n"), std::string::npos);
  const CommandResult q =
      RunCorpusflow({"shuffle", "-z", "--paired", dir.File("in.bin"), dir.File("in.bin"), "-o",
                     dir.File("a"), "-o", dir.File("b"), "--seed", "9"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(ReadFile(dir.File("a")), expected);
  EXPECT_EQ(ReadFile(dir.File("b")), expected);
  // JSONL is read by line: -z is refused for it.
  WriteFile(dir.File("in.jsonl"), "{\"text\": \"a\"}\n");
  const CommandResult j = RunCorpusflow({"run", "read " + dir.File("in.jsonl") + " -z | write -"});
  EXPECT_EQ(j.exit_code, 2);
  EXPECT_NE(j.err.find("--zero-terminated"), std::string::npos) << j.err;
}

// The output's codec and level: by extension or --compression (stdout too), at --level; a level
// that cannot apply is a usage error, never ignored.
TEST(ShuffleCommandTest, OutputCompressionAndLevel) {
  ScopedTempDir dir;
  const auto lines = Corpus(5000);
  WriteFile(dir.File("in.txt"), JoinLines(lines));
  const std::string expected = JoinLines(ShuffleKeyOrder(lines, 2));
  const CommandResult z = RunCorpusflow(
      {"shuffle", dir.File("in.txt"), "--seed", "2", "--compression", "zstd", "--level", "19"});
  ASSERT_EQ(z.exit_code, 0) << z.err;
  WriteFile(dir.File("stdout.zst"), z.out);
  EXPECT_EQ(RunProgram({"zstd", "-dc", dir.File("stdout.zst")}).out, expected);
  for (const char* level : {"1", "9"}) {
    const std::string out = dir.File(std::string("o") + level + ".gz");
    const CommandResult r =
        RunCorpusflow({"shuffle", dir.File("in.txt"), "--seed", "2", "-o", out, "--level", level});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(RunProgram({"gzip", "-dc", out}).out, expected);
  }
  EXPECT_LT(ReadFile(dir.File("o9.gz")).size(), ReadFile(dir.File("o1.gz")).size());
  const CommandResult plain =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("o.txt"), "--level", "5"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.err.find("uncompressed"), std::string::npos) << plain.err;
  const CommandResult range =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("o.gz"), "--level", "12"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.err.find("out of range for gzip [1, 9]"), std::string::npos) << range.err;
  EXPECT_FALSE(std::filesystem::exists(dir.File("o.txt")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("o.gz")));
}

}  // namespace
}  // namespace corpusflow
