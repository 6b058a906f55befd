// `corpusflow shuffle`: a drop-in for `shuf` and terashuf. Reads lines from the inputs (stdin by
// default; several inputs are mixed into one shuffle), shuffles them uniformly out of core with
// the `shuffle` operator and writes them to stdout or -o FILE, optionally in shards
// (engine/sharding.h; contiguous pieces of the permutation by default).
// `--paired` shuffles line-aligned files (source/target) with one permutation, one output each.
// A pipeline template: `read INPUT... --format lines | shuffle OPTIONS | write OUTPUT`, where
// read and shuffle come from the operator registry and the shuffle's options (--seed,
// --spill-compression, --head-count/-n, ...) are forwarded as the operator declares them; -z
// makes the read and the sink end lines at NUL. With --paired the read
// is the lockstep reader of operators/shuffle/; the write is the shuffle's line sink, which
// writes one output per input and, by default, cuts the shards as contiguous pieces.
#include <iostream>

#include "cli/command.h"
#include "cli/pipeline_template.h"
#include "engine/error.h"
#include "engine/io/compression.h"
#include "engine/io/output_stream.h"
#include "engine/options.h"
#include "engine/registry.h"
#include "engine/sharding.h"
#include "engine/units.h"
#include "operators/shuffle/lockstep_lines_source.h"
#include "operators/shuffle/shuffled_lines_sink.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr const char* kSynopsis =
    "shuffle [INPUT...] [-o OUTPUT]... [-n N] [-z] [--seed N] [--memory SIZE] [--threads N] "
    "[--tmp-dir DIR] [--compression C] [--level N] [--shards N [--shard-policy P]] [--paired] "
    "[--on-error fail|skip] "
    "[--max-record-bytes SIZE] [--spill-compression auto|zstd|none] "
    "[--spill-level N] "
    "[--stats-json PATH] [--progress auto|always|never] [--dry-run]";

