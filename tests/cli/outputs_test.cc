// How the real binary writes its outputs (issue 11): a unique temp file beside each output, never
// an input of the run, never a symlink planted under the old `NAME.tmp` name; concurrent runs
// never mix their bytes; `--stats-json` is checked at plan time and written like every output;
// devices and links to them are written in place, never replaced. Each test reproduces a failure
// of the code before the fix: run it against that build with
// CORPUSFLOW_TEST_BINARY=/path/to/old/corpusflow.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow::testing {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

TEST(OutputsTest, AnInputNamedLikeTheOldTempFileSurvives) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "notes.tmp", "a\nb\n");
  const CommandResult r =
      RunCorpusflow({"run", "read " + dir.File("notes.tmp") + " | write " + dir.File("notes")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() / "notes"), "a\nb\n");
  EXPECT_EQ(ReadFile(dir.path() / "notes.tmp"), "a\nb\n");
  EXPECT_EQ(ListDir(dir.path()), (Strings{"notes", "notes.tmp"}));
}

TEST(OutputsTest, TeeToANameWhoseOldTempFileIsTheInput) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "notes.tmp", "a\nb\n");
  const CommandResult r =
      RunCorpusflow({"run", "read " + dir.File("notes.tmp") + " | tee " + dir.File("notes") +
                                " | write " + dir.File("copy")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() / "notes"), "a\nb\n");
  EXPECT_EQ(ReadFile(dir.path() / "copy"), "a\nb\n");
  EXPECT_EQ(ReadFile(dir.path() / "notes.tmp"), "a\nb\n");
}

TEST(OutputsTest, VocabOfACorpusNamedLikeTheOldTempFile) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "corpus.tmp", "我们的数据\nhello world\n");
  const CommandResult r =
      RunCorpusflow({"vocab", dir.File("corpus.tmp"), "-o", dir.File("corpus"), "--size", "110"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.path() / "corpus.tmp"), "我们的数据\nhello world\n");
  const Strings vocab = SplitLines(ReadFile(dir.path() / "corpus"));
  ASSERT_GT(vocab.size(), 104u);
  EXPECT_EQ(vocab[0], "[PAD]");
}

TEST(OutputsTest, AFailedRunNeverWritesThroughAPlantedSymlink) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "victim", "precious\n");
  fs::create_symlink(dir.path() / "victim", dir.path() / "out.txt.tmp");
  WriteFile(dir.path() / "bad.jsonl", "{\"text\":\"a\"}\n{\"text\":\n");
  const CommandResult r =
      RunCorpusflow({"run", "read " + dir.File("bad.jsonl") + " | write " + dir.File("out.txt")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(ReadFile(dir.path() / "victim"), "precious\n");
  EXPECT_TRUE(fs::is_symlink(dir.path() / "out.txt.tmp"));
  EXPECT_EQ(ListDir(dir.path()), (Strings{"bad.jsonl", "out.txt.tmp", "victim"}));
}

TEST(OutputsTest, TwoRunsWritingOneOutputNeverMixTheirBytes) {
  // A slow run (gzip on one thread) and a quick one write the same output; the quick one starts
  // and ends while the slow one is writing. The old layer gave both the same NAME.tmp: the
  // output held the quick run's bytes followed by the slow run's tail, and one run failed.
  ScopedTempDir dir;
  const std::string slow = "gen --bytes 60M --seed 1 | write ";
  const std::string quick = "gen --bytes 1M --seed 2 | write ";
  ASSERT_EQ(RunCorpusflow({"run", slow + dir.File("slow.gz")}).exit_code, 0);
  ASSERT_EQ(RunCorpusflow({"run", quick + dir.File("quick.gz")}).exit_code, 0);
  const std::string out = dir.File("out.gz");
  CommandResult first;
  std::thread a([&] { first = RunCorpusflow({"run", slow + out, "--threads", "1"}); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (bool writing = false; !writing && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.path(), ec)) {
      const std::string name = e.path().filename();
      if (name != "slow.gz" && name != "quick.gz" && e.file_size(ec) > 0 && !ec) writing = true;
    }
  }
  const CommandResult second = RunCorpusflow({"run", quick + out});
  a.join();
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  // The output is one run's whole output (the slow run's, as it renamed last, unless the machine
  // was fast enough to finish it first), never a mix.
  EXPECT_TRUE(RunProgram({"cmp", "-s", out, dir.File("slow.gz")}).exit_code == 0 ||
              RunProgram({"cmp", "-s", out, dir.File("quick.gz")}).exit_code == 0);
  EXPECT_EQ(ListDir(dir.path()), (Strings{"out.gz", "quick.gz", "slow.gz"}));
}

TEST(OutputsTest, AnOutputThatIsAnInputIsAUsageError) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "a.txt", "x\ny\n");
  fs::create_hard_link(dir.path() / "a.txt", dir.path() / "alias.txt");
  for (const std::string& out : {dir.File("a.txt"), dir.File("alias.txt")}) {
    const CommandResult r = RunCorpusflow({"run", "read " + dir.File("a.txt") + " | write " + out});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("would replace " + out + ", an input of 'read'"), std::string::npos)
        << r.err;
  }
  const CommandResult tee =
      RunCorpusflow({"run", "read " + dir.File("a.txt") + " | tee " + dir.File("b.txt") +
                                " | write " + dir.File("b.txt")});
  EXPECT_EQ(tee.exit_code, 2) << tee.err;
  EXPECT_NE(tee.err.find("is written twice"), std::string::npos) << tee.err;
  EXPECT_EQ(ReadFile(dir.path() / "a.txt"), "x\ny\n");
  EXPECT_EQ(ListDir(dir.path()), (Strings{"a.txt", "alias.txt"}));
}

