// HfNormalizer: the normalizers of an HF tokenizer.json (hf_tokenizer_json.h), applied in order to
// a stretch of text as HF's NormalizedString does (only the text matters here, not the offsets):
//   NFC, NFKC, NFD, NFKD  utf8proc's normalization forms (Unicode 15; HF uses the Rust crate
//                         unicode-normalization, whose Unicode version may differ for characters
//                         assigned since);
//   Lowercase             Rust's char::to_lowercase per character: the simple lowercase mapping
//                         and U+0130 (İ) to "i̇", the one unconditional multi-character mapping;
//                         a capital sigma always lowers to σ;
//   Prepend               the text before a non-empty stretch;
//   Replace               every non-overlapping match (leftmost first) of a string or regex by
//                         the content;
//   Strip                 Unicode White_Space at the left and/or right end;
//   BertNormalizer        HF's (bert.rs): clean_text (NUL, U+FFFD and categories Cc, Cf, Cn,
//                         Co but \t \n \r dropped, whitespace to a space), handle_chinese_chars
//                         (spaces around CJK ideographs), strip_accents (NFD, then no Mn;
//                         null: as lowercase), lowercase.
// REQUIRES of the text: valid UTF-8.
// Thread safety: immutable once built; Normalize may run on any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operators/tokenize/hf_tokenizer_json.h"

namespace corpusflow {

class BpePattern;

/// Rust's char::is_whitespace (Unicode White_Space).
bool IsUnicodeWhiteSpace(char32_t cp);

class HfNormalizer {
 public:
  /// Compile the steps (regexes); throws InvalidArgument for a regex that does not compile.
  explicit HfNormalizer(const std::vector<HfNormalizerSpec>& steps);
  ~HfNormalizer();
  HfNormalizer(const HfNormalizer&) = delete;
  HfNormalizer& operator=(const HfNormalizer&) = delete;

  bool empty() const { return steps_.empty(); }
  /// Replace `*out` with `text` normalized.
  void Normalize(std::string_view text, std::string* out) const;

 private:
  struct Step {
    HfNormalizerSpec spec;
    std::unique_ptr<BpePattern> regex;
  };
  std::vector<Step> steps_;
};

}  // namespace corpusflow
