// HfPreTokenizer: the pre-tokenizers of an HF tokenizer.json (hf_tokenizer_json.h), cutting a
// normalized stretch of text into the pieces the model merges one by one, as HF's
// PreTokenizedString does (empty pieces are dropped after every step):
//   Split      the matches of a regex (PCRE2, bpe_pattern.h) or string and the text between them,
//              `invert` swapping the two, then arranged by the behavior: Isolated (every part),
//              Removed (matches dropped), MergedWithPrevious / MergedWithNext (a match joins the
//              part before / after it unless that part is a match too), Contiguous (adjacent
//              parts of the same kind join);
//   Metaspace  every space replaced by the replacement character (▁), which is put before a
//              piece that does not start with it (prepend_scheme always; first: only the piece
//              at the start of the record's text, not one after an added token), then a split
//              before each replacement character (MergedWithNext) when `split`;
//   BertPreTokenizer  whitespace (White_Space) removed, each punctuation character (ASCII
//              punctuation or a category P*) a piece of its own;
//   Whitespace the runs of word characters (Rust's Unicode \w) and of other characters but
//              whitespace; WhitespaceSplit: whitespace removed;
//   Punctuation  each punctuation character (as BertPreTokenizer's) a match, by the behavior;
//   Digits     each numeric character (Nd, Nl, No) a match, Isolated with individual_digits, else
//              Contiguous;
//   ByteLevel  a space before a piece that does not start with one (add_prefix_space), then
//              GPT-2's regex (use_regex) as an Isolated Split. Its mapping of bytes to the
//              byte-level alphabet is not done here: a byte-level model (bpe_model.h) reads
//              its tokens through that alphabet and merges bytes, which gives the same ids.
// Each regex runs on one piece as its whole subject (its lookarounds and anchors see the piece's
// ends), as in HF.
// Thread safety: immutable once built; Split may run on any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/tokenize/hf_tokenizer_json.h"

namespace corpusflow {

class BpePattern;

/// The pieces of a text: spans of `text`, which starts as the input and grows when a piece gets
/// a prefix space.
struct HfPieces {
  std::string text;
  std::vector<std::pair<size_t, size_t>> spans;
  /// The first span starts where the record's text starts (Metaspace's prepend_scheme first).
  bool first_at_start = false;

  std::string_view operator[](size_t i) const {
    return std::string_view(text).substr(spans[i].first, spans[i].second - spans[i].first);
  }
  size_t size() const { return spans.size(); }
};

class HfPreTokenizer {
 public:
  /// Compile the regexes; throws InvalidArgument for one that does not compile.
  explicit HfPreTokenizer(const std::vector<HfPreTokenizerSpec>& steps);
  ~HfPreTokenizer();
  HfPreTokenizer(const HfPreTokenizer&) = delete;
  HfPreTokenizer& operator=(const HfPreTokenizer&) = delete;

  /// Replace `*pieces` with the pieces of `text` (none when it is empty); `at_start`: `text`
  /// starts where the record's text starts.
  void Split(std::string_view text, bool at_start, HfPieces* pieces) const;

 private:
  struct Step {
    HfPreTokenizerSpec spec;
    /// Split's pattern; ByteLevel's GPT-2 regex when use_regex; Metaspace's replacement when
    /// split.
    std::unique_ptr<BpePattern> regex;
  };
  std::vector<Step> steps_;
};

}  // namespace corpusflow
