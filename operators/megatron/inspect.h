// Inspection of a Megatron indexed dataset (format.h), what `corpusflow inspect` prints: every
// structural check of the reader run by streaming, figures (counts, a log2 histogram of sequence
// lengths, documents without sequences), the range of token ids against a vocabulary, and the
// first sequences decoded with it (by the ids of `tokenize --id-offset` and with the names of
// special tokens when asked). The functions return data; the Format* functions render it as
// the lines `corpusflow inspect` prints, so the command only parses, calls and prints.
// Thread safety: stateless functions; a reader may be inspected from one thread at a time.
// Errors: CorruptionError naming the file and entry for a damaged dataset, IoError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "operators/megatron/reader.h"
#include "operators/tokenize/special_tokens.h"

namespace corpusflow {

/// Figures of one dataset, gathered by streaming (InspectMegatronDataset).
struct MegatronDatasetStats {
  uint64_t tokens = 0;
  int32_t min_length = 0;
  int32_t max_length = 0;
  uint64_t empty_sequences = 0;
  /// Bucket 0: empty sequences; bucket b >= 1: lengths in [2^(b-1), 2^b).
  std::vector<uint64_t> length_histogram;
  uint64_t min_sequences_per_document = 0;
  uint64_t max_sequences_per_document = 0;
  uint64_t documents_without_sequences = 0;
  /// Whether the `.bin` was scanned for the id range (the fields below).
  bool scanned_tokens = false;
  int64_t min_id = 0;
  int64_t max_id = -1;
  /// The vocabulary size the ids were checked against (0 = none: only negative ids count).
  int64_t vocab_size = 0;
  /// Ids < 0 or >= the vocabulary size (when one was given).
  uint64_t ids_out_of_range = 0;
  /// The sequence holding the first such id.
  uint64_t first_out_of_range_sequence = 0;

  /// Whether the check passed: no id out of range.
  bool ok() const { return ids_out_of_range == 0; }
};

/// Verify the whole index (ForEachSequenceChunk, ForEachDocumentChunk) and gather figures;
/// with `scan_tokens`, also read the whole `.bin` for the id range, counting ids outside
/// [0, vocab_size) when vocab_size > 0 (negative ids otherwise). Float dtypes are not scanned.
/// Throws CorruptionError on a damaged dataset.
MegatronDatasetStats InspectMegatronDataset(const MegatronDatasetReader& reader, bool scan_tokens,
                                            int64_t vocab_size);

/// One of the first sequences of a dataset, decoded.
struct MegatronDecodedSequence {
  uint64_t index = 0;
  /// The document holding it.
  uint64_t document = 0;
  /// Its length in tokens (all of them, shown or not).
  size_t tokens = 0;
  /// Its first tokens separated by spaces: their names (TokenNames), else `<ID>` for an id of
  /// the vocabulary without a name (one PEGASUS' offset reserves) and `<ID?>` for an id outside
  /// it, or, without a vocabulary, the ids; then " ... (N more)" when cut.
  std::string text;

  bool operator==(const MegatronDecodedSequence&) const = default;
};

/// The name of every id for decoding: the tokens of a vocabulary file (`vocabulary`, line k =
/// id k; empty: none) read with the ids of `tokenize --id-offset` (ShiftVocabTokens), and the
/// special tokens' names over them (extending the table when there is no vocabulary). An id
/// without a name has an empty string. Throws InvalidArgument for a special id outside the
/// vocabulary.
std::vector<std::string> TokenNames(std::vector<std::string> vocabulary, int32_t id_offset,
                                    const std::vector<SpecialToken>& special_tokens);

/// Decode the first `count` sequences (fewer when the dataset has fewer), at most `max_tokens`
/// tokens of each, with `names` (TokenNames); `vocabulary_size` > 0 says the names come with a
/// vocabulary of that many ids (0: ids without a name print as numbers). Throws DataError for
/// float dtypes, CorruptionError.
std::vector<MegatronDecodedSequence> DecodeMegatronSequences(const MegatronDatasetReader& reader,
                                                             uint64_t count, uint64_t max_tokens,
                                                             const std::vector<std::string>& names,
                                                             int64_t vocabulary_size);

/// `n` with thousands separators: 1,234,567.
std::string WithCommas(uint64_t n);
/// The bucket of a length in a log2 histogram: 0 for 0, b >= 1 for [2^(b-1), 2^b).
size_t LengthBucket(uint64_t length);
/// The `length histogram (tokens: WHAT):` lines of a log2 histogram (LengthBucket), one bar per
/// bucket that is not empty; nothing for an empty histogram.
std::string FormatLengthHistogram(const std::vector<uint64_t>& histogram, const char* what);
/// The first `max_tokens` of `ids` separated by spaces: their names (TokenNames), else `<ID>`
/// for an id of the vocabulary without a name and `<ID?>` for one outside it, or, without a
/// vocabulary (`vocabulary_size` 0), the ids; then " ... (N more)" when cut.
std::string DecodeIds(std::span<const int64_t> ids, uint64_t max_tokens,
                      const std::vector<std::string>& names, int64_t vocabulary_size);

/// Figures and checks of packed samples written by write-megatron: an ids dataset with its side
/// datasets (the loss mask, the document boundaries cu_seqlens), sequence i of each being
/// sample i (docs/megatron.md, Packed samples).
struct PackedSampleStats {
  uint64_t samples = 0;
  uint64_t tokens = 0;
  bool has_loss_mask = false;
  bool has_boundaries = false;
  /// Documents (boundaries after the leading 0) and tokens after each sample's last boundary.
  uint64_t documents = 0;
  uint64_t padding_tokens = 0;
  /// Tokens whose mask is 1.
  uint64_t loss_tokens = 0;
  /// Samples whose side sequences do not fit the ids (wrong length, a mask value other than
  /// 0/1, boundaries not 0 then increasing ends within the sample), and the first of them.
  uint64_t bad_samples = 0;
  uint64_t first_bad_sample = 0;
  std::string first_problem;

  bool ok() const { return bad_samples == 0; }
};

/// Check every sample of `ids` against `loss_mask` and `boundaries` (either may be null) and
/// gather the figures. Throws CorruptionError when the datasets do not have the same number of
/// sequences, or one is damaged.
PackedSampleStats InspectPackedSamples(const MegatronDatasetReader& ids,
                                       const MegatronDatasetReader* loss_mask,
                                       const MegatronDatasetReader* boundaries);
/// The `packed samples` lines of `stats`.
std::string FormatPackedSampleStats(const PackedSampleStats& stats);

/// The `dataset`, `index` and `data` lines: the files and the header.
std::string FormatMegatronFiles(const MegatronDatasetReader& reader);
/// The figure lines (sequences ... check) of `stats`.
std::string FormatMegatronStats(const MegatronDatasetReader& reader,
                                const MegatronDatasetStats& stats);
/// The `sequence I (document D, N tokens): TEXT` line.
std::string FormatMegatronSequence(const MegatronDecodedSequence& sequence);

}  // namespace corpusflow
