// Special-token maps (`tokenize --special-tokens`, `inspect --special-tokens`): literal tokens
// such as `<mask_1>` or `[MASK]` that stand for one fixed id wherever they occur in a text, never
// for pieces, as the added special tokens of HF tokenizers do. A map is written as a
// comma-separated list whose entries are preset names or TOKEN=ID:
//   pegasus  <pad>=0,</s>=1,<mask_1>=2,<mask_2>=3: google-research/pegasus' ids, with the
//            SentencePiece pieces shifted by 103 (`--id-offset 103`, sp_text_encoder.cc);
//   bert     [PAD]=0,[UNK]=100,[CLS]=101,[SEP]=102,[MASK]=103: BERT's vocab.txt layout, also the
//            one `vocab` writes.
// A token may not contain ',' and is split from its id at the last '='. Whether the ids fit a
// vocabulary is the reader's check (tokenizer_facts.h).
// SpecialTokenMatcher cuts a text at the map's tokens: scanning from the left, the longest token
// that starts at a position wins.
// Thread safety: parsing is pure; a matcher is immutable and may be shared by all workers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corpusflow {

struct SpecialToken {
  std::string text;
  int32_t id = 0;

  bool operator==(const SpecialToken&) const = default;
};

/// Parse a map ("pegasus", "<sep>=5,bert", ...); `option` names the option in errors. Throws
/// InvalidArgument for an unknown preset, a malformed entry, a negative id or a token given two
/// different ids.
std::vector<SpecialToken> ParseSpecialTokens(std::string_view spec,
                                             std::string_view option = "--special-tokens");

/// The map as the option would write it ("<pad>=0,</s>=1,...").
std::string FormatSpecialTokens(const std::vector<SpecialToken>& tokens);

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher() = default;
  explicit SpecialTokenMatcher(std::vector<SpecialToken> tokens);

  bool empty() const { return tokens_.empty(); }
  const std::vector<SpecialToken>& tokens() const { return tokens_; }

  /// Cut `text` at the special tokens: `on_text(std::string_view)` for every non-empty stretch
  /// between them and `on_special(int32_t id)` for every token, in text order.
  template <typename OnText, typename OnSpecial>
  void Split(std::string_view text, OnText&& on_text, OnSpecial&& on_special) const {
    size_t start = 0;
    size_t i = 0;
    while (i < text.size()) {
      if (!first_byte_[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const SpecialToken* match = Match(text.substr(i));
      if (match == nullptr) {
        ++i;
        continue;
      }
      if (i > start) on_text(text.substr(start, i - start));
      on_special(match->id);
      i += match->text.size();
      start = i;
    }
    if (start < text.size()) on_text(text.substr(start));
  }

 private:
  /// The longest token `rest` starts with, or nullptr.
  const SpecialToken* Match(std::string_view rest) const;

  /// Longest first.
  std::vector<SpecialToken> tokens_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace corpusflow
