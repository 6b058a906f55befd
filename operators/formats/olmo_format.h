// The token files OLMo and OLMo-core train from (the Dolma toolkit's `dolma tokens` output), for
// a prefix NAME:
//   NAME.npy       the token ids of every document, concatenated, each document ending with the
//                  EOS id; a raw memmap of little-endian unsigned integers with no header (not
//                  numpy's .npy format, despite the name), uint8, uint16 or uint32: the smallest
//                  that holds the vocabulary's largest id, as OLMo-core's get_dtype() decides
//                  (uint32 when the vocabulary size is not known);
//   NAME.csv.gz    gzip-compressed CSV, one line per document: `start,end,id,src,loc` (start and
//                  end in tokens, end exclusive; OLMo-core reads the first two when it does not
//                  find documents by their EOS; id: the document's ordinal in the file, src: the
//                  basename of NAME.npy, loc: the 1-based record of the sink's stream);
//   NAME_mask.npy  (optional) one byte per token, 1 where the loss counts (np.bool_), the
//                  `label_mask_paths` of OLMo-core's numpy datasets.
// docs/formats.md has the whole layout. This file holds the layout's pieces and a validating
// reader for `inspect`.
// Thread safety: pure functions; an OlmoReader is used by one thread at a time.
// Errors: CorruptionError naming the file and the line or document, IoError.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/io/file.h"

namespace corpusflow {

std::string OlmoTokensPath(const std::string& prefix);
std::string OlmoMetadataPath(const std::string& prefix);
std::string OlmoMaskPath(const std::string& prefix);

/// OLMo-core's dtype for a vocabulary: 1, 2 or 4 bytes, the smallest whose largest value is at
/// least vocab_size - 1; 4 when the size is not known (0).
int OlmoTokenWidth(int64_t vocab_size);

/// One line of NAME.csv.gz (with its newline).
std::string OlmoMetadataLine(uint64_t start, uint64_t end, uint64_t id, const std::string& src,
                             uint64_t loc);

/// A validating reader of NAME.npy with its metadata (and mask).
class OlmoReader {
 public:
  /// `name` is NAME or NAME.npy. The token width is `width` when given (1, 2 or 4), else what
  /// the metadata's last end and the file's size say. Throws CorruptionError when the metadata
  /// is malformed (a line that is not start,end,..., documents out of order or outside the file,
  /// a gap) or the mask's size is not the token count.
  explicit OlmoReader(const std::string& name, int width = 0);

  const std::string& prefix() const { return prefix_; }
  int width() const { return width_; }
  uint64_t tokens() const { return tokens_; }
  uint64_t documents() const { return documents_; }
  bool has_mask() const { return mask_.is_open(); }

  /// Call `fn(document, start, ids, mask)` for each document in order (`start`: its first
  /// token's offset in the file; `mask` empty without a mask file), reading the metadata again
  /// as it goes (memory: one document). Throws CorruptionError for a mask byte other than 0 or 1.
  void ForEachDocument(const std::function<void(uint64_t, uint64_t, std::span<const int64_t>,
                                                std::span<const uint8_t>)>& fn) const;

 private:
  std::string prefix_;
  int width_ = 0;
  File tokens_file_;
  File mask_;
  uint64_t tokens_ = 0;
  uint64_t documents_ = 0;
};

}  // namespace corpusflow
