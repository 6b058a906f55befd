// Tests of the one option parser (engine/options.h): values, positionals, and the wording of
// every error (unknown option with suggestion, missing value, bad value naming the option,
// surplus arguments, abbreviations refused); counts, integers and sizes checked while parsing
// (negative, malformed and out-of-range values refused, never wrapped around).
#include "engine/options.h"

#include <gtest/gtest.h>

#include "engine/error.h"
#include "tests/testing/expect_error.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

using testing::ErrorMessage;

/// Options like an operator's: `toy PATH... [--seed N] [--spill-level N] [--fast] [--shards N]
/// [--memory SIZE]`.
OptionSet ToyOptions() {
  OptionSet options;
  options.named.add_options()("seed", CountValue(), "seed")(
      "spill-level", IntegerValue(-7, 22)->default_value(3), "level")(
      "fast", po::bool_switch(), "go fast")("shards", CountValue(1, 100)->default_value(1),
                                            "shards")("memory", ByteSizeValue(1 << 20), "budget");
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
  EXPECT_EQ(values["spill-level"].as<int64_t>(), -2);
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
  EXPECT_EQ(defaults["spill-level"].as<int64_t>(), 3);
  EXPECT_EQ(defaults["shards"].as<uint64_t>(), 1u);
  EXPECT_EQ(defaults.count("memory"), 0u);
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
  EXPECT_EQ(ParseError({"--seed", "x"}, kToyErrors), "toy: --seed: 'x' is not a whole number");
  EXPECT_EQ(ParseError({"--spill-level", "1.5"}, kToyErrors),
            "toy: --spill-level: '1.5' is not an integer from -7 to 22");
}

// Boost reads "-1" into an unsigned option as 2^64-1: `shuffle --shards -1` made millions of
// files. Every count is digits only and within its range.
TEST(OptionsTest, CountsRefuseNegativeMalformedAndOutOfRangeValues) {
  const std::string expected = "' is not a whole number from 1 to 100";
  for (const std::string& bad : std::vector<std::string>{
           "-1", "0", "101", "", "+5", " 5", "5 ", "1e2", "0x10", "5k", "18446744073709551616"}) {
    EXPECT_EQ(ParseError({"--shards", bad}, kToyErrors), "toy: --shards: '" + bad + expected)
        << bad;
    if (bad.empty()) continue;  // "--shards=" is Boost's "should follow the equal sign"
    EXPECT_EQ(ParseError({"--shards=" + bad}, kToyErrors), "toy: --shards: '" + bad + expected)
        << bad;
  }
  EXPECT_EQ(ParseError({"--seed", "-1"}, kToyErrors), "toy: --seed: '-1' is not a whole number");
  EXPECT_EQ(ParseError({"--spill-level", "23"}, kToyErrors),
            "toy: --spill-level: '23' is not an integer from -7 to 22");
  OptionValues values;
  ParseOptions(ToyOptions(),
               {"--shards", "100", "--seed", "18446744073709551615", "--spill-level", "-7"},
               kToyErrors, &values);
  EXPECT_EQ(values["shards"].as<uint64_t>(), 100u);
  EXPECT_EQ(values["seed"].as<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(values["spill-level"].as<int64_t>(), -7);
}

// `--memory ''` used to mean "the default"; an empty or malformed size is an error.
TEST(OptionsTest, SizesRefuseEmptyMalformedAndTooSmallValues) {
  const std::string expected =
      "' is not a size of at least 1.00 MiB (a number with an optional K, M, G or T suffix, "
      "e.g. 256M)";
  for (const std::string& bad :
       std::vector<std::string>{"", "-1", "-1M", "12Q", "M", "1.5.2G", "512K", "0"}) {
    EXPECT_EQ(ParseError({"--memory", bad}, kToyErrors), "toy: --memory: '" + bad + expected)
        << bad;
  }
  OptionValues values;
  ParseOptions(ToyOptions(), {"--memory", "1.5G"}, kToyErrors, &values);
  EXPECT_EQ(values["memory"].as<uint64_t>(), uint64_t{3} << 29);
}

TEST(OptionsTest, DoubleDashEndsTheOptions) {
  OptionValues values;
  ParseOptions(ToyOptions(), {"--seed", "1", "--", "-name", "--fast"}, kToyErrors, &values);
  EXPECT_EQ(values["input"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"-name", "--fast"}));
  EXPECT_FALSE(values["fast"].as<bool>());
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
