// What planning must know of a tokenizer before anyone loads it: the number of ids it produces
// (the output field's vocabulary size, from which write-megatron picks its dtype) and the ids of
// its special tokens (whether --add-special can work). They are read from the vocabulary or
// model file by a streaming scan that builds no lookup structure: a vocab.txt's lines are
// counted and [CLS]/[SEP] looked for; a SentencePiece model's protobuf fields are walked
// (ModelProto.pieces and TrainerSpec.eos_piece) without building the model. The tokenizer
// itself (tries, dictionaries, the SentencePiece processor) loads in Open, through the run's
// ResourceCache; Open checks that what it loaded agrees with these facts.
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
/// IoError when the file cannot be read, DataError when it is empty.
TokenizerFacts ReadVocabularyFacts(const std::string& path);

/// The facts of the SentencePiece model at `path` with ids above 1 shifted by `id_offset`: the
/// piece count plus the offset, no start id, and the EOS piece's id when that piece is a control
/// symbol (what SentencePieceProcessor::eos_id() gives). Throws IoError, or DataError when the
/// file is not a model.
TokenizerFacts ReadSentencePieceFacts(const std::string& path, int32_t id_offset);

/// The facts of a serialized SentencePiece ModelProto; `name` is used in errors.
TokenizerFacts ParseSentencePieceFacts(std::string_view model, const std::string& name,
                                       int32_t id_offset);

}  // namespace corpusflow
