// `corpusflow inspect PREFIX [--vocab vocab.txt] [--show N]`: print what a Megatron dataset
// holds and check it: header, file sizes, counts, a histogram of sequence lengths, the range of
// token ids (against the vocabulary when one is given), and the first N sequences decoded with
// the vocabulary. PREFIX is a dataset (`x`, `x.idx`, `x.bin`) or a `write-megatron` prefix (all
// its datasets are shown). Exit status 1 when an id is outside the vocabulary; a damaged
// dataset is a CorruptionError (exit 1) with the file and entry.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "engine/error.h"
#include "engine/interrupt.h"
#include "engine/units.h"
#include "operators/megatron/megatron_dataset.h"

namespace po = boost::program_options;

namespace corpusflow {
namespace {

/// Tokens of a vocabulary file, one per line (id = line number from 0). For SentencePiece
/// `.vocab` files ("piece<TAB>score"), the text before the tab.
std::vector<std::string> LoadVocabulary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ThrowIoError("cannot open vocabulary", path, errno);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) line.resize(tab);
    tokens.push_back(std::move(line));
  }
  if (in.bad()) ThrowIoError("cannot read vocabulary", path, errno);
  return tokens;
}

std::string WithCommas(uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

std::string BucketLabel(size_t bucket) {
  if (bucket == 0) return "0";
  const uint64_t lo = uint64_t{1} << (bucket - 1);
  const uint64_t hi = (uint64_t{1} << bucket) - 1;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

struct InspectOptions {
  std::vector<std::string> vocabulary;
  int64_t vocab_size = 0;
  uint64_t show = 3;
  uint64_t show_tokens = 100;
  bool quick = false;
};

/// Print the report of one dataset; returns false when ids are out of range.
bool InspectOne(const std::string& prefix, const InspectOptions& options) {
  const MegatronDatasetReader reader(prefix);
  const MegatronIndexHeader& h = reader.header();
  std::printf("dataset    %s\n", prefix.c_str());
  std::printf("index      %s: %s bytes, MMIDIDX version %llu, dtype %s (code %d, %zu bytes)\n",
              reader.idx_path().c_str(), WithCommas(h.IndexFileBytes()).c_str(),
              static_cast<unsigned long long>(h.version),
              std::string(MegatronDTypeName(h.dtype)).c_str(), static_cast<int>(h.dtype),
              MegatronDTypeSize(h.dtype));
  std::printf("data       %s: %s bytes (%s)\n", reader.bin_path().c_str(),
              WithCommas(reader.bin_bytes()).c_str(), FormatBytes(reader.bin_bytes()).c_str());
  std::fflush(stdout);

  const MegatronDatasetStats stats =
      InspectMegatronDataset(reader, !options.quick, options.vocab_size);
  const uint64_t sequences = reader.sequences();
  std::printf("sequences  %s\n", WithCommas(sequences).c_str());
  std::printf("documents  %s (%s to %s sequences each; %s without sequences)\n",
              WithCommas(reader.documents()).c_str(),
              WithCommas(stats.min_sequences_per_document).c_str(),
              WithCommas(stats.max_sequences_per_document).c_str(),
              WithCommas(stats.documents_without_sequences).c_str());
  std::printf("tokens     %s (mean %.1f per sequence)\n", WithCommas(stats.tokens).c_str(),
              sequences ? static_cast<double>(stats.tokens) / static_cast<double>(sequences) : 0.0);
  std::printf("lengths    min %d, max %d, %s empty\n", stats.min_length, stats.max_length,
              WithCommas(stats.empty_sequences).c_str());
  if (!stats.length_histogram.empty()) {
    std::printf("length histogram (tokens: sequences):\n");
    const uint64_t peak =
        *std::max_element(stats.length_histogram.begin(), stats.length_histogram.end());
    for (size_t b = 0; b < stats.length_histogram.size(); ++b) {
      const uint64_t n = stats.length_histogram[b];
      if (n == 0) continue;
      const size_t bar = static_cast<size_t>((n * 40 + peak - 1) / peak);
      std::printf("  %13s %14s  %s\n", BucketLabel(b).c_str(), WithCommas(n).c_str(),
                  std::string(bar, '#').c_str());
    }
  }
  bool ok = true;
  if (stats.scanned_tokens) {
    std::printf("token ids  ");
    if (stats.tokens == 0) {
      std::printf("none");
    } else {
      std::printf("%lld..%lld", static_cast<long long>(stats.min_id),
                  static_cast<long long>(stats.max_id));
    }
    if (options.vocab_size > 0) {
      if (stats.ids_out_of_range == 0) {
        std::printf(" (vocabulary of %lld: all in range)",
                    static_cast<long long>(options.vocab_size));
      } else {
        ok = false;
        std::printf(" (vocabulary of %lld: %s ids OUT OF RANGE, the first in sequence %llu)",
                    static_cast<long long>(options.vocab_size),
                    WithCommas(stats.ids_out_of_range).c_str(),
                    static_cast<unsigned long long>(stats.first_out_of_range_sequence));
      }
    } else if (stats.ids_out_of_range > 0) {
      ok = false;
      std::printf(" (%s NEGATIVE ids, the first in sequence %llu)",
                  WithCommas(stats.ids_out_of_range).c_str(),
                  static_cast<unsigned long long>(stats.first_out_of_range_sequence));
    }
    std::printf("\n");
  }
  std::printf("check      %s: header, file sizes, pointers, document index%s\n",
              ok ? "ok" : "FAILED", stats.scanned_tokens ? ", token ids" : "");

  // The first sequences, with the document each belongs to.
  const uint64_t show = std::min(options.show, sequences);
  std::vector<int64_t> ids;
  uint64_t document = 0;
  int64_t document_end = 0;
  for (uint64_t i = 0; i < show; ++i) {
    while (document_end <= static_cast<int64_t>(i) && document < reader.documents()) {
      reader.ReadDocumentIndices(document + 1, std::span<int64_t>(&document_end, 1));
      if (document_end <= static_cast<int64_t>(i)) ++document;
    }
    reader.ReadSequence(i, &ids);
    std::string text;
    const size_t shown = std::min<size_t>(ids.size(), options.show_tokens);
    for (size_t j = 0; j < shown; ++j) {
      if (j) text += ' ';
      const int64_t id = ids[j];
      if (options.vocabulary.empty()) {
        text += std::to_string(id);
      } else if (id >= 0 && static_cast<uint64_t>(id) < options.vocabulary.size()) {
        text += options.vocabulary[static_cast<size_t>(id)];
      } else {
        text += "<" + std::to_string(id) + "?>";
      }
    }
    if (shown < ids.size()) text += " ... (" + std::to_string(ids.size() - shown) + " more)";
    std::printf("sequence %llu (document %llu, %zu tokens): %s\n",
                static_cast<unsigned long long>(i), static_cast<unsigned long long>(document),
                ids.size(), text.c_str());
  }
  return ok;
}

int InspectCommand(const std::vector<std::string>& args) {
  po::options_description desc("inspect options");
  desc.add_options()("vocab", po::value<std::string>()->default_value(""),
                     "vocabulary file (one token per line) to decode ids and check their range")(
      "vocab-size", po::value<int64_t>()->default_value(0),
      "check ids against this vocabulary size (default: the --vocab file's size)")(
      "show", po::value<uint64_t>()->default_value(3), "print the first N sequences")(
      "show-tokens", po::value<uint64_t>()->default_value(100),
      "print at most this many tokens of each sequence")(
      "quick", po::bool_switch(), "skip the scan of the .bin for the id range")(
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
    std::cout << "usage: corpusflow inspect PREFIX [--vocab vocab.txt] [--show N]\n\n"
                 "PREFIX is a dataset (x, x.idx or x.bin) or a write-megatron prefix.\n\n"
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
  if (!vocab.empty()) {
    options.vocabulary = LoadVocabulary(vocab);
    if (options.vocab_size == 0)
      options.vocab_size = static_cast<int64_t>(options.vocabulary.size());
  }
  const std::string name = values["prefix"].as<std::string>();
  const std::vector<std::string> datasets = FindMegatronDatasets(name);
  if (datasets.empty()) {
    const std::string prefix = NormalizeMegatronPrefix(name);
    throw IoError("inspect: no dataset " + prefix + ".idx, and no " + prefix + "_*_document or " +
                  prefix + "_*_sentence datasets");
  }
  bool ok = true;
  for (size_t i = 0; i < datasets.size(); ++i) {
    if (i > 0) std::printf("\n");
    ok = InspectOne(datasets[i], options) && ok;
  }
  std::fflush(stdout);
  if (!ok) {
    std::fprintf(stderr, "corpusflow: inspect: token ids out of range (see 'token ids' above)\n");
    return 1;
  }
  return 0;
}

const CommandRegistrar kInspect(CommandDef{
    .name = "inspect",
    .synopsis = "inspect PREFIX [--vocab vocab.txt] [--show N] [--quick]",
    .summary = "Check a Megatron dataset and print its figures and first sequences",
    .run = InspectCommand,
});

}  // namespace
}  // namespace corpusflow
