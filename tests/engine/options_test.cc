// Tests of the one option parser (engine/options.h): values, positionals, and the wording of
// every error (unknown option with suggestion, missing value, bad value naming the option,
// surplus arguments, abbreviations refused).
#include "engine/options.h"

#include <gtest/gtest.h>

#include "engine/error.h"
#include "tests/testing/expect_error.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

using testing::ErrorMessage;

/// Options like an operator's: `toy PATH... [--seed N] [--spill-level N] [--fast]`.
OptionSet ToyOptions() {
  OptionSet options;
  options.named.add_options()("seed", po::value<uint64_t>(), "seed")(
      "spill-level", po::value<int>()->default_value(3), "level")("fast", po::bool_switch(),
                                                                  "go fast");
  options.hidden.add_options()("input", po::value<std::vector<std::string>>(), "inputs");
  options.positional.add("input", -1);
  return options;
}

const OptionErrors kToyErrors{.who = "toy",
                              .unknown_hint = "`toy --help` lists its options",
                              .usage = "toy PATH... [--seed N]"};

TEST(OptionsTest, ParsesValuesDefaultsAndPositionals) {
  OptionValues values;
  const po::parsed_options parsed =
      ParseOptions(ToyOptions(), {"a.txt", "--seed", "7", "b.txt", "--fast", "--spill-level=-2"},
                   kToyErrors, &values);
  EXPECT_EQ(values["seed"].as<uint64_t>(), 7u);
  EXPECT_EQ(values["spill-level"].as<int>(), -2);
  EXPECT_TRUE(values["fast"].as<bool>());
  EXPECT_EQ(values["input"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"a.txt", "b.txt"}));
  // The parse keeps each option's tokens as typed.
  std::vector<std::string> tokens;
  for (const po::option& o : parsed.options) {
    tokens.insert(tokens.end(), o.original_tokens.begin(), o.original_tokens.end());
  }
  EXPECT_EQ(tokens, (std::vector<std::string>{"a.txt", "--seed", "7", "b.txt", "--fast",
                                              "--spill-level=-2"}));

  OptionValues defaults;
  ParseOptions(ToyOptions(), {}, kToyErrors, &defaults);
  EXPECT_EQ(defaults.count("seed"), 0u);
  EXPECT_EQ(defaults["spill-level"].as<int>(), 3);
  EXPECT_FALSE(defaults["fast"].as<bool>());
}

std::string ParseError(const std::vector<std::string>& args, const OptionErrors& errors,
                       const OptionSet& options = ToyOptions()) {
  OptionValues values;
  return ErrorMessage<InvalidArgument>([&] { ParseOptions(options, args, errors, &values); });
}

TEST(OptionsTest, UnknownOptionSuggestsTheNearestNamedOne) {
  EXPECT_EQ(ParseError({"--seeed", "1"}, kToyErrors),
            "toy: unknown option '--seeed' (did you mean '--seed'?); `toy --help` lists its "
            "options");
  EXPECT_EQ(ParseError({"--spill-levle", "1"}, OptionErrors{.who = "toy"}),
            "toy: unknown option '--spill-levle' (did you mean '--spill-level'?)");
  EXPECT_EQ(ParseError({"--colour"}, OptionErrors{.who = "toy"}), "toy: unknown option '--colour'");
  // Hidden options are never suggested.
  EXPECT_EQ(ParseError({"--inptu"}, OptionErrors{.who = "toy"}), "toy: unknown option '--inptu'");
}

TEST(OptionsTest, AbbreviationsAreRefused) {
  EXPECT_EQ(ParseError({"--see", "1"}, OptionErrors{.who = "toy"}),
            "toy: unknown option '--see' (did you mean '--seed'?)");
  EXPECT_EQ(ParseError({"--fas"}, OptionErrors{.who = "toy"}),
            "toy: unknown option '--fas' (did you mean '--fast'?)");
}

TEST(OptionsTest, MissingValueNamesTheOption) {
  EXPECT_EQ(ParseError({"a.txt", "--seed"}, kToyErrors),
            "toy: the required argument for option '--seed' is missing");
}

TEST(OptionsTest, BadValueNamesTheOption) {
  EXPECT_EQ(ParseError({"--seed", "x"}, kToyErrors),
            "toy: the argument ('x') for option '--seed' is invalid");
  EXPECT_EQ(ParseError({"--spill-level", "1.5"}, kToyErrors),
            "toy: the argument ('1.5') for option '--spill-level' is invalid");
}

TEST(OptionsTest, RepeatedOptionIsAnError) {
  EXPECT_EQ(ParseError({"--seed", "1", "--seed", "2"}, kToyErrors),
            "toy: option '--seed' cannot be specified more than once");
}

TEST(OptionsTest, RequiredOptionIsChecked) {
  OptionSet options;
  options.named.add_options()("output,o", po::value<std::string>()->required(), "output");
  EXPECT_EQ(ParseError({}, OptionErrors{.who = "toy"}, options),
            "toy: the option '--output' is required but missing");
}

TEST(OptionsTest, SurplusArgumentsShowTheUsage) {
  OptionSet options;
  options.named.add_options()("n", po::value<int>(), "count");
  options.positional.add("n", 1);
  EXPECT_EQ(ParseError({"3", "4"}, kToyErrors, options),
            "toy: too many arguments; usage: toy PATH... [--seed N]");
  EXPECT_EQ(ParseError({"3", "4"}, OptionErrors{.who = "toy"}, options),
            "toy: too many positional options have been specified on the command line");
}

}  // namespace
}  // namespace corpusflow
