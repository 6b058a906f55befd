// `corpusflow run 'read X.jsonl | pseudo-summary | write Y.jsonl'` against a plain Python
// implementation of the T5 PEGASUS construction (pseudo_summary_oracle.py: bert4keras
// text_segmentate, the grouping of train.py, greedy selection with a quadratic-table LCS) on real
// Chinese text from Debian's fortunes-zh (Tang and Song poems, Chinese fortunes, long documents
// and edge cases). Every pair must be identical, with either LCS algorithm and thread count.
// Needs /usr/bin/python3 with numpy (python3-numpy) and fortunes-zh.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

const char kPython[] = "/usr/bin/python3";

std::string Oracle() {
  return testing::SourceDir() + "/tests/operators/pegasus/pseudo_summary_oracle.py";
}

TEST(PseudoSummaryOracleTest, IdenticalPairsOnFortunesZh) {
  ASSERT_TRUE(std::filesystem::exists("/usr/share/games/fortunes/tang300"))
      << "the Debian package fortunes-zh is missing: apt-get install fortunes-zh";
  testing::ScopedTempDir dir;
  const std::string input = dir.File("docs.jsonl");
  const auto made = testing::RunProgram({kPython, Oracle(), "make-input", input});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  std::vector<std::string> check = {kPython, Oracle(), "check", input};
  for (const auto& [threads, lcs] :
       std::vector<std::pair<std::string, std::string>>{{"2", "bitparallel"}, {"1", "quadratic"}}) {
    const std::string output = dir.File("pairs-" + lcs + ".jsonl");
    const auto run = testing::RunCorpusflow(
        {"run", "read " + input + " | pseudo-summary --lcs " + lcs + " | write " + output,
         "--threads", threads});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    // Documents too short for a group are reported, not silently lost.
    EXPECT_NE(run.err.find("fewer than 3 chunks"), std::string::npos) << run.err;
    check.push_back(output);
  }
  const auto checked = testing::RunProgram(check);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_NE(checked.out.find("pairs-bitparallel.jsonl: 440 pairs identical"), std::string::npos)
      << checked.out;
  EXPECT_NE(checked.out.find("pairs-quadratic.jsonl: 440 pairs identical"), std::string::npos)
      << checked.out;
}

}  // namespace
}  // namespace corpusflow
