// `corpusflow gen [gen options] [-o OUTPUT] [run options]`: a pipeline template for
// `gen OPTIONS | write OUTPUT`, the generator's options forwarded as the `gen` operator declares
// them.
#include <iostream>

#include "cli/command.h"
#include "cli/pipeline_template.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr const char* kSynopsis =
    "gen [--bytes SIZE] [--lang zh|en|mixed] [--seed N] [-o OUTPUT] [run options]";

int GenCommand(const std::vector<std::string>& args) {
  ShortcutCommandLine command_line("gen", kSynopsis);
  command_line.own().add_options()("output,o", po::value<std::string>()->default_value("-"),
                                   "output file (compression and JSONL by extension; - = stdout)")(
      "help", po::bool_switch(), "show this help");
  command_line.Forward("gen");
  command_line.Parse(args);
  const OptionValues& values = command_line.values();
  if (values["help"].as<bool>()) {
    std::cout << command_line.Help("Shortcut for `gen OPTIONS | write OUTPUT`.\n\n" +
                                   OperatorRegistry::Global().Get("gen").details);
    return 0;
  }
  const RunOptions options = RunOptionsFrom(values);
  const std::vector<std::pair<std::string, std::vector<std::string>>> stages = {
      {"gen", command_line.ArgsFor("gen")}, {"write", {values["output"].as<std::string>()}}};
  return ExecutePlan(PlanStages(stages, options), options);
}

const CommandRegistrar kGen(CommandDef{
    .name = "gen",
    .synopsis = kSynopsis,
    .summary = "Generate a deterministic synthetic corpus (shortcut for 'gen | write')",
    .run = GenCommand,
});

}  // namespace
}  // namespace corpusflow
