// `corpusflow inspect PREFIX [--vocab vocab.txt] [--id-offset N] [--special-tokens MAP]
// [--show N]`: print what a dataset holds and check it: header, file sizes, counts, a histogram
// of sequence lengths, the range of token ids (against the vocabulary when one is given, read
// with the ids of `tokenize --id-offset`), and the first N sequences decoded with the vocabulary
// and the special tokens' names. PREFIX is a Megatron dataset (`x`, `x.idx`, `x.bin`) or a
// `write-megatron` prefix (all its datasets are shown), or a trainer format recognized by name
// (a datatrove `x.ds`, an MDS folder, an OLMo `x.npy`). Exit status 1 when an id is outside the
// vocabulary or a check fails; a damaged dataset is a CorruptionError (exit 1) with the file and
// entry. The checks, figures and decoding are operators/megatron/inspect.h and
// operators/formats/format_inspect.h; this file parses the arguments, calls them and prints.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/options.h"
#include "operators/formats/format_inspect.h"
#include "operators/megatron/discovery.h"
#include "operators/megatron/inspect.h"
#include "operators/tokenize/special_tokens.h"
#include "operators/tokenize/vocab_file.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// What every format's inspection takes (names, vocabulary, how much to show), and --quick.
struct InspectOptions : FormatInspectOptions {
  bool quick = false;
};

/// Print the report of one dataset; returns false when ids are out of range.
bool InspectOne(const std::string& prefix, const InspectOptions& options) {
  const MegatronDatasetReader reader(prefix);
  // The files first: a damaged dataset is reported after them.
  std::fputs(FormatMegatronFiles(reader).c_str(), stdout);
  std::fflush(stdout);
  const MegatronDatasetStats stats =
      InspectMegatronDataset(reader, !options.quick, options.vocab_size);
  std::fputs(FormatMegatronStats(reader, stats).c_str(), stdout);
  for (const MegatronDecodedSequence& sequence :
       DecodeMegatronSequences(reader, options.show, options.show_tokens, options.names,
                               options.has_vocabulary ? options.vocab_size : 0)) {
    std::fputs(FormatMegatronSequence(sequence).c_str(), stdout);
  }
  return stats.ok();
}

