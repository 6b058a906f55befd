// The one command-line option parser of corpusflow, for operators (`head 3`, `write x --shards 2`)
// and commands (`corpusflow shuffle a.txt --seed 1`) alike: Boost.Program_options underneath,
// abbreviations refused (an option is spelled in full, so adding one never breaks a script), and
// every Boost error turned into InvalidArgument that names who parsed it and, for an unknown
// option, suggests the nearest declared one.
// Counts, integers and byte sizes are declared with CountValue, IntegerValue and ByteSizeValue
// instead of `po::value<T>()`: one strict parser checks them while the command line is parsed
// ("-1", "1e3", "", "12abc" and values outside the option's range are usage errors naming the
// option), where Boost would wrap "-1" into 2^64-1 for an unsigned type.
// Thread safety: ParseOptions is a pure function of its arguments; an OptionSet is built by one
// thread and read-only while it is parsed against.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace corpusflow {

/// The options of an operator or command: named ones shown in help, hidden ones that take
/// positional arguments (e.g. "input" for `read PATH...`).
struct OptionSet {
  boost::program_options::options_description named{"options"};
  boost::program_options::options_description hidden{"positional"};
  boost::program_options::positional_options_description positional;
};

using OptionValues = boost::program_options::variables_map;

/// How ParseOptions words its errors.
struct OptionErrors {
  /// Who parses, the prefix of every message: "head", "shuffle", "bench disk".
  std::string who{};
  /// Appended to an unknown option's message after "; " (e.g. "`corpusflow help head` lists its
  /// options"); nothing when empty.
  std::string unknown_hint{};
  /// The usage shown for surplus positional arguments ("who: too many arguments; usage:
  /// USAGE"); Boost's own message when empty.
  std::string usage{};
};

/// Parse `args` against `options` into `values` (stored and notified: required options and
/// notifiers are checked) and return Boost's parse (each option with its original tokens).
/// Throws InvalidArgument "WHO: MESSAGE": for an unknown option "WHO: unknown option '--x'
/// (did you mean '--y'?)", the suggestion taken from the named options.
boost::program_options::parsed_options ParseOptions(const OptionSet& options,
                                                    const std::vector<std::string>& args,
                                                    const OptionErrors& errors,
                                                    OptionValues* values);

/// The value of an option that counts something: a whole number written with digits only (no
/// sign, exponent or spaces) from `min` to `max`, read back as uint64_t. Anything else is an
/// error while parsing: "WHO: --shards: '-1' is not a whole number from 1 to 100000".
boost::program_options::typed_value<uint64_t>* CountValue(
    uint64_t min = 0, uint64_t max = std::numeric_limits<uint64_t>::max());
/// The value of an integer option that may be negative (a compression level, a token id): an
/// optional '-' and digits, from `min` to `max`, read back as int64_t.
boost::program_options::typed_value<int64_t>* IntegerValue(int64_t min, int64_t max);
/// The value of a byte-size option: a number with an optional K, M, G or T suffix (units.h,
/// ParseByteSize: "256M", "1.5G") from `min` to `max` bytes, read back as uint64_t. An empty
/// value is an error, never "the default".
boost::program_options::typed_value<uint64_t>* ByteSizeValue(
    uint64_t min = 0, uint64_t max = std::numeric_limits<uint64_t>::max());

/// The long names of `desc`'s options as typed, "--name".
std::vector<std::string> OptionNames(const boost::program_options::options_description& desc);

}  // namespace corpusflow
