#include "cli/command.h"

#include <cstdio>

#include "engine/cluster.h"
#include "engine/error.h"
#include "engine/executor.h"
#include "engine/interrupt.h"
#include "engine/options.h"
#include "engine/registry.h"
#include "engine/slices.h"
#include "engine/stats.h"
#include "engine/stats_json.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// The most worker threads `--threads` asks for.
constexpr uint64_t kMaxThreads = 4096;

}  // namespace

CommandRegistry::CommandRegistry() : NameRegistry("command", "`corpusflow help` lists commands") {}

CommandRegistry& CommandRegistry::Global() {
  static CommandRegistry registry;
  return registry;
}

CommandRegistrar::CommandRegistrar(CommandDef def) {
  CommandRegistry::Global().Register(std::move(def));
}

void AddRunOptions(po::options_description& desc) {
  desc.add_options()("threads", CountValue(0, kMaxThreads)->default_value(0),
                     "worker threads (0 = all cores); results never depend on it")(
      "memory", ByteSizeValue(1 << 20),
      "memory budget of the whole run, e.g. 256M, 4G (default: a quarter of RAM)")(
      "max-record-bytes", ByteSizeValue(1),
      "longest record read, e.g. 64M (default: an eighth of --memory); a longer one is an "
      "error naming its file and line, or dropped and counted with read --on-error skip")(
      "slice-bytes", ByteSizeValue(kMinSliceBytes),
      "input bytes per slice (default 64M): the unit that MPI ranks divide, and part of each "
      "record's identity, so a different value gives a different shuffle for the same seed "
      "(docs/scale-out.md)")("tmp-dir", po::value<std::string>()->default_value(""),
                             "folder for spill files (default: $TMPDIR or /tmp)")(
      "stats-json", po::value<std::string>()->default_value(""),
      "write the run's report to this JSON file (- for stdout): records, drops by reason, files "
      "written with their sizes, per operator; schema in docs/stats.md")(
      "progress", po::value<std::string>()->default_value("auto"),
      "progress line on stderr, fitted to the terminal, and a one-line summary at the end: auto "
      "(when a terminal), always, never")(
      "checkpoint", po::value<std::string>(),
      "make the run resumable: commit its work in tasks to this folder; rerunning the same "
      "command with it resumes after the last task committed, with the same output bytes "
      "(docs/resume.md)")("restart", po::bool_switch(),
                          "with --checkpoint: discard what the folder holds and start over");
}

std::string CheckpointCommand(std::string_view command, const std::vector<std::string>& args) {
  // The options that never change the outputs may change between a run and its resumption.
  static const std::vector<std::string> free_options = {
      "--threads", "--memory", "--tmp-dir", "--progress", "--stats-json", "--checkpoint"};
  std::string text(command);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--restart") continue;
    bool skip = false;
    for (const std::string& option : free_options) {
      if (arg == option) {
        ++i;  // its value
        skip = true;
      } else if (arg.rfind(option + "=", 0) == 0) {
        skip = true;
      }
    }
    if (!skip) text += " " + arg;
  }
  return text;
}

RunOptions RunOptionsFrom(const po::variables_map& values) {
  RunOptions options;
  options.threads = static_cast<int>(values["threads"].as<uint64_t>());
  if (values.count("memory") > 0) options.memory_bytes = values["memory"].as<uint64_t>();
  if (values.count("max-record-bytes") > 0) {
    options.max_record_bytes = values["max-record-bytes"].as<uint64_t>();
  }
  if (values.count("slice-bytes") > 0) options.slice_bytes = values["slice-bytes"].as<uint64_t>();
  if (values.count("checkpoint") > 0) {
    options.checkpoint = values["checkpoint"].as<std::string>();
    if (options.checkpoint.empty()) throw InvalidArgument("--checkpoint needs a folder");
  }
  options.restart = values.count("restart") > 0 && values["restart"].as<bool>();
  if (options.restart && options.checkpoint.empty()) {
    throw InvalidArgument("--restart discards a checkpoint: give it with --checkpoint DIR");
  }
  options.tmp_dir = values["tmp-dir"].as<std::string>();
  if (!options.tmp_dir.empty() && !std::filesystem::is_directory(options.tmp_dir)) {
    throw InvalidArgument("--tmp-dir " + options.tmp_dir.string() + " is not a directory");
  }
  options.stats_json = values["stats-json"].as<std::string>();
  options.progress = ParseProgressMode(values["progress"].as<std::string>());
  options.cluster = &TheCluster();
  if (options.cluster->rank() != 0) {
    // Rank 0 speaks for the run: its progress, summary and report cover every rank.
    options.progress = ProgressMode::kNever;
    options.stats_json.clear();
  }
  return options;
}