TEST(OutputsTest, StatsJsonMayNotReplaceAnInputOrAnOutput) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "in.txt", "x\ny\n");
  const std::string pipeline = "read " + dir.File("in.txt") + " | write " + dir.File("out.txt");
  for (const std::string& stats : {dir.File("in.txt"), dir.File("out.txt")}) {
    const CommandResult r = RunCorpusflow({"run", pipeline, "--stats-json", stats});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--stats-json"), std::string::npos) << r.err;
    EXPECT_EQ(ReadFile(dir.path() / "in.txt"), "x\ny\n");
    EXPECT_EQ(ListDir(dir.path()), Strings{"in.txt"});
  }
}

TEST(OutputsTest, AnUnusableStatsFolderFailsBeforeAnyOutputIsWritten) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "in.txt", "x\n");
  WriteFile(dir.path() / "file", "not a folder\n");
  const CommandResult r =
      RunCorpusflow({"run", "read " + dir.File("in.txt") + " | write " + dir.File("out/out.txt"),
                     "--stats-json", dir.File("file/sub/stats.json")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "corpusflow: error: cannot write output " + dir.File("file/sub/stats.json") +
                       ": " + dir.File("file") + " is not a folder\n");
  EXPECT_EQ(ListDir(dir.path()), (Strings{"file", "in.txt"}));
}

