// `corpusflow merge OUT_PREFIX IN_PREFIX...`: concatenate Megatron datasets by streaming
// (operators/megatron_dataset.h, MegatronMerger). An input is a dataset prefix (`x`, `x.idx` or
// `x.bin`), or the prefix given to `write-megatron`, in which case every field's dataset is
// merged into OUT_PREFIX_{field}_{level}. All outputs are written as `.tmp` and renamed only
// when every merge succeeded.
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"
#include "operators/megatron/megatron_dataset.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Collapse "X.bin X.idx" (what a shell glob gives for one dataset) into one argument.
std::vector<std::string> CollapseFilePairs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string prefix = NormalizeMegatronPrefix(args[i]);
    if (i + 1 < args.size() && args[i] != args[i + 1] && args[i] != prefix &&
        args[i + 1] != NormalizeMegatronPrefix(args[i + 1]) &&
        NormalizeMegatronPrefix(args[i + 1]) == prefix) {
      ++i;
    }
    out.push_back(prefix);
  }
  return out;
}

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
  const std::string output = NormalizeMegatronPrefix(values["output"].as<std::string>());
  const std::vector<std::string> inputs =
      CollapseFilePairs(values["inputs"].as<std::vector<std::string>>());

  // output suffix ("" for plain datasets, "_src_ids_document" for write-megatron prefixes)
  // -> the input datasets, in order.
  std::map<std::string, std::vector<std::string>> groups;
  std::set<std::string> first_suffixes;
  bool plain = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& in = inputs[i];
    const std::vector<std::string> found = FindMegatronDatasets(in);
    if (found.empty()) {
      throw IoError("merge: no dataset " + in + ".idx, and no " + in + "_*_document or " + in +
                    "_*_sentence datasets");
    }
    const bool is_plain = found.size() == 1 && found.front() == in;
    if (i == 0) plain = is_plain;
    if (is_plain != plain) {
      throw InvalidArgument("merge: mix of dataset prefixes and write-megatron prefixes (" +
                            inputs.front() + ", " + in + ")");
    }
    std::set<std::string> suffixes;
    for (const std::string& dataset : found) {
      const std::string suffix = dataset.substr(in.size());
      suffixes.insert(suffix);
      groups[suffix].push_back(dataset);
    }
    if (i == 0) {
      first_suffixes = suffixes;
    } else if (suffixes != first_suffixes) {
      std::string a, b;
      for (const auto& s : first_suffixes) a += " *" + s;
      for (const auto& s : suffixes) b += " *" + s;
      throw DataError("merge: " + inputs.front() + " has datasets" + a + " but " + in + " has" + b);
    }
  }

  std::vector<std::unique_ptr<MegatronMerger>> mergers;
  for (const auto& [suffix, datasets] : groups) {
    mergers.push_back(std::make_unique<MegatronMerger>(output + suffix, datasets));
  }
  for (auto& m : mergers) m->Write();
  for (auto& m : mergers) m->Publish();
  for (const auto& m : mergers) {
    const MegatronMergeSummary& s = m->summary();
    std::printf("%s: %zu inputs, %llu sequences, %llu documents, %s of %s tokens\n",
                m->output_prefix().c_str(), inputs.size(),
                static_cast<unsigned long long>(s.sequences),
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
