// End-to-end tests of the `gen` and `vocab` shortcuts through the real binary: they are
// pipeline templates whose operators' options are forwarded as the operators declare them,
// spelled in full like every other option.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/testing/cli_runner.h"

namespace corpusflow {
namespace {

using testing::CommandResult;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCorpusflow;
using testing::ScopedTempDir;

/// The part of `help` after `caption` and before the next blank line.
std::string Group(const std::string& help, const std::string& caption) {
  const size_t at = help.find(caption);
  if (at == std::string::npos) return "";
  return help.substr(at, help.find("\n\n", at) - at);
}

TEST(GenCommandTest, WritesWhatTheGenPipelineWrites) {
  ScopedTempDir dir;
  const CommandResult shortcut =
      RunCorpusflow({"gen", "--bytes", "64K", "--lang", "zh", "--seed", "5", "--paragraphs", "-o",
                     dir.File("a.jsonl"), "--threads", "2"});
  ASSERT_EQ(shortcut.exit_code, 0) << shortcut.err;
  const CommandResult pipeline = RunCorpusflow(
      {"run", "gen --bytes 64K --lang zh --seed 5 --paragraphs | write " + dir.File("b.jsonl")});
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline.err;
  const std::string a = ReadFile(dir.File("a.jsonl"));
  EXPECT_GT(a.size(), 60000u);
  EXPECT_EQ(a, ReadFile(dir.File("b.jsonl")));
  const CommandResult to_stdout = RunCorpusflow({"gen", "--docs", "3", "--seed", "5"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(std::count(to_stdout.out.begin(), to_stdout.out.end(), '\n'), 3);
}

TEST(GenCommandTest, OptionsAreSpelledInFull) {
  // The gen shortcut used to accept abbreviations (`--thread` for --threads) where every other
  // command refuses them.
  ScopedTempDir dir;
  const CommandResult r =
      RunCorpusflow({"gen", "--bytes", "1K", "--thread", "2", "-o", dir.File("o.txt")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("gen: unknown option '--thread' (did you mean '--threads'?)"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(GenCommandTest, UsageErrorsNameTheOption) {
  const CommandResult typo = RunCorpusflow({"gen", "--byts", "1K"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("gen: unknown option '--byts' (did you mean '--bytes'?)"),
            std::string::npos)
      << typo.err;
  const CommandResult bad = RunCorpusflow({"gen", "--bytes", "1K", "--seed", "x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("gen: --seed: 'x' is not a whole number"), std::string::npos) << bad.err;
  const CommandResult none = RunCorpusflow({"gen"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("gen: give --bytes SIZE"), std::string::npos) << none.err;
  const CommandResult extra = RunCorpusflow({"gen", "--bytes", "1K", "x.txt"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("gen: too many arguments; usage: corpusflow gen "), std::string::npos)
      << extra.err;
}

TEST(GenCommandTest, HelpShowsTheGenOperatorsOptions) {
  const CommandResult r = RunCorpusflow({"gen", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string forwarded = Group(r.out, "options of the gen operator");
  for (const char* option : {"--bytes", "--docs", "--lang", "--seed", "--paragraphs", "--dict"}) {
    EXPECT_NE(forwarded.find(option), std::string::npos) << option << " in\n" << r.out;
  }
  EXPECT_NE(Group(r.out, "gen options:").find("-o [ --output ]"), std::string::npos) << r.out;
  EXPECT_NE(Group(r.out, "run options:").find("--threads"), std::string::npos) << r.out;
}

TEST(VocabCommandTest, BuildsWhatTheVocabPipelineBuilds) {
  ScopedTempDir dir;
  ASSERT_EQ(RunCorpusflow({"gen", "--bytes", "200K", "--lang", "zh", "--seed", "3", "--paragraphs",
                           "-o", dir.File("in.jsonl")})
                .exit_code,
            0);
  const CommandResult shortcut =
      RunCorpusflow({"vocab", dir.File("in.jsonl"), "-o", dir.File("a.txt"), "--size", "500",
                     "--min-frequency", "2", "--field", "text", "--progress", "never"});
  ASSERT_EQ(shortcut.exit_code, 0) << shortcut.err;
  const CommandResult pipeline =
      RunCorpusflow({"run", "read " + dir.File("in.jsonl") + " --field text | vocab -o " +
                                dir.File("b.txt") + " --size 500 --min-frequency 2"});
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline.err;
  const std::string a = ReadFile(dir.File("a.txt"));
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 500);
  EXPECT_EQ(a, ReadFile(dir.File("b.txt")));
}

TEST(VocabCommandTest, UsageErrors) {
  ScopedTempDir dir;
  const CommandResult no_input = RunCorpusflow({"vocab", "-o", dir.File("v.txt")});
  EXPECT_EQ(no_input.exit_code, 2);
  EXPECT_NE(no_input.err.find("vocab: give the input files (- for stdin)"), std::string::npos)
      << no_input.err;
  const CommandResult no_output = RunCorpusflow({"vocab", dir.File("in.txt")});
  EXPECT_EQ(no_output.exit_code, 2);
  EXPECT_NE(no_output.err.find("vocab: give the output with -o vocab.txt"), std::string::npos)
      << no_output.err;
  const CommandResult typo =
      RunCorpusflow({"vocab", dir.File("in.txt"), "-o", dir.File("v.txt"), "--sise", "10"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("vocab: unknown option '--sise' (did you mean '--size'?)"),
            std::string::npos)
      << typo.err;
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(VocabCommandTest, HelpShowsTheVocabOperatorsOptions) {
  const CommandResult r = RunCorpusflow({"vocab", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string forwarded = Group(r.out, "options of the vocab operator");
  for (const char* option : {"--size", "--field", "--min-frequency", "--dict", "--user-dict"}) {
    EXPECT_NE(forwarded.find(option), std::string::npos) << option << " in\n" << r.out;
  }
  // -o is the shortcut's own (the operator's is required; the shortcut says what to give).
  EXPECT_EQ(forwarded.find("--output"), std::string::npos) << r.out;
  EXPECT_NE(Group(r.out, "vocab options:").find("-o [ --output ]"), std::string::npos) << r.out;
}

TEST(HelpCommandTest, OperatorsThatAreAlsoCommandsSaySo) {
  for (const char* name : {"gen", "shuffle", "vocab"}) {
    const CommandResult r = RunCorpusflow({"help", name});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(std::string("(also a command: corpusflow ") + name + " --help)"),
              std::string::npos)
        << r.out;
  }
  const CommandResult head = RunCorpusflow({"help", "head"});
  EXPECT_EQ(head.out.find("also a command"), std::string::npos) << head.out;
}

}  // namespace
}  // namespace corpusflow