// Every writer creates the missing folders of its outputs (issue 12), as `mkdir -p` would.
TEST(OutputsTest, MissingOutputFoldersAreCreated) {
  ScopedTempDir dir;
  WriteFile(dir.path() / "in.txt", "b\na\nc\n");
  const CommandResult run =
      RunCorpusflow({"run", "--progress", "never",
                     "read " + dir.File("in.txt") + " | tee " + dir.File("t/copy.txt") +
                         " | write " + dir.File("w/sub/out.txt"),
                     "--stats-json", dir.File("s/deep/stats.json")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(ReadFile(dir.path() / "t/copy.txt"), "b\na\nc\n");
  EXPECT_EQ(ReadFile(dir.path() / "w/sub/out.txt"), "b\na\nc\n");
  EXPECT_NE(ReadFile(dir.path() / "s/deep/stats.json").find("\"status\": \"ok\""),
            std::string::npos);

  const CommandResult shuffle =
      RunCorpusflow({"shuffle", dir.File("in.txt"), "-o", dir.File("sh/out.txt"), "--seed", "1"});
  ASSERT_EQ(shuffle.exit_code, 0) << shuffle.err;
  Strings lines = SplitLines(ReadFile(dir.path() / "sh/out.txt"));
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (Strings{"a", "b", "c"}));

  WriteFile(dir.path() / "corpus.txt", "我们的数据\nhello world\n");
  const CommandResult vocab = RunCorpusflow(
      {"vocab", dir.File("corpus.txt"), "-o", dir.File("v/vocab.txt"), "--size", "110"});
  ASSERT_EQ(vocab.exit_code, 0) << vocab.err;
  EXPECT_EQ(SplitLines(ReadFile(dir.path() / "v/vocab.txt")).at(0), "[PAD]");

  WriteFile(dir.path() / "ids.txt", "1 2 3\n4 5\n");
  const CommandResult megatron = RunCorpusflow(
      {"run", "--progress", "never",
       "read " + dir.File("ids.txt") + " | parse-ids | write-megatron " + dir.File("m/n/x")});
  ASSERT_EQ(megatron.exit_code, 0) << megatron.err;
  EXPECT_EQ(ListDir(dir.path() / "m/n"),
            (Strings{"x_text_ids_document.bin", "x_text_ids_document.idx"}));
  EXPECT_EQ(ListDir(dir.path()),
            (Strings{"corpus.txt", "ids.txt", "in.txt", "m", "s", "sh", "t", "v", "w"}));
}

// A failed run removes the folders it created, and only those: nothing it made survives.
TEST(OutputsTest, AFailedRunRemovesTheFoldersItCreated) {
  ScopedTempDir dir;
  // Many good records before the bad one, so that the writers have opened their files (and
  // made their folders) when the run fails.
  std::string corpus;
  for (int i = 0; i < 100000; ++i) corpus += "{\"text\":\"line " + std::to_string(i) + "\"}\n";
  corpus += "{\"text\":\n";
  WriteFile(dir.path() / "bad.jsonl", corpus);
  fs::create_directory(dir.path() / "kept");
  const CommandResult r =
      RunCorpusflow({"run", "--memory", "16M", "--progress", "never",
                     "read " + dir.File("bad.jsonl") + " | tee " + dir.File("t/a/copy.txt") +
                         " | write " + dir.File("kept/new/out.txt") + " --shards 2",
                     "--stats-json", dir.File("s/stats.json")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // The report of the failure is an output of the run too.
  EXPECT_NE(ReadFile(dir.path() / "s/stats.json").find("\"status\": \"error\""), std::string::npos);
  EXPECT_EQ(ListDir(dir.path()), (Strings{"bad.jsonl", "kept", "s"}));
  EXPECT_EQ(ListDir(dir.path() / "kept"), Strings{});
}

TEST(OutputsTest, StatsJsonToADeviceWritesTheDeviceAndKeepsIt) {
  // A private node with /dev/full's numbers: the real /dev entries are never touched.
  ScopedTempDir dir;
  const std::string full = dir.File("full");
  if (::mknod(full.c_str(), S_IFCHR | 0666, ::makedev(1, 7)) != 0) {
    GTEST_SKIP() << "mknod needs root";
  }
  const CommandResult r = RunCorpusflow(
      {"run", "gen --bytes 10K | write " + dir.File("out.txt"), "--stats-json", full});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot write " + full + " at offset 0: No space left on device"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(fs::is_character_file(full));
  // The run failed, so its output was not committed either.
  EXPECT_EQ(ListDir(dir.path()), Strings{"full"});
}

TEST(OutputsTest, StatsJsonToALinkToStdoutWritesStdoutAndKeepsTheLink) {
  // The shape of /dev/stdout: a private symlink to /proc/self/fd/1.
  ScopedTempDir dir;
  const std::string link = dir.File("stdout");
  fs::create_symlink("/proc/self/fd/1", link);
  const CommandResult r = RunCorpusflow(
      {"run", "gen --bytes 10K | write " + dir.File("out.txt"), "--stats-json", link});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"status\": \"ok\""), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), "/proc/self/fd/1");
  EXPECT_EQ(ListDir(dir.path()), (Strings{"out.txt", "stdout"}));
}

TEST(OutputsTest, StatsJsonOfASuccessfulRunIsWrittenWithItsOutputs) {
  ScopedTempDir dir;
  const CommandResult r = RunCorpusflow(
      {"run", "gen --bytes 10K | tee " + dir.File("copy.txt") + " | write " + dir.File("out.txt"),
       "--stats-json", dir.File("stats.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string stats = ReadFile(dir.path() / "stats.json");
  EXPECT_NE(stats.find("\"status\": \"ok\""), std::string::npos) << stats;
  // The tee copy is finished when the run's outputs are committed, before the stats are written:
  // its counters are in the document.
  const size_t tee = stats.find("{\"name\": \"tee\"");
  ASSERT_NE(tee, std::string::npos) << stats;
  const std::string tee_stats = stats.substr(tee, stats.find("{\"name\"", tee + 1) - tee);
  EXPECT_NE(tee_stats.find("\"files\": 1, \"output_bytes\": " +
                           std::to_string(fs::file_size(dir.File("copy.txt")))),
            std::string::npos)
      << tee_stats;
  EXPECT_EQ(ListDir(dir.path()), (Strings{"copy.txt", "out.txt", "stats.json"}));
}

}  // namespace
}  // namespace corpusflow::testing
