// BpePattern: the pre-tokenizer regex of byte-level BPE (GPT-2, tiktoken's cl100k/o200k, Llama 3,
// Qwen2, or a user's), run by PCRE2 with its JIT compiler (Debian's libpcre2-dev): the text is cut
// into the pieces the regex matches, in order, as tiktoken's `find_iter` and HF tokenizers' Split
// (behavior Isolated) cut it, and each piece is then merged on its own.
// The references run these regexes in Rust's regex/fancy_regex (tiktoken) or Oniguruma (HF
// tokenizers), where `\s` is Unicode's White_Space. PCRE2's `\s` (with UCP) is the separators plus
// \t\n\v\f\r, which lacks U+0085 (NEL), so `\s` and `\S` are rewritten to add it; every other
// construct (\p{..} classes, possessive quantifiers, lookahead, (?i:...)) means the same in PCRE2.
// The Unicode tables are PCRE2's (10.42: Unicode 14); a character new in a later Unicode version
// may fall in another class than in the reference (docs/tokenize.md).
// REQUIRES of the text: valid UTF-8 (the tokenize operator repairs invalid UTF-8 before).
// Thread safety: a compiled pattern is immutable and shared; each thread matches with its own
// match data and JIT stack (thread_local), so ForEachPiece may run on any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace corpusflow {

class BpePattern {
 public:
  /// The regex of a known encoding: "gpt2"/"r50k"/"p50k" (GPT-2's), "cl100k", "o200k",
  /// "llama3", "qwen2"; nullptr for any other name.
  static const char* Named(std::string_view name);

  /// Compile `regex` (a name of Named(), unless `names` is false, or a regex); throws
  /// InvalidArgument naming the position of a syntax error.
  explicit BpePattern(std::string_view regex, bool names = true);
  ~BpePattern();
  BpePattern(const BpePattern&) = delete;
  BpePattern& operator=(const BpePattern&) = delete;

  /// The regex as given (after resolving a name).
  const std::string& regex() const { return regex_; }

  /// `text` as a regex that matches it literally (every ASCII punctuation character escaped).
  static std::string Literal(std::string_view text);

  /// Whether the regex can match the empty string (PCRE2_INFO_MATCHEMPTY).
  bool CanMatchEmpty() const;

  /// The next non-empty match at or after `at` ([*begin, *end)); false when none.
  bool Find(std::string_view text, size_t at, size_t* begin, size_t* end) const;

  /// Call `on_piece(std::string_view)` for each non-empty match in `text`, left to right, each
  /// search starting where the previous match ended; text between matches is skipped, as the
  /// references skip it (the known patterns match every character).
  template <typename OnPiece>
  void ForEachPiece(std::string_view text, OnPiece&& on_piece) const {
    size_t at = 0;
    size_t begin, end;
    while (Find(text, at, &begin, &end)) {
      on_piece(text.substr(begin, end - begin));
      at = end;
    }
  }

 private:
  struct Compiled;
  std::string regex_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace corpusflow