int ShuffleCommand(const std::vector<std::string>& args) {
  ShortcutCommandLine command_line("shuffle", kSynopsis);
  command_line.own().add_options()("output,o", po::value<std::vector<std::string>>(),
                                   "output file (default: stdout); with --paired, once per input")(
      "shards", CountValue(1, kMaxShards)->default_value(1),
      "split each output into N files NAME-0000k-of-0000N.EXT (see --shard-policy)")(
      "shard-policy", po::value<std::string>()->default_value("contiguous"),
      "contiguous (N pieces of the one permutation: concatenated, they are the unsharded "
      "output) or round-robin (records dealt in turn)")(
      "on-error", po::value<std::string>()->default_value("fail"),
      "a line longer than --max-record-bytes: fail (FILE:LINE) or skip (dropped, counted)")(
      "zero-terminated,z", po::bool_switch(),
      "a line ends at NUL, not newline, in the inputs and the outputs (as shuf -z)")(
      "compression", po::value<std::string>()->default_value("auto"),
      "outputs: auto (by extension: .zst, .gz, .bz2), none, gzip, bzip2 or zstd (the way to "
      "compress stdout)")("level", IntegerValue(-7, 22)->default_value(0),
                          "output compression level (0 = default: zstd 3, gzip 6, bzip2 9)")(
      "paired", po::bool_switch(),
      "shuffle line-aligned inputs (e.g. source and target) with the same "
      "permutation, one output per input")("dry-run", po::bool_switch(), "print the plan and stop")(
      "help,h", po::bool_switch(), "show this help");
  command_line.TakePositionals("input");
  command_line.Forward("shuffle");
  command_line.Parse(args);
  const OptionValues& values = command_line.values();
  if (values["help"].as<bool>()) {
    std::cout << command_line.Help(
        "Shuffle lines uniformly at random, out of core: every permutation is equally likely,\n"
        "the output depends only on --seed and the input. Reads stdin and writes stdout by "
        "default.\n"
        "As shuf: -n N writes only the first N lines of the permutation (a uniform sample; the "
        "same lines as the whole shuffle cut after N, found without holding or spilling the "
        "rest); -z reads and writes lines that end at NUL. Outputs are compressed by their "
        "extension, or by --compression (stdout too), at --level.");
    return 0;
  }

  std::vector<std::string> inputs;
  if (values.count("input") > 0) inputs = values["input"].as<std::vector<std::string>>();
  if (inputs.empty()) inputs.push_back("-");
  std::vector<std::string> outputs;
  if (values.count("output") > 0) outputs = values["output"].as<std::vector<std::string>>();
  const bool paired = values["paired"].as<bool>();
  const uint64_t shards = values["shards"].as<uint64_t>();

  const ShardPolicy shard_policy = ParseShardPolicy(values["shard-policy"].as<std::string>());
  const bool zero_terminated = values["zero-terminated"].as<bool>();
  const char delimiter = zero_terminated ? '\0' : '\n';
  OutputOptions output;
  if (const std::string codec = values["compression"].as<std::string>(); codec != "auto") {
    output.compression = ParseCompression(codec);
  }
  output.level = static_cast<int>(values["level"].as<int64_t>());
  std::unique_ptr<Operator> shuffle =
      OperatorRegistry::Global().Create("shuffle", command_line.ArgsFor("shuffle"));
  std::vector<std::unique_ptr<Operator>> chain;
  std::vector<std::string> columns;
  if (paired) {
    if (values["on-error"].as<std::string>() != "fail") {
      throw InvalidArgument(
          "shuffle: --paired lines are never dropped (that would misalign "
          "the inputs): --on-error must be fail");
    }
    if (inputs.size() < 2) {
      throw InvalidArgument("shuffle: --paired needs two or more line-aligned inputs");
    }
    if (outputs.size() != inputs.size()) {
      throw InvalidArgument("shuffle: --paired needs one -o per input (" +
                            std::to_string(inputs.size()) + " inputs, " +
                            std::to_string(outputs.size()) + " outputs)");
    }
    chain.push_back(std::make_unique<LockstepLinesSource>(inputs, delimiter));
    chain.back()->set_name("read-paired");
    for (size_t i = 0; i < inputs.size(); ++i) {
      columns.push_back(LockstepLinesSource::ColumnName(i));
    }
  } else {
    if (outputs.size() > 1) {
      throw InvalidArgument("shuffle: one -o for all inputs (or --paired for one per input)");
    }
    if (outputs.empty()) outputs.push_back("-");
    // After "--" every input is a path, even one that starts with '-'.
    std::vector<std::string> read_args = {"--format", "lines", "--on-error",
                                          values["on-error"].as<std::string>()};
    if (zero_terminated) read_args.push_back("--zero-terminated");
    read_args.push_back("--");
    read_args.insert(read_args.end(), inputs.begin(), inputs.end());
    chain.push_back(OperatorRegistry::Global().Create("read", read_args));
    columns.push_back("text");
  }
  chain.push_back(std::move(shuffle));
  chain.push_back(std::make_unique<ShuffledLinesSink>(columns, outputs, shards, shard_policy,
                                                      delimiter, std::move(output)));
  chain.back()->set_name("write");

  RunOptions options = RunOptionsFrom(values);
  options.command = CheckpointCommand("shuffle", args);
  const Plan plan = Plan::Build(std::move(chain), MakePlanContext(options));
  if (values["dry-run"].as<bool>()) {
    std::cout << plan.ToString();
    return 0;
  }
  return ExecutePlan(plan, options);
}

const CommandRegistrar kShuffle(CommandDef{
    .name = "shuffle",
    .synopsis = kSynopsis,
    .summary = "Shuffle lines uniformly, out of core (a drop-in for shuf/terashuf)",
    .run = ShuffleCommand,
    .ranks = true,
});

}  // namespace
}  // namespace corpusflow
