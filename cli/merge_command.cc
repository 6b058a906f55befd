// `corpusflow merge OUT_PREFIX IN_PREFIX...`: concatenate Megatron datasets by streaming
// (operators/megatron/merge.h). An input is a dataset prefix (`x`, `x.idx` or `x.bin`), or the
// prefix given to `write-megatron`, in which case every field's dataset is merged into
// OUT_PREFIX_{field}_{level}. All outputs are written as temp files and committed together only
// when every merge succeeded (operators/megatron/commit.h). This file parses the arguments, calls
// the library and prints its summary.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"
#include "operators/megatron/merge.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

int MergeCommand(const std::vector<std::string>& args) {
  po::options_description desc("merge options");
  desc.add_options()("help", po::bool_switch(), "show this help");
  po::options_description hidden;
  hidden.add_options()("output", po::value<std::string>())(
      "inputs", po::value<std::vector<std::string>>()->multitoken());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("output", 1).add("inputs", -1);
  po::variables_map values;
  ParseCommandArgs("merge", args, all, &positional, &values);
  if (values["help"].as<bool>()) {
    std::cout << "usage: corpusflow merge OUT_PREFIX IN_PREFIX...\n\n"
                 "Concatenate Megatron datasets (.bin/.idx) in the order given, verifying every\n"
                 "index. IN_PREFIX is a dataset (x, x.idx or x.bin) or a write-megatron prefix,\n"
                 "whose field datasets are each merged into OUT_PREFIX_{field}_{level}.\n";
    return 0;
  }
  if (values.count("output") == 0 || values.count("inputs") == 0) {
    throw InvalidArgument("merge: usage: corpusflow merge OUT_PREFIX IN_PREFIX...");
  }
  InstallInterruptHandlers();
  const std::vector<MegatronMergeGroup> groups = GroupMegatronMergeInputs(
      values["output"].as<std::string>(), values["inputs"].as<std::vector<std::string>>());
  for (const MegatronMergeResult& r : MergeMegatronGroups(groups)) {
    const MegatronMergeSummary& s = r.summary;
    std::printf("%s: %zu inputs, %llu sequences, %llu documents, %s of %s tokens\n",
                r.output_prefix.c_str(), r.inputs, static_cast<unsigned long long>(s.sequences),
                static_cast<unsigned long long>(s.documents), FormatBytes(s.bin_bytes).c_str(),
                std::string(MegatronDTypeName(s.dtype)).c_str());
  }
  return 0;
}

const CommandRegistrar kMerge(CommandDef{
    .name = "merge",
    .synopsis = "merge OUT_PREFIX IN_PREFIX...",
    .summary = "Merge Megatron datasets (.bin/.idx) by streaming",
    .run = MergeCommand,
});

}  // namespace
}  // namespace corpusflow
