// Integration tests of the command line: the real binary, its exit codes and messages.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace corpusflow::testing
