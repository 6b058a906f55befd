// Vocabulary files, read in one place: BERT's vocab.txt (one token per line, the id of a token is
// its line number from 0) and, for the readers that accept it, SentencePiece's `.vocab`
// ("piece<TAB>score" per line, id = line number). A line is the bytes before its '\n' without a
// '\r' just before it; a final '\n' starts no further line, so a file of N tokens has N ids.
// Files are decompressed by extension (`.gz`, `.bz2`, `.zst`), as every input is.
// SentencePiece vocabularies read for ids shifted as PEGASUS shifts them are ShiftVocabTokens'.
// What a token may be is the caller's rule: Vocabulary (WordPiece) rejects empty, duplicate and
// whitespace-holding tokens; `mlm` and `inspect` only need the id -> token table.
// Thread safety: pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

enum class VocabColumns {
  /// The whole line is the token (a tab is part of it): vocab.txt for WordPiece.
  kToken,
  /// The token is the text before the first tab when there is one: vocab.txt or a SentencePiece
  /// `.vocab`.
  kTokenThenScore,
};

/// The tokens of vocabulary text, in id order (views into `text`).
std::vector<std::string_view> SplitVocabTokens(std::string_view text, VocabColumns columns);

/// The tokens of the vocabulary file `path`, in id order. Throws IoError (or CorruptionError for
/// a damaged compressed file).
std::vector<std::string> ReadVocabTokens(const std::string& path, VocabColumns columns);

/// The tokens of a SentencePiece vocabulary by the ids of `tokenize --id-offset`: lines 0 and 1
/// keep their ids, line k >= 2 becomes id k + `id_offset`, and ids 2 .. id_offset+1, which no
/// line has, are empty strings. The size grows by `id_offset`.
std::vector<std::string> ShiftVocabTokens(std::vector<std::string> tokens, int32_t id_offset);

}  // namespace corpusflow
