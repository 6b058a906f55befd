// Multi-rank runs under Open MPI (docs/scale-out.md), label `mpi`, built when CMake finds MPI:
// `mpirun -np N corpusflow run ...` for N = 1..4 gives the bytes of the single-process run (each
// rank reads its share of the input slices, record identities come from the slices, rank 0 joins
// the ranks' parts of every output and reports for all); vocab sums every rank's counts; an
// error on one rank ends every rank with the same exit status and leaves no output, and a rank
// SIGKILLed mid-run leaves nothing on disk (the others remove every rank's files); what cannot
// run across ranks yet is refused before any output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ReadFile;
using testing::RunCorpusflowRanks;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

/// Start `mpirun -np RANKS corpusflow ARGS` in the background, its output into `log`; returns
/// its pid.
pid_t StartRanks(int ranks, const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv = {"mpirun", "--oversubscribe",     "--allow-run-as-root",
                                   "-np",    std::to_string(ranks), testing::CorpusflowBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (posix_spawnp(&pid, "mpirun", &actions, nullptr, raw.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

/// The process that mpirun `launcher` started as rank `rank` (its child whose environment has
/// OMPI_COMM_WORLD_RANK=rank), or -1.
pid_t FindRank(pid_t launcher, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...: the comm may hold spaces, the last ')' ends it.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    fields >> state >> parent;
    if (parent != launcher) continue;
    std::ifstream environ_file(entry.path() / "environ", std::ios::binary);
    std::string variable;
    while (std::getline(environ_file, variable, '\0')) {
      if (variable == wanted) return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

/// Inputs over several slices of 16 KiB: JSONL documents, a gzip file (one unit), a text file.
void WriteInputs(const ScopedTempDir& dir) {
  std::string a;
  for (int i = 0; i < 900; ++i) {
    a += "{\"text\":\"第" + std::to_string(i) + "篇。今天天气很好，我们去公园散步。公园里有很多人" +
         std::string(i % 7, '!') + "。大家都很开心。晚上回家吃饭。\"}\n";
  }
  WriteFile(dir.File("a.jsonl"), a);
  std::string b;
  for (int i = 0; i < 200; ++i) {
    b += "{\"text\":\"压缩文件" + std::to_string(i) + "。第二句话在这里。第三句话也在。\"}\n";
  }
  WriteFile(dir.File("b.jsonl"), b);
  ASSERT_EQ(RunProgram({"gzip", dir.File("b.jsonl")}).exit_code, 0);
  std::string c;
  for (int i = 0; i < 700; ++i) {
    c += "{\"text\":\"最后一个文件的第" + std::to_string(i) + "行。还有一句。再来一句" +
         std::string(i % 5, '?') + "。\"}\n";
  }
  WriteFile(dir.File("c.jsonl"), c);
}

std::string Inputs(const ScopedTempDir& dir) {
  return dir.File("a.jsonl") + " " + dir.File("b.jsonl.gz") + " " + dir.File("c.jsonl");
}

TEST(MpiRunTest, AnyNumberOfRanksWritesTheBytesOfOneProcess) {
  ScopedTempDir dir;
  WriteInputs(dir);
  ASSERT_GT(std::filesystem::file_size(dir.File("a.jsonl")), 4 * 16384u);
  // A T5 PEGASUS vocabulary from the inputs (one process: vocab is a breaker).
  CommandResult vocab = testing::RunCorpusflow(
      {"run",
       "read " + Inputs(dir) + " --field text | vocab -o " + dir.File("vocab.txt") + " --size 2000",
       "--progress", "never"});
  ASSERT_EQ(vocab.exit_code, 0) << vocab.err;
  // Pseudo-summaries tokenized to Megatron with masked-LM noise (random draws from each record's
  // identity), and the documents as JSONL.
  const auto pipeline = [&](const std::string& out) {
    const std::string v = dir.File("vocab.txt");
    return "read " + Inputs(dir) + " --field text | tee " + dir.File(out + ".jsonl") +
           " | pseudo-summary | tokenize --kind t5pegasus --vocab " + v +
           " --field src --output src_ids | tokenize --kind t5pegasus --vocab " + v +
           " --field tgt --output tgt_ids | mlm --mask-id 103 --vocab " + v +
           " --seed 7 | write-megatron " + dir.File(out);
  };
  const std::vector<std::string> run_options = {"--slice-bytes", "16K", "--progress", "never"};
  std::vector<std::string> args = {"run", pipeline("single")};
  args.insert(args.end(), run_options.begin(), run_options.end());
  CommandResult single = testing::RunCorpusflow(args);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const std::vector<std::string> files = {".jsonl",
                                          "_src_ids_document.bin",
                                          "_src_ids_document.idx",
                                          "_tgt_ids_document.bin",
                                          "_tgt_ids_document.idx",
                                          "_mlm_ids_document.bin",
                                          "_mlm_ids_document.idx"};
  for (const std::string& suffix : files) {
    ASSERT_TRUE(std::filesystem::exists(dir.File("single" + suffix))) << suffix;
  }
  for (const int ranks : {1, 2, 3, 4}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string out = "np" + std::to_string(ranks);
    args = {"run", pipeline(out), "--stats-json", dir.File(out + ".stats.json")};
    args.insert(args.end(), run_options.begin(), run_options.end());
    const CommandResult r = RunCorpusflowRanks(ranks, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& suffix : files) {
      EXPECT_EQ(ReadFile(dir.File(out + suffix)), ReadFile(dir.File("single" + suffix))) << suffix;
    }
    // Rank 0 reports for every rank: the records read, and the joined files with their sizes.
    const std::string stats = ReadFile(dir.File(out + ".stats.json"));
    EXPECT_NE(stats.find("\"records_in\": 1800"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"bytes\": " + std::to_string(std::filesystem::file_size(
                                             dir.File("single_src_ids_document.bin")))),
              std::string::npos)
        << stats;
  }
  // Nothing but the outputs: no rank's part or temp file is left beside them.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    EXPECT_EQ(name.find(".join"), std::string::npos) << name;
  }
}

TEST(MpiRunTest, RoundRobinShardsAreTheShardsOfOneProcess) {
  ScopedTempDir dir;
  WriteInputs(dir);
  // `filter` drops some records, so the ranks write counts that are not multiples of 5: each
  // rank's first record goes to the shard after the records the ranks before it wrote.
  const auto pipeline = [&](const std::string& out) {
    return "read " + Inputs(dir) + " --field text | filter --min-chars 30 | write " +
           dir.File(out + ".txt") + " --shards 5";
  };
  const std::vector<std::string> run_options = {"--slice-bytes", "16K", "--progress", "never"};
  std::vector<std::string> args = {"run", pipeline("single")};
  args.insert(args.end(), run_options.begin(), run_options.end());
  const CommandResult single = testing::RunCorpusflow(args);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  std::vector<std::string> expected;
  for (int k = 0; k < 5; ++k) {
    expected.push_back(ReadFile(dir.File("single-0000" + std::to_string(k) + "-of-00005.txt")));
  }
  ASSERT_NE(expected[0].size(), expected[4].size());
  for (const int ranks : {1, 2, 3, 4}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string out = "np" + std::to_string(ranks);
    args = {"run", pipeline(out), "--stats-json", dir.File(out + ".json")};
    args.insert(args.end(), run_options.begin(), run_options.end());
    const CommandResult r = RunCorpusflowRanks(ranks, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (int k = 0; k < 5; ++k) {
      EXPECT_EQ(ReadFile(dir.File(out + "-0000" + std::to_string(k) + "-of-00005.txt")),
                expected[static_cast<size_t>(k)])
          << k;
    }
    const std::string report = ReadFile(dir.File(out + ".json"));
    EXPECT_NE(report.find("\"files\": 5,"), std::string::npos) << report;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(MpiRunTest, RoundRobinMegatronShardsAreTheShardsOfOneProcess) {
  ScopedTempDir dir;
  WriteInputs(dir);
  const CommandResult vocab =
      testing::RunCorpusflow({"vocab", dir.File("a.jsonl"), "-o", dir.File("vocab.txt"), "--size",
                              "500", "--progress", "never"});
  ASSERT_EQ(vocab.exit_code, 0) << vocab.err;
  // T5 PEGASUS ids of the documents that `filter` keeps, in 3 shards: the ranks write counts
  // that are not multiples of 3.
  const auto pipeline = [&](const std::string& out) {
    return "read " + Inputs(dir) +
           " --field text | filter --min-chars 30 | tokenize --kind t5pegasus --vocab " +
           dir.File("vocab.txt") + " --output ids | write-megatron " + dir.File(out) +
           " --shards 3";
  };
  const std::vector<std::string> run_options = {"--slice-bytes", "16K", "--progress", "never"};
  std::vector<std::string> args = {"run", pipeline("single")};
  args.insert(args.end(), run_options.begin(), run_options.end());
  const CommandResult single = testing::RunCorpusflow(args);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  std::vector<std::string> files;
  for (int k = 0; k < 3; ++k) {
    for (const char* suffix : {"_ids_document.bin", "_ids_document.idx"}) {
      files.push_back("-0000" + std::to_string(k) + "-of-00003" + suffix);
      ASSERT_TRUE(std::filesystem::exists(dir.File("single" + files.back()))) << files.back();
    }
  }
  for (const int ranks : {1, 2, 3, 4}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string out = "np" + std::to_string(ranks);
    args = {"run", pipeline(out)};
    args.insert(args.end(), run_options.begin(), run_options.end());
    const CommandResult r = RunCorpusflowRanks(ranks, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& suffix : files) {
      EXPECT_EQ(ReadFile(dir.File(out + suffix)), ReadFile(dir.File("single" + suffix))) << suffix;
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(MpiRunTest, VocabSumsTheCountsOfEveryRank) {
  ScopedTempDir dir;
  WriteInputs(dir);
  // Thousands of distinct words beside the Chinese documents, so the ranks' counts take many
  // rounds: w0..w7999 seen 4 times each, u0..u1999 twice (lines i and i + 2000, 100 KB apart,
  // so on two ranks), v0..v3999 once.
  std::string words;
  for (int i = 0; i < 4000; ++i) {
    words += "{\"text\":\"";
    for (int j = 0; j < 8; ++j) words += "w" + std::to_string((i * 37 + j * 1001) % 8000) + " ";
    words += "u" + std::to_string(i % 2000) + " v" + std::to_string(i) + "\"}\n";
  }
  WriteFile(dir.File("d.jsonl"), words);
  const std::vector<std::string> inputs = {dir.File("a.jsonl"), dir.File("b.jsonl.gz"),
                                           dir.File("c.jsonl"), dir.File("d.jsonl")};
  // --min-frequency 2 keeps the u words (seen once on each of two ranks) and leaves out the v
  // words; --size 9000 then cuts the candidates by their summed counts (ties by bytes); a
  // budget of 1 MiB makes the ranks sum their counts in rounds of small messages.
  const std::vector<std::string> vocab_options = {"--size", "9000", "--min-frequency", "2"};
  std::vector<std::string> args = {"vocab"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  args.insert(args.end(), {"-o", dir.File("single.txt.zst")});
  args.insert(args.end(), vocab_options.begin(), vocab_options.end());
  args.insert(args.end(), {"--progress", "never", "--stats-json", dir.File("single.json")});
  const CommandResult single = testing::RunCorpusflow(args);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const std::string expected = ReadFile(dir.File("single.txt.zst"));
  const std::string single_stats = ReadFile(dir.File("single.json"));
  const size_t at = single_stats.find("\"distinct_candidates\": ");
  ASSERT_NE(at, std::string::npos) << single_stats;
  const std::string distinct = single_stats.substr(at, single_stats.find_first_of(",}", at) - at);
  for (const int ranks : {1, 2, 3, 4}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::string out = dir.File("np" + std::to_string(ranks) + ".txt.zst");
    const std::string stats = dir.File("np" + std::to_string(ranks) + ".json");
    // The `vocab` command, and the operator in a pipeline.
    if (ranks % 2 == 0) {
      args = {"vocab"};
      args.insert(args.end(), inputs.begin(), inputs.end());
      args.insert(args.end(), {"-o", out});
      args.insert(args.end(), vocab_options.begin(), vocab_options.end());
    } else {
      std::string stage = "read";
      for (const std::string& input : inputs) stage += " " + input;
      stage += " --field text | vocab -o " + out;
      for (const std::string& option : vocab_options) stage += " " + option;
      args = {"run", stage};
    }
    args.insert(args.end(), {"--slice-bytes", "16K", "--memory", "1M", "--progress", "never",
                             "--stats-json", stats});
    const CommandResult r = RunCorpusflowRanks(ranks, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(out), expected);
    const std::string report = ReadFile(stats);
    EXPECT_NE(report.find(distinct), std::string::npos) << distinct << "\n" << report;
    if (ranks > 1) {
      const size_t rounds = report.find("\"reduce_rounds\": ");
      ASSERT_NE(rounds, std::string::npos) << report;
      EXPECT_GT(std::stoull(report.substr(rounds + 17)), 2u) << report;
    }
  }
  const CommandResult decoded = RunProgram({"zstd", "-dc", dir.File("single.txt.zst")});
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(std::count(decoded.out.begin(), decoded.out.end(), '\n'), 9000);
  EXPECT_NE(decoded.out.find("\nu0\n"), std::string::npos);
  EXPECT_EQ(decoded.out.find("\nv17\n"), std::string::npos);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(MpiRunTest, AnErrorOnOneRankEndsEveryRankAndLeavesNoOutput) {
  ScopedTempDir dir;
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "{\"text\":\"document " + std::to_string(i) + "\"}\n";
  text += "{not json\n";
  for (int i = 0; i < 100; ++i) text += "{\"text\":\"tail " + std::to_string(i) + "\"}\n";
  WriteFile(dir.File("in.jsonl"), text);
  std::filesystem::create_directory(dir.File("out"));
  for (const int ranks : {1, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const CommandResult r = RunCorpusflowRanks(
        ranks,
        {"run",
         "read " + dir.File("in.jsonl") + " --field text | write " + dir.File("out/docs.jsonl"),
         "--slice-bytes", "16K", "--progress", "never"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    // The rank that read it names the record (by byte: it started inside the file).
    const std::string where = ranks == 1 ? "in.jsonl:3001" : "in.jsonl (the record at byte ";
    EXPECT_NE(r.err.find(where), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;
    if (ranks > 1) {
      EXPECT_NE(r.err.find("another rank failed (exit status 1)"), std::string::npos) << r.err;
    }
    EXPECT_TRUE(testing::ListDir(dir.File("out")).empty());
  }
}

/// `lines` Chinese documents as JSONL, numbered from `first`.
void WriteDocuments(const std::string& path, int first, int lines) {
  std::ofstream out(path);
  for (int i = first; i < first + lines; ++i) {
    out << "{\"text\":\"第" << i
        << "篇。今天天气很好，我们去公园散步。公园里有很多人。大家都很开心。晚上回家吃饭。"
           "明天还要上班。\"}\n";
  }
}

/// Run `read INPUTS | segment | write` as 3 ranks, SIGKILL rank 1 `delay` after its part
/// of the output appears, and check that every rank stopped and that nothing is left on disk:
/// no output, no part of any rank (the killed rank's included), no run folder in --tmp-dir (the
/// killed rank's included: the survivors sweep it).
void KillRankOneAndCheck(const ScopedTempDir& dir, const std::string& inputs,
                         std::chrono::milliseconds delay) {
  std::filesystem::create_directory(dir.File("out"));
  std::filesystem::create_directory(dir.File("tmp"));
  const pid_t launcher = StartRanks(
      3,
      {"run", "read " + inputs + " --field text | segment | write " + dir.File("out/docs.jsonl"),
       "--slice-bytes", "16K", "--threads", "1", "--memory", "32M", "--tmp-dir", dir.File("tmp"),
       "--progress", "never"},
      dir.File("log"));
  ASSERT_GT(launcher, 0);
  // Rank 1's part of the output exists (its temp name carries the job and the rank).
  pid_t victim = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (victim < 0 && std::chrono::steady_clock::now() < deadline) {
    for (const std::string& name : testing::ListDir(dir.File("out"))) {
      if (name.find(".tmp-") != std::string::npos && name.find("-r1-") != std::string::npos) {
        victim = FindRank(launcher, 1);
      }
    }
    if (victim < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (victim < 0) {
    ::kill(launcher, SIGTERM);
    ::waitpid(launcher, nullptr, 0);
    FAIL() << "no part of rank 1 appeared\n" << ReadFile(dir.File("log"));
  }
  std::this_thread::sleep_for(delay);
  // No rank is done: the run folders (one per rank) are in --tmp-dir.
  EXPECT_EQ(testing::ListDir(dir.File("tmp")).size(), 3u);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(launcher, &status, 0), launcher);
  const std::string log = ReadFile(dir.File("log"));
  EXPECT_TRUE(!WIFEXITED(status) || WEXITSTATUS(status) != 0) << log;
  EXPECT_EQ(testing::ListDir(dir.File("out")), std::vector<std::string>{}) << log;
  EXPECT_EQ(testing::ListDir(dir.File("tmp")), std::vector<std::string>{}) << log;
}

TEST(MpiRunTest, ARankKilledOutrightLeavesNothingOnDisk) {
  ScopedTempDir dir;
  // About 24 MB of documents: every rank is at work when rank 1 is killed, and the others stop
  // on the launcher's SIGTERM.
  WriteDocuments(dir.File("in.jsonl"), 0, 120000);
  KillRankOneAndCheck(dir, dir.File("in.jsonl"), std::chrono::milliseconds(0));
}

TEST(MpiRunTest, ARankKilledWhileTheOthersWaitForItLeavesNothingOnDisk) {
  ScopedTempDir dir;
  // A compressed file is one unit of work: rank 1 gets all of b.jsonl.gz (300 MB of documents
  // in 200 gzip members, 6 MB), which starts in the middle of the input's slices (a.jsonl is as
  // large as the rest); ranks 0 and 2 read little, finish, and wait for rank 1 to agree when it
  // is killed. They stop waiting on the launcher's SIGTERM.
  WriteDocuments(dir.File("m.jsonl"), 0, 10000);
  ASSERT_EQ(RunProgram({"gzip", dir.File("m.jsonl")}).exit_code, 0);
  {
    const std::string member = ReadFile(dir.File("m.jsonl.gz"));
    std::ofstream b(dir.File("b.jsonl.gz"), std::ios::binary);
    for (int i = 0; i < 200; ++i) b << member;
  }
  WriteDocuments(dir.File("c.jsonl"), 0, 10);
  const uint64_t rest = std::filesystem::file_size(dir.File("b.jsonl.gz")) +
                        std::filesystem::file_size(dir.File("c.jsonl"));
  int lines = 0;
  for (uint64_t bytes = 0; bytes < rest + 16384; bytes += 150) ++lines;
  WriteDocuments(dir.File("a.jsonl"), 0, lines);
  ASSERT_GT(std::filesystem::file_size(dir.File("a.jsonl")), rest + 16384);
  KillRankOneAndCheck(
      dir, dir.File("a.jsonl") + " " + dir.File("b.jsonl.gz") + " " + dir.File("c.jsonl"),
      std::chrono::milliseconds(1500));
}

TEST(MpiRunTest, WhatCannotRunAcrossRanksYetIsRefusedBeforeAnyOutput) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "a\nb\nc\n");
  const auto refused = [&](const std::string& pipeline, const std::string& message) {
    const CommandResult r = RunCorpusflowRanks(2, {"run", pipeline, "--progress", "never"});
    EXPECT_EQ(r.exit_code, 2) << pipeline << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  };
  refused("read " + dir.File("in.txt") +
              " | parse-ids --output input_ids | pack --field input_ids --mode best-fit --length 4 "
              "| write " +
              dir.File("out.jsonl"),
          "pack cannot run across 2 MPI ranks");
  refused("read " + dir.File("in.txt") + " | write " + dir.File("out.txt") + " --shard-size 1K",
          "--shard-size across MPI ranks is not built yet");
  refused("read " + dir.File("in.txt") + " | write " + dir.File("out.txt") +
              " --shards 2 --shard-policy contiguous",
          "contiguous shards across MPI ranks are not built yet");
  refused("read " + dir.File("in.txt") + " | write -", "stdout cannot be joined");
  refused("read " + dir.File("in.txt") + " --meta | write " + dir.File("out.jsonl"),
          "read --meta names each record's FILE:LINE");
  refused("gen --bytes 1K | write " + dir.File("out.txt"),
          "gen cannot run across 2 MPI ranks: it does not divide its input among MPI ranks");
  refused("read " + dir.File("in.txt") + " | head 2 | write " + dir.File("out.txt"),
          "head cannot run across 2 MPI ranks");
  refused("read " + dir.File("in.txt") + " | parse-ids --output input_ids | write-mds " +
              dir.File("mds"),
          "write-mds cannot run across 2 MPI ranks: its files are not joined from the parts of "
          "several MPI ranks yet");
  // A command other than run: each rank would do the whole work.
  const CommandResult merge =
      RunCorpusflowRanks(2, {"merge", dir.File("merged"), dir.File("a"), dir.File("b")});
  EXPECT_EQ(merge.exit_code, 2) << merge.err;
  EXPECT_NE(merge.err.find("corpusflow merge does not run as the 2 ranks of an MPI job"),
            std::string::npos)
      << merge.err;
  // A usage error is said once, by rank 0.
  const size_t first = merge.err.find("does not run as");
  EXPECT_EQ(merge.err.find("does not run as", first + 1), std::string::npos) << merge.err;
  EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"in.txt"});
}

}  // namespace
}  // namespace corpusflow
