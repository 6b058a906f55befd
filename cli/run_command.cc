// `corpusflow run`, `ops`, `help` and `version`.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/pipeline_spec.h"
#include "engine/error.h"
#include "engine/registry.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

using StageList = std::vector<std::pair<std::string, std::vector<std::string>>>;

StageList ToStageList(const std::vector<StageSpec>& specs) {
  StageList stages;
  for (const StageSpec& s : specs) stages.emplace_back(s.name, s.args);
  return stages;
}

/// The help of a command that has no options of its own: its usage line and summary, the text
/// of both `corpusflow help COMMAND` and `COMMAND --help`.
void PrintPlainCommandHelp(std::string_view name) {
  const CommandDef& def = CommandRegistry::Global().Get(name);
  std::cout << "usage: corpusflow " << def.synopsis << "\n\n" << def.summary << "\n";
}

/// Whether `args` asks a command for its help (`--help` or `-h` alone).
bool AsksForHelp(const std::vector<std::string>& args) {
  return args.size() == 1 && (args[0] == "--help" || args[0] == "-h");
}

int RunCommand(const std::vector<std::string>& args) {
  po::options_description desc("run options");
  desc.add_options()("file,f", po::value<std::string>(),
                     "read the pipeline from a file (one stage per line "
                     "allowed, # comments)")(
      "dry-run", po::bool_switch(),
      "print the plan (pipelines, breakers, schemas) and stop, loading no dictionary or model");
  AddRunOptions(desc);
  desc.add_options()("help,h", po::bool_switch(), "show this help");
  po::variables_map values;
  ParseCommandArgsWithInputs("run", args, desc, "pipeline", &values);
  if (values["help"].as<bool>()) {
    PrintPlainCommandHelp("run");
    std::cout << "\nExample:\n  corpusflow run 'read docs.jsonl.zst --field text | filter "
                 "--min-chars 20 | write out.txt.zst'\n\n"
              << desc;
    return 0;
  }

  std::vector<StageSpec> specs;
  const bool has_file = values.count("file") > 0;
  const bool has_text = values.count("pipeline") > 0;
  if (has_file == has_text) {
    throw InvalidArgument(
        "run: give the pipeline as one argument, e.g. corpusflow run 'read "
        "in.txt | write out.txt', or with -f FILE");
  }
  if (has_file) {
    const std::string path = values["file"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw InvalidArgument("run: cannot read pipeline file " + path);
    std::stringstream text;
    text << in.rdbuf();
    specs = ParsePipelineFile(text.str());
  } else {
    std::string text;
    for (const std::string& part : values["pipeline"].as<std::vector<std::string>>()) {
      if (!text.empty()) text += ' ';
      text += part;
    }
    specs = ParsePipelineSpec(text);
  }
  RunOptions options = RunOptionsFrom(values);
  // A checkpoint is of the pipeline as parsed (from the argument or the file) and the options.
  std::vector<std::string> identity;
  for (const StageSpec& spec : specs) {
    if (!identity.empty()) identity.push_back("|");
    identity.push_back(spec.name);
    identity.insert(identity.end(), spec.args.begin(), spec.args.end());
  }
  if (values.count("max-record-bytes") > 0) {
    identity.push_back("--max-record-bytes=" +
                       std::to_string(values["max-record-bytes"].as<uint64_t>()));
  }
  options.command = CheckpointCommand("run", identity);
  const Plan plan = PlanStages(ToStageList(specs), options);
  if (values["dry-run"].as<bool>()) {
    std::cout << plan.ToString();
    return 0;
  }
  return ExecutePlan(plan, options);
}

int OpsCommand(const std::vector<std::string>& args) {
  if (AsksForHelp(args)) {
    PrintPlainCommandHelp("ops");
    return 0;
  }
  if (!args.empty()) throw InvalidArgument("ops: takes no arguments");
  const auto defs = OperatorRegistry::Global().List();
  size_t width = 0;
  for (const OperatorDef* d : defs) width = std::max(width, d->name.size());
  for (const OperatorDef* d : defs) {
    const char* role = d->role == OperatorRole::kBreaker ? "breaker" : RoleName(d->role).data();
    std::printf("  %-*s  %-9s  %s\n", static_cast<int>(width), d->name.c_str(), role,
                d->summary.c_str());
  }
  return 0;
}

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "corpusflow %s: out-of-core preparation of pretraining corpora\n\n"
               "usage: corpusflow COMMAND [ARGS...]\n\ncommands:\n",
               CORPUSFLOW_VERSION);
  for (const CommandDef* d : CommandRegistry::Global().List()) {
    std::fprintf(out, "  %-10s %s\n", d->name.c_str(), d->summary.c_str());
  }
  std::fprintf(out,
               "\nA pipeline is operators separated by '|':\n"
               "  corpusflow run 'read docs.jsonl.zst --field text | filter --min-chars 20 | "
               "write out.txt.zst'\n"
               "`corpusflow ops` lists operators, `corpusflow help OP` shows one operator's "
               "options,\n`corpusflow help COMMAND` one command's help (as COMMAND --help).\n"
               "Exit codes: 0 success, 1 runtime or data error, 2 usage error, 130 "
               "interrupted,\n141 the reader of stdout went away (e.g. `| head`).\n");
}

int HelpCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintUsage(stdout);
    return 0;
  }
  if (AsksForHelp(args)) {
    PrintPlainCommandHelp("help");
    return 0;
  }
  if (args.size() > 1) throw InvalidArgument("help: give one operator or command name");
  const std::string& name = args[0];
  if (OperatorRegistry::Global().Find(name) != nullptr) {
    std::cout << OperatorRegistry::Global().Help(name);
    if (CommandRegistry::Global().Find(name) != nullptr) {
      std::cout << "\n(also a command: corpusflow " << name << " --help)\n";
    }
    return 0;
  }
  if (const CommandDef* def = CommandRegistry::Global().Find(name)) {
    // Every command prints its whole help (usage, options with defaults) for --help.
    return def->run({"--help"});
  }
  // Unknown: let the operator registry produce the error with a suggestion.
  std::cout << OperatorRegistry::Global().Help(name);
  return 0;
}

int VersionCommand(const std::vector<std::string>& args) {
  if (AsksForHelp(args)) {
    PrintPlainCommandHelp("version");
    return 0;
  }
  std::printf("corpusflow %s\n", CORPUSFLOW_VERSION);
  return 0;
}

const CommandRegistrar kRun(CommandDef{
    .name = "run",
    .synopsis = "run 'STAGE | STAGE | ...' [--dry-run] [--threads N] [--memory SIZE] "
                "[--tmp-dir DIR] [--stats-json PATH] [--progress auto|always|never]\n"
                "       corpusflow run -f PIPELINE_FILE [options]",
    .summary = "Run a pipeline of operators",
    .run = RunCommand,
    .ranks = true,
});
const CommandRegistrar kOps(CommandDef{
    .name = "ops", .synopsis = "ops", .summary = "List the operators", .run = OpsCommand});
const CommandRegistrar kHelp(CommandDef{
    .name = "help",
    .synopsis = "help [OPERATOR|COMMAND]",
    .summary = "Show usage, or one operator's or command's help",
    .run = HelpCommand});
const CommandRegistrar kVersion(CommandDef{.name = "version",
                                           .synopsis = "version",
                                           .summary = "Print the version",
                                           .run = VersionCommand});
}  // namespace

/// Print the top-level usage (used by main for no or unknown commands).
void PrintTopLevelUsage(std::FILE* out) { PrintUsage(out); }

}  // namespace corpusflow
