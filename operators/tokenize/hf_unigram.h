// HfUnigram: the Unigram model of an HF tokenizer.json (`"model": {"type": "Unigram"}`, the model
// of T5's and ALBERT's files, whose Precompiled normalizer is not read), as HF's
// Unigram::encode_optimized and tokenize: the Viterbi path of highest total score over the
// vocabulary's tokens (scores added in text order as f64, so the sums are HF's to the bit; of equal
// scores the path found first stays), where a character no token starts with costs the lowest score
// minus 10 as the unknown token; adjacent unknown tokens fuse into one (HF's Unigram always fuses).
// A fused unknown stretch becomes its <0xNN> tokens under byte_fallback, else the unknown token.
// Thread safety: immutable once built; Encode may run on any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/tokenize/hf_tokenizer_json.h"

namespace corpusflow {

class HfUnigram {
 public:
  /// The model of `tokens` (id = position) and `config`.
  HfUnigram(const std::vector<std::pair<std::string, int32_t>>& tokens,
            const HfUnigramConfig& config);

  /// Append the ids of one piece (valid UTF-8) to `ids`; returns the number of unknown tokens.
  /// Throws DataError when a character is unknown and the model has no unk_id (as HF fails).
  size_t Encode(std::string_view piece, std::vector<int32_t>* ids) const;

 private:
  HfTokenIds ids_;
  std::vector<double> scores_;
  std::optional<int32_t> unk_;
  bool byte_fallback_ = false;
  double unk_score_ = 0;
  /// The id of the token <0xNN> of each byte (-1: none).
  std::vector<int32_t> byte_ids_;
};

}  // namespace corpusflow
