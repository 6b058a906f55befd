// HfAddedTokenSplitter: cuts a text at the added tokens of an HF tokenizer.json as HF's
// AddedVocabulary::find_matches does. The tokens are found leftmost-longest and without overlap
// (HF's Aho-Corasick automaton, MatchKind::LeftmostLongest; of equal tokens the first listed);
// then, per match:
//   single_word  the match is dropped (its text stays ordinary text, and no other token is looked
//                for inside it) when a word character (Rust regex's Unicode \w) touches it;
//   lstrip       the token takes the whitespace before it (not what an earlier token took);
//   rstrip       the token takes the whitespace after it.
// Whitespace is Unicode White_Space. HF runs one splitter on the raw text (tokens with
// normalized false) and one on each normalized stretch (tokens with normalized true, matched by
// their normalized text); hf_tokenizer.h builds both.
// Thread safety: immutable once built; Split may run on any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

/// Rust regex's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation and the
/// joiners (U+200C, U+200D). Alphabetic is taken as the letters, Nl and the Other_Alphabetic
/// symbols (circled and squared Latin letters).
bool IsRustWordCharacter(char32_t cp);

class HfAddedTokenSplitter {
 public:
  struct Token {
    /// What is matched in the text.
    std::string pattern;
    int32_t id = 0;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
  };
  /// A stretch of the text [begin, end): ordinary text when id < 0, else the token `id`.
  struct Segment {
    size_t begin;
    size_t end;
    int32_t id;
  };

  HfAddedTokenSplitter() = default;
  /// `tokens` in HF's order (empty patterns are ignored).
  explicit HfAddedTokenSplitter(std::vector<Token> tokens);

  bool empty() const { return by_length_.empty(); }
  /// Replace `*segments` with the stretches of `text`, in order; an empty text has none.
  void Split(std::string_view text, std::vector<Segment>* segments) const;

 private:
  /// Indexes of tokens_, longest first (stable: of equal patterns the first listed).
  std::vector<size_t> by_length_;
  std::vector<Token> tokens_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace corpusflow