int InspectCommand(const std::vector<std::string>& args) {
  po::options_description desc("inspect options");
  desc.add_options()("vocab", po::value<std::string>()->default_value(""),
                     "vocabulary file (one token per line) to decode ids and check their range")(
      "vocab-size", IntegerValue(0, int64_t{1} << 31)->default_value(0),
      "check ids against this vocabulary size (default: the --vocab file's size)")(
      "id-offset", IntegerValue(0, std::numeric_limits<int32_t>::max())->default_value(0),
      "read --vocab by the ids of tokenize --id-offset N (PEGASUS: 103): ids 0 and 1 are its "
      "lines 0 and 1, id k+N its line k")(
      "special-tokens", po::value<std::string>()->default_value(""),
      "names of special ids, as tokenize's: pegasus, bert or TOKEN=ID,...")(
      "show", CountValue()->default_value(3), "print the first N sequences")(
      "show-tokens", CountValue()->default_value(100),
      "print at most this many tokens of each sequence")(
      "quick", po::bool_switch(), "skip the scan of the .bin for the id range")(
      "token-size", IntegerValue(0, 4)->default_value(0),
      "datatrove, OLMo: bytes per token when the files do not say (default: from the metadata)")(
      "eos", IntegerValue(0, std::numeric_limits<int32_t>::max()),
      "OLMo: check that every document ends with this id")(
      "seq-len", CountValue()->default_value(0),
      "datatrove, OLMo: the sample length the trainer reads windows of; count the windows and "
      "the documents that cross one")("field", po::value<std::string>()->default_value(""),
                                      "MDS: the column of the ids (default: input_ids or tokens)")(
      "loss-mask", po::value<std::string>()->default_value(""),
      "MDS: the column of the loss mask (default: loss_mask when present); Megatron: the "
      "field of the loss mask's side dataset (default: loss_mask)")(
      "boundaries", po::value<std::string>()->default_value(""),
      "MDS: the column of the document boundaries (default: cu_seqlens when present); "
      "Megatron: the field of the boundaries' side dataset (default: cu_seqlens)")(
      "help", po::bool_switch(), "show this help");
  po::options_description hidden;
  hidden.add_options()("prefix", po::value<std::string>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("prefix", 1);
  po::variables_map values;
  ParseCommandArgs("inspect", args, all, &positional, &values);
  if (values["help"].as<bool>()) {
    std::cout << "usage: corpusflow inspect PREFIX [--vocab vocab.txt] [--id-offset N] "
                 "[--special-tokens MAP] [--show N]\n\n"
                 "PREFIX is a Megatron dataset (x, x.idx or x.bin) or a write-megatron prefix, "
                 "a datatrove file (x.ds), an MDS folder (with index.json) or an OLMo memmap "
                 "(x.npy): docs/formats.md.\n\n"
              << desc;
    return 0;
  }
  if (values.count("prefix") == 0) {
    throw InvalidArgument(
        "inspect: usage: corpusflow inspect PREFIX [--vocab vocab.txt] "
        "[--show N]");
  }
  InstallInterruptHandlers();
  InspectOptions options;
  options.show = values["show"].as<uint64_t>();
  options.show_tokens = values["show-tokens"].as<uint64_t>();
  options.quick = values["quick"].as<bool>();
  options.vocab_size = values["vocab-size"].as<int64_t>();
  if (options.vocab_size < 0) throw InvalidArgument("inspect: --vocab-size must be positive");
  const std::string vocab = values["vocab"].as<std::string>();
  const auto id_offset = static_cast<int32_t>(values["id-offset"].as<int64_t>());
  if (id_offset < 0) throw InvalidArgument("inspect: --id-offset must not be negative");
  if (id_offset > 0 && vocab.empty()) {
    throw InvalidArgument("inspect: --id-offset says how to read --vocab; give the vocabulary");
  }
  std::vector<SpecialToken> special_tokens;
  const std::string special_spec = values["special-tokens"].as<std::string>();
  if (!special_spec.empty()) {
    special_tokens = ParseSpecialTokens(special_spec, "inspect: --special-tokens");
  }
  std::vector<std::string> vocabulary;
  if (!vocab.empty()) {
    vocabulary = ReadVocabTokens(vocab, VocabColumns::kTokenThenScore);
    options.has_vocabulary = true;
  }
  options.names = TokenNames(std::move(vocabulary), id_offset, special_tokens);
  if (options.has_vocabulary && options.vocab_size == 0) {
    options.vocab_size = static_cast<int64_t>(options.names.size());
  }
  const std::string name = values["prefix"].as<std::string>();
  const TokenFormat format = DetectTokenFormat(name);
  if (format != TokenFormat::kMegatron) {
    FormatInspectOptions& settings = options;
    settings.token_size = static_cast<int>(values["token-size"].as<int64_t>());
    if (settings.token_size == 3) throw InvalidArgument("inspect: --token-size is 1, 2 or 4");
    if (values.count("eos") > 0) settings.eos = values["eos"].as<int64_t>();
    settings.seq_len = values["seq-len"].as<uint64_t>();
    settings.field = values["field"].as<std::string>();
    settings.loss_mask = values["loss-mask"].as<std::string>();
    settings.boundaries = values["boundaries"].as<std::string>();
    const FormatReport report = format == TokenFormat::kDatatrove ? InspectDatatrove(name, settings)
                                : format == TokenFormat::kMds     ? InspectMds(name, settings)
                                                                  : InspectOlmo(name, settings);
    std::fputs(report.text.c_str(), stdout);
    std::fflush(stdout);
    if (!report.ok) {
      std::fprintf(stderr, "corpusflow: inspect: checks failed (see 'check' above)\n");
      return 1;
    }
    return 0;
  }
  const std::vector<std::string> datasets = RequireMegatronDatasets(name, "inspect");
  bool ok = true;
  for (size_t i = 0; i < datasets.size(); ++i) {
    if (i > 0) std::printf("\n");
    ok = InspectOne(datasets[i], options) && ok;
  }
  // Packed samples of a write-megatron prefix: the ids dataset and its side datasets.
  const auto side_name = [&](const char* option, const char* fallback) {
    const std::string given = values[option].as<std::string>();
    return name + "_" + (given.empty() ? fallback : given) + "_document";
  };
  const std::string mask_dataset = side_name("loss-mask", "loss_mask");
  const std::string bounds_dataset = side_name("boundaries", "cu_seqlens");
  const auto listed = [&](const std::string& d) {
    return std::find(datasets.begin(), datasets.end(), d) != datasets.end();
  };
  if (listed(mask_dataset) || listed(bounds_dataset)) {
    std::vector<std::string> ids;
    for (const std::string& d : datasets) {
      if (d != mask_dataset && d != bounds_dataset) ids.push_back(d);
    }
    if (ids.size() == 1) {
      const MegatronDatasetReader samples(ids.front());
      std::unique_ptr<MegatronDatasetReader> mask, bounds;
      if (listed(mask_dataset)) mask = std::make_unique<MegatronDatasetReader>(mask_dataset);
      if (listed(bounds_dataset)) bounds = std::make_unique<MegatronDatasetReader>(bounds_dataset);
      const PackedSampleStats stats = InspectPackedSamples(samples, mask.get(), bounds.get());
      std::printf("\n%s", FormatPackedSampleStats(stats).c_str());
      ok = stats.ok() && ok;
    }
  }
  std::fflush(stdout);
  if (!ok) {
    std::fprintf(stderr,
                 "corpusflow: inspect: token ids out of range or packed samples that do not fit "
                 "their side datasets (see 'token ids' and 'check' above)\n");
    return 1;
  }
  return 0;
}

const CommandRegistrar kInspect(CommandDef{
    .name = "inspect",
    .synopsis = "inspect PREFIX [--vocab vocab.txt] [--id-offset N] [--special-tokens MAP] "
                "[--show N] [--quick]",
    .summary = "Check a Megatron, datatrove, MDS or OLMo dataset and print its figures and first "
               "sequences",
    .run = InspectCommand,
});

}  // namespace
}  // namespace corpusflow
