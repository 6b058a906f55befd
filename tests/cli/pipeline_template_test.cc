// Tests of ShortcutCommandLine: a shortcut accepts its own options, the run options and the
// options its operators declare in the registry, hands each operator what was typed for it,
// and lets its own declarations win over an operator's of the same name.
#include "cli/pipeline_template.h"

#include <gtest/gtest.h>

#include "engine/error.h"
#include "tests/testing/expect_error.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

using testing::ErrorMessage;

/// The command line of a `shuffle`-like shortcut.
std::unique_ptr<ShortcutCommandLine> ShuffleLike() {
  auto command_line = std::make_unique<ShortcutCommandLine>("shuf", "shuf [INPUT...] [-o OUT]");
  command_line->own().add_options()("output,o", po::value<std::vector<std::string>>(), "output")(
      "dry-run", po::bool_switch(), "plan only");
  command_line->TakePositionals("input");
  command_line->Forward("shuffle");
  return command_line;
}

TEST(ShortcutCommandLineTest, ForwardsTheOperatorsOptionsAsTyped) {
  auto command_line = ShuffleLike();
  command_line->Parse({"a.txt", "--seed", "7", "-o", "out.txt", "b.txt", "--spill-level=-3",
                       "--threads", "2", "--spill-compression", "zstd", "--dry-run"});
  EXPECT_EQ(
      command_line->ArgsFor("shuffle"),
      (std::vector<std::string>{"--seed", "7", "--spill-level=-3", "--spill-compression", "zstd"}));
  const OptionValues& values = command_line->values();
  EXPECT_EQ(values["input"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(values["output"].as<std::vector<std::string>>(), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(values["threads"].as<uint64_t>(), 2u);
  EXPECT_TRUE(values["dry-run"].as<bool>());
  // Forwarded options are parsed with the operator's declaration, defaults included.
  EXPECT_EQ(values["seed"].as<uint64_t>(), 7u);
  EXPECT_EQ(values["buckets"].as<uint64_t>(), 0u);
}

TEST(ShortcutCommandLineTest, NothingTypedNothingForwarded) {
  auto command_line = ShuffleLike();
  command_line->Parse({"a.txt"});
  EXPECT_TRUE(command_line->ArgsFor("shuffle").empty());
  EXPECT_DEATH(command_line->ArgsFor("read"),
               "check failed at .*pipeline_template.cc:[0-9]+: .*'read' is not forwarded");
}

TEST(ShortcutCommandLineTest, TheCommandsOwnAndRunOptionsWinOverTheOperators) {
  // The shuffle operator declares --memory (its own budget); in the shortcut --memory is the
  // run's budget and is not forwarded.
  auto command_line = ShuffleLike();
  command_line->Parse({"--memory", "64M", "--seed", "1"});
  EXPECT_EQ(command_line->ArgsFor("shuffle"), (std::vector<std::string>{"--seed", "1"}));
  EXPECT_EQ(command_line->values()["memory"].as<uint64_t>(), uint64_t{64} << 20);
  const std::string help = command_line->Help("Shuffle.");
  const size_t run = help.find("run options:");
  ASSERT_NE(run, std::string::npos) << help;
  EXPECT_NE(help.find("--memory", run), std::string::npos) << help;
  EXPECT_EQ(help.find("memory for the shuffle"), std::string::npos) << help;
}

TEST(ShortcutCommandLineTest, HelpShowsOwnForwardedAndRunOptions) {
  auto command_line = ShuffleLike();
  const std::string help = command_line->Help("Shuffle lines.");
  EXPECT_EQ(help.rfind("usage: corpusflow shuf [INPUT...] [-o OUT]\n\nShuffle lines.\n\n", 0), 0u)
      << help;
  const size_t own = help.find("shuf options:");
  const size_t forwarded =
      help.find("options of the shuffle operator (`corpusflow help shuffle`):");
  const size_t run = help.find("run options:");
  ASSERT_NE(own, std::string::npos) << help;
  ASSERT_NE(forwarded, std::string::npos) << help;
  ASSERT_NE(run, std::string::npos) << help;
  EXPECT_LT(own, forwarded);
  EXPECT_LT(forwarded, run);
  for (const char* option : {"--seed", "--spill-compression", "--spill-level", "--buckets"}) {
    const size_t at = help.find(option, forwarded);
    EXPECT_TRUE(at != std::string::npos && at < run) << option << " in\n" << help;
  }
  EXPECT_EQ(help.find("--input"), std::string::npos) << help;
}

TEST(ShortcutCommandLineTest, ErrorsNameTheCommandAndSuggestAcrossAllOptions) {
  auto parse_error = [](const std::vector<std::string>& args) {
    auto command_line = ShuffleLike();
    return ErrorMessage<InvalidArgument>([&] { command_line->Parse(args); });
  };
  EXPECT_EQ(parse_error({"--seeed", "1"}),
            "shuf: unknown option '--seeed' (did you mean '--seed'?); `corpusflow shuf --help` "
            "lists its options");
  EXPECT_EQ(parse_error({"--thread", "1"}),
            "shuf: unknown option '--thread' (did you mean '--threads'?); `corpusflow shuf "
            "--help` lists its options");
  EXPECT_EQ(parse_error({"--dry-rn"}),
            "shuf: unknown option '--dry-rn' (did you mean '--dry-run'?); `corpusflow shuf "
            "--help` lists its options");
  EXPECT_EQ(parse_error({"--seed"}), "shuf: the required argument for option '--seed' is missing");
  EXPECT_EQ(parse_error({"--buckets", "many"}),
            "shuf: --buckets: 'many' is not a whole number from 0 to 65536");
  EXPECT_EQ(parse_error({"--buckets", "-1"}),
            "shuf: --buckets: '-1' is not a whole number from 0 to 65536");
}

TEST(ShortcutCommandLineTest, SurplusArgumentsWithoutPositionalsShowTheUsage) {
  ShortcutCommandLine command_line("gen", "gen [--bytes SIZE]");
  command_line.Forward("gen");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] { command_line.Parse({"x.txt"}); }),
            "gen: too many arguments; usage: corpusflow gen [--bytes SIZE]");
}

TEST(ShortcutCommandLineTest, OnlyRegisteredOperatorsCanBeForwarded) {
  ShortcutCommandLine command_line("x", "x");
  EXPECT_EQ(ErrorMessage<InvalidArgument>([&] { command_line.Forward("shufle"); }),
            "unknown operator 'shufle' (did you mean 'shuffle'?); `corpusflow ops` lists them");
}

}  // namespace
}  // namespace corpusflow
