#include "cli/command.h"

#include <algorithm>
#include <cstdio>

#include "engine/error.h"
#include "engine/executor.h"
#include "engine/interrupt.h"
#include "engine/registry.h"
#include "engine/stats.h"
#include "engine/stats_json.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {

CommandRegistry& CommandRegistry::Global() {
  static CommandRegistry registry;
  return registry;
}

void CommandRegistry::Register(CommandDef def) {
  if (Find(def.name) != nullptr) throw std::logic_error("command registered twice: " + def.name);
  defs_.push_back(std::move(def));
}

const CommandDef* CommandRegistry::Find(std::string_view name) const {
  for (const CommandDef& d : defs_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<const CommandDef*> CommandRegistry::List() const {
  std::vector<const CommandDef*> out;
  for (const CommandDef& d : defs_) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

CommandRegistrar::CommandRegistrar(CommandDef def) {
  CommandRegistry::Global().Register(std::move(def));
}

void AddRunOptions(po::options_description& desc) {
  desc.add_options()("threads", po::value<int>()->default_value(0),
                     "worker threads (0 = all cores); results never depend on it")(
      "memory", po::value<std::string>()->default_value(""),
      "memory budget of the whole run, e.g. 256M, 4G (default: a quarter of RAM)")(
      "tmp-dir", po::value<std::string>()->default_value(""),
      "folder for spill files (default: $TMPDIR or /tmp)")(
      "stats-json", po::value<std::string>()->default_value(""),
      "write per-operator counters to this JSON file (- for stdout)")(
      "progress", po::value<std::string>()->default_value("auto"),
      "progress line on stderr: auto (when a terminal), always, never");
}

RunOptions RunOptionsFrom(const po::variables_map& values) {
  RunOptions options;
  options.threads = values["threads"].as<int>();
  if (options.threads < 0) throw InvalidArgument("--threads must be >= 0");
  const std::string memory = values["memory"].as<std::string>();
  if (!memory.empty()) {
    options.memory_bytes = ParseByteSize(memory, "--memory");
    if (options.memory_bytes < (1u << 20)) {
      throw InvalidArgument("--memory " + memory + " is too small (at least 1M)");
    }
  }
  options.tmp_dir = values["tmp-dir"].as<std::string>();
  if (!options.tmp_dir.empty() && !std::filesystem::is_directory(options.tmp_dir)) {
    throw InvalidArgument("--tmp-dir " + options.tmp_dir.string() + " is not a directory");
  }
  options.stats_json = values["stats-json"].as<std::string>();
  options.progress = ParseProgressMode(values["progress"].as<std::string>());
  return options;
}

Plan PlanStages(const std::vector<std::pair<std::string, std::vector<std::string>>>& stages,
                const RunOptions& options) {
  std::vector<std::unique_ptr<Operator>> chain;
  for (const auto& [name, args] : stages) {
    chain.push_back(OperatorRegistry::Global().Create(name, args));
  }
  return Plan::Build(std::move(chain), MakePlanContext(options));
}

int ExecutePlan(const Plan& plan, const RunOptions& options) {
  InstallInterruptHandlers();
  RunStats stats;
  const double start = MonotonicSeconds();
  auto finish = [&] {
    stats.elapsed_seconds = MonotonicSeconds() - start;
    stats.peak_rss_bytes = PeakRssBytes();
  };
  // A failed run still reports, unless the report itself cannot be written (then the run's own
  // error is the one to show).
  auto report_failure = [&] {
    if (options.stats_json.empty()) return;
    finish();
    RunFiles run;
    run.file_system = options.file_system;
    try {
      WriteStatsJson(options.stats_json, stats, run);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "corpusflow: cannot write --stats-json: %s\n", e.what());
    }
  };
  try {
    // The context (and with it the run's temp folder) ends before stats are reported.
    ExecContext ctx(options);
    if (!options.stats_json.empty()) {
      // Written once every output is complete, and renamed with them (last).
      ctx.DeferCommit(DeferStatsJson(options.stats_json, stats, ctx, finish), CommitRank::kReport);
    }
    Execute(plan, ctx, stats);
    ctx.progress().Stop();
  } catch (const Interrupted&) {
    stats.status = "interrupted";
    report_failure();
    throw;
  } catch (const std::exception& e) {
    stats.status = "error";
    stats.error = e.what();
    report_failure();
    throw;
  }
  finish();
  const std::string summary = stats.Summary();
  if (!summary.empty()) std::fputs(summary.c_str(), stderr);
  return 0;
}

void ParseCommandArgs(const std::string& command, const std::vector<std::string>& args,
                      const po::options_description& desc,
                      const po::positional_options_description* positional,
                      po::variables_map* values) {
  try {
    auto parser = po::command_line_parser(args).options(desc).style(
        po::command_line_style::default_style & ~po::command_line_style::allow_guessing);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), *values);
    po::notify(*values);
  } catch (const po::unknown_option& e) {
    std::vector<std::string> names;
    for (const auto& opt : desc.options()) names.push_back("--" + opt->long_name());
    std::string message = command + ": unknown option '" + e.get_option_name() + "'";
    const std::string nearest = NearestName(e.get_option_name(), names);
    if (!nearest.empty()) message += " (did you mean '" + nearest + "'?)";
    throw InvalidArgument(message);
  } catch (const po::error& e) {
    throw InvalidArgument(command + ": " + e.what());
  }
}

void ParseCommandArgsWithInputs(const std::string& command, const std::vector<std::string>& args,
                                const po::options_description& desc, const char* positional_name,
                                po::variables_map* values) {
  po::options_description hidden;
  hidden.add_options()(positional_name, po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add(positional_name, -1);
  ParseCommandArgs(command, args, all, &positional, values);
}

}  // namespace corpusflow