std::vector<std::unique_ptr<Operator>> CreateOperators(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& stages) {
  std::vector<std::unique_ptr<Operator>> chain;
  for (const auto& [name, args] : stages) {
    chain.push_back(OperatorRegistry::Global().Create(name, args));
  }
  return chain;
}

Plan PlanStages(const std::vector<std::pair<std::string, std::vector<std::string>>>& stages,
                const RunOptions& options) {
  return Plan::Build(CreateOperators(stages), MakePlanContext(options));
}

bool RunPlanWithReport(const Plan& plan, const RunOptions& options, RunStats& stats) {
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
  bool progress_shown = false;
  try {
    // The context (and with it the run's temp folder) ends before stats are reported.
    ExecContext ctx(options);
    progress_shown = ctx.progress().enabled();
    if (!options.stats_json.empty()) {
      // Written once every output is complete (so it lists the files with their sizes), and
      // renamed with them (last).
      auto finish_report = [&] {
        finish();
        RecordRunOutputs(plan, ctx, stats);
      };
      ctx.DeferCommit(DeferStatsJson(options.stats_json, stats, ctx, finish_report),
                      CommitRank::kReport);
    }
    Execute(plan, ctx, stats);
    RecordRunOutputs(plan, ctx, stats);
    ctx.progress().Stop();
  } catch (const Interrupted&) {
    // Under MPI the other ranks get a failure notice and stop too (engine/cluster.h).
    if (options.cluster != nullptr) options.cluster->Fail(130);
    stats.status = "interrupted";
    report_failure();
    throw;
  } catch (const RankFailed& e) {
    // Learned from a notice (not at an agreement point): meet the failed rank where it agrees.
    if (options.cluster != nullptr) options.cluster->Fail(e.exit_code());
    stats.status = "error";
    report_failure();
    throw;
  } catch (const std::exception& e) {
    if (options.cluster != nullptr) {
      options.cluster->Fail(dynamic_cast<const InvalidArgument*>(&e) != nullptr ? 2 : 1);
    }
    stats.status = "error";
    stats.error = e.what();
    report_failure();
    throw;
  }
  finish();
  return progress_shown;
}

int ExecutePlan(const Plan& plan, const RunOptions& options) {
  InstallInterruptHandlers();
  RunStats stats;
  const bool progress_shown = RunPlanWithReport(plan, options, stats);
  if (options.cluster != nullptr && options.cluster->rank() != 0) return 0;
  // With the progress display the run ends with its one-line summary (drops included); without
  // it, only drops are reported, one line per operator, never silently.
  const std::string summary = progress_shown ? stats.SummaryLine() : stats.Summary();
  if (!summary.empty()) std::fputs(summary.c_str(), stderr);
  return 0;
}

void ParseCommandArgs(const std::string& command, const std::vector<std::string>& args,
                      const po::options_description& desc,
                      const po::positional_options_description* positional,
                      po::variables_map* values) {
  OptionSet options;
  options.named.add(desc);
  if (positional != nullptr) options.positional = *positional;
  ParseOptions(options, args, OptionErrors{.who = command}, values);
}

void ParseCommandArgsWithInputs(const std::string& command, const std::vector<std::string>& args,
                                const po::options_description& desc, const char* positional_name,
                                po::variables_map* values) {
  OptionSet options;
  options.named.add(desc);
  options.hidden.add_options()(positional_name, po::value<std::vector<std::string>>());
  options.positional.add(positional_name, -1);
  ParseOptions(options, args, OptionErrors{.who = command}, values);
}

}  // namespace corpusflow
