// `corpusflow vocab INPUT... -o vocab.txt [--size N]`: a pipeline template for
// `read INPUT... --field F | vocab -o vocab.txt OPTIONS`, the vocabulary's options (--size,
// --field, --min-frequency, --dict, --user-dict) forwarded as the `vocab` operator declares them;
// its --field also names the field `read` takes.
#include <iostream>

#include "cli/command.h"
#include "cli/pipeline_template.h"
#include "engine/error.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr const char* kSynopsis =
    "vocab INPUT... -o vocab.txt [--size 50000] [--field text] [--min-frequency N] "
    "[--dict FILE] [--user-dict FILE] [run options]";

int VocabCommand(const std::vector<std::string>& args) {
  ShortcutCommandLine command_line("vocab", kSynopsis);
  command_line.own().add_options()("output,o", po::value<std::string>(), "vocab.txt to write")(
      "help", po::bool_switch(), "show this help");
  command_line.TakePositionals("input");
  command_line.Forward("vocab");
  command_line.Parse(args);
  const OptionValues& values = command_line.values();
  if (values["help"].as<bool>()) {
    std::cout << command_line.Help(
        "Shortcut for `read INPUT... --field F | vocab -o vocab.txt OPTIONS` (F: --field, JSONL "
        "key to read; with text lines every line is a record).\n\n" +
        OperatorRegistry::Global().Get("vocab").details);
    return 0;
  }
  if (!values.count("input")) throw InvalidArgument("vocab: give the input files (- for stdin)");
  if (!values.count("output")) throw InvalidArgument("vocab: give the output with -o vocab.txt");

  // After "--" every input is a path, even one that starts with '-'.
  std::vector<std::string> read_args = {"--field", values["field"].as<std::string>(), "--"};
  const std::vector<std::string>& inputs = values["input"].as<std::vector<std::string>>();
  read_args.insert(read_args.end(), inputs.begin(), inputs.end());
  std::vector<std::string> vocab_args = {"-o", values["output"].as<std::string>()};
  const std::vector<std::string>& forwarded = command_line.ArgsFor("vocab");
  vocab_args.insert(vocab_args.end(), forwarded.begin(), forwarded.end());
  const RunOptions options = RunOptionsFrom(values);
  const std::vector<std::pair<std::string, std::vector<std::string>>> stages = {
      {"read", read_args}, {"vocab", vocab_args}};
  return ExecutePlan(PlanStages(stages, options), options);
}

const CommandRegistrar kVocab(CommandDef{
    .name = "vocab",
    .synopsis = kSynopsis,
    .summary = "Build a T5 PEGASUS WordPiece vocabulary from a corpus",
    .run = VocabCommand,
    .ranks = true,
});

}  // namespace
}  // namespace corpusflow
