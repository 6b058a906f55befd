// `corpusflow status DIR`: what a checkpoint folder holds (engine/io/checkpoint.h,
// docs/resume.md): the command it is of, its inputs, the tasks committed and to do, its bytes.
// It reads the folder only.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "engine/units.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

constexpr char kHelp[] =
    "usage: corpusflow status DIR\n\n"
    "Show what the checkpoint folder DIR of a resumable run (--checkpoint DIR) holds: the\n"
    "command it is of, its inputs, the input and output tasks committed and still to do, and\n"
    "the bytes it takes. Rerunning that command with --checkpoint DIR resumes it\n"
    "(docs/resume.md).\n";

std::string Plural(uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

int StatusCommand(const std::vector<std::string>& args) {
  po::options_description desc("status options");
  desc.add_options()("help,h", po::bool_switch(), "show this help");
  po::options_description hidden;
  hidden.add_options()("dir", po::value<std::string>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map values;
  ParseCommandArgs("status", args, all, &positional, &values);
  if (values["help"].as<bool>()) {
    std::cout << kHelp;
    return 0;
  }
  if (values.count("dir") == 0) throw InvalidArgument("status: usage: corpusflow status DIR");
  const std::string dir = values["dir"].as<std::string>();
  const Checkpoint::Summary s = Checkpoint::Read(dir);
  if (s.identity.command.empty() && s.complete) {
    std::printf("checkpoint %s: its run completed and committed its outputs\n", dir.c_str());
    return 0;
  }
  uint64_t input_bytes = 0;
  for (const CheckpointInput& in : s.identity.inputs) input_bytes += in.bytes;
  const uint64_t slice = std::max<uint64_t>(s.identity.slice_bytes, 1);
  const uint64_t input_tasks = std::max<uint64_t>(1, (input_bytes + slice - 1) / slice);
  // With a shuffle, the output tasks are runs of its key ranges, made once pass 1 is done.
  const bool shuffles = s.plan.count("key_ranges") > 0;
  const auto groups_it = s.plan.find("output_groups");
  const uint64_t output_tasks =
      groups_it == s.plan.end() ? 0
                                : static_cast<uint64_t>(std::count(groups_it->second.begin(),
                                                                   groups_it->second.end(), ',')) +
                                      1;
  uint64_t done_in = 0, done_out = 0, part_bytes = 0;
  for (const TaskEntry& e : s.entries) {
    (e.phase == "input" ? done_in : done_out) += 1;
    for (const TaskPart& p : e.parts) part_bytes += p.bytes;
  }
  std::printf("checkpoint %s%s\n", dir.c_str(), s.complete ? " (completed)" : "");
  std::printf("  command       corpusflow %s\n", s.identity.command.c_str());
  std::printf(
      "  inputs        %s, %s, in %s of %s\n", Plural(s.identity.inputs.size(), "file").c_str(),
      FormatBytes(static_cast<double>(input_bytes)).c_str(), Plural(input_tasks, "slice").c_str(),
      FormatBytes(static_cast<double>(slice)).c_str());
  std::printf("  input tasks   %llu of %llu committed\n", static_cast<unsigned long long>(done_in),
              static_cast<unsigned long long>(input_tasks));
  if (output_tasks > 0) {
    std::printf("  output tasks  %llu of %llu committed\n",
                static_cast<unsigned long long>(done_out),
                static_cast<unsigned long long>(output_tasks));
  } else if (shuffles) {
    std::printf("  output tasks  made from what the input tasks wrote, once all are committed\n");
  }
  const uint64_t remaining = input_tasks + output_tasks - done_in - done_out;
  // The last task of a run is committed with the outputs, never alone.
  std::printf("  remaining     %s%s (the last one commits the outputs)\n",
              Plural(remaining, shuffles && output_tasks == 0 ? "input task" : "task").c_str(),
              shuffles && output_tasks == 0 ? " and the output tasks" : "");
  if (s.unfinished_folders > 0) {
    std::printf("  unfinished    %s that a killed run started, done again by the next run\n",
                Plural(s.unfinished_folders, "task").c_str());
  }
  std::printf("  bytes         %s in the folder (%s of output parts)\n",
              FormatBytes(static_cast<double>(s.bytes)).c_str(),
              FormatBytes(static_cast<double>(part_bytes)).c_str());
  std::printf("  resume        rerun the command with --checkpoint %s (--restart discards it)\n",
              dir.c_str());
  return 0;
}

const CommandRegistrar kStatus(CommandDef{
    .name = "status",
    .synopsis = "status DIR",
    .summary = "Show what a checkpoint folder holds: tasks done, remaining, bytes",
    .run = StatusCommand,
});

}  // namespace
}  // namespace corpusflow
