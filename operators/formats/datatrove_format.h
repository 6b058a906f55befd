// The tokenized files of datatrove's DocumentTokenizer, which nanotron's DatatroveFolderDataset
// reads: for a file `NAME.ds`,
//   NAME.ds           the token ids of every document, concatenated, little-endian unsigned
//                     integers of 2 bytes, or 4 when the vocabulary has more than 65536 ids
//                     (datatrove's token_size); no header;
//   NAME.ds.index     the end of every document, in tokens from the start of NAME.ds, as
//                     little-endian uint64 (the last one is the number of tokens);
//   NAME.ds.loss      (optional) one byte per token, 1 where the loss counts, 0 where not;
//   NAME.ds.metadata  text: "TOKENIZER|TOKEN_SIZE", the number of tokens, and that number as
//                     humanize.metric(n, "T") writes it ("1.50 kT"), on three lines with no final
//                     newline.
// Readers take windows of seq_len + 1 tokens from NAME.ds and find document starts in the index.
// docs/formats.md has the whole layout and a worked example. This file holds the layout's
// pieces (names, the token size rule, the metadata text) and a validating reader for `inspect`.
// Thread safety: pure functions; a DatatroveReader is used by one thread at a time.
// Errors: CorruptionError naming the file (and the entry) for damaged files, IoError.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/io/file.h"

namespace corpusflow {

/// The files of the dataset `NAME.ds` for a prefix NAME.
std::string DatatroveTokensPath(const std::string& prefix);
std::string DatatroveIndexPath(const std::string& prefix);
std::string DatatroveLossPath(const std::string& prefix);
std::string DatatroveMetadataPath(const std::string& prefix);

/// datatrove's token size for a vocabulary: 4 bytes when it has more than 65536 ids or is not
/// known (0), else 2.
int DatatroveTokenSize(int64_t vocab_size);

/// humanize.metric(value, unit) with its default precision of 3 significant digits: "0.00 T",
/// "12.0 T", "1.50 kT", "2.35 MT".
std::string HumanizeMetric(uint64_t value, const std::string& unit);

/// The text of `NAME.ds.metadata`.
std::string DatatroveMetadataText(const std::string& tokenizer, int token_size, uint64_t tokens);

/// A parsed `.ds.metadata`.
struct DatatroveMetadata {
  std::string tokenizer;
  int token_size = 2;
  uint64_t tokens = 0;
};
/// Parse a `.ds.metadata` text; throws CorruptionError naming `file`.
DatatroveMetadata ParseDatatroveMetadata(const std::string& text, const std::string& file);

/// A validating reader of one `.ds` dataset. Open() checks the sizes: the `.ds` a multiple of
/// the token size, the index a multiple of 8, the loss file one byte per token, the metadata's
/// count equal to the tokens; ForEachDocument() checks the index entries (increasing, the last
/// the number of tokens) and the loss bytes (0 or 1) as it streams.
class DatatroveReader {
 public:
  /// `name` is NAME or NAME.ds. The token size comes from the metadata file, else
  /// `token_size` (0: 2, datatrove's default).
  explicit DatatroveReader(const std::string& name, int token_size = 0);

  const std::string& prefix() const { return prefix_; }
  int token_size() const { return token_size_; }
  uint64_t tokens() const { return tokens_; }
  uint64_t documents() const { return documents_; }
  bool has_loss() const { return loss_.is_open(); }
  bool has_metadata() const { return has_metadata_; }
  const DatatroveMetadata& metadata() const { return metadata_; }
  uint64_t ds_bytes() const { return tokens_ * static_cast<uint64_t>(token_size_); }

  /// Call `fn(document, ids, loss)` for each document in order (`loss` empty without a loss
  /// file). Throws CorruptionError on a damaged entry.
  void ForEachDocument(const std::function<void(uint64_t, std::span<const int64_t>,
                                                std::span<const uint8_t>)>& fn) const;

 private:
  std::string prefix_;
  int token_size_ = 2;
  File ds_;
  File index_;
  File loss_;
  bool has_metadata_ = false;
  DatatroveMetadata metadata_;
  uint64_t tokens_ = 0;
  uint64_t documents_ = 0;
};

}  // namespace corpusflow
