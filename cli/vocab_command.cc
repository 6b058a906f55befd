// `corpusflow vocab INPUT... -o vocab.txt [--size N]`: the shortcut for
// `read INPUT... --field F | vocab -o vocab.txt --size N --field F`.
#include <iostream>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

int VocabCommand(const std::vector<std::string>& args) {
  po::options_description desc("vocab options");
  desc.add_options()("output,o", po::value<std::string>(), "vocab.txt to write")(
      "size", po::value<size_t>()->default_value(50000),
      "lines of the vocabulary, the 104 special tokens included")(
      "field", po::value<std::string>()->default_value("text"),
      "JSONL key to read (lines: every line is a record)")("min-frequency",
                                                           po::value<uint64_t>()->default_value(1),
                                                           "leave out candidates seen fewer times")(
      "dict", po::value<std::string>(), "jieba dictionary (default: python3-jieba's)")(
      "user-dict", po::value<std::vector<std::string>>()->composing(),
      "jieba user dictionary (repeatable)")("help", po::bool_switch(), "show this help");
  AddRunOptions(desc);
  po::variables_map values;
  ParseCommandArgsWithInputs("vocab", args, desc, "input", &values);
  if (values["help"].as<bool>()) {
    std::cout << "usage: corpusflow vocab INPUT... -o vocab.txt [--size N] [options]\n\n"
              << OperatorRegistry::Global().Help("vocab") << "\n"
              << desc;
    return 0;
  }
  if (!values.count("input")) throw InvalidArgument("vocab: give the input files (- for stdin)");
  if (!values.count("output")) throw InvalidArgument("vocab: give the output with -o vocab.txt");

  const std::string field = values["field"].as<std::string>();
  std::vector<std::string> read_args = values["input"].as<std::vector<std::string>>();
  read_args.insert(read_args.end(), {"--field", field});
  std::vector<std::string> vocab_args = {"-o",
                                         values["output"].as<std::string>(),
                                         "--size",
                                         std::to_string(values["size"].as<size_t>()),
                                         "--field",
                                         field,
                                         "--min-frequency",
                                         std::to_string(values["min-frequency"].as<uint64_t>())};
  if (values.count("dict")) {
    vocab_args.insert(vocab_args.end(), {"--dict", values["dict"].as<std::string>()});
  }
  if (values.count("user-dict")) {
    for (const std::string& path : values["user-dict"].as<std::vector<std::string>>()) {
      vocab_args.insert(vocab_args.end(), {"--user-dict", path});
    }
  }
  const RunOptions options = RunOptionsFrom(values);
  const std::vector<std::pair<std::string, std::vector<std::string>>> stages = {
      {"read", read_args}, {"vocab", vocab_args}};
  return ExecutePlan(PlanStages(stages, options), options);
}

const CommandRegistrar kVocab(CommandDef{
    .name = "vocab",
    .synopsis = "vocab INPUT... -o vocab.txt [--size 50000] [--field text] [--min-frequency N] "
                "[--dict FILE] [--user-dict FILE] [run options]",
    .summary = "Build a T5 PEGASUS WordPiece vocabulary from a corpus",
    .run = VocabCommand,
});

}  // namespace
}  // namespace corpusflow
