// What planning must know of a tokenizer before anyone loads it: the number of ids it produces
// (the output field's vocabulary size, from which write-megatron picks its dtype) and the ids of
// its special tokens (whether --add-special can work). They are read from the vocabulary or
// model file by a streaming scan that builds no lookup structure: a vocab.txt's lines are
// counted and [CLS]/[SEP] looked for; a SentencePiece model's protobuf fields are walked
// (ModelProto.pieces and TrainerSpec.eos_piece) without building the model. The tokenizer
// itself (tries, dictionaries, the SentencePiece processor) loads in Open, through the run's
// ResourceCache; Open checks that what it loaded agrees with these facts.
// The readers also refuse what cannot give right ids: a SentencePiece model read with an id
// offset (PEGASUS) must have its pad and EOS control pieces at 0 and 1, the two ids the offset
// keeps; and every id of a special-token map (special_tokens.h) must be free or name the same
// token in the vocabulary (a `[unusedN]` line of a vocab.txt counts as free; with an offset, the
// ids 2 .. offset+1 are free).
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operators/tokenize/special_tokens.h"

namespace corpusflow {

struct TokenizerFacts {
  /// Ids are in [0, vocab_size).
  int64_t vocab_size = 0;
  /// What --add-special puts first ([CLS]) and last ([SEP] or EOS); nullopt when absent.
  std::optional<int32_t> start_id;
  std::optional<int32_t> end_id;

  bool operator==(const TokenizerFacts&) const = default;
};

/// The facts of a vocab.txt: one token per line, ids from 0, a trailing '\r' ignored. Throws
/// IoError when the file cannot be read, DataError when it is empty, InvalidArgument when an id
/// of `special_tokens` is outside the vocabulary or another token's.
TokenizerFacts ReadVocabularyFacts(const std::string& path,
                                   const std::vector<SpecialToken>& special_tokens = {});

/// The facts of the SentencePiece model at `path` with ids above 1 shifted by `id_offset`: the
/// piece count plus the offset, no start id, and the EOS piece's id when that piece is a control
/// symbol (what SentencePieceProcessor::eos_id() gives). Throws IoError, DataError when the
/// file is not a model, InvalidArgument when `id_offset` > 0 and pieces 0 and 1 are not the
/// model's pad and EOS controls, or when an id of `special_tokens` is outside the ids or
/// another piece's.
TokenizerFacts ReadSentencePieceFacts(const std::string& path, int32_t id_offset,
                                      const std::vector<SpecialToken>& special_tokens = {});

/// The facts of a serialized SentencePiece ModelProto; `name` is used in errors.
TokenizerFacts ParseSentencePieceFacts(std::string_view model, const std::string& name,
                                       int32_t id_offset,
                                       const std::vector<SpecialToken>& special_tokens = {});

}  // namespace corpusflow
