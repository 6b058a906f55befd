// HfWordPiece: the WordPiece model of an HF tokenizer.json (`"model": {"type": "WordPiece"}`),
// as HF's WordPiece::tokenize: a word of more than max_input_chars_per_word characters is the
// unknown token; otherwise it is cut greedily from the left into the longest vocabulary tokens,
// every one after the first looked up with the continuing subword prefix ("##"), and a word with a
// position where no token matches is the unknown token as a whole. (--kind wordpiece is the same
// model over a vocab.txt, wordpiece.h; this one reads its vocabulary and options from the file.)
// Thread safety: immutable once loaded; Encode may run on any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/tokenize/hf_tokenizer_json.h"

namespace corpusflow {

class HfWordPiece {
 public:
  /// The model of `vocab` (tokens and ids) and `config`.
  HfWordPiece(const std::vector<std::pair<std::string, int32_t>>& vocab, HfWordPieceConfig config);

  /// Append the ids of one word (valid UTF-8) to `ids`; returns 1 when it became the unknown
  /// token, else 0. Throws DataError when the unknown token is needed and the vocabulary lacks
  /// it (as HF fails).
  size_t Encode(std::string_view word, std::vector<int32_t>* ids) const;

 private:
  HfTokenIds vocab_;
  HfWordPieceConfig config_;
  std::optional<int32_t> unk_;
};

}  // namespace corpusflow
