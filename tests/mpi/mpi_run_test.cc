// Multi-rank runs under Open MPI (docs/scale-out.md), label `mpi`, built when CMake finds MPI:
// `mpirun -np N corpusflow run ...` for N = 1..4 gives the bytes of the single-process run (each
// rank reads its share of the input slices, record identities come from the slices, rank 0 joins
// the ranks' parts of every output and reports for all); an error on one rank ends every rank
// with the same exit status and leaves no output; what cannot run across ranks yet is refused
// before any output.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ReadFile;
using testing::RunProgram;
using testing::ScopedTempDir;
using testing::WriteFile;

/// `corpusflow ARGS` as N ranks, as root in a container too, on a machine with fewer cores.
CommandResult RunRanks(int ranks, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"mpirun", "--oversubscribe",     "--allow-run-as-root",
                                   "-np",    std::to_string(ranks), testing::CorpusflowBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, "", {"OMPI_MCA_rmaps_base_oversubscribe=1"});
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
    const CommandResult r = RunRanks(ranks, args);
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
    const CommandResult r = RunRanks(
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

TEST(MpiRunTest, WhatCannotRunAcrossRanksYetIsRefusedBeforeAnyOutput) {
  ScopedTempDir dir;
  WriteFile(dir.File("in.txt"), "a\nb\nc\n");
  const auto refused = [&](const std::string& pipeline, const std::string& message) {
    const CommandResult r = RunRanks(2, {"run", pipeline, "--progress", "never"});
    EXPECT_EQ(r.exit_code, 2) << pipeline << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  };
  refused("read " + dir.File("in.txt") +
              " | parse-ids --output input_ids | pack --field input_ids --mode best-fit --length 4 "
              "| write " +
              dir.File("out.jsonl"),
          "pack cannot run across 2 MPI ranks");
  refused("read " + dir.File("in.txt") + " | write " + dir.File("out.txt") + " --shards 2",
          "sharded output across MPI ranks is not built yet");
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
  refused("read " + dir.File("in.txt") + " | vocab -o " + dir.File("vocab.txt"),
          "vocab cannot run across 2 MPI ranks: its counts are not reduced across MPI ranks yet");
  // A command other than run: each rank would do the whole work.
  const CommandResult merge =
      RunRanks(2, {"merge", dir.File("merged"), dir.File("a"), dir.File("b")});
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
