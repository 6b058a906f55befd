// WordPiece (google-research/bert, HF tokenizers): split one word into vocabulary pieces, greedy
// longest-match-first, non-initial pieces prefixed with "##". A word longer than
// max_chars_per_word code points (100 in HF tokenizers, 200 in Google BERT since 2018 and in
// bert4keras), or with a position where no piece matches, becomes one [UNK].
// Thread safety: immutable; Encode may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "operators/tokenize/vocabulary.h"

namespace corpusflow {

class WordPiece {
 public:
  /// REQUIRES: `vocab` outlives this object; unk_id is a valid id of it.
  WordPiece(const Vocabulary& vocab, int32_t unk_id, size_t max_chars_per_word)
      : vocab_(vocab), unk_id_(unk_id), max_chars_per_word_(max_chars_per_word) {}

  /// Append the piece ids of the word `cps[0..n)` to `*ids`; returns true when the word became
  /// [UNK].
  bool Encode(const char32_t* cps, size_t n, std::vector<int32_t>* ids) const;

 private:
  const Vocabulary& vocab_;
  int32_t unk_id_;
  size_t max_chars_per_word_;
};

}  // namespace corpusflow
