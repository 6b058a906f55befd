// What `corpusflow inspect` prints for the trainer formats (datatrove `.ds`, MosaicML MDS, OLMo
// token memmaps): which format a name designates, every structural check of the format's reader
// (datatrove_format.h, mds_format.h, olmo_format.h) run while streaming through it, the figures
// (sequences, tokens, a log2 histogram of lengths, documents and padding from the boundaries,
// the share of tokens the loss mask keeps), boundary checks (MDS cu_seqlens columns; the EOS at
// each OLMo document's end), the range of token ids against a vocabulary, and the first
// sequences decoded with it (as the Megatron inspection decodes them, megatron/inspect.h).
// Memory: one sequence at a time.
// Thread safety: stateless functions.
// Errors: CorruptionError naming the file and the entry for a damaged dataset, IoError.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corpusflow {

enum class TokenFormat { kMegatron, kDatatrove, kMds, kOlmo };

/// The format `name` designates: `X.ds`, or X with an `X.ds` beside it: datatrove; a folder
/// holding `index.json`, or an `index.json`: MDS; `X.npy`, or X with an `X.npy` beside it:
/// OLMo; anything else: a Megatron dataset or prefix.
TokenFormat DetectTokenFormat(const std::string& name);

struct FormatInspectOptions {
  /// TokenNames (megatron/inspect.h): the name of every id, empty for none.
  std::vector<std::string> names;
  /// Ids are checked against it when > 0.
  int64_t vocab_size = 0;
  /// Whether the names come with a vocabulary (ids without a name print as <ID>).
  bool has_vocabulary = false;
  uint64_t show = 3;
  uint64_t show_tokens = 100;
  /// Bytes per token when the files do not say (datatrove without metadata, OLMo); 0: infer.
  int token_size = 0;
  /// OLMo: the EOS every document must end with.
  std::optional<int64_t> eos;
  /// datatrove, OLMo: the sample length a trainer reads windows of (nanotron's seq_len + 1,
  /// OLMo-core's sequence_length); 0: none. Reports the windows and the documents crossing them.
  uint64_t seq_len = 0;
  /// MDS: the columns of the ids, the loss mask and the boundaries (empty: input_ids or
  /// tokens, loss_mask, cu_seqlens when present).
  std::string field;
  std::string loss_mask;
  std::string boundaries;
};

/// The report of one dataset: the lines to print, and whether every check passed (ids in
/// range, and for OLMo with an EOS, every document ending with it).
struct FormatReport {
  std::string text;
  bool ok = true;
};

FormatReport InspectDatatrove(const std::string& name, const FormatInspectOptions& options);
FormatReport InspectMds(const std::string& name, const FormatInspectOptions& options);
FormatReport InspectOlmo(const std::string& name, const FormatInspectOptions& options);

}  // namespace corpusflow
