// BERT's BasicTokenizer (google-research/bert tokenization.py, HF BertTokenizer): split text into
// the words that WordPiece then splits into pieces.
//   - drop NUL, U+FFFD and control characters (Cc, Cf except \t \n \r);
//   - whitespace (space, \t, \n, \r, Zs, and the other characters Python's str.split() splits
//     on) separates words;
//   - every CJK ideograph (BERT's ranges) is a word of its own;
//   - uncased: lowercase, NFD, drop nonspacing marks (accents);
//   - every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126, Unicode P*) is a word.
// With `normalize` false the text is taken as it is (bert4keras, whose T5 PEGASUS tokenizer
// normalises the whole text before jieba, calls its basic tokenizer on normalised words).
// Invalid UTF-8 reads as U+FFFD and is therefore dropped.
// Thread safety: const methods are safe from any thread; a Scratch belongs to one thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "operators/text/unicode_text.h"

namespace corpusflow {

class BertBasicTokenizer {
 public:
  /// Reusable buffers of one thread.
  struct Scratch {
    std::vector<char32_t> raw;
    std::vector<char32_t> normalized;
    std::vector<char32_t> decomposed;
  };

  /// `lowercase`: lowercase + NFD + strip accents (BERT's do_lower_case).
  explicit BertBasicTokenizer(bool lowercase) : lowercase_(lowercase) {}

  /// Call `emit(const char32_t* word, size_t length)` for each word of `text`, in order.
  template <typename Emit>
  void Tokenize(std::string_view text, Scratch& scratch, Emit&& emit) const;

 private:
  /// Normalise (when uncased) and split `scratch.raw` on punctuation, emitting the words.
  template <typename Emit>
  void FlushWord(Scratch& scratch, Emit& emit) const;

  /// Character classes of the basic tokenizer.
  enum class CharClass : unsigned char { kDrop, kSpace, kCjk, kOther };
  static CharClass Classify(char32_t cp);
  /// Uncased normalisation of scratch.raw into scratch.normalized.
  void Normalize(Scratch& scratch) const;

  bool lowercase_;
};

template <typename Emit>
void BertBasicTokenizer::FlushWord(Scratch& scratch, Emit& emit) const {
  if (scratch.raw.empty()) return;
  const std::vector<char32_t>* word = &scratch.raw;
  if (lowercase_) {
    Normalize(scratch);
    word = &scratch.normalized;
  }
  const char32_t* cps = word->data();
  const size_t n = word->size();
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (IsBertPunctuation(cps[i])) {
      if (i > start) emit(cps + start, i - start);
      emit(cps + i, size_t{1});
      start = i + 1;
    }
  }
  if (n > start) emit(cps + start, n - start);
  scratch.raw.clear();
}

template <typename Emit>
void BertBasicTokenizer::Tokenize(std::string_view text, Scratch& scratch, Emit&& emit) const {
  scratch.raw.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    char32_t cp;
    if (*p < 0x80) {
      cp = *p++;
    } else {
      const int len =
          DecodeUtf8(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(end), &cp);
      if (len < 0) cp = 0xFFFD;
      p += len > 0 ? len : -len;
    }
    switch (Classify(cp)) {
      case CharClass::kDrop:
        break;
      case CharClass::kSpace:
        FlushWord(scratch, emit);
        break;
      case CharClass::kCjk:
        FlushWord(scratch, emit);
        scratch.raw.push_back(cp);
        FlushWord(scratch, emit);
        break;
      case CharClass::kOther:
        scratch.raw.push_back(cp);
        break;
    }
  }
  FlushWord(scratch, emit);
}

}  // namespace corpusflow
